#!/bin/bash
# phx-deploy bench (issue 3): wall time of `phx-deploy up` against bare
# `podman-compose up -d` on the bundled stack, side by side in the same
# run, alternating which goes first, with a full teardown (by project
# label) between runs.  Prints each run, the medians and the ratio
# (goal: <= 1.2x).  ROUNDS=... changes the number of rounds (default 3).
. "$(dirname "$0")/prologue.sh" "$@"
ROUNDS=${ROUNDS:-3}

export PHX_N8N=${PHX_N8N:-standin}   # the real n8n: PHX_N8N=latest
bench_images deploy phx-httpd phx-node phx-postgres "phx-n8n:$PHX_N8N"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/phx-bench-deploy.XXXXXX")
P=$(phx_test_project bench)
trap 'podman_cleanup_project "$P" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
export PHX_STATE_DIR=$tmp/state REVENUE_DB_PASSWORD="bench-$$-pw" N8N_API_KEY="bench-$$-key" WINDMILL_TOKEN="bench-$$-tok"
read -r PHX_PORT_CORE PHX_PORT_NCA PHX_PORT_N8N PHX_PORT_WINDMILL PHX_PORT_DB <<EOF
$(free_port 5 | tr '\n' ' ')
EOF
export PHX_PORT_CORE PHX_PORT_NCA PHX_PORT_N8N PHX_PORT_WINDMILL PHX_PORT_DB
COMPOSE=infra/podman/compose.yaml

now() { date +%s.%N; }
running() { podman ps --filter label=io.podman.compose.project="$P" --filter status=running -q | wc -l; }

bare() {
	t0=$(now)
	podman-compose -p "$P" -f "$COMPOSE" up -d >"$tmp/bare.log" 2>&1
	t1=$(now)
	[ "$(running)" -eq 5 ] || { echo "bench deploy: bare podman-compose: not all 5 running" >&2; exit 1; }
	echo "$t1 - $t0" | bc
}
phx() {
	t0=$(now)
	PHX_LOG_LEVEL=DEBUG PHX_LOG_FORMAT=json \
	"$PHX_BIN/phx-deploy" -p "$P" -f "$COMPOSE" up </dev/null >"$tmp/phx.ndjson" 2>"$tmp/phx.err" ||
	    { echo "bench deploy: phx-deploy up failed:" >&2; cat "$tmp/phx.err" >&2; exit 1; }
	t1=$(now)
	[ "$(jq -r 'select(.type == "service") | .service' "$tmp/phx.ndjson" | wc -l)" -eq 5 ] ||
	    { echo "bench deploy: phx-deploy: not 5 service records" >&2; exit 1; }
	# podman-compose's own share of this run, from the debug log's times
	jq -r '"\(.timestamp) \(.message)"' "$tmp/phx.err" | awk '
	    function sec(ts) { split(ts, a, /[T:Z]/); return a[2] * 3600 + a[3] * 60 + a[4] }
	    pc && !done { print sec($1) - pc; done = 1 }
	    / running podman-compose / { pc = sec($1) }' >>"$tmp/pc-in-phx.t"
	echo "$t1 - $t0" | bc
}
teardown() { podman_cleanup_project "$P" >/dev/null; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

teardown
: >"$tmp/bare.t"
: >"$tmp/phx.t"
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then order="bare phx"; else order="phx bare"; fi
	for who in $order; do
		t=$($who)
		teardown
		echo "$t" >>"$tmp/$who.t"
		printf 'round %d  %-26s %6.2f s\n' "$r" "$( [ "$who" = bare ] && echo 'podman-compose up -d' || echo 'phx-deploy up')" "$t"
	done
done
b=$(median <"$tmp/bare.t")
p=$(median <"$tmp/phx.t")
printf 'median  podman-compose up -d        %6.2f s\n' "$b"
printf 'median  phx-deploy up               %6.2f s  (confirmed running, records, stats, snapshots)\n' "$p"
c=$(median <"$tmp/pc-in-phx.t")
printf 'median  podman-compose inside phx-deploy %5.2f s  (same runs: phx-deploy own time %.2f s)\n' "$c" "$(echo "$p - $c" | bc -l)"
printf 'ratio   phx-deploy / podman-compose %6.2fx  (separate runs; goal <= 1.2x)\n' "$(echo "$p / $b" | bc -l)"
printf 'ratio   phx-deploy / its podman-compose %4.2fx  (same runs, immune to load drift)\n' "$(echo "$p / $c" | bc -l)"
