# Sourced first by the benches that run Podman: from the top of the tree,
# under /tmp/phx-podman.lock (the script runs again, holding it), with
# tests/podman.sh and tests/ports.sh, and none of a user's phx settings.
# shellcheck shell=bash
set -eu
cd "$(dirname "$0")/../.."
[ -n "${PHX_BENCH_LOCKED:-}" ] ||
    exec env PHX_BENCH_LOCKED=1 flock /tmp/phx-podman.lock bash "$0" "$@"
TOP=$PWD
PHX_BIN=${PHX_BIN:-$TOP/tools}
. tests/podman.sh
. tests/ports.sh
unset PHX_DEPLOYMENT_ID PHX_CONFIG_DIR PHX_PROJECT

# bench_images BENCH IMAGE...: every localhost/IMAGE is built, or exit 1
bench_images() {
	local bench=$1 img
	shift
	for img in "$@"; do
		podman image exists "localhost/$img" ||
		    { echo "bench $bench: localhost/$img missing: run make images" >&2; exit 1; }
	done
}
