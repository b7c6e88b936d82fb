#!/bin/bash
# Time to verdict (issue 17): the whole `pipelines/validate --down` run on
# the bundled stack (stand-ins) against the anchor a user would write
# instead: `podman-compose up -d`, a loop polling every service each 0.1 s
# (curl for HTTP, pg_isready for PostgreSQL) until all answer, then
# `podman-compose down`.  An independent poller (10 ms) sees the moment each
# service first answers in every run.  phx's breakdown comes from the
# records and files the run leaves.  Prints each run, a table of medians
# and the ratios.  ROUNDS=... (default 3).  Holds /tmp/phx-podman.lock.
. "$(dirname "$0")/prologue.sh" "$@"
ROUNDS=${ROUNDS:-3}

export PHX_N8N=${PHX_N8N:-standin}
bench_images validate phx-httpd phx-node phx-postgres "phx-n8n:$PHX_N8N"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/phx-bench-validate.XXXXXX")
P=$(phx_test_project benchv)
trap 'podman_cleanup_project "$P" >/dev/null 2>&1; [ -n "${BENCH_KEEP:-}" ] || rm -rf "$tmp"' EXIT
export PHX_STATE_DIR=$tmp/state PHX_PROJECT=$P REVENUE_DB_PASSWORD="bench-$$-pw" \
    N8N_API_KEY="n8n_api_bench$$" WINDMILL_TOKEN="bench-$$-tok"
read -r PHX_PORT_CORE PHX_PORT_NCA PHX_PORT_N8N PHX_PORT_WINDMILL PHX_PORT_DB <<EOF
$(free_port 5 | tr '\n' ' ')
EOF
export PHX_PORT_CORE PHX_PORT_NCA PHX_PORT_N8N PHX_PORT_WINDMILL PHX_PORT_DB
COMPOSE=infra/podman/compose.yaml
# BENCH_PODMAN_LOG=1: phx's podman calls counted and timed (a PATH wrapper)
PHX_REAL_PODMAN=$(command -v podman)
WRAP=''
[ -z "${BENCH_PODMAN_LOG:-}" ] || WRAP=$TOP/tests/bench/wrap:
HTTP="phoenix-core=http://127.0.0.1:$PHX_PORT_CORE/health
nca-toolkit=http://127.0.0.1:$PHX_PORT_NCA/
n8n=http://127.0.0.1:$PHX_PORT_N8N/healthz/readiness
windmill=http://127.0.0.1:$PHX_PORT_WINDMILL/api/version"

now() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
f2() { printf '%.2f' "$1"; }

# poller OUT: each service's first answer, "name epoch", polled every 10 ms
# (a 200 from its URL, pg_isready for the database) until all answered
poller() {
	python3 - "$1" "$PHX_PORT_DB" "$HTTP" <<'PY_EOF' &
import http.client, subprocess, sys, time, urllib.parse
out, dbport, spec = sys.argv[1], sys.argv[2], sys.argv[3]
todo = dict(l.split("=", 1) for l in spec.split("\n"))
todo["revenue-db"] = None
def up(url):
    if url is None:
        return subprocess.call(["pg_isready", "-q", "-h", "127.0.0.1", "-p",
            dbport, "-U", "phoenix", "-d", "revenue", "-t", "1"]) == 0
    u = urllib.parse.urlsplit(url)
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=1)
        c.request("GET", u.path)
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except Exception:
        return False
with open(out, "w") as f:
    while todo:
        for name, url in list(todo.items()):
            if up(url):
                f.write("%s %.3f\n" % (name, time.time()))
                f.flush()
                del todo[name]
        time.sleep(0.01)
PY_EOF
	POLLER=$!
}
poller_stop() { kill "$POLLER" 2>/dev/null || true; wait "$POLLER" 2>/dev/null || true; }
last_ready() { awk '$2 > m { m = $2 } END { print m }' "$1"; }
ready_count() { wc -l <"$1"; }

anchor() {   # ROUND
	local t0 t1 t2 t3 name url left
	poller "$tmp/ready.a$1"
	t0=$(now)
	podman-compose -p "$P" -f "$COMPOSE" up -d >"$tmp/anchor.log" 2>&1
	t1=$(now)
	left="$HTTP
revenue-db=pg"
	while [ -n "$left" ]; do
		local next=''
		while IFS='=' read -r name url; do
			if [ "$url" = pg ]; then
				pg_isready -q -h 127.0.0.1 -p "$PHX_PORT_DB" -U phoenix -d revenue -t 1 && continue
			else
				curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && continue
			fi
			next="$next${next:+
}$name=$url"
		done <<<"$left"
		left=$next
		[ -z "$left" ] || sleep 0.1
	done
	t2=$(now)
	# not the anchor's: phx-secscan alone on the running stack
	"$PHX_BIN/phx-secscan" -p "$P" </dev/null >"$tmp/secscan.ndjson" 2>"$tmp/secscan.err" || true
	s2=$(now)
	echo "$s2 - $t2" | bc >>"$tmp/secscan.t"
	podman-compose -p "$P" -f "$COMPOSE" down >>"$tmp/anchor.log" 2>&1
	t3=$(echo "$(now) - $s2 + $t2" | bc)
	poller_stop
	[ "$(ready_count "$tmp/ready.a$1")" -eq 5 ] || { echo "bench validate: anchor: the poller did not see 5 services" >&2; exit 1; }
	echo "$(echo "$t1 - $t0" | bc) $(echo "$t2 - $t1" | bc) $(echo "$t3 - $t2" | bc) $(echo "$t3 - $t0" | bc) $(echo "$(last_ready "$tmp/ready.a$1") - $t0" | bc)" >>"$tmp/anchor.t"
	printf 'round %d  anchor            up %5.2f  poll %5.2f  down %5.2f  total %5.2f s  (last service ready at %5.2f s)\n' "$1" $(tail -1 "$tmp/anchor.t")
	printf 'round %d  phx-secscan -p alone on the 5-service stack  %5.2f s (%s containers)\n' "$1" "$(tail -1 "$tmp/secscan.t")" \
	    "$(jq -r 'select(.type == "phase" and .event == "end") | .counts.containers' "$tmp/secscan.ndjson")"
}

# phx RUN-NAME ARGS...: validate --down ARGS, then the breakdown from the
# stream, the files and the poller (each row a duration in seconds)
phx() {
	local run=$1 t0 t1 out id st
	shift
	out=$tmp/out.$run
	poller "$tmp/ready.$run"
	export PHX_PODMAN_LOG=$tmp/podman.$run.$ROUND PHX_REAL_PODMAN
	: >"$PHX_PODMAN_LOG"
	t0=$(now)
	PATH=$WRAP$PATH "$TOP/pipelines/validate" --down -o "$out" "$@" >"$tmp/$run.stdout" 2>"$tmp/$run.stderr" && st=0 || st=$?
	t1=$(now)
	poller_stop
	[ "$st" -eq 0 ] || { echo "bench validate: validate $* exited $st:" >&2; tail -20 "$tmp/$run.stdout" "$tmp/$run.stderr" >&2; exit 1; }
	id=$(jq -r .deployment_id "$out/report.json")
	jq -r --argjson t0 "$t0" --argjson t1 "$t1" \
	    --argjson pcend "$(stat -c %.3Y "$PHX_STATE_DIR/$id/logs/attempt-1/podman-compose.log")" \
	    --argjson rep "$(stat -c %.3Y "$out/report.json")" \
	    --slurpfile down "$out/down.ndjson" \
	    --rawfile ready "$tmp/ready.$run" -s -f /dev/stdin "$PHX_STATE_DIR/$id/stream.ndjson" <<'JQ_EOF' >"$tmp/$run.rows"
def t: (.ts[0:19] + "Z" | fromdateiso8601) + (.ts[20:23] | tonumber) / 1000;
def r: . * 1000 | round / 1000;
($ready | split("\n") | map(select(. != "") | split(" ") | {key: .[0], value: (.[1] | tonumber)}) | from_entries) as $rd
| (map(select(.type == "deployment" and .status == "starting")) | first | t) as $starting
| (map(select(.type == "service" and .source == "phx-deploy")) | first | t) as $svc
| (map(select(.type == "deployment" and .status == "running")) | first | t) as $running
| (map(select(.type == "health")) | group_by(.service) | map({key: .[0].service, value: (first | t)}) | from_entries) as $h
| (map(select(.type == "phase" and .event == "end")) | map({key: .phase, value: t}) | from_entries) as $pend
| ([$h[]] | max) as $lasth
| ($down | map(t) | min) as $downat
| ($pend.functest // $pend.probe) as $fend
| ($pend.secscan // $fend) as $send
| [ ["start -> phx-deploy starting", $starting - $t0],
    ["podman-compose up (after preflight)", $pcend - $starting],
    ["phx-deploy confirm (settle, inspect)", $svc - $pcend],
    ["phx-deploy records (stats, containers)", $running - $svc],
    (($h | keys[]) as $s | ["ready -> health: " + $s, $h[$s] - $rd[$s]]),
    ["last health -> probe end (confirm pass)", $pend.probe - $lasth],
    ["functest (after probe end)", $fend - $pend.probe],
    ["secscan (after functest end)", $send - $fend],
    ["report (files written)", $rep - $send],
    ["last service ready (from start)", ([$rd[]] | max) - $t0],
    ["verdict after last service ready", $rep - ([$rd[]] | max)],
    ["down (phx-deploy down)", $t1 - $downat],
    ["total", $t1 - $t0] ]
| .[] | "\(.[0])\t\(.[1] | r)"
JQ_EOF
	printf 'round %d  %-16s total %5.2f s  verdict %.2f s after the last service answered\n' "$ROUND" "$run" \
	    "$(awk -F'\t' '$1 == "total" { print $2 }' "$tmp/$run.rows")" \
	    "$(awk -F'\t' '$1 == "verdict after last service ready" { print $2 }' "$tmp/$run.rows")"
	cat "$tmp/$run.rows" >>"$tmp/$run.all"
	[ -z "$WRAP" ] || awk -F'\t' '$1 ~ /^phx-/ { split($4, a, " "); k = $1 " " a[1] (a[1] ~ /^(container|network|volume)$/ ? " " a[2] : ""); c[k]++; t[k] += $3 }
	    END { for (k in c) printf "    %-32s %3d calls %6.2f s\n", k, c[k], t[k] }' "$PHX_PODMAN_LOG" | sort
}

podman_cleanup_project "$P" >/dev/null 2>&1 || true
for ROUND in $(seq "$ROUNDS"); do
	if [ $((ROUND % 2)) -eq 1 ]; then order="anchor full lite"; else order="lite full anchor"; fi
	for who in $order; do
		case $who in
		anchor) anchor "$ROUND" ;;
		full) phx full ;;
		lite) phx lite --no-functest --no-secscan ;;
		esac
		podman_cleanup_project "$P" >/dev/null
	done
done

col() { awk '{ print $'"$1"' }' "$tmp/anchor.t" | median; }
a_up=$(col 1) a_poll=$(col 2) a_down=$(col 3) a_tot=$(col 4) a_ready=$(col 5)
echo
echo "anchor (median of $ROUNDS): podman-compose up -d $(f2 "$a_up") s, poll until all answer $(f2 "$a_poll") s, podman-compose down $(f2 "$a_down") s, total $(f2 "$a_tot") s; last service ready at $(f2 "$a_ready") s"
echo
printf '| %-42s | %10s | %10s |\n' "phx stage (median of $ROUNDS, seconds)" "full run" "--no-functest --no-secscan"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..44})" "------------" "------------"
awk -F'\t' '!seen[$1]++ { print $1 }' "$tmp/full.all" | while IFS= read -r row; do
	m() { awk -F'\t' -v r="$row" '$1 == r { print $2 }' "$tmp/$1.all" | median; }
	printf '| %-42s | %10s | %10s |\n' "$row" "$(f2 "$(m full)")" "$(f2 "$(m lite)")"
done
tot() { awk -F'\t' '$1 == "total" { print $2 }' "$tmp/$1.all" | median; }
echo
printf 'ratio  validate --down --no-functest --no-secscan / anchor  %5.2fx  (goal <= 1.0x)\n' "$(echo "$(tot lite) / $a_tot" | bc -l)"
printf 'ratio  validate --down (everything on) / anchor             %5.2fx  (goal <= 1.2x)\n' "$(echo "$(tot full) / $a_tot" | bc -l)"
# podman-compose up is most of both and swings by seconds with the load
# of a shared machine: the same comparison with each side's own up taken
# out (phx: total - its podman-compose up; the anchor: poll + down)
own() { awk -F'\t' '$1 == "total" { t[++nt] = $2 } $1 ~ /^podman-compose up/ { u[++nu] = $2 } END { for (i = 1; i <= nt; i++) print t[i] - u[i] }' "$tmp/$1.all" | median; }
a_own=$(echo "$a_poll + $a_down" | bc -l)
printf 'own    time beside podman-compose up: lite %.2f s, full %.2f s, anchor (poll + down) %.2f s\n' "$(own lite)" "$(own full)" "$a_own"
printf 'ratio  lite / anchor with the anchor'"'"'s up on both sides  %5.2fx;  full %5.2fx\n' \
    "$(echo "($a_up + $(own lite)) / ($a_up + $a_own)" | bc -l)" "$(echo "($a_up + $(own full)) / ($a_up + $a_own)" | bc -l)"
printf 'phx-secscan -p alone, 5-service stack: median %.2f s  (goal < 1 s)\n' "$(median <"$tmp/secscan.t")"
printf 'ratio  phx-deploy down / podman-compose down                %5.2fx  (goal <= 1.0x)\n' \
    "$(echo "$(awk -F'\t' '$1 ~ /^down/ { print $2 }' "$tmp/lite.all" "$tmp/full.all" | median) / $a_down" | bc -l)"
