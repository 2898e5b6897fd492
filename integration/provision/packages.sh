#!/usr/bin/env bash
# The system packages swarmd's labs need, installed with apt. Shared by the local lab, CI and the
# Vagrant VMs so all three run on the same software. Idempotent, and quick when everything is
# already there (dpkg is asked first; apt only runs for what is missing).
#
#   packages.sh            the development machine / CI: the lab's runtime, the build's C
#                          toolchain (Rust links with cc), QEMU for the IPVS kernel test and
#                          headless Chromium with node for the visualizer's browser test
#   packages.sh --vm       a Vagrant VM: the runtime only (its kernel has IPVS itself)
#   packages.sh --vagrant  also vagrant and its libvirt provider (`vagrant validate` needs a
#                          usable provider; Debian's vagrant only recommends it)
#   packages.sh ... PKG... also these extra packages
#
# Always --no-install-recommends: with recommends, qemu-system-x86 and vagrant pull
# conflicting qemu-utils versions on Debian 12 with backports.
set -euo pipefail

# The lab's runtime: engines, the dataplane's kernel interfaces and the test tools.
RUNTIME=(docker.io containerd runc nftables iproute2 util-linux procps busybox-static curl
    ipvsadm ca-certificates)
# Building swarmd and the IPVS kernel test (a QEMU TCG guest with an initramfs); headless
# Chromium driven by playwright-core (node, npm) for the visualizer's browser test; promtool
# (Debian's prometheus) to check what swarmd serves at GET /metrics.
HOST=(gcc libc6-dev pkg-config qemu-system-x86 cpio gzip chromium nodejs npm prometheus)

profile=host
extra=()
for arg in "$@"; do
    case $arg in
    --vm) profile=vm ;;
    --vagrant) extra+=(vagrant vagrant-libvirt) ;;
    -h | --help)
        sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*)
        echo "packages.sh: unknown option '$arg' (--vm, --vagrant)" >&2
        exit 2
        ;;
    *) extra+=("$arg") ;;
    esac
done

wanted=("${RUNTIME[@]}")
[[ $profile == host ]] && wanted+=("${HOST[@]}")
wanted+=("${extra[@]}")

installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

missing=()
for pkg in "${wanted[@]}"; do
    # A machine with Docker's own packages (docker-ce, containerd.io) already has an engine;
    # docker.io/containerd/runc would conflict with them.
    case $pkg in
    docker.io) command -v dockerd >/dev/null && command -v docker >/dev/null && continue ;;
    containerd) command -v containerd >/dev/null && command -v containerd-shim-runc-v2 >/dev/null && continue ;;
    runc) command -v runc >/dev/null && continue ;;
    # NodeSource's nodejs bundles npm, and conflicts with Debian's npm package.
    nodejs | npm) command -v "${pkg/nodejs/node}" >/dev/null && continue ;;
    esac
    installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    echo "packages.sh: all ${#wanted[@]} packages present"
    exit 0
fi

if [[ $EUID -ne 0 ]]; then
    echo "packages.sh: missing packages: ${missing[*]}; run as root (sudo $0 $*) to install them" >&2
    exit 1
fi

# A machine whose qemu-utils comes from backports (qemu-img 10 on this project's Debian 12
# images) cannot take the release's QEMU 7.2 ("qemu-utils Breaks qemu-system-common < 8.0"):
# its QEMU then comes from the same backports suite.
backported=()
plain=()
qemu_utils=$(dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null || true)
for pkg in "${missing[@]}"; do
    if [[ $pkg == qemu-system-x86 && $qemu_utils == *bpo* ]]; then backported+=("$pkg"); else plain+=("$pkg"); fi
done

echo "packages.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ((${#backported[@]} > 0)); then
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [[ -n $codename ]] || { echo "packages.sh: cannot tell the Debian release for backports" >&2; exit 1; }
    if ! grep -rqs -- "$codename-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
        echo "packages.sh: qemu-utils $qemu_utils is from backports: adding $codename-backports for QEMU"
        printf '%s\n' "Types: deb" "URIs: http://deb.debian.org/debian" "Suites: $codename-backports" \
            "Components: main" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" \
            >/etc/apt/sources.list.d/swarmd-backports.sources
    fi
fi
apt-get update -q
if ((${#plain[@]} > 0)); then
    apt-get install -y -q --no-install-recommends "${plain[@]}"
fi
if ((${#backported[@]} > 0)); then
    apt-get install -y -q --no-install-recommends -t "$codename-backports" "${backported[@]}"
fi
