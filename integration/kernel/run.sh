#!/usr/bin/env bash
# Kernel test of the IPVS mesh backend: boots Debian's stock kernel in a QEMU
# TCG guest (the development hosts have no IPVS and cannot load modules) and
# runs init.sh there, which programs IPVS through `network::ipvs` (the
# ipvs_probe program in probe/), sends traffic through it and reads it back
# with both our decoder and Debian's ipvsadm.
#
# Usage: integration/kernel/run.sh        (root; needs only Debian's apt mirror)
#   KERNEL_PKG=linux-image-6.1.0-56-amd64  pin the kernel (default: what
#                                          linux-image-amd64 depends on)
#   IPVS_PROBE=/path/to/ipvs_probe         use a prebuilt probe (skip cargo)
#
# Cached in integration/kernel/.cache (git-ignored): the kernel package, the
# probe's target dir, the last initramfs and serial.log. Second runs take
# ~20 s on 2 cores (TCG); the first adds the download and a ~30 s build.
#   QEMU_TIMEOUT=120                       seconds before the guest is killed
#
# Prints `IPVS-KERNEL-TEST: PASS` or `IPVS-KERNEL-TEST: FAIL: <why>` last and
# exits 0 only on PASS. It never skips: a host that cannot set the test up
# fails it (what CI=true demands of kernel tests).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="$here/.cache"
qemu_timeout="${QEMU_TIMEOUT:-120}"
started=$SECONDS

fail() {
    echo "IPVS-KERNEL-TEST: FAIL: $*"
    exit 1
}
trap 'fail "setup step failed at line $LINENO (see above)"' ERR

log() { echo "kernel-test: $*" >&2; }

mkdir -p "$cache"

# --- host tools ---------------------------------------------------------------
# busybox must be the static build: the guest has no libc for it to load.
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || missing+=(busybox-static)
command -v ipvsadm >/dev/null || missing+=(ipvsadm)
command -v nft >/dev/null || missing+=(nftables)
command -v ip >/dev/null || missing+=(iproute2)
command -v cpio >/dev/null || command -v bsdcpio >/dev/null || missing+=(cpio)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
        fail "cannot install ${missing[*]} with apt"
fi

# --- kernel and modules from Debian, cached ----------------------------------
# `apt-get download` + `dpkg -x` instead of installing: no update-initramfs
# (~80 s), and the host's own kernel is left alone.
kernel_pkg="${KERNEL_PKG:-$(apt-cache depends linux-image-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ { print $2; exit }')}"
if [ -z "$kernel_pkg" ]; then
    # No apt metadata (offline): reuse whatever kernel a previous run cached.
    kernel_pkg="$(ls "$cache" | grep -m1 '^linux-image-[0-9]' || true)"
fi
[ -n "$kernel_pkg" ] || fail "cannot tell which Debian kernel to use (apt-cache depends linux-image-amd64)"
kroot="$cache/$kernel_pkg"
if [ ! -d "$kroot/boot" ]; then
    log "downloading $kernel_pkg"
    rm -rf "$cache/download" && mkdir -p "$cache/download"
    (cd "$cache/download" && apt-get download "$kernel_pkg" >&2) || fail "apt-get download $kernel_pkg"
    dpkg -x "$cache"/download/"$kernel_pkg"_*.deb "$kroot.partial"
    mv "$kroot.partial" "$kroot"
    rm -rf "$cache/download"
fi
vmlinuz="$(ls "$kroot"/boot/vmlinuz-* | head -n1)"
kver="${vmlinuz##*/vmlinuz-}"
moddir="$kroot/lib/modules/$kver"
[ -d "$moddir" ] || fail "$kernel_pkg has no modules directory $moddir"

# --- the probe: network::ipvs driven from inside the guest -------------------
# probe/ is its own small cargo workspace (it compiles crates/network/src/ipvs
# directly), built into the cache so the main target dir is not disturbed.
probe="${IPVS_PROBE:-}"
if [ -z "$probe" ]; then
    log "building ipvs_probe (integration/kernel/probe)"
    CARGO_TARGET_DIR="$cache/target" cargo build --locked --quiet \
        --manifest-path "$here/probe/Cargo.toml" || fail "cannot build integration/kernel/probe"
    probe="$cache/target/debug/ipvs_probe"
fi
[ -x "$probe" ] || fail "no ipvs_probe binary at $probe"

# --- initramfs -----------------------------------------------------------------
stage="$cache/initramfs"
rm -rf "$stage"
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,proc,sys,dev,run,tmp,srv,modules,etc}
cp /bin/busybox "$stage/bin/busybox"
cp "$here/init.sh" "$stage/init"
chmod 755 "$stage/init"

# A binary plus every shared object ldd names, at the same paths.
add_binary() {
    local src="$1" dst="$2"
    cp -L "$src" "$stage$dst"
    ldd "$src" | grep -o '/[^ ]*' | while read -r lib; do
        mkdir -p "$stage$(dirname "$lib")"
        cp -L "$lib" "$stage$lib"
    done
}
add_binary "$probe" /usr/bin/ipvs_probe
strip "$stage/usr/bin/ipvs_probe" 2>/dev/null || true
add_binary "$(command -v ipvsadm)" /usr/sbin/ipvsadm
add_binary "$(command -v nft)" /usr/sbin/nft
# iproute2's ip (veth peers in namespaces, `ip netns`); busybox's lacks them.
add_binary "$(command -v ip)" /usr/sbin/ip

# Modules in dependency order, read from each .ko's `depends=` modinfo field
# (the .deb ships no modules.dep). Built-in ones are skipped.
declare -A ko_path=() loaded=()
while read -r f; do
    name="${f##*/}"; name="${name%%.ko*}"; ko_path["${name//-/_}"]="$f"
done < <(find "$moddir/kernel" -name '*.ko*')
builtin_mods="$(sed 's#.*/##; s/\.ko$//; s/-/_/g' "$moddir/modules.builtin" 2>/dev/null || true)"

ko_depends() {
    local f="$1"
    # modinfo strings are NUL-separated: split on NUL before matching, and
    # never through a shell variable (bash drops NUL bytes).
    case "$f" in
        *.xz) xz -dc "$f" ;;
        *.zst) zstd -qdc "$f" ;;
        *.gz) gzip -dc "$f" ;;
        *) cat "$f" ;;
    esac | tr '\0' '\n' | grep -a -m1 '^depends=' | cut -d= -f2 | tr ',' ' '
}

# Appends NAME (after its dependencies) to list file $2, copying it into /modules.
add_module() {
    local name="${1//-/_}" list="$2" f
    [ -n "${loaded[$name]:-}" ] && return 0
    if grep -qx "$name" <<<"$builtin_mods"; then loaded[$name]=builtin; return 0; fi
    f="${ko_path[$name]:-}"
    [ -n "$f" ] || fail "kernel module $name not found in $kernel_pkg"
    for dep in $(ko_depends "$f"); do add_module "$dep" "$list"; done
    # busybox insmod reads plain ELF only, so decompress here.
    case "$f" in
        *.xz) xz -dc "$f" >"$stage/modules/$name.ko" ;;
        *.zst) zstd -qdc "$f" >"$stage/modules/$name.ko" ;;
        *.gz) gzip -dc "$f" >"$stage/modules/$name.ko" ;;
        *) cp "$f" "$stage/modules/$name.ko" ;;
    esac
    loaded[$name]=1
    echo "$name" >>"$stage/modules/$list"
}
: >"$stage/modules/base.list"
: >"$stage/modules/ipvs.list"
# libcrc32c asks the crypto API for "crc32c" when it loads; with no modprobe
# in the guest the implementation has to be there first.
for m in crc32c_generic veth nf_conntrack nfnetlink nf_tables nft_fib_ipv4 nft_chain_nat nft_masq; do
    add_module "$m" base.list
done
# Loaded only after the probe has seen the family missing (Unsupported path).
for m in ip_vs ip_vs_rr; do add_module "$m" ipvs.list; done

initrd="$cache/initramfs.cpio.gz"
if command -v cpio >/dev/null; then
    (cd "$stage" && find . | cpio -o -H newc --quiet) | gzip -1 >"$initrd"
else
    (cd "$stage" && find . | bsdcpio -o --format newc --quiet) | gzip -1 >"$initrd"
fi
log "initramfs $(du -h "$initrd" | cut -f1), kernel $kver, setup $((SECONDS - started)) s"

# --- boot ----------------------------------------------------------------------
trap - ERR
serial="$cache/serial.log"
boot_started=$SECONDS
set +e
timeout "$qemu_timeout" qemu-system-x86_64 \
    -accel tcg -cpu max -m 512 -smp 1 \
    -nic none -nographic -no-reboot \
    -kernel "$vmlinuz" -initrd "$initrd" \
    -append 'console=ttyS0 panic=-1 quiet' </dev/null | tee "$serial"
qemu_status=${PIPESTATUS[0]}
set -e
log "guest ran $((SECONDS - boot_started)) s (qemu exit $qemu_status), total $((SECONDS - started)) s"

if grep -aq '^IPVS-KERNEL-TEST: PASS' "$serial"; then
    echo "IPVS-KERNEL-TEST: PASS"
    exit 0
fi
if [ "$qemu_status" = 124 ]; then
    fail "guest did not finish within ${qemu_timeout}s (serial log: $serial)"
fi
why="$(grep -a -m1 '^IPVS-KERNEL-TEST: FAIL' "$serial" | sed 's/^IPVS-KERNEL-TEST: FAIL: //' || true)"
fail "${why:-no result marker from the guest} (serial log: $serial)"
