#!/usr/bin/env bash
# The three-node swarmd lab on one machine: the Vagrant lab (manager 192.168.56.10, worker1 .11,
# worker2 .12) rebuilt from network namespaces, plus a client at .100.
#
# Every node is a network namespace on a shared bridge, with its own containerd + dockerd (own
# data-root, exec-root, socket, cgroup parent) and its own swarmd. Kernel objects carry the
# prefix `swl-` (netns swl-manager, bridge swl-br0, veth swl-worker1, cgroup /swl-worker2) so
# they cannot clash with anything else on the machine; users only see the friendly names.
# The bridge has no address in the root namespace and no namespace has a default route: lab
# traffic cannot leave the lab.
#
# Run `lab.sh help` for the commands. Needs root. State lives in $SWARMD_LAB_DIR
# (default /var/lib/swarmd-lab).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
LAB_DIR=${SWARMD_LAB_DIR:-/var/lib/swarmd-lab}
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
IMAGES_SCRIPT=${SWARMD_LAB_IMAGES_SCRIPT:-$REPO_ROOT/integration/images/build.sh}
MESH_BACKEND=${SWARMD_MESH_BACKEND:-auto}
READY_TIMEOUT=${SWARMD_LAB_READY_TIMEOUT:-60}
CURL_TIMEOUT=${SWARMD_LAB_CURL_TIMEOUT:-5}

PREFIX=swl
BRIDGE=$PREFIX-br0
SWARM_PORT=2377
NODES=(manager worker1 worker2)
HOSTS=(manager worker1 worker2 client)
declare -A IP=([manager]=192.168.56.10 [worker1]=192.168.56.11 [worker2]=192.168.56.12
    [client]=192.168.56.100)
MANAGER_ADDR=${IP[manager]}:$SWARM_PORT
# The manager serves the live visualizer here (swarmd --web-addr): not a port any test publishes.
WEB_PORT=${SWARMD_LAB_WEB_PORT:-8081}
MARKER=.swarmd-lab
# Set when the lab's shims created /run/containerd (their sockets live in /run/containerd/s
# whatever containerd's state dir is), so `down` removes it again if it is empty.
RUN_CONTAINERD_MARKER=.created-run-containerd
# The daemons the lab starts: a process whose argv[0] is one of these and whose command line
# names the lab dir is the lab's, even when its pidfile or namespace is already gone.
DAEMONS=" containerd containerd-shim containerd-shim-runc-v2 dockerd swarmd runc "

log() { printf 'lab: %s\n' "$*" >&2; }
die() {
    printf 'lab: error: %s\n' "$*" >&2
    exit 1
}

usage() {
    cat <<EOF
usage: lab.sh COMMAND [ARGS]

  up [--no-swarmd] [--no-images]   create the lab (cleans a previous one first)
  down                             remove everything the lab created (idempotent)
  status                           namespaces, daemons, cluster nodes
  check                            engines answer, every namespace pings every other
  ctl NODE ARGS...                 swarmctl against NODE's swarmd
  sh NODE [CMD...]                 a shell (or CMD) inside NODE's network namespace
  curl NODE URL [CURL ARGS...]     curl from inside NODE (--max-time $CURL_TIMEOUT)
  docker NODE ARGS...              docker against NODE's private engine
  dockerapi NODE ARGS...           the real docker CLI against NODE's swarmd (its Engine API)
  logs NODE [swarmd|dockerd|containerd]   the last lines of a daemon's log
  kill NODE                        kill -9 NODE's swarmd, dockerd and containerd (node crash)
  restart NODE                     (re)start NODE's engine and swarmd
  engine NODE stop|start           stop or start NODE's dockerd and containerd only (swarmd stays)
  link NODE down|up                cut or restore NODE's network link

nodes: ${NODES[*]} (and client for sh, curl, link)
addresses: manager ${IP[manager]}, worker1 ${IP[worker1]}, worker2 ${IP[worker2]}, client ${IP[client]}
visualizer: http://${IP[manager]}:$WEB_PORT/ (the manager's swarmd --web-addr; SWARMD_LAB_WEB_PORT)
state: $LAB_DIR   (SWARMD_LAB_DIR)
binaries: SWARMD_BIN / SWARMCTL_BIN, else the newer of $TARGET_DIR/{release,debug}/
EOF
}

# ---------------------------------------------------------------------------------------------
# names and paths

netns() { echo "$PREFIX-$1"; }
netns_path() { echo "/run/netns/$PREFIX-$1"; }
node_dir() { echo "$LAB_DIR/$1"; }
docker_sock() { echo "$LAB_DIR/$1/docker.sock"; }
containerd_sock() { echo "$LAB_DIR/$1/run/containerd.sock"; }
swarmd_dir() { echo "$LAB_DIR/$1/swarmd"; }
swarmd_sock() { echo "$LAB_DIR/$1/swarmd/swarmd.sock"; }
pidfile() { echo "$LAB_DIR/$1/$2.pid"; }
logfile() { echo "$LAB_DIR/$1/$2.log"; }
cgroup_name() { echo "$PREFIX-$1"; }

is_node() { [[ " ${NODES[*]} " == *" $1 "* ]]; }
is_host() { [[ " ${HOSTS[*]} " == *" $1 "* ]]; }
need_node() {
    [[ -n ${1:-} ]] || die "missing NODE (one of: ${NODES[*]})"
    is_node "$1" || die "unknown node '$1' (one of: ${NODES[*]})"
}
need_host() {
    [[ -n ${1:-} ]] || die "missing NODE (one of: ${HOSTS[*]})"
    is_host "$1" || die "unknown node '$1' (one of: ${HOSTS[*]})"
}
# As a user, a command that needs root re-runs the whole invocation through sudo (as root, with
# no sudo installed, it just goes on).
need_root() {
    [[ $EUID -eq 0 ]] && return 0
    # shellcheck source=../provision/as-root.sh
    source "$REPO_ROOT/integration/provision/as-root.sh" "$SCRIPT_DIR/lab.sh" "${LAB_ARGS[@]}"
}
need_netns() {
    [[ -e $(netns_path "$1") ]] || die "node '$1' has no network namespace: is the lab up? (lab.sh up)"
}

need_tools() {
    local t missing=()
    for t in ip nsenter setsid findmnt timeout "$@"; do
        command -v "$t" >/dev/null || missing+=("$t")
    done
    ((${#missing[@]} == 0)) ||
        die "missing tools: ${missing[*]} (install them with integration/provision/packages.sh)"
}

# bin NAME VAR: the binary from $VAR, else target/release, else target/debug.
bin() {
    local name=$1 override=${!2:-} p
    if [[ -n $override ]]; then
        [[ -x $override ]] || die "$2=$override is not an executable file"
        echo "$override"
        return
    fi
    # The newer of the two builds: a stale release binary must not shadow a fresh debug one.
    local best=
    for p in "$TARGET_DIR/release/$name" "$TARGET_DIR/debug/$name"; do
        [[ -x $p ]] || continue
        if [[ -z $best || $p -nt $best ]]; then best=$p; fi
    done
    [[ -n $best ]] && { echo "$best"; return; }
    die "no $name binary in $TARGET_DIR/release or $TARGET_DIR/debug: build it with 'cargo build --release' (or set $2)"
}

# A unix socket path has at most 107 bytes; the longest the lab makes is dockerd's
# LAB_DIR/worker1/run/docker/libnetwork/<12 hex>.sock, 48 bytes past the lab dir.
check_lab_dir() {
    [[ $LAB_DIR == /?*/?* && $LAB_DIR != */ && $LAB_DIR != *..* ]] ||
        die "SWARMD_LAB_DIR must be an absolute path at least two levels below / (got '$LAB_DIR')"
    ((${#LAB_DIR} <= 58)) || die "SWARMD_LAB_DIR=$LAB_DIR is too long for unix socket paths (max 58 chars)"
}

# ---------------------------------------------------------------------------------------------
# processes

# alive PID: the process exists and is not a zombie.
alive() {
    local state
    [[ -n ${1:-} && -r /proc/$1/stat ]] || return 1
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

# ours PID: alive and its command line names the lab dir (guards against PID reuse).
ours() {
    alive "$1" || return 1
    tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -qF -- "$LAB_DIR/"
}

# daemon_pid NODE NAME: the PID of the node's daemon if it runs, else nothing (status 1).
daemon_pid() {
    local f pid
    f=$(pidfile "$1" "$2")
    [[ -r $f ]] || return 1
    pid=$(tr -dc '0-9' <"$f")
    ours "$pid" || return 1
    echo "$pid"
}

# stop_pids GRACE PID...: SIGTERM, wait up to GRACE seconds, then SIGKILL and wait again.
stop_pids() {
    local grace=$1 p live deadline
    shift
    (($# > 0)) || return 0
    kill -TERM "$@" 2>/dev/null || true
    deadline=$((SECONDS + grace))
    while :; do
        live=()
        for p in "$@"; do alive "$p" && live+=("$p"); done
        ((${#live[@]} == 0)) && return 0
        ((SECONDS >= deadline)) && break
        sleep 0.1
    done
    log "still running after ${grace}s, killing: ${live[*]}"
    kill -KILL "${live[@]}" 2>/dev/null || true
    deadline=$((SECONDS + 5))
    for p in "${live[@]}"; do
        while alive "$p" && ((SECONDS < deadline)); do sleep 0.1; done
    done
}

# lab_pids: every process that belongs to the lab, by three independent signs so a crashed or
# half-torn-down lab is still found: its network namespace is a lab namespace, it is in a lab
# cgroup (the containers), or it is one of the lab's daemons (by argv[0]) and names the lab dir.
lab_pids() {
    local -A want=() seen=()
    local n f p link argv0 self_chain=" "
    p=$$
    while [[ -n $p && $p != 0 ]]; do
        self_chain+="$p "
        p=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null) || break
    done
    for n in "${HOSTS[@]}"; do
        f=$(netns_path "$n")
        [[ -e $f ]] && want["net:[$(stat -L -c %i "$f")]"]=1
    done
    for n in "${NODES[@]}"; do
        for f in /sys/fs/cgroup/"$(cgroup_name "$n")" /sys/fs/cgroup/*/"$(cgroup_name "$n")"; do
            [[ -d $f ]] || continue
            while read -r p; do [[ -n $p ]] && seen[$p]=1; done \
                < <(find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null)
        done
    done
    for f in /proc/[0-9]*; do
        p=${f#/proc/}
        [[ -n ${seen[$p]:-} ]] && continue
        if ((${#want[@]} > 0)); then
            link=$(readlink "$f/ns/net" 2>/dev/null) || continue
            [[ -n ${want[$link]:-} ]] && { seen[$p]=1; continue; }
        fi
        argv0=$(tr '\0' '\n' 2>/dev/null <"$f/cmdline" | head -n1) || continue
        argv0=${argv0##*/}
        [[ -n $argv0 && $DAEMONS == *" $argv0 "* ]] && ours "$p" && seen[$p]=1
    done
    # Their descendants too: a container whose engine crashed lives on under its shim, and a
    # container started with a cgroup parent of its own is in no lab cgroup.
    local -A children=()
    local pid ppid grew=1
    while read -r pid ppid; do children[$ppid]+=" $pid"; done < <(ps -e -o pid= -o ppid=)
    while ((grew)); do
        grew=0
        for p in "${!seen[@]}"; do
            for pid in ${children[$p]:-}; do
                [[ -n ${seen[$pid]:-} ]] || { seen[$pid]=1; grew=1; }
            done
        done
    done
    for p in "${!seen[@]}"; do
        [[ $self_chain == *" $p "* ]] && continue
        alive "$p" && echo "$p"
    done
    return 0
}

# start_daemon NODE NAME CMD...: starts CMD inside NODE's netns, detached from this shell's
# session and terminal, logging to NODE/NAME.log; prints its PID. setsid and nsenter exec
# (this shell's background child is never a process-group leader), so $! is the daemon's PID.
start_daemon() {
    local node=$1 name=$2 pid
    shift 2
    setsid nsenter --net="$(netns_path "$node")" -- "$@" </dev/null >>"$(logfile "$node" "$name")" 2>&1 &
    pid=$!
    echo "$pid"
}

# wait_until WHAT TIMEOUT PID LOG CMD...: polls CMD until it succeeds; fails naming WHAT and
# showing the log's tail when the daemon PID dies or the timeout passes.
wait_until() {
    local what=$1 timeout=$2 pid=$3 logf=$4 deadline
    shift 4
    deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        if ! alive "$pid"; then
            log "$what: the daemon (PID $pid) exited; last lines of $logf:"
            tail -n 20 "$logf" >&2 || true
            die "$what failed to start (see $logf; clean up with 'lab.sh down')"
        fi
        if ((SECONDS >= deadline)); then
            log "$what: not ready after ${timeout}s; last lines of $logf:"
            tail -n 20 "$logf" >&2 || true
            die "$what did not become ready within ${timeout}s (see $logf)"
        fi
        sleep 0.1
    done
}

docker_at() {
    local node=$1
    shift
    timeout 30 docker -H "unix://$(docker_sock "$node")" "$@"
}

# ---------------------------------------------------------------------------------------------
# network

net_up() {
    local n ns
    ip link add "$BRIDGE" type bridge
    # Bridged lab traffic must not traverse the host's iptables (Docker sets FORWARD DROP).
    ip link set "$BRIDGE" type bridge nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0 \
        2>/dev/null || log "warning: could not disable bridge netfilter on $BRIDGE"
    ip link set "$BRIDGE" up
    for n in "${HOSTS[@]}"; do
        ns=$(netns "$n")
        ip netns add "$ns"
        ip link add "$ns" type veth peer name eth0 netns "$ns"
        ip link set "$ns" master "$BRIDGE" up
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "${IP[$n]}/24" dev eth0
        ip -n "$ns" link set eth0 up
        # As on a Docker host (the Vagrant VMs): the routing mesh forwards between interfaces.
        nsenter --net="$(netns_path "$n")" sysctl -qw net.ipv4.ip_forward=1
    done
}

# ---------------------------------------------------------------------------------------------
# engines: one containerd + dockerd per node. The lab starts containerd itself instead of
# letting dockerd do it: dockerd silently uses the system containerd whenever
# /run/containerd/containerd.sock exists, which would put all three nodes in one engine.

write_engine_config() {
    local n=$1 d
    d=$(node_dir "$n")
    mkdir -p "$d/containerd" "$d/run" "$d/docker" "$(swarmd_dir "$n")"
    cat >"$d/containerd.toml" <<EOF
version = 2
root = "$d/containerd"
state = "$d/run/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$(containerd_sock "$n")"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$d/containerd/opt"
EOF
    # An empty config file keeps the machine's /etc/docker/daemon.json out of the lab.
    echo '{}' >"$d/daemon.json"
}

start_containerd() {
    local n=$1 pid
    rm -f "$(containerd_sock "$n")" # a crashed containerd leaves it behind
    pid=$(start_daemon "$n" containerd containerd --config "$(node_dir "$n")/containerd.toml")
    echo "$pid" >"$(pidfile "$n" containerd)"
}

start_dockerd() {
    local n=$1 d pid
    d=$(node_dir "$n")
    # dockerd refuses a pidfile whose PID still has a /proc entry, and a killed dockerd stays
    # a zombie until init reaps it.
    daemon_pid "$n" dockerd >/dev/null || rm -f "$d/dockerd.pid"
    # The lab has no registry: pulls go to a closed local port and fail at once instead of
    # waiting out DNS timeouts (a missing image becomes a Rejected task in a second).
    pid=$(start_daemon "$n" dockerd env HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
        dockerd \
        --config-file "$d/daemon.json" \
        --data-root "$d/docker" \
        --exec-root "$d/run/docker" \
        --pidfile "$d/dockerd.pid" \
        -H "unix://$(docker_sock "$n")" \
        --containerd "$(containerd_sock "$n")" \
        --cgroup-parent "/$(cgroup_name "$n")" \
        --exec-opt native.cgroupdriver=cgroupfs \
        --iptables=false --ip6tables=false --bridge=none --userland-proxy=false)
    echo "$pid" >"$d/dockerd.start.pid"
}

# engines_up NODE...: starts the engines of all NODEs together, then waits for each.
engines_up() {
    local n pid
    for n in "$@"; do start_containerd "$n"; done
    for n in "$@"; do
        pid=$(<"$(pidfile "$n" containerd)")
        wait_until "containerd on $n" 30 "$pid" "$(logfile "$n" containerd)" \
            test -S "$(containerd_sock "$n")"
    done
    for n in "$@"; do start_dockerd "$n"; done
    for n in "$@"; do
        pid=$(<"$(node_dir "$n")/dockerd.start.pid")
        wait_until "dockerd on $n" 30 "$pid" "$(logfile "$n" dockerd)" \
            docker_at "$n" version --format '{{.Server.Version}}'
    done
}

# load_images NODE...: runs the image build script against every NODE's engine, in parallel.
load_images() {
    local n f broken=()
    local -A job=()
    [[ -x $IMAGES_SCRIPT ]] ||
        die "image build script $IMAGES_SCRIPT is missing (set SWARMD_LAB_IMAGES_SCRIPT or use 'up --no-images')"
    for n in "$@"; do
        DOCKER_HOST="unix://$(docker_sock "$n")" "$IMAGES_SCRIPT" >"$(logfile "$n" images)" 2>&1 &
        job[$n]=$!
    done
    for n in "$@"; do
        wait "${job[$n]}" || broken+=("$n")
    done
    for n in "${broken[@]}"; do
        f=$(logfile "$n" images)
        log "image build for $n failed; last lines of $f:"
        tail -n 20 "$f" >&2 || true
    done
    ((${#broken[@]} == 0)) || die "building the test images failed on: ${broken[*]} (see $LAB_DIR/NODE/images.log)"
}

# ---------------------------------------------------------------------------------------------
# swarmd

start_swarmd() {
    local n=$1 swarmd swarmctl pid addr=${IP[$1]}:$SWARM_PORT args
    swarmd=$(bin swarmd SWARMD_BIN)
    swarmctl=$(bin swarmctl SWARMCTL_BIN)
    args=(--state-dir "$(swarmd_dir "$n")" --hostname "$n"
        --listen-addr "$addr" --advertise-addr "$addr"
        --docker-host "unix://$(docker_sock "$n")" --mesh-backend "$MESH_BACKEND")
    if [[ $n != manager ]]; then
        [[ -s $LAB_DIR/worker-token ]] || die "no worker token in $LAB_DIR/worker-token: is the manager up?"
        args+=(--join-addr "$MANAGER_ADDR" --join-token "$(<"$LAB_DIR/worker-token")")
    else
        args+=(--web-addr "0.0.0.0:$WEB_PORT")
    fi
    mkdir -p "$(swarmd_dir "$n")"
    rm -f "$(swarmd_sock "$n")" # a crashed swarmd leaves it behind
    pid=$(start_daemon "$n" swarmd "$swarmd" "${args[@]}")
    echo "$pid" >"$(pidfile "$n" swarmd)"
    if [[ $n == manager ]]; then
        wait_until "swarmd on $n" 30 "$pid" "$(logfile "$n" swarmd)" \
            "$swarmctl" --socket "$(swarmd_sock "$n")" node ls
    fi
    # A worker's sign of life is its node turning Ready on the manager (wait_ready).
}

node_list() { "$(bin swarmctl SWARMCTL_BIN)" --socket "$(swarmd_sock manager)" node ls 2>/dev/null; }

# ready_count NODE...: how many of NODEs the manager lists as Ready, with their engine answering
# (a node without its engine shows "Ready (no engine)" and gets no tasks).
ready_count() {
    local list n count=0
    list=$(node_list) || true
    for n in "$@"; do
        grep -w -- "$n" <<<"$list" | grep -iw ready | grep -qv "no engine" && count=$((count + 1))
    done
    echo "$count"
}

# wait_ready NODE...: until the manager lists every NODE as Ready; fails early when one of their
# swarmds exits.
wait_ready() {
    local deadline=$((SECONDS + READY_TIMEOUT)) ready n
    while :; do
        ready=$(ready_count "$@")
        ((ready == $#)) && return 0
        for n in "$@"; do
            daemon_pid "$n" swarmd >/dev/null && continue
            log "swarmd on $n is not running; last lines of $(logfile "$n" swarmd):"
            tail -n 20 "$(logfile "$n" swarmd)" >&2 || true
            die "swarmd on $n exited before it was Ready (see $(logfile "$n" swarmd))"
        done
        if ((SECONDS >= deadline)); then
            node_list >&2 || true
            die "only $ready of $# nodes ($*) Ready after ${READY_TIMEOUT}s (see $LAB_DIR/NODE/swarmd.log; SWARMD_LAB_READY_TIMEOUT raises the wait)"
        fi
        sleep 0.2
    done
}

swarm_up() {
    local n swarmctl
    swarmctl=$(bin swarmctl SWARMCTL_BIN)
    start_swarmd manager
    (umask 077 && "$swarmctl" --socket "$(swarmd_sock manager)" cluster join-token worker -q \
        >"$LAB_DIR/worker-token") || die "could not read the worker join token from the manager (see $(logfile manager swarmd))"
    [[ -s $LAB_DIR/worker-token ]] || die "the manager printed an empty worker join token"
    for n in "${NODES[@]}"; do
        [[ $n == manager ]] || start_swarmd "$n"
    done
    wait_ready "${NODES[@]}"
}

# ---------------------------------------------------------------------------------------------
# teardown

unmount_under_lab_dir() {
    local round t targets
    for round in 1 2 3; do
        mapfile -t targets < <(findmnt -rn -o TARGET | awk -v d="$LAB_DIR" \
            '$0 == d || index($0, d "/") == 1' | sort -r)
        ((${#targets[@]} == 0)) && return 0
        for t in "${targets[@]}"; do
            t=$(printf '%b' "$t") # findmnt -r escapes blanks as \x20
            if ((round < 3)); then
                umount "$t" 2>/dev/null || umount -l "$t" 2>/dev/null || true
            else
                umount -l "$t" 2>/dev/null || true
            fi
        done
    done
    mapfile -t targets < <(findmnt -rn -o TARGET | awk -v d="$LAB_DIR" 'index($0, d "/") == 1 || $0 == d')
    ((${#targets[@]} == 0)) || die "could not unmount: ${targets[*]}"
}

remove_cgroups() {
    local n d
    for n in "${NODES[@]}"; do
        for d in /sys/fs/cgroup/"$(cgroup_name "$n")" /sys/fs/cgroup/*/"$(cgroup_name "$n")"; do
            [[ -d $d ]] || continue
            find "$d" -depth -type d -exec rmdir {} + 2>/dev/null ||
                log "warning: could not remove cgroup $d (a process is still in it?)"
        done
    done
}

remove_containers() {
    local n=$1 ids
    [[ -S $(docker_sock "$n") ]] || return 0
    ids=$(docker_at "$n" ps -aq 2>/dev/null) || return 0
    [[ -n $ids ]] || return 0
    # shellcheck disable=SC2086 # one ID per word
    docker_at "$n" rm -f $ids >/dev/null 2>&1 || log "warning: could not remove the containers of $n"
}

# not_inside_lab: the teardown kills every process in a lab namespace, so it must run outside.
not_inside_lab() {
    local n f self
    self=$(readlink /proc/self/ns/net)
    for n in "${HOSTS[@]}"; do
        f=$(netns_path "$n")
        [[ -e $f && $self == "net:[$(stat -L -c %i "$f")]" ]] &&
            die "this shell is inside the lab's $n namespace: leave it (exit) and run lab.sh from the host"
    done
    return 0
}

lab_down() {
    local n pid pids=()
    check_lab_dir
    not_inside_lab
    if [[ -e $LAB_DIR && ! -e $LAB_DIR/$MARKER ]] && [[ -n $(ls -A "$LAB_DIR" 2>/dev/null) ]]; then
        die "$LAB_DIR exists but was not made by lab.sh (no $MARKER): not touching it"
    fi
    # 1. swarmd first, so nothing recreates containers while they are removed.
    for n in "${NODES[@]}"; do pid=$(daemon_pid "$n" swarmd) && pids+=("$pid"); done
    stop_pids 10 "${pids[@]}"
    # 2. containers, while their engines still run (clean unmounts and netns removal).
    pids=()
    for n in "${NODES[@]}"; do
        remove_containers "$n" &
        pids+=("$!")
    done
    for pid in "${pids[@]}"; do wait "$pid" || true; done
    # 3. engines: dockerd, then its containerd.
    pids=()
    for n in "${NODES[@]}"; do pid=$(daemon_pid "$n" dockerd) && pids+=("$pid"); done
    stop_pids 15 "${pids[@]}"
    pids=()
    for n in "${NODES[@]}"; do pid=$(daemon_pid "$n" containerd) && pids+=("$pid"); done
    stop_pids 10 "${pids[@]}"
    # 4. whatever survived (shims, containers, shells in a node, a crashed run's daemons).
    mapfile -t pids < <(lab_pids)
    if ((${#pids[@]} > 0)); then
        log "killing leftover lab processes: ${pids[*]}"
        stop_pids 2 "${pids[@]}"
    fi
    # 5. kernel objects and files.
    unmount_under_lab_dir
    remove_cgroups
    for n in $(lab_netns); do
        ip netns del "$n" || log "warning: could not delete network namespace $n"
    done
    # Deleting a namespace removes its veth pair asynchronously: delete what is left, then wait.
    for n in $(lab_links); do
        ip link del "$n" 2>/dev/null || true
    done
    if [[ -e $LAB_DIR/$RUN_CONTAINERD_MARKER ]]; then
        rmdir /run/containerd/s /run/containerd 2>/dev/null || true
    fi
    if [[ -e $LAB_DIR ]]; then
        rm -rf --one-file-system "$LAB_DIR" || die "could not remove $LAB_DIR"
    fi
    verify_clean
}

lab_netns() { ip netns list 2>/dev/null | awk -v p="$PREFIX-" 'index($1, p) == 1 {print $1}'; }
lab_links() {
    ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 |
        awk -v p="$PREFIX-" 'index($0, p) == 1'
}

# verify_clean: fails naming whatever the lab left behind.
verify_clean() {
    local deadline=$((SECONDS + 5)) left
    while :; do
        left=$(
            lab_netns | sed 's/^/netns /'
            lab_links | sed 's/^/link /'
            findmnt -rn -o TARGET | awk -v d="$LAB_DIR" '$0 == d || index($0, d "/") == 1' | sed 's/^/mount /'
            lab_pids | sed 's/^/process /'
            [[ -e $LAB_DIR ]] && echo "directory $LAB_DIR"
        ) || true
        [[ -z $left ]] && return 0
        ((SECONDS >= deadline)) && break
        sleep 0.1
    done
    die "down left behind: $(echo "$left" | paste -sd, -)"
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_up() {
    local with_swarmd=1 with_images=1 t0=$SECONDS arg n
    for arg in "$@"; do
        case $arg in
        --no-swarmd) with_swarmd=0 ;;
        --no-images) with_images=0 ;;
        *) die "up: unknown option '$arg' (--no-swarmd, --no-images)" ;;
        esac
    done
    need_root
    need_tools containerd dockerd docker sysctl
    check_lab_dir
    # Fail on a missing binary or image script before touching anything.
    if ((with_swarmd)); then bin swarmd SWARMD_BIN >/dev/null; bin swarmctl SWARMCTL_BIN >/dev/null; fi
    if ((with_images)) && [[ ! -x $IMAGES_SCRIPT ]]; then
        die "image build script $IMAGES_SCRIPT is missing (set SWARMD_LAB_IMAGES_SCRIPT or use 'up --no-images')"
    fi
    if [[ -e $LAB_DIR || -n $(lab_netns) || -n $(lab_links) ]]; then
        log "cleaning up a previous lab"
    fi
    lab_down
    mkdir -p "$LAB_DIR"
    touch "$LAB_DIR/$MARKER"
    trap 'up_failed $?' EXIT
    [[ -e /run/containerd ]] || touch "$LAB_DIR/$RUN_CONTAINERD_MARKER"
    for n in "${NODES[@]}"; do write_engine_config "$n"; done
    mkdir -p "$(node_dir client)"
    log "network: bridge $BRIDGE, namespaces ${HOSTS[*]}"
    net_up
    log "engines: containerd + dockerd on ${NODES[*]}"
    engines_up "${NODES[@]}"
    if ((with_images)); then
        log "images: $IMAGES_SCRIPT into each engine"
        load_images "${NODES[@]}"
    fi
    if ((with_swarmd)); then
        log "swarmd: manager at $MANAGER_ADDR, then worker1, worker2"
        swarm_up
    fi
    trap - EXIT
    log "up in $((SECONDS - t0))s"
    summary "$with_swarmd"
}

up_failed() {
    (($1 == 0)) && return
    log "up failed: the partial lab is left for inspection (logs: $LAB_DIR/NODE/*.log); 'lab.sh down' removes it"
}

summary() {
    local n
    echo
    echo "swarmd lab is up (state in $LAB_DIR)"
    for n in "${HOSTS[@]}"; do
        if is_node "$n"; then
            printf '  %-8s %-15s engine %s\n' "$n" "${IP[$n]}" "$(docker_sock "$n")"
        else
            printf '  %-8s %-15s (no daemons: the outside client)\n' "$n" "${IP[$n]}"
        fi
    done
    echo
    if (($1)); then
        echo "swarmd $(bin swarmd SWARMD_BIN), mesh backend $MESH_BACKEND"
        "$(bin swarmctl SWARMCTL_BIN)" --socket "$(swarmd_sock manager)" node ls || true
        echo
    fi
    cat <<EOF
try:
  $0 ctl manager node ls
  $0 ctl manager service create --name web --replicas 3 --publish 80:80 swarmd/whoami:latest
  $0 curl client http://${IP[worker1]}/
  $0 sh worker2               # a shell inside worker2's network namespace
  $0 docker worker1 ps        # worker1's private engine
  $0 down
EOF
}

cmd_down() {
    local t0=$SECONDS
    need_root
    lab_down
    log "down in $((SECONDS - t0))s: no lab namespace, link, mount or process left"
}

cmd_status() {
    local n pid name line
    printf '%-8s %-15s %-6s' NODE ADDRESS NETNS
    printf ' %-12s' containerd dockerd swarmd
    echo
    for n in "${HOSTS[@]}"; do
        line=$(printf '%-8s %-15s' "$n" "${IP[$n]}")
        if [[ -e $(netns_path "$n") ]]; then line+=$(printf ' %-6s' yes); else line+=$(printf ' %-6s' no); fi
        for name in containerd dockerd swarmd; do
            if ! is_node "$n"; then
                line+=$(printf ' %-12s' -)
            elif pid=$(daemon_pid "$n" "$name"); then
                line+=$(printf ' %-12s' "pid $pid")
            else
                line+=$(printf ' %-12s' down)
            fi
        done
        echo "$line"
    done
    if daemon_pid manager swarmd >/dev/null; then
        echo
        "$(bin swarmctl SWARMCTL_BIN)" --socket "$(swarmd_sock manager)" node ls ||
            echo "(swarmctl node ls failed: see $(logfile manager swarmd))"
    fi
}

cmd_check() {
    local n m v failed=0
    need_root
    for n in "${NODES[@]}"; do
        if v=$(docker_at "$n" info --format '{{.ServerVersion}} {{.Driver}} {{.Images}} images' 2>&1); then
            echo "ok   engine $n: $v"
        else
            echo "FAIL engine $n: $v"
            failed=1
        fi
    done
    for n in "${HOSTS[@]}"; do
        need_netns "$n"
        for m in "${HOSTS[@]}"; do
            [[ $n == "$m" ]] && continue
            if nsenter --net="$(netns_path "$n")" busybox ping -c1 -W1 "${IP[$m]}" >/dev/null 2>&1; then
                echo "ok   ping $n -> $m (${IP[$m]})"
            else
                echo "FAIL ping $n -> $m (${IP[$m]})"
                failed=1
            fi
        done
    done
    if daemon_pid manager swarmd >/dev/null; then
        n=$(ready_count "${NODES[@]}")
        if ((n == ${#NODES[@]})); then echo "ok   swarmd: $n nodes Ready"; else
            echo "FAIL swarmd: $n of ${#NODES[@]} nodes Ready"
            failed=1
        fi
    fi
    ((failed == 0)) || die "check failed"
}

cmd_ctl() {
    need_node "${1:-}"
    local n=$1
    shift
    if [[ ! -S $(swarmd_sock "$n") ]] && daemon_pid "$n" swarmd >/dev/null; then
        die "$n has no control socket: only managers serve swarmctl (use 'lab.sh ctl manager …')"
    fi
    exec "$(bin swarmctl SWARMCTL_BIN)" --socket "$(swarmd_sock "$n")" "$@"
}

cmd_sh() {
    need_host "${1:-}"
    local n=$1
    shift
    need_netns "$n"
    if (($# == 0)); then
        exec nsenter --net="$(netns_path "$n")" -- env LAB_NODE="$n" PS1="[lab $n] \\w# " bash --norc -i
    fi
    exec nsenter --net="$(netns_path "$n")" -- "$@"
}

cmd_curl() {
    need_host "${1:-}"
    local n=$1
    shift
    (($# > 0)) || die "usage: lab.sh curl NODE URL [CURL ARGS...]"
    need_netns "$n"
    exec nsenter --net="$(netns_path "$n")" -- curl -sS --max-time "$CURL_TIMEOUT" "$@"
}

cmd_docker() {
    need_node "${1:-}"
    local n=$1
    shift
    exec docker -H "unix://$(docker_sock "$n")" "$@"
}

cmd_dockerapi() {
    need_node "${1:-}"
    local n=$1
    shift
    DOCKER_HOST="unix://$(swarmd_dir "$n")/docker.sock" exec docker "$@"
}

cmd_logs() {
    need_node "${1:-}"
    local f
    f=$(logfile "$1" "${2:-swarmd}")
    [[ -r $f ]] || die "no log $f"
    tail -n 50 "$f"
}

cmd_kill() {
    need_root
    need_node "${1:-}"
    local n=$1 name pid killed=()
    for name in swarmd dockerd containerd; do
        if pid=$(daemon_pid "$n" "$name"); then
            kill -KILL "$pid"
            killed+=("$name($pid)")
        fi
    done
    ((${#killed[@]} > 0)) || die "$n has no running daemon"
    log "killed on $n: ${killed[*]} (its containers keep running, as after a daemon crash)"
}

cmd_restart() {
    need_root
    need_node "${1:-}"
    local n=$1 pid name
    need_netns "$n"
    for name in swarmd dockerd containerd; do
        if pid=$(daemon_pid "$n" "$name"); then stop_pids 15 "$pid"; fi
    done
    engines_up "$n"
    start_swarmd "$n"
    if daemon_pid manager swarmd >/dev/null; then
        wait_ready "$n"
        log "restarted $n; it is Ready"
    else
        log "restarted $n (the manager's swarmd is not running: not waiting for Ready)"
    fi
}

cmd_engine() {
    need_root
    need_node "${1:-}"
    local n=$1 action=${2:-} pid name
    case $action in
    stop)
        for name in dockerd containerd; do
            if pid=$(daemon_pid "$n" "$name"); then stop_pids 15 "$pid"; fi
        done
        log "stopped $n's engine; its swarmd keeps running"
        ;;
    start)
        need_netns "$n"
        engines_up "$n"
        log "started $n's engine"
        ;;
    *) die "usage: lab.sh engine NODE stop|start" ;;
    esac
}

cmd_link() {
    need_root
    need_host "${1:-}"
    local n=$1 state=${2:-}
    [[ $state == up || $state == down ]] || die "usage: lab.sh link NODE down|up"
    need_netns "$n"
    ip link set "$(netns "$n")" "$state"
    log "$n's link is $state"
}

main() {
    local cmd=${1:-help}
    (($# > 0)) && shift
    case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    check) cmd_check ;;
    ctl) cmd_ctl "$@" ;;
    sh) cmd_sh "$@" ;;
    curl) cmd_curl "$@" ;;
    docker) cmd_docker "$@" ;;
    dockerapi) cmd_dockerapi "$@" ;;
    logs) cmd_logs "$@" ;;
    kill) cmd_kill "$@" ;;
    restart) cmd_restart "$@" ;;
    engine) cmd_engine "$@" ;;
    link) cmd_link "$@" ;;
    help | -h | --help) usage ;;
    *)
        usage >&2
        die "unknown command '$cmd'"
        ;;
    esac
}

LAB_ARGS=("$@")
main "$@"
