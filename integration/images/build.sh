#!/bin/sh
# Builds swarmd's test and demo images into one Docker engine, without a registry:
# each image is a busybox-static rootfs (plus a few scripts) loaded with `docker import`.
#
#   integration/images/build.sh [DOCKER_HOST]      (default: $DOCKER_HOST, else the system socket)
#
# Images:
#   swarmd/whoami:latest      HTTP on $PORT (default 80): "Hostname: …", "IP: …" per request
#   swarmd/sleeper:latest     sleeps forever, exits 0 at once on SIGTERM
#   swarmd/visualizer:latest  a static "swarmd visualizer" page on $PORT (default 8080)
#
# Idempotent and fast: the rootfs tar is reproducible (sorted, mtime 0, uid 0), its digest is
# stored as an image label, and an image whose label already matches is not imported again.
set -eu

DOCKER_HOST=${1:-${DOCKER_HOST:-unix:///var/run/docker.sock}}
export DOCKER_HOST
BUSYBOX=${BUSYBOX:-/bin/busybox}
DOCKER=${DOCKER:-docker}

[ -x "$BUSYBOX" ] || { echo "build.sh: $BUSYBOX missing (apt-get install busybox-static)" >&2; exit 1; }

work=$(mktemp -d /tmp/sw-img-XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

# base ROOT: busybox with every applet linked, the directories programs expect, a root user.
base() {
    root=$1
    mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/www" "$root/proc" "$root/sys" "$root/dev"
    chmod 1777 "$root/tmp"
    cp "$BUSYBOX" "$root/bin/busybox"
    for applet in $("$BUSYBOX" --list); do
        [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
    done
    echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
    echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

# script PATH: installs stdin as an executable file.
script() {
    mkdir -p "$(dirname "$1")"
    cat >"$1"
    chmod 0755 "$1"
}

# import NAME ROOT CHANGE...: loads ROOT as image NAME unless an identical one is there.
import() {
    name=$1
    root=$2
    shift 2
    tarball="$work/$(echo "$name" | tr '/:' '__').tar"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$tarball" .
    fingerprint=$( (sha256sum <"$tarball"; printf '%s\n' "$@") | sha256sum | cut -c1-32)
    current=$("$DOCKER" image inspect -f '{{index .Config.Labels "swarmd.image.fingerprint"}}' \
        "$name" 2>/dev/null || true)
    if [ "$current" = "$fingerprint" ]; then
        echo "$name: up to date"
        return
    fi
    set -- -c "LABEL swarmd.image.fingerprint=$fingerprint" \
        -c 'ENV PATH=/bin' "$@"
    "$DOCKER" import "$@" "$tarball" "$name" >/dev/null
    echo "$name: imported"
}

# A web root served by busybox httpd, stopped cleanly on SIGTERM: PID 1 ignores signals it
# has no handler for, so without the trap every `docker stop` would wait for SIGKILL.
http_server() {
    script "$1/bin/serve" <<'SH'
#!/bin/sh
trap 'kill "$pid" 2>/dev/null; exit 0' TERM INT
httpd -f -p "${PORT:-$DEFAULT_PORT}" -h /www &
pid=$!
wait "$pid"
SH
}

# swarmd/whoami: GET / runs cgi-bin/index.cgi (busybox httpd's fallback for a directory
# without index.html), so every answer names the replica that served it.
whoami_root="$work/whoami"
base "$whoami_root"
http_server "$whoami_root"
script "$whoami_root/www/cgi-bin/index.cgi" <<'SH'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
echo "Hostname: $(hostname)"
ip -o addr show | while read -r _ _ family addr _; do
    case $family in inet | inet6) echo "IP: ${addr%/*}" ;; esac
done
echo "RemoteAddr: ${REMOTE_ADDR:-}:${REMOTE_PORT:-}"
echo "${REQUEST_METHOD:-GET} ${REQUEST_URI:-/} HTTP/1.1"
SH
cp "$whoami_root/www/cgi-bin/index.cgi" "$whoami_root/www/cgi-bin/whoami"
import swarmd/whoami:latest "$whoami_root" \
    -c 'ENV DEFAULT_PORT=80' -c 'EXPOSE 80' -c 'CMD ["/bin/serve"]'

# swarmd/sleeper: `sleep` in the background so the TERM trap runs at once, not after it.
sleeper_root="$work/sleeper"
base "$sleeper_root"
script "$sleeper_root/bin/sleeper" <<'SH'
#!/bin/sh
trap 'exit 0' TERM INT
while :; do
    sleep 3600 &
    wait $!
done
SH
import swarmd/sleeper:latest "$sleeper_root" -c 'CMD ["/bin/sleeper"]'

# swarmd/visualizer: the same static page from every node.
visualizer_root="$work/visualizer"
base "$visualizer_root"
http_server "$visualizer_root"
cat >"$visualizer_root/www/index.html" <<'HTML'
<!doctype html>
<html><head><title>swarmd visualizer</title></head>
<body><h1>swarmd visualizer</h1><p>Nodes and tasks of this swarmd cluster.</p></body></html>
HTML
import swarmd/visualizer:latest "$visualizer_root" \
    -c 'ENV DEFAULT_PORT=8080' -c 'EXPOSE 8080' -c 'CMD ["/bin/serve"]'
