#!/bin/bash
# Memory and time slope of every stage (issue 16): a record stream of 10k,
# 100k and 1M records, and one cut at 1 MB, through each tool that reads
# one: phx-deploy -n up, phx-probe and phx-secscan (pass-through, no
# check runs: the stream's services have no checks and no containers),
# phx-functest (no suite) and phx-report in every output format.  Two
# streams: "repeat" (200 services, 4000 tests, 3000 findings, as a long
# run sees them again and again) and "distinct" (every record a new
# name: each one something a stage may keep).
#
# Prints wall and CPU time (best of RUNS=2), µs of CPU a record and peak
# RSS; fails when a stage is superlinear (CPU time x MAXRATIO=15 or more
# for 10x the records) or passes 64 MB RSS on an input of 1 MB or less.
# SIZES="10000 100000", STREAMS=repeat, STAGES="probe report-json"
# shorten it; make bench-stream runs it.
set -u
cd "$(dirname "$0")/../.." || exit 2
TOP=$PWD
PHX_BIN=${PHX_BIN:-$TOP/tools}
SIZES=${SIZES:-10000 100000 1000000}
STREAMS=${STREAMS:-repeat distinct}
MAXRATIO=${MAXRATIO:-15}
MAXRSS_KB=$((64 * 1024))
tmp=$(mktemp -d "${TMPDIR:-/tmp}/phx-stream.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# a stream of N records: phase, deployment, 200 service records (no
# checks, no container id), then container, health, test and finding
# records 3 ms apart, some failing; distinct: a new name in every one
gen() {
	awk -v N="$1" -v distinct="$2" '
function rec(type, src, rest,   ms) {
	ms = n * 3
	printf "{\"v\":1,\"type\":\"%s\",\"deployment_id\":\"deploy_20261127_000000\",\"ts\":\"2026-11-27T%02d:%02d:%02d.%03dZ\",\"source\":\"%s\",%s}\n", type, int(ms / 3600000), int(ms / 60000) % 60, int(ms / 1000) % 60, ms % 1000, src, rest
	n++
}
function name(i, mod) { return distinct ? i : i % mod }
BEGIN {
	rec("phase", "phx-deploy", "\"phase\":\"deploy\",\"event\":\"start\"")
	rec("deployment", "phx-deploy", "\"status\":\"deployed\",\"project\":\"proj\",\"compose_file\":\"/nonexistent/compose.yaml\",\"attempts\":1")
	for (s = 0; s < 200 && n < N - 1; s++)
		rec("service", "phx-deploy", sprintf("\"service\":\"svc%d\",\"project\":\"proj\",\"image\":\"localhost/phx-httpd\",\"ports\":[{\"host_ip\":\"127.0.0.1\",\"host_port\":%d,\"container_port\":8080,\"protocol\":\"tcp\"}],\"networks\":[\"proj_net\"]", s, 20000 + s))
	for (i = 0; n < N - 1; i++) {
		k = i % 10
		if (k < 4) {
			c = name(i, 200)
			rec("container", "phx-deploy", sprintf("\"service\":\"svc%d\",\"container_id\":\"c%07d\",\"name\":\"proj_svc%d_1\",\"state\":\"running\",\"restarts\":0,\"health\":\"none\",\"cpu_percent\":%.2f,\"mem_bytes\":%d,\"mem_limit_bytes\":268435456,\"pids\":%d", c, c, c, (i % 97) / 7.0, 1048576 + (i % 1000) * 4096, 2 + i % 5))
		} else if (k < 6) {
			h = name(i, 200)
			rec("health", "phx-probe", sprintf("\"service\":\"svc%d\",\"check\":\"http\",\"target\":\"http://127.0.0.1:%d/health\",\"status\":\"%s\",\"attempts\":1,\"response_time_ms\":%d,\"status_code\":200", h, 20000 + h % 40000, (i % 1999 == 4) ? "unhealthy" : "healthy", 1 + i % 13))
		} else if (k < 8) {
			t = name(i, 4000)
			rec("test", "phx-functest", sprintf("\"suite\":\"suite%d\",\"name\":\"test %d\",\"status\":\"%s\",\"duration_ms\":%d", t % 20, t, (i % 3001 == 6) ? "failed" : "passed", 10 + i % 500))
		} else {
			f = name(i, 3000)
			rec("finding", "phx-secscan", sprintf("\"id\":\"PHX-SEC-%03d\",\"cis\":\"5.%d\",\"service\":\"svc%d\",\"container\":\"proj_svc%d_1\",\"status\":\"%s\",\"severity\":\"%s\",\"title\":\"check %d\",\"message\":\"seen value %d\"", f % 60, f % 30, f % 50, f, (f % 17 == 0) ? "WARN" : "PASS", (f % 4 == 0) ? "HIGH" : "MEDIUM", f % 60, i))
		}
	}
	rec("phase", "phx-deploy", "\"phase\":\"deploy\",\"event\":\"end\",\"status\":\"ok\",\"duration_ms\":3000")
}'
}

[ -x /usr/bin/time ] || { echo "scale: /usr/bin/time missing (make deps)" >&2; exit 2; }
echo '{}' >"$tmp/empty.yaml"
compose=$TOP/infra/podman/compose.yaml
stages=${STAGES:-"deploy probe secscan functest report-json report-text report-junit
report-prometheus report-ndjson report-tap report-markdown"}

# user + system CPU time of this shell's children so far, ns, into cpu_now:
# bash's times (1 ms steps, where /usr/bin/time prints 10 ms ones), run
# in this shell, not a subshell, whose children it would count
children_cpu() {
	times >"$tmp/times"
	cpu_now=$(awk 'END {
		for (i = 1; i <= 2; i++) {
			split($i, t, /[ms]/)
			ns += (t[1] * 60 + t[2]) * 1e9
		}
		printf "%.0f\n", ns
	}' "$tmp/times")
}

# stage input: runs it on the file, hermetic, output discarded
run_stage() {
	local stage=$1 in=$2 fmt
	local -a cmd
	case $stage in
	deploy) cmd=(phx-deploy -n -c "$tmp/empty.yaml" -f "$compose" up) ;;
	probe|secscan|functest) cmd=("phx-$stage" -c "$tmp/empty.yaml") ;;
	report-json) cmd=(phx-report -n -f json --junit "$tmp/junit.xml"
	    --metrics "$tmp/metrics.prom" -o "$tmp/report.json") ;;
	report-*) fmt=${stage#report-}; cmd=(phx-report -n -f "$fmt") ;;
	esac
	rm -rf "$tmp/state"
	env -i PATH="$PHX_BIN:/usr/bin:/bin" HOME="$tmp" LC_ALL=C \
	    PHX_STATE_DIR="$tmp/state" /usr/bin/time -f %M -o "$tmp/rss" \
	    "${cmd[@]}" <"$in" >/dev/null 2>"$tmp/err"
}

# best wall and CPU time (user + system, ns) of RUNS (the machine is
# shared), the highest RSS, the worst exit status: into ns, cpu, rss, rc
RUNS=${RUNS:-2}
measure() {
	local r t m c
	ns="" cpu="" rss=0 rc=0
	for ((r = 0; r < RUNS; r++)); do
		children_cpu
		c=$cpu_now
		t=$(date +%s%N)
		run_stage "$1" "$2"
		m=$?
		t=$(($(date +%s%N) - t))
		children_cpu
		c=$((cpu_now - c))
		[ "$m" -gt "$rc" ] && rc=$m
		{ [ -z "$ns" ] || [ "$t" -lt "$ns" ]; } && ns=$t
		{ [ -z "$cpu" ] || [ "$c" -lt "$cpu" ]; } && cpu=$c
		m=$(awk 'END { print $1 + 0 }' "$tmp/rss" 2>/dev/null)
		[ "${m:-0}" -gt "$rss" ] && rss=$m
	done
}

bad=0
fail() { echo "SCALE FAIL: $*"; bad=1; }

# cpu_s: user + system, the slope's measure (wall time is the shared
# machine's too); x10: cpu_s against the size before, 10x fewer records
# (that one counted as 5 ms at least)
printf '%-9s %-18s %8s %10s %7s %7s %7s %5s %7s %3s\n' stream stage records \
    bytes wall_s cpu_s us/rec x10 rss_MB rc
for stream in $STREAMS; do
	distinct=0
	[ "$stream" = distinct ] && distinct=1
	inputs=""
	for n in $SIZES; do
		gen "$n" $distinct >"$tmp/in.$n"
		inputs="$inputs $n"
	done
	# the first lines of the smallest stream that fit in 1 MB
	awk 'BEGIN { max = 1048576 } { b += length($0) + 1; if (b > max) exit; print }' \
	    "$tmp/in.${SIZES%% *}" >"$tmp/in.1mb"
	for stage in $stages; do
		prev=0
		for n in 1mb $inputs; do
			in=$tmp/in.$n
			recs=$(wc -l <"$in")
			bytes=$(wc -c <"$in")
			measure "$stage" "$in"
			[ "$rc" -le 2 ] || fail "$stage on $recs $stream records: exit $rc: $(tail -n 2 "$tmp/err")"
			[ "$n" = 1mb ] && prev=0
			x=$(awk -v a="$prev" -v b="$cpu" 'BEGIN {
				if (a > 0) printf "%.1f", b / (a > 5e6 ? a : 5e6); else print "-" }')
			awk -v s="$stream" -v st="$stage" -v r="$recs" -v b="$bytes" \
			    -v ns="$ns" -v cpu="$cpu" -v rss="$rss" -v rc="$rc" -v x="$x" '
			    BEGIN { printf "%-9s %-18s %8d %10d %7.3f %7.3f %7.2f %5s %7.1f %3d\n",
				s, st, r, b, ns / 1e9, cpu / 1e9, cpu / 1e3 / r, x, rss / 1024, rc }'
			if [ "$bytes" -le 1048576 ] && [ "$rss" -gt $MAXRSS_KB ]; then
				fail "$stage: $((rss / 1024)) MB RSS on $bytes bytes ($stream)"
			fi
			if [ "$x" != - ] && awk -v x="$x" -v m="$MAXRATIO" 'BEGIN { exit !(x > m) }'; then
				fail "$stage ($stream): 10x the records took ${x}x the CPU time"
			fi
			[ "$n" = 1mb ] || prev=$cpu
		done
	done
done
[ $bad = 0 ] && echo "scale: every stage linear, RSS within 64 MB at <= 1 MB"
exit $bad
