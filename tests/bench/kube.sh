#!/bin/bash
# Issue 18's timing: phx on the bundled manifests (infra/kube, stand-ins)
# against `podman kube play` alone, in the same runs.  Each round runs
# `phx-deploy --engine kube up | phx-probe -w | phx-report`, then `down
# --volumes`, with every podman call logged (tests/bench/wrap/podman), and
# prints: the `podman kube play` call itself (what a user who only plays
# the manifests waits for: it returns once the containers are started),
# phx-deploy up (play + its confirmation: containers up, readiness
# probes), the verdict (all services checked), down, and the ratios.
# ROUNDS=... (default 3).  `make bench-kube`.  Holds /tmp/phx-podman.lock.
. "$(dirname "$0")/prologue.sh" "$@"
ROUNDS=${ROUNDS:-3}

bench_images kube phx-httpd phx-node phx-postgres phx-n8n:standin
tmp=$(mktemp -d "${TMPDIR:-/tmp}/phx-bench-kube.XXXXXX")
P=$(phx_test_project benchkube)
trap 'podman_cleanup_project "$P" >/dev/null 2>&1; [ -n "${BENCH_KEEP:-}" ] || rm -rf "$tmp"' EXIT
export PHX_STATE_DIR=$tmp/state PHX_REAL_PODMAN PHX_PODMAN_LOG
PHX_REAL_PODMAN=$(command -v podman)
phx_stack_env benchkube
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

printf 'round\tplay_s\tup_s\tverdict_s\tdown_s\tverdict\n'
for r in $(seq "$ROUNDS"); do
	PHX_PODMAN_LOG=$tmp/podman.$r.log
	: >"$PHX_PODMAN_LOG"
	t0=$(now)
	PATH=$TOP/tests/bench/wrap:$PHX_BIN:$PATH phx-deploy --engine kube -p "$P" up </dev/null 2>"$tmp/up.err" |
	    tee "$tmp/up.$r" | PATH=$TOP/tests/bench/wrap:$PHX_BIN:$PATH phx-probe -w 2>/dev/null |
	    "$PHX_BIN/phx-report" -o "$tmp/report.$r.json" >/dev/null 2>&1 || true
	t1=$(now)
	up=$(jq -r 'select(.type == "deployment" and .status == "running") | .duration_ms' "$tmp/up.$r" | tail -1)
	play=$(awk -F'\t' '$4 ~ /^kube play/ { print $3 }' "$PHX_PODMAN_LOG" | tail -1)
	id=$(jq -r 'select(.type == "deployment") | .deployment_id' "$tmp/up.$r" | head -1)
	t2=$(now)
	PATH=$TOP/tests/bench/wrap:$PATH "$PHX_BIN/phx-deploy" down --volumes "$id" </dev/null >/dev/null 2>&1 || true
	t3=$(now)
	printf '%s\t%.2f\t%.2f\t%.2f\t%.2f\t%s\n' "$r" "${play:-0}" "$(echo "${up:-0} / 1000" | bc -l)" \
	    "$(secs "$t0" "$t1")" "$(secs "$t2" "$t3")" "$(jq -r .status "$tmp/report.$r.json" 2>/dev/null)"
done | tee "$tmp/rows"
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
play=$(cut -f2 "$tmp/rows" | median)
up=$(cut -f3 "$tmp/rows" | median)
verdict=$(cut -f4 "$tmp/rows" | median)
down=$(cut -f5 "$tmp/rows" | median)
printf 'medians: podman kube play %.2f s, phx-deploy up %.2f s (%.2fx play), verdict %.2f s (%.2fx play), down %.2f s\n' \
    "$play" "$up" "$(echo "$up / $play" | bc -l)" "$verdict" "$(echo "$verdict / $play" | bc -l)" "$down"
