#!/bin/bash
# tests/bench/probe.sh: phx-probe against its peers, side by side, same run.
# 1,000 HTTP endpoints on loopback served by a private nginx (keep-alive):
# a sequential curl loop, prometheus-blackbox-exporter (64 parallel
# scrapes), curl --parallel --parallel-max 64, and phx-probe.  Then the
# wait-mode detection lag.  Knobs: BENCH_N (1000), BENCH_REPS (5),
# BENCH_LOOP_N (= BENCH_N), BENCH_LAG_TRIALS (15), PHX_BIN.
set -u
cd "$(dirname "$0")/../.." || exit 1
TOP=$(pwd)
PHX_BIN=${PHX_BIN:-$TOP/tools}
PROBE=$PHX_BIN/phx-probe
N=${BENCH_N:-1000}
REPS=${BENCH_REPS:-5}
LOOP_N=${BENCH_LOOP_N:-$N}
TRIALS=${BENCH_LAG_TRIALS:-15}
export PHX_LOG_FORMAT=text
unset PHX_DEPLOYMENT_ID PHX_CONFIG_DIR

for t in nginx curl jq prometheus-blackbox-exporter; do
	command -v "$t" >/dev/null 2>&1 ||
	    [ -x "/usr/sbin/$t" ] || { echo "bench: $t missing (make deps)" >&2; exit 1; }
done
[ -x "$PROBE" ] || { echo "bench: $PROBE missing (make)" >&2; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/phx-bench.XXXXXX")
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. tests/ports.sh

# ---- the server: one nginx process, keep-alive, N distinct paths ----
PORT=$(free_port)
mkdir -p "$W/nginx"
cat >"$W/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_rlimit_nofile 8192;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $W/nginx/body;
	proxy_temp_path $W/nginx/proxy;
	fastcgi_temp_path $W/nginx/fastcgi;
	uwsgi_temp_path $W/nginx/uwsgi;
	scgi_temp_path $W/nginx/scgi;
	keepalive_requests 100000;
	keepalive_timeout 60s;
	server {
		listen 127.0.0.1:$PORT;
		location /h/ {
			default_type application/json;
			return 200 '{"status":"UP"}';
		}
		location = /ready {
			access_log $W/nginx/ready.log;
			default_type application/json;
			if (-f $W/up) { return 200 '{"status":"UP"}'; }
			return 503 '{"status":"STARTING"}';
		}
	}
}
EOF
nginx -c "$W/nginx/nginx.conf" -p "$W/nginx" 2>"$W/nginx/stderr" &
PIDS="$PIDS $!"
wait_port "$PORT" || { echo "bench: nginx did not start" >&2; cat "$W/nginx/stderr" >&2; exit 1; }
U=http://127.0.0.1:$PORT

seq 1 "$N" | awk -v u="$U" '{ printf "url = \"%s/h/%d\"\noutput = \"/dev/null\"\n", u, $1 }' >"$W/urls.cfg"
seq 1 "$N" | awk -v u="$U" '{ printf "%s/h/%d\n", u, $1 }' >"$W/urls.txt"
seq 1 "$N" | awk -v u="$U" '{ printf "{\"v\":1,\"type\":\"service\",\"deployment_id\":\"deploy_20261127_120000\",\"ts\":\"2026-11-27T12:00:00.000Z\",\"source\":\"bench\",\"service\":\"s%d\",\"checks\":[{\"kind\":\"http\",\"target\":\"%s/h/%d\",\"conditions\":[\"[BODY].status == UP\"]}]}\n", $1, u, $1 }' >"$W/services.ndjson"

# ---- measuring: median of REPS runs; CPU is user+sys of the client ----
# run NAME REPS INPUT CMD...: appends "wall cpu" per rep to $W/NAME.times
run() {
	name=$1 reps=$2 input=$3
	shift 3
	for _ in $(seq "$reps"); do
		TIMEFORMAT='%R %U %S'
		{ time "$@" <"$input" >"$W/$name.out" 2>"$W/$name.err"; } 2>"$W/$name.t"
		awk '{ printf "%.4f %.4f\n", $1, $2 + $3 }' "$W/$name.t" >>"$W/$name.times"
	done
}
median() {   # column of $W/NAME.times
	sort -n -k"$2" "$W/$1.times" | awk -v c="$2" '{ v[NR] = $c }
	    END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
minimum() { sort -n -k"$2" "$W/$1.times" | head -n 1 | awk -v c="$2" '{ print $c }'; }

echo "phx-probe bench: $N HTTP endpoints on loopback (nginx $(nginx -v 2>&1 | sed 's/.*\///'), keep-alive), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo "medians of $REPS runs (curl loop: 1 run of $LOOP_N)"
echo

# The fast clients take turns, one run each per round, so that a passing
# disturbance of this shared machine falls on all of them; they go first,
# before the loop and blackbox_exporter leave thousands of connections in
# TIME_WAIT (each run of those opens a connection per URL).
for _ in $(seq "$REPS"); do
	# one curl process, sequential, connection reused; curl --parallel
	run curlK 1 /dev/null curl -s -K "$W/urls.cfg"
	run curlpar 1 /dev/null curl -s --parallel --parallel-max 64 -K "$W/urls.cfg"
	# phx-probe: N service records with a condition on the JSON body
	run probedef 1 "$W/services.ndjson" "$PROBE" -q -c /dev/null
	# as many at once as curl --parallel-max 64
	run probe64 1 "$W/services.ndjson" "$PROBE" -q -j 64 -c /dev/null
	# the same as targets on the command line: no stream to pass through
	run probeargs 1 /dev/null xargs -a "$W/urls.txt" "$PROBE" -q -n -c /dev/null
	# start-up alone, to tell the per-check cost from the fixed cost
	run probe0 1 /dev/null "$PROBE" -q -n -c /dev/null
done
probe_ok=$(grep -c '"type":"health".*"status":"healthy"' "$W/probedef.out")
probeargs_ok=$(grep -c '"type":"health".*"status":"healthy"' "$W/probeargs.out")

# blackbox_exporter, scraped 64 at a time as Prometheus would
BBPORT=$(free_port)
cat >"$W/blackbox.yml" <<'EOF'
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      valid_status_codes: [200]
      preferred_ip_protocol: ip4
      fail_if_body_not_matches_regexp: ['"status":"UP"']
EOF
prometheus-blackbox-exporter --config.file="$W/blackbox.yml" \
    --web.listen-address="127.0.0.1:$BBPORT" >"$W/bb.log" 2>&1 &
BBPID=$!
PIDS="$PIDS $BBPID"
wait_port "$BBPORT" || { echo "bench: blackbox_exporter did not start" >&2; exit 1; }
awk -v b="http://127.0.0.1:$BBPORT" '{ printf "url = \"%s/probe?module=http_2xx&target=%s\"\n", b, $1 }' \
    "$W/urls.txt" >"$W/bb.cfg"
proc_cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
bb0=$(proc_cpu "$BBPID")
run blackbox "$REPS" /dev/null curl -s --parallel --parallel-max 64 -K "$W/bb.cfg"
bb1=$(proc_cpu "$BBPID")
bb_ok=$(grep -c '^probe_success 1' "$W/blackbox.out")

# a shell loop, one curl process per URL
loop() { head -n "$LOOP_N" "$W/urls.txt" | while read -r u; do curl -s -o /dev/null "$u"; done; }
run loop 1 /dev/null loop

row() {   # label name [extra cpu seconds] [URLs run, when not N]
	wall=$(median "$2" 1)
	cpu=$(median "$2" 2)
	[ -n "${3:-}" ] && cpu=$(awk -v a="$cpu" -v b="$3" 'BEGIN { print a + b }')
	awk -v l="$1" -v w="$wall" -v c="$cpu" -v p="$(median probedef 1)" \
	    -v s="$(awk -v n="$N" -v k="${4:-$N}" 'BEGIN { print n / k }')" \
	    'BEGIN { printf "%-46s %8.3f s %8.3f s %9.1fx\n", l, w, c, w * s / p }'
}
printf '%-46s %10s %10s %10s\n' "who" "wall" "CPU" "vs phx-probe (per URL)"
row "curl loop, one process per URL ($LOOP_N URLs)" loop "" "$LOOP_N"
bbcpu=$(awk -v a="$bb0" -v b="$bb1" -v r="$REPS" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { print (b - a) / hz / r }')
row "blackbox_exporter, 64 parallel scrapes (+server)" blackbox "$bbcpu"
row "curl -K, sequential, one connection" curlK
row "curl --parallel --parallel-max 64 -K" curlpar
row "phx-probe (default -j 32), records + condition" probedef
row "phx-probe -j 64, same input" probe64
row "phx-probe, URLs as arguments" probeargs
row "phx-probe start-up only (no checks)" probe0
echo
echo "checks judged healthy: phx-probe $probe_ok/$N (records), $probeargs_ok/$N (arguments); blackbox_exporter $bb_ok/$N"
cpu_line() {   # label name: CPU per check, start-up taken out
	awk -v l="$1" -v c="$(median "$2" 2)" -v c0="$(median probe0 2)" \
	    -v m="$(minimum "$2" 2)" -v m0="$(minimum probe0 2)" -v n="$N" 'BEGIN {
		printf "phx-probe CPU per check, %s: %.1f us all in (median), %.1f us beyond start-up (median), %.1f us (best runs); goal < 50 us\n",
		    l, c / n * 1e6, (c - c0) / n * 1e6, (m - m0) / n * 1e6 }'
}
cpu_line "default -j 32" probedef
cpu_line "-j 64" probe64
awk -v w="$(median probedef 1)" -v w64="$(median probe64 1)" -v cw="$(median curlpar 1)" 'BEGIN {
	printf "phx-probe wall vs curl --parallel: %.2fx at the default, %.2fx at -j 64 (goal <= 1)\n", w / cw, w64 / cw
}'

# ---- wait mode: detection lag ----
# The service starts answering correctly the moment the flag file exists
# (nginx checks it on every request); the lag runs from then to the ts of
# the health record phx-probe writes.
echo
lags=()
: >"$W/nginx/ready.log"
waited_ms=0
for i in $(seq "$TRIALS"); do
	rm -f "$W/up"
	"$PROBE" -q -n -w --deadline 30s "lag=$U/ready" >"$W/lag.out" 2>"$W/lag.err" &
	pid=$!
	delay=$(awk -v s="$i$$" 'BEGIN { srand(s); printf "%.3f", 0.5 + rand() * 1.5 }')
	sleep "$delay"
	up=${EPOCHREALTIME/./}
	: >"$W/up"
	wait "$pid"
	ts=$(jq -r 'select(.type == "health") | .ts' "$W/lag.out")
	[ -n "$ts" ] || { echo "bench: trial $i gave no health record" >&2; continue; }
	rec_ms=$(date -u -d "$ts" +%s%3N)
	lags+=( $(( rec_ms - up / 1000 )) )
	waited_ms=$(awk -v a="$waited_ms" -v d="$delay" 'BEGIN { printf "%d", a + d * 1000 }')
done
reqs=$(wc -l <"$W/nginx/ready.log")
printf '%s\n' "${lags[@]}" | sort -n >"$W/lags"
awk -v t="$TRIALS" -v r="$reqs" -v w="$waited_ms" '{ v[NR] = $1 } END {
	m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	printf "wait-mode detection lag over %d trials: median %d ms, min %d ms, max %d ms (goal: median <= 500 ms)\n",
	    NR, m, v[1], v[NR]
	printf "requests while waiting: %d in %.1f s, %.1f per second (schedule: 100 ms doubling to 500 ms)\n",
	    r - t, w / 1000, (r - t) / (w / 1000)
}' "$W/lags"
