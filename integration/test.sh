#!/usr/bin/env bash
# Every test of the project, as CI runs it (README command 2). On Debian/Ubuntu with Rust, as root
# or as a user with sudo (it re-runs itself through sudo):
#   installs missing system packages, builds, runs unit tests, in-process and multi-process
#   cluster tests, the lab scenarios (three-node lab in network namespaces with private
#   dockerds), the netns data-plane tests and the IPVS kernel test in a QEMU guest.
# Output ends with the test runner's summary. Under CI=true a lab or kernel test that cannot
# set itself up fails; it never skips.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=provision/as-root.sh
source "$root/integration/provision/as-root.sh" "$root/integration/test.sh" "$@"
cd "$root"

step() { printf '\n==> %s\n' "$*"; }

step "system packages"
integration/provision/packages.sh --vagrant

step "build"
cargo build --locked -p swarmd -p swarmctl
# Test binaries are built before the lab is touched, so a compile error fails fast.
if cargo nextest --version >/dev/null 2>&1; then
    runner=nextest
    cargo nextest run --locked --workspace --no-run
else
    runner=cargo
    cargo test --locked --workspace --no-run
fi

cleanup() { integration/lab/lab.sh down >/dev/null 2>&1 || true; }
trap cleanup EXIT

step "tests ($runner)"
log=$(mktemp)
status=0
if [[ $runner == nextest ]]; then
    # .config/nextest.toml runs the lab tests one at a time.
    cargo nextest run --locked --workspace --no-fail-fast 2>&1 | tee "$log" || status=$?
else
    # Lab and netns tests share kernel objects: one thread per test binary.
    cargo test --locked --workspace --no-fail-fast -- --test-threads=1 2>&1 | tee "$log" || status=$?
fi

step "lab teardown check"
if ! integration/lab/lab.sh down; then
    echo "lab teardown left something behind" >&2
    status=1
fi
trap - EXIT

# The output ends with the runner's own summary, so CI can count the tests.
step "summary"
if [[ $runner == nextest ]]; then
    sed -n '/^ *Summary \[/,$p' "$log"
else
    grep -E '^test result:' "$log"
fi
rm -f "$log"
exit $status
