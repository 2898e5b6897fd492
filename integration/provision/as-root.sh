# Sourced by the README's commands (demo.sh, test.sh) before anything else: they need root
# (network namespaces, private dockerds, packages). Run as root they go on as they are (a
# minimal Debian has no sudo); run as a user, they re-run themselves through sudo, keeping the
# user's Rust toolchain (sudo's secure_path and HOME would otherwise hide cargo).
#   usage: source integration/provision/as-root.sh "$0" "$@"
if [[ $EUID -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "$(basename "$1"): needs root (network namespaces, private dockerds) and sudo is not installed: run it as root" >&2
        exit 1
    fi
    exec sudo env "PATH=$PATH" "CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}" \
        "RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}" "CI=${CI:-}" "$@"
fi
