#!/bin/busybox sh
# /init of the IPVS kernel-test guest (packed by run.sh). Runs as PID 1 on
# Debian's kernel; prints `IPVS-KERNEL-TEST: PASS|FAIL` and powers off.
#
# Topology (all in this one guest):
#   root ns: VIP 10.1.0.100/32 on lo; vb1 10.1.1.1, vb2 10.1.2.1, vc 10.1.3.1
#   be1, be2: eth0 10.1.N.2, busybox httpd :8080 answering "beN"
#   cl:       eth0 10.1.3.2, the remote client
# IPVS, programmed only through network::ipvs (ipvs_probe):
#   TCP 10.1.0.100:80 rr  -> 10.1.1.2:8080, 10.1.2.2:8080 (MASQ)
#   FWM 256 rr            -> same backends; nftables marks local tcp dport 8081
#                            with 256 and masquerades it, like the routing mesh.

/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs run /run
mount -t tmpfs tmp /tmp
exec </dev/console >/dev/console 2>&1

# busybox-static's ash runs its own applets before searching PATH, and the
# busybox `ip` knows neither veth peers nor namespaces: call iproute2's.
ip() { /usr/sbin/ip "$@"; }

finish() {
    echo "$1"
    sync
    poweroff -f
    echo o >/proc/sysrq-trigger
    sleep 10
}
fail() { finish "IPVS-KERNEL-TEST: FAIL: $*"; }
step() { echo "== $*"; }

load_modules() {
    for m in $(cat "/modules/$1"); do
        insmod "/modules/$m.ko" || fail "insmod $m"
    done
}

# N requests to URL from inside namespace NS (or the root ns for "-");
# prints one answer per line. busybox wget has no reliable -T: use timeout.
fetch() {
    ns="$1" url="$2" n="$3"
    i=0
    while [ "$i" -lt "$n" ]; do
        if [ "$ns" = - ]; then
            timeout 5 wget -q -O - "$url" || echo "no-answer"
        else
            nsenter -n/run/netns/"$ns" timeout 5 wget -q -O - "$url" || echo "no-answer"
        fi
        i=$((i + 1))
    done
}

# Both backends answered, each half the time, never twice in a row (rr).
expect_round_robin() {
    what="$1" answers="$2" n="$3"
    echo "$answers" | tr '\n' ' '; echo
    be1="$(echo "$answers" | grep -c '^be1$')"
    be2="$(echo "$answers" | grep -c '^be2$')"
    [ "$be1" -eq $((n / 2)) ] && [ "$be2" -eq $((n / 2)) ] ||
        fail "$what: be1 answered $be1, be2 $be2 of $n (want $((n / 2)) each)"
    [ -z "$(echo "$answers" | uniq -d)" ] || fail "$what: a backend answered twice in a row"
    echo "$what: $n requests alternated be1/be2: OK"
}

step "kernel $(uname -r)"
load_modules base.list
step "before ip_vs is loaded"
ipvs_probe expect-unsupported || fail "connect() without IPVS did not report Unsupported"
load_modules ipvs.list
[ -e /proc/net/ip_vs ] || fail "ip_vs loaded but /proc/net/ip_vs is missing"

step "network"
ip link set lo up
sysctl -qw net.ipv4.ip_forward=1
ip addr add 10.1.0.100/32 dev lo
for i in 1 2 3; do
    if [ "$i" = 3 ]; then ns=cl; host=vc; else ns="be$i"; host="vb$i"; fi
    ip netns add "$ns" || fail "ip netns add $ns"
    ip link add "$host" type veth peer name eth0 netns "$ns" || fail "veth $host"
    ip addr add "10.1.$i.1/24" dev "$host"
    ip link set "$host" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "10.1.$i.2/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "10.1.$i.1"
done
for i in 1 2; do
    mkdir -p "/srv/be$i"
    echo "be$i" >"/srv/be$i/index.html"
    nsenter -n/run/netns/"be$i" httpd -p 8080 -h "/srv/be$i" || fail "httpd in be$i"
done
for i in 1 2; do
    [ "$(fetch - "http://10.1.$i.2:8080/" 1)" = "be$i" ] || fail "backend be$i does not answer directly"
done

step "program IPVS through network::ipvs"
ipvs_probe program-tcp 10.1.0.100:80 10.1.1.2:8080 10.1.2.2:8080 || fail "program-tcp"
ipvs_probe sync-fwmark 256=10.1.1.2:8080,10.1.2.2:8080 || fail "sync-fwmark"
nft -f - <<'EOF' || fail "nft fwmark rules"
table ip swarm_mark {
    chain pre {
        type filter hook prerouting priority mangle; policy accept;
        fib daddr type local tcp dport 8081 meta mark set 256
    }
    chain out {
        type route hook output priority mangle; policy accept;
        fib daddr type local tcp dport 8081 meta mark set 256
    }
}
EOF

step "ipvsadm -L -n (Debian's ipvsadm reading what we programmed)"
table="$(ipvsadm -L -n)" || fail "ipvsadm -L -n"
echo "$table"
echo "$table" | grep -q '^TCP  10.1.0.100:80 rr' || fail "ipvsadm does not show TCP 10.1.0.100:80 rr"
echo "$table" | grep -q '^FWM  256 rr' || fail "ipvsadm does not show FWM 256 rr"
masq="$(echo "$table" | grep -cE -- '-> 10\.1\.[12]\.2:8080 +Masq +1 ')"
[ "$masq" -eq 4 ] || fail "ipvsadm shows $masq MASQ weight-1 destinations, want 4"

step "traffic"
expect_round_robin "client ns -> TCP VIP" "$(fetch cl http://10.1.0.100/ 6)" 6
expect_round_robin "node itself -> TCP VIP" "$(fetch - http://10.1.0.100/ 6)" 6
expect_round_robin "client ns -> fwmark 256 (tcp 8081)" "$(fetch cl http://10.1.3.1:8081/ 6)" 6
expect_round_robin "node itself -> fwmark 256 (tcp 8081)" "$(fetch - http://10.1.3.1:8081/ 6)" 6

step "mesh recipe: backends without a route back need masquerade"
# On a real node the tasks route via their own node, not the one that got the
# connection; only SNAT brings replies back. Remove the backends' default
# routes, show that fwmark traffic then dies, and that the mesh's nftables
# masquerade (with IPVS conntrack on, as Docker's ingress sets it) revives it.
ip -n be1 route del default
ip -n be2 route del default
[ "$(fetch cl http://10.1.3.1:8081/ 1)" = "no-answer" ] || fail "backends answered without a route back"
sysctl -qw net.ipv4.vs.conntrack=1
nft -f - <<'EOF2' || fail "nft masquerade rule"
table ip swarm_nat {
    chain post {
        type nat hook postrouting priority srcnat; policy accept;
        meta mark 256 masquerade
    }
}
EOF2
expect_round_robin "client ns -> fwmark 256, masqueraded" "$(fetch cl http://10.1.3.1:8081/ 6)" 6

step "reconcile: scale fwmark 256 down to be2"
ipvs_probe sync-fwmark 256=10.1.2.2:8080 || fail "sync-fwmark shrink"
answers="$(fetch cl http://10.1.3.1:8081/ 4)"
echo "$answers" | tr '\n' ' '; echo
[ "$(echo "$answers" | grep -c '^be2$')" -eq 4 ] || fail "after removing be1 from fwmark 256, not every answer came from be2"

step "error paths"
ipvs_probe exercise || fail "exercise"

step "read back through network::ipvs"
ipvs_probe list || fail "list"
ipvsadm -L -n --stats

step "flush"
ipvs_probe flush || fail "flush"
[ "$(ipvsadm -L -n | grep -cE '^(TCP|UDP|FWM)')" -eq 0 ] || fail "ipvsadm still lists services after flush"

step "scale (timings are TCG-emulated, so only indicative)"
ipvs_probe bench 1000 || fail "bench"

finish "IPVS-KERNEL-TEST: PASS"
