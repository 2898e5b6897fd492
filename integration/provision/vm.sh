#!/usr/bin/env bash
# Provisions one VM of the three-VM Vagrant lab (see the Vagrantfile at the repo root):
#
#   vm.sh manager manager 192.168.56.10
#   vm.sh worker  worker1 192.168.56.11
#
# 1. the same packages as the local lab (packages.sh --vm), the IPVS and VXLAN modules;
# 2. swarmd and swarmctl from the host's build (the synced folder's target/) into /usr/local/bin;
# 3. the test images into the VM's Docker engine (integration/images/build.sh);
# 4. swarmd as the systemd unit swarmd.service. The manager creates the cluster and writes the
#    worker join token to the synced folder ($SRC/.lab-token); workers wait for that file and
#    join the manager at 192.168.56.10:2377.
#
# Re-running it is safe (`vagrant provision`): it reinstalls the binaries and restarts swarmd.
set -euo pipefail

SRC=${SWARMD_SRC:-/vagrant}
MANAGER_ADDR=${SWARMD_MANAGER_ADDR:-192.168.56.10:2377}
PORT=2377
STATE_DIR=/var/lib/swarmd
TOKEN_FILE=$SRC/.lab-token
LIBEXEC=/usr/local/libexec/swarmd

die() {
    echo "vm.sh: error: $*" >&2
    exit 1
}
say() { echo "vm.sh: $*"; }

(($# == 3)) || die "usage: vm.sh manager|worker NAME ADDRESS (e.g. vm.sh worker worker1 192.168.56.11)"
ROLE=$1 NAME=$2 ADDR=$3
[[ $ROLE == manager || $ROLE == worker ]] || die "role must be manager or worker (got '$ROLE')"
[[ $ADDR =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "ADDRESS must be an IPv4 address (got '$ADDR')"
[[ $EUID -eq 0 ]] || die "run as root (Vagrant's provisioner does)"
[[ -d $SRC/integration ]] || die "$SRC does not hold the swarmd repository (is the synced folder mounted? vagrant reload)"

say "packages"
"$SRC/integration/provision/packages.sh" --vm

say "kernel: IPVS, VXLAN, forwarding"
# The routing mesh's IPVS backend and the ingress overlay; loaded now and at every boot.
modules=(ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack vxlan)
printf '%s\n' "${modules[@]}" >/etc/modules-load.d/swarmd.conf
modprobe -a "${modules[@]}"
echo 'net.ipv4.ip_forward = 1' >/etc/sysctl.d/90-swarmd.conf
sysctl -q -p /etc/sysctl.d/90-swarmd.conf

say "binaries from $SRC/target"
for name in swarmd swarmctl; do
    found=
    for dir in "$SRC/target/release" "$SRC/target/debug"; do
        [[ -x $dir/$name ]] && { found=$dir/$name; break; }
    done
    [[ -n $found ]] || die "no $name in $SRC/target/{release,debug}: build it on the host first (cargo build --release), then 'vagrant provision' (or 'vagrant rsync' for an rsync synced folder)"
    install -m 0755 "$found" "/usr/local/bin/$name.new"
    mv -f "/usr/local/bin/$name.new" "/usr/local/bin/$name"
    out=$("/usr/local/bin/$name" --help 2>&1 >/dev/null) ||
        die "$found does not run in this VM: $out (build on a host with glibc <= Debian 12's, or a static musl build)"
done

say "docker engine and test images"
# The same engine settings as the local lab's: swarmd plumbs task networking itself
# (containers run with NetworkMode=none), and Docker's iptables rules (FORWARD policy DROP)
# would drop the routing mesh's forwarded traffic.
install -d -m 0755 /etc/docker
engine_config='{ "iptables": false, "ip6tables": false, "bridge": "none" }'
if [[ ! -f /etc/docker/daemon.json || $(</etc/docker/daemon.json) != "$engine_config" ]]; then
    [[ -f /etc/docker/daemon.json ]] && cp /etc/docker/daemon.json /etc/docker/daemon.json.before-swarmd
    echo "$engine_config" >/etc/docker/daemon.json
    systemctl daemon-reload
    systemctl restart docker.service 2>/dev/null || true # not running yet on a fresh VM
    # Undo what the package's first start with the defaults left behind.
    if command -v iptables >/dev/null; then iptables -P FORWARD ACCEPT; fi
    ip link del docker0 2>/dev/null || true
fi
systemctl enable --now containerd.service docker.service
for _ in $(seq 1 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
docker info >/dev/null 2>&1 || die "the VM's docker engine does not answer (journalctl -u docker)"
DOCKER_HOST=unix:///var/run/docker.sock "$SRC/integration/images/build.sh"

say "swarmd.service ($ROLE)"
install -d -m 0755 "$LIBEXEC" "$STATE_DIR"
cat >/etc/default/swarmd <<EOF
# Written by integration/provision/vm.sh; read by swarmd.service.
SWARMD_ROLE=$ROLE
SWARMD_HOSTNAME=$NAME
SWARMD_ADDR=$ADDR:$PORT
SWARMD_MANAGER_ADDR=$MANAGER_ADDR
SWARMD_STATE_DIR=$STATE_DIR
SWARMD_TOKEN_FILE=$TOKEN_FILE
SWARMD_MESH_BACKEND=auto
EOF

# start: the unit's ExecStart. Workers wait for the manager's token, re-read at every start so a
# re-created cluster's new token is picked up by the unit's restarts.
cat >"$LIBEXEC/start" <<'EOF'
#!/bin/bash
set -euo pipefail
args=(--state-dir "$SWARMD_STATE_DIR" --hostname "$SWARMD_HOSTNAME"
    --listen-addr "$SWARMD_ADDR" --advertise-addr "$SWARMD_ADDR"
    --docker-host unix:///var/run/docker.sock --mesh-backend "$SWARMD_MESH_BACKEND")
if [[ $SWARMD_ROLE == worker ]]; then
    waited=0
    until [[ -s $SWARMD_TOKEN_FILE ]]; do
        ((waited % 30 == 0)) && echo "waiting for the manager's join token in $SWARMD_TOKEN_FILE"
        sleep 1
        waited=$((waited + 1))
    done
    args+=(--join-addr "$SWARMD_MANAGER_ADDR" --join-token "$(<"$SWARMD_TOKEN_FILE")")
fi
exec /usr/local/bin/swarmd "${args[@]}"
EOF
# publish-token: the manager's ExecStartPost; writes the worker token for the workers.
cat >"$LIBEXEC/publish-token" <<'EOF'
#!/bin/bash
set -euo pipefail
[[ $SWARMD_ROLE == manager ]] || exit 0
sock=$SWARMD_STATE_DIR/swarmd.sock
for _ in $(seq 1 300); do
    if token=$(/usr/local/bin/swarmctl --socket "$sock" cluster join-token worker -q 2>/dev/null) &&
        [[ -n $token ]]; then
        printf '%s\n' "$token" >"$SWARMD_TOKEN_FILE.tmp"
        mv -f "$SWARMD_TOKEN_FILE.tmp" "$SWARMD_TOKEN_FILE"
        echo "worker join token written to $SWARMD_TOKEN_FILE"
        exit 0
    fi
    sleep 0.2
done
echo "swarmd did not answer on $sock within 60s: no join token written" >&2
exit 1
EOF
chmod 0755 "$LIBEXEC/start" "$LIBEXEC/publish-token"

cat >/etc/systemd/system/swarmd.service <<EOF
[Unit]
Description=swarmd, the swarm orchestrator ($ROLE $NAME)
Documentation=file://$SRC/integration/lab/README.md
After=network-online.target docker.service
Wants=network-online.target
Requires=docker.service
StartLimitIntervalSec=0

[Service]
Type=simple
EnvironmentFile=/etc/default/swarmd
ExecStart=$LIBEXEC/start
ExecStartPost=$LIBEXEC/publish-token
Restart=on-failure
RestartSec=2
TimeoutStartSec=90
KillMode=mixed

[Install]
WantedBy=multi-user.target
EOF

# A manager being (re)provisioned may start a new cluster: never leave the old token around.
[[ $ROLE == manager ]] && rm -f "$TOKEN_FILE"
systemctl daemon-reload
systemctl enable swarmd.service
systemctl restart swarmd.service
if [[ $ROLE == manager ]]; then
    systemctl is-active --quiet swarmd.service || die "swarmd.service failed (journalctl -u swarmd)"
    [[ -s $TOKEN_FILE ]] || die "the manager wrote no join token to $TOKEN_FILE (journalctl -u swarmd)"
    say "cluster created; worker join token in $TOKEN_FILE"
else
    say "swarmd.service started; it joins $MANAGER_ADDR once $TOKEN_FILE exists"
fi
