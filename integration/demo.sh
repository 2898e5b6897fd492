#!/usr/bin/env bash
# The seed scenarios, shown: installs missing packages, builds swarmd + swarmctl, brings the three-node lab up
# (integration/lab/lab.sh) and walks through what the routing-mesh explainer shows, printing
# every command (prefixed `$ `) and its output, as a user at the terminal would see them.
#
#   integration/demo.sh [--release] [--no-build] [--down]
#
#   --release    build and use release binaries (default: debug, the faster build)
#   --no-build   use the binaries already in target/ (SWARMD_BIN / SWARMCTL_BIN are honoured)
#   --down       take the lab down at the end (default: leave it up to explore)
#
# Needs root (network namespaces, private dockerds): run as a user, it re-runs itself through
# sudo. Non-interactive. Exits non-zero when a
# scenario does not behave as the seed document says (the output shows which).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=provision/as-root.sh
source "$SCRIPT_DIR/provision/as-root.sh" "$SCRIPT_DIR/demo.sh" "$@"
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
LAB="$SCRIPT_DIR/lab/lab.sh"
PROFILE=debug
BUILD=1
DOWN=0
for arg in "$@"; do
    case $arg in
    --release) PROFILE=release ;;
    --no-build) BUILD=0 ;;
    --down) DOWN=1 ;;
    -h | --help)
        sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "demo.sh: unknown option '$arg' (--release, --no-build, --down)" >&2
        exit 2
        ;;
    esac
done

MANAGER=192.168.56.10
WORKER1=192.168.56.11
WORKER2=192.168.56.12
NODE_IPS=("$MANAGER" "$WORKER1" "$WORKER2")
PROBLEMS=()
T_START=$SECONDS

# Output helpers -----------------------------------------------------------------------------
bold() { if [[ -t 1 ]]; then printf '\033[1m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }
section() {
    echo
    bold "=== $*"
}
note() { printf '# %s\n' "$*"; }
problem() {
    printf '!!! %s\n' "$*"
    PROBLEMS+=("$*")
}
# show CMD...: prints `$ CMD` (with lab.sh as a user types it) and runs it.
show() {
    local shown=("$@")
    [[ ${shown[0]} == "$LAB" ]] && shown[0]=lab.sh
    printf '\n$ %s\n' "${shown[*]}"
    "$@"
}
ctl() { show "$LAB" ctl manager "$@"; }
ctl_quiet() { "$LAB" ctl manager "$@"; }
# curl_node IP PORT: one request from the client, shown as the user's curl.
curl_node() {
    local out rc=0
    printf '$ curl http://%s:%s/        # from the client (192.168.56.100)\n' "$1" "$2"
    out=$("$LAB" curl client "http://$1:$2/" --max-time 3 2>&1) || rc=$?
    printf '%s\n' "$out"
    return $rc
}
# hostnames IP PORT N: N requests, one answering hostname per line.
hostnames() {
    local i line
    printf '$ for i in $(seq %s); do curl -s http://%s:%s/ | grep Hostname; done   # from the client\n' "$3" "$1" "$2"
    for ((i = 0; i < $3; i++)); do
        line=$("$LAB" curl client "http://$1:$2/" --max-time 3 2>&1 | grep -E '^Hostname|curl:') || true
        printf '%s\n' "${line:-<no answer>}"
    done
}
# running_count SERVICE [EXCLUDED_NODE]: tasks desired and currently running (not on that node).
running_count() {
    ctl_quiet service ps "$1" --filter desired-state=running --format json 2>/dev/null |
        grep '"CurrentState":"Running' | { if [[ -n ${2:-} ]]; then grep -v "\"Node\":\"$2\""; else cat; fi; } | wc -l
}
# task_ip NETWORK TASK_NAME: the task's address on that network, from `network inspect`.
task_ip() {
    ctl_quiet network inspect "$1" | grep -A4 "\"name\": \"$2\"" | sed -n 's/.*"addr": "\(.*\)".*/\1/p' | head -n1
}
elapsed() { echo "$((SECONDS - $1)) s"; }

# 0. Install, build and bring the lab up -------------------------------------------------------
section "System packages (apt, only what is missing)"
cd "$REPO_ROOT"
"$SCRIPT_DIR/provision/packages.sh"

section "Build swarmd and swarmctl ($PROFILE)"
T=$SECONDS
if ((BUILD)); then
    if [[ $PROFILE == release ]]; then show cargo build --release -p swarmd -p swarmctl; else show cargo build -p swarmd -p swarmctl; fi
fi
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
# lab.sh prefers target/release: name the binaries so it runs the ones just built.
export SWARMD_BIN=${SWARMD_BIN:-$TARGET_DIR/$PROFILE/swarmd}
export SWARMCTL_BIN=${SWARMCTL_BIN:-$TARGET_DIR/$PROFILE/swarmctl}
note "build: $(elapsed "$T")"

section "The lab: manager $MANAGER, worker1 $WORKER1, worker2 $WORKER2, client 192.168.56.100"
note "three network namespaces on one bridge, each with a private dockerd and a swarmd;"
note "'lab.sh ctl manager ARGS' is swarmctl against the manager, 'lab.sh curl client URL' curls from the client"
T=$SECONDS
show "$LAB" up
note "lab up: $(elapsed "$T")"
ctl node ls
VISUALIZER=http://$MANAGER:8081/
note "the live visualizer (swarmd --web-addr on the manager): $VISUALIZER"
printf '$ curl %sapi/state        # from the client (192.168.56.100): the JSON the page draws\n' "$VISUALIZER"
if state=$("$LAB" curl client "${VISUALIZER}api/state" --max-time 3 2>&1); then
    printf '%s...\n' "${state:0:160}"
else
    problem "the visualizer did not answer on $VISUALIZER: $state"
fi

# 1. Visualizer on the manager, reachable everywhere ------------------------------------------
section "1. A visualizer constrained to the manager, published on 8080"
T=$SECONDS
ctl service create --name viz --constraint node.role==manager --publish 8080:8080 swarmd/visualizer:latest
ctl service ps viz
pages=()
for ip in "${NODE_IPS[@]}"; do
    if page=$(curl_node "$ip" 8080); then pages+=("$(printf '%s' "$page" | tail -n +2 | sha256sum)"); else problem "8080 did not answer on $ip"; fi
done
if ((${#pages[@]} == 3)) && [[ ${pages[0]} == "${pages[1]}" && ${pages[1]} == "${pages[2]}" ]]; then
    note "the same page from all three node IPs, while one task runs on the manager"
else
    problem "the three node IPs did not return the same page"
fi
note "scenario 1: $(elapsed "$T")"

# 2. nginx-demo: one replica per node, every node reaches all three ---------------------------
section "2. nginx-demo: 3 replicas published on 80"
T=$SECONDS
ctl service create --name nginx-demo --replicas 3 --publish 80:80 swarmd/whoami:latest
ctl service ps nginx-demo
for ip in "${NODE_IPS[@]}"; do
    out=$(hostnames "$ip" 80 6)
    printf '%s\n' "$out"
    n=$(grep -c '^Hostname' <<<"$out" || true)
    d=$(grep '^Hostname' <<<"$out" | sort -u | wc -l)
    ((n == 6 && d == 3)) || problem "6 requests to $ip:80: $n answered, $d distinct replicas (expected 6 and 3)"
done
note "scenario 2: $(elapsed "$T")"

# 3. Manager-only service on 3000 ---------------------------------------------------------------
section "3. A service constrained to the manager, published on 3000, reachable from every node"
T=$SECONDS
ctl service create --name app3000 --constraint node.role==manager --env PORT=3000 --publish 3000:3000 swarmd/whoami:latest
ctl service ps app3000
for ip in "${NODE_IPS[@]}"; do curl_node "$ip" 3000 || problem "3000 did not answer on $ip"; done
note "scenario 3: $(elapsed "$T")"

# 4. internal-db: no --publish, on its own network ------------------------------------------------
section "4. internal-db without --publish, on network backend: reachable by name from backend only"
T=$SECONDS
ctl network create backend
ctl network create frontend
ctl service create --name internal-db --network backend --env PORT=5432 swarmd/whoami:latest
ctl service create --name db-client --network backend swarmd/sleeper:latest
ctl service create --name front-only --network frontend swarmd/sleeper:latest
ctl service ps internal-db db-client front-only
DB_IP=$(task_ip backend internal-db.1)
note "internal-db.1 has the address $DB_IP on backend, and none on ingress (it publishes nothing)"
for ip in "${NODE_IPS[@]}" "$DB_IP"; do
    if curl_node "$ip" 5432; then problem "the client reached internal-db at $ip:5432"; fi
done
# in_task SERVICE CMD...: runs CMD in the service's first container, wherever it runs.
in_task() {
    local svc=$1 node id
    shift
    for node in manager worker1 worker2; do
        id=$("$LAB" docker "$node" ps -q --filter "label=com.swarmd.service.name=$svc" | head -n1)
        if [[ -n $id ]]; then
            show "$LAB" docker "$node" exec "$id" "$@"
            return
        fi
    done
    echo "no $svc container found" >&2
    return 1
}
note "from a db-client task (on backend), by name through the embedded DNS and the VIP:"
in_task db-client timeout 5 wget -qO- http://internal-db:5432/ ||
    problem "a db-client task could not reach internal-db by name"
note "from a front-only task (on frontend only), by name and by address: refused"
if in_task front-only timeout 3 wget -qO- http://internal-db:5432/; then
    problem "front-only reached internal-db by name"
fi
if in_task front-only timeout 3 wget -qO- "http://$DB_IP:5432/"; then
    problem "front-only reached internal-db at $DB_IP"
fi
note "scenario 4: $(elapsed "$T")"

# 7. The mesh tables and the overlay ------------------------------------------------------------
section "7. The routing mesh of every node (like ipvsadm -L -n) and the ingress overlay"
for n in manager worker1 worker2; do ctl node mesh "$n"; done
ctl network inspect ingress
show "$LAB" sh worker1 ip -d link show swarm-vx4096 || true

# 5. HA: kill worker2 ---------------------------------------------------------------------------
section "5. High availability: worker2 crashes (swarmd, dockerd, containerd killed)"
ctl service ps nginx-demo
show "$LAB" kill worker2
T0=$(date +%s.%N)
recreated=""
for ((i = 0; i < 300; i++)); do
    if [[ $(running_count nginx-demo worker2) -eq 3 ]]; then
        recreated=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
        break
    fi
    sleep 0.1
done
if [[ -n $recreated ]]; then note "worker2's replica was recreated on a surviving node ${recreated} s after the crash"; else problem "worker2's replica was not recreated within 30 s"; fi
ctl node ls
ctl service ps nginx-demo
for ip in "$MANAGER" "$WORKER1"; do
    out=$(hostnames "$ip" 80 6)
    printf '%s\n' "$out"
    n=$(grep -c '^Hostname' <<<"$out" || true)
    ((n == 6)) || problem "after the crash, only $n of 6 requests to $ip:80 answered"
done
show "$LAB" restart worker2
ctl node ls

# 6. Scaling ------------------------------------------------------------------------------------
section "6. Scaling nginx-demo 3 -> 6 -> 2: the mesh follows"
for r in 6 2; do
    T=$SECONDS
    ctl service scale "nginx-demo=$r"
    ctl service ps nginx-demo
    out=$(hostnames "$WORKER2" 80 12)
    printf '%s\n' "$out"
    d=$(grep '^Hostname' <<<"$out" | sort -u | wc -l)
    ((d == r)) || problem "after scaling to $r, 12 requests reached $d distinct replicas"
    note "scale to $r: $(elapsed "$T")"
done
ctl node mesh worker2

# The end ---------------------------------------------------------------------------------------
section "Done in $(elapsed "$T_START")"
if ((DOWN)); then
    show "$LAB" down
else
    cat <<EOF
The lab is still up, with the services above. Explore it:
  integration/lab/lab.sh ctl manager service ls
  integration/lab/lab.sh ctl manager node mesh worker1      # the live mesh table of a node
  integration/lab/lab.sh curl client ${VISUALIZER}api/state  # the visualizer's data; its page is
                                                            # $VISUALIZER from the lab's network
  integration/lab/lab.sh curl client http://$WORKER1/
  integration/lab/lab.sh sh worker1 nft list ruleset        # the kernel's rules behind it
  integration/lab/lab.sh docker worker2 ps                  # worker2's private engine
  integration/lab/lab.sh link worker1 down                  # another way to lose a node
  integration/lab/lab.sh down                               # remove everything
EOF
fi
if ((${#PROBLEMS[@]} > 0)); then
    echo
    bold "${#PROBLEMS[@]} thing(s) did not behave as the seed document says:"
    printf '  - %s\n' "${PROBLEMS[@]}"
    exit 1
fi
