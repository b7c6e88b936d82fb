#!/bin/bash
# Scale (issue 17): a generated compose stack of N busybox httpd services
# (localhost/phx-httpd, hardened like the bundled stack) taken through
# `pipelines/validate --down --no-functest`: deployed, probed, scanned,
# reported and taken down, for each size in SIZES (default "10 100"),
# same run.  Prints each stage's time and its slope per service, every
# podman call counted by caller (a PATH wrapper: tests/bench/wrap/podman)
# with any call made once per container named, and each tool's peak RSS.
# `make bench-scale`; not in make bench or make check (minutes).
# Holds /tmp/phx-podman.lock.
. "$(dirname "$0")/prologue.sh" "$@"
SIZES=${SIZES:-10 100}

bench_images scale phx-httpd
tmp=$(mktemp -d "${TMPDIR:-/tmp}/phx-bench-scale.XXXXXX")
P=$(phx_test_project scale)
trap 'podman_cleanup_project "$P" >/dev/null 2>&1; [ -n "${BENCH_KEEP:-}" ] || rm -rf "$tmp"' EXIT
export PHX_STATE_DIR=$tmp/state
export PHX_REAL_PODMAN
PHX_REAL_PODMAN=$(command -v podman)

# the tools under /usr/bin/time, for their peak RSS
mkdir -p "$tmp/bin"
for t in phx-deploy phx-probe phx-secscan phx-report; do
	printf '#!/bin/sh\nexec /usr/bin/time -a -o "$PHX_RSS_LOG" -f "%s %%M" %s "$@"\n' \
	    "$t" "$PHX_BIN/$t" >"$tmp/bin/$t"
	chmod +x "$tmp/bin/$t"
done

# stack N: compose file and configuration of N services
stack() {
	local n=$1 i port
	{
		echo "services:"
		i=0
		for port in $(free_port "$n"); do
			i=$((i + 1))
			printf '  s%03d:\n    image: localhost/phx-httpd\n    user: "10001:10001"\n' "$i"
			printf '    init: true\n    read_only: true\n    cap_drop: [ALL]\n'
			printf '    security_opt: ["no-new-privileges:true"]\n    tmpfs: [/tmp]\n'
			printf '    mem_limit: 16m\n    networks: [net]\n'
			printf '    ports: ["127.0.0.1:%d:8080"]\n' "$port"
			echo "$port" >>"$tmp/ports.$n"
		done
		printf 'networks:\n  net: {}\n'
	} >"$tmp/compose.$n.yaml"
	{
		printf 'deployment:\n  compose_file: %s\n  project: %s\n  timeout: 900s\n' "$tmp/compose.$n.yaml" "$P"
		printf 'probe:\n  deadline: 10m\nservices:\n'
		i=0
		while read -r port; do
			i=$((i + 1))
			printf '  s%03d:\n    url: http://127.0.0.1:%d/\n' "$i" "$port"
		done <"$tmp/ports.$n"
	} >"$tmp/config.$n.yaml"
}

now() { date +%s.%N; }

run() {   # N
	local n=$1 t0 t1 st out=$tmp/out.$1 id
	stack "$n"
	export PHX_PODMAN_LOG=$tmp/podman.$n.log PHX_RSS_LOG=$tmp/rss.$n.log
	: >"$PHX_PODMAN_LOG"
	: >"$PHX_RSS_LOG"
	t0=$(now)
	PATH=$TOP/tests/bench/wrap:$PATH PHX_BIN=$tmp/bin \
	    "$TOP/pipelines/validate" --down --no-functest -c "$tmp/config.$n.yaml" \
	    -o "$out" >"$tmp/$n.stdout" 2>"$tmp/$n.stderr" && st=0 || st=$?
	t1=$(now)
	id=$(jq -r .deployment_id "$out/report.json")
	echo "== $n services: validate exit $st, $(jq -r .status "$out/report.json"), $(jq '[.services[] | select(.status == "healthy")] | length' "$out/report.json") healthy, total $(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s"
	[ "$st" -eq 0 ] || tail -5 "$tmp/$n.stdout" "$tmp/$n.stderr"
	jq -r -s --argjson t0 "$t0" --argjson t1 "$t1" \
	    --argjson pcend "$(stat -c %.3Y "$PHX_STATE_DIR/$id/logs/attempt-1/podman-compose.log")" \
	    --argjson rep "$(stat -c %.3Y "$out/report.json")" \
	    --slurpfile down "$out/down.ndjson" -f /dev/stdin "$PHX_STATE_DIR/$id/stream.ndjson" <<'JQ_EOF' | tee "$tmp/stages.$n"
def t: (.ts[0:19] + "Z" | fromdateiso8601) + (.ts[20:23] | tonumber) / 1000;
(map(select(.type == "deployment" and .status == "starting")) | first | t) as $starting
| (map(select(.type == "service" and .source == "phx-deploy")) | first | t) as $svc
| (map(select(.type == "deployment" and .status == "running")) | first | t) as $running
| (map(select(.type == "health")) | map(t) | max) as $lasth
| (map(select(.type == "phase" and .event == "end")) | map({key: .phase, value: t}) | from_entries) as $pend
| ($down | map(t) | min) as $downat
| [ ["podman-compose up", $pcend - $starting],
    ["phx-deploy confirm + records", $running - $pcend],
    ["probe: first service record -> last health", $lasth - $svc],
    ["probe: last health -> end", $pend.probe - $lasth],
    ["secscan (after probe end)", $pend.secscan - $pend.probe],
    ["report (files written)", $rep - $pend.secscan],
    ["down", $t1 - $downat],
    ["total", $t1 - $t0] ]
| .[] | "\(.[0])\t\(.[1] * 100 | round / 100)"
JQ_EOF
	echo "podman calls by caller (all / per container):"
	awk -F'\t' '{ split($4, a, " "); k = $1 " " a[1]; if (a[1] ~ /^(container|network|volume|image|healthcheck)$/) k = k " " a[2]; c[k]++ }
	    END { for (k in c) printf "  %-34s %d\n", k, c[k] }' "$PHX_PODMAN_LOG" | sort
	awk -F'\t' -v n="$n" '$1 ~ /^phx-/ { split($4, a, " "); k = $1 " " a[1]; c[k]++ }
	    END { bad = 0; for (k in c) if (c[k] >= n) { printf "  PER-CONTAINER: %s called %d times\n", k, c[k]; bad = 1 }
	    if (!bad) print "  no phx tool calls podman once per container" }' "$PHX_PODMAN_LOG"
	echo "peak RSS (KiB): $(sort "$PHX_RSS_LOG" | awk '{ printf "%s %s  ", $1, $2 }')"
	podman_cleanup_project "$P" >/dev/null
}

podman_cleanup_project "$P" >/dev/null 2>&1 || true
for n in $SIZES; do run "$n"; done
set -- $SIZES
if [ $# -ge 2 ]; then
	lo=$1 hi=${!#}
	echo "== slope per service, $lo -> $hi services (seconds per service)"
	join -t "$(printf '\t')" <(sort "$tmp/stages.$lo") <(sort "$tmp/stages.$hi") |
	    awk -F'\t' -v lo="$lo" -v hi="$hi" '{ printf "  %-44s %7.3f\n", $1, ($3 - $2) / (hi - lo) }'
fi
