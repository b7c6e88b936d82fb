#!/bin/bash
# Death to record (issue 17): a container of a watched service exits by
# itself while phx-probe -w watches the deployment; beside phx-probe, a
# plain `podman events` (the same filters) stamps each line as it
# arrives.  For each trial, from the container's exit (State.FinishedAt):
# Podman writing its died event (the event's Time), the plain reader
# getting it, and phx-probe's died container record and unhealthy health
# record.  Prints each trial and the medians.  BENCH_DEATH_TRIALS (15).
# Holds /tmp/phx-podman.lock.
. "$(dirname "$0")/prologue.sh" "$@"
TRIALS=${BENCH_DEATH_TRIALS:-15}
export PHX_LOG_FORMAT=text
bench_images watch phx-httpd
tmp=$(mktemp -d "${TMPDIR:-/tmp}/phx-bench-watch.XXXXXX")
P=$(phx_test_project benchw)
READER=
trap '[ -z "$READER" ] || kill "$READER" 2>/dev/null; podman_cleanup_project "$P" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
printf 'recovery: {health: abort}\n' >"$tmp/conf.yaml"

# the plain reader: "arrival-epoch-ns line" for each line of podman events
python3 - "$tmp/plain" "label=$PHX_PROJECT_LABEL=$P" <<'PY_EOF' &
import subprocess, sys, time
out, flt = sys.argv[1], sys.argv[2]
p = subprocess.Popen(["podman", "events", "--format", "json", "--filter", flt,
    "--filter", "type=container"], stdout=subprocess.PIPE, bufsize=0)
with open(out, "w") as f:
    for line in iter(p.stdout.readline, b""):
        f.write("%d %s" % (time.time_ns(), line.decode()))
        f.flush()
PY_EOF
READER=$!
sleep 1

# RFC 3339 (any fraction, Z or +00:00) -> ms since the epoch
ms='def ms: sub("[+]00:00$"; "Z") | capture("^(?<s>[^.Z]+)(\\.(?<f>[0-9]+))?Z$") | ((.s + "Z") | fromdate) * 1000 + (((.f // "") + "000")[0:3] | tonumber);'
now() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }
: >"$tmp/rows"
for i in $(seq "$TRIALS"); do
	port=$(free_port)
	name=${P}_t$i
	rm -f "$tmp/in"
	mkfifo "$tmp/in"
	"$PHX_BIN/phx-probe" -w -d 30s -c "$tmp/conf.yaml" <"$tmp/in" >"$tmp/out.$i" 2>"$tmp/err.$i" &
	probe=$!
	exec 3>"$tmp/in"
	printf '{"v":1,"type":"deployment","deployment_id":null,"ts":"%s","source":"bench","status":"running","project":"%s"}\n' "$(now)" "$P" >&3
	# answers at once, exits 2.5 s after it started (a moment varied by trial)
	id=$(podman run -d --name "$name" --label "$PHX_PROJECT_LABEL=$P" \
	    --label "com.docker.compose.service=t$i" -p "127.0.0.1:$port:8080" \
	    --entrypoint sh localhost/phx-httpd -c "/bin/phx-httpd & sleep 2.$((i % 10)); exit 3")
	printf '{"v":1,"type":"service","deployment_id":null,"ts":"%s","source":"bench","service":"t%d","project":"%s","container_id":"%s","container_name":"%s","checks":[{"kind":"tcp","target":"127.0.0.1:%s"}]}\n' \
	    "$(now)" "$i" "$P" "$id" "$name" "$port" >&3
	podman wait "$name" >/dev/null
	sleep 1
	exec 3>&-
	wait "$probe" || true
	fin=$(podman inspect --format json "$name" | jq -r "$ms .[0].State.FinishedAt | ms")
	evt=$(awk -v id="$id" '$0 ~ id && /"Status":"died"/ { sub(/^[0-9]+ /, ""); print; exit }' "$tmp/plain" | jq -r "$ms .Time | ms")
	arr=$(awk -v id="$id" '$0 ~ id && /"Status":"died"/ { print substr($1, 1, length($1) - 6); exit }' "$tmp/plain")
	crec=$(jq -r "$ms select(.type == \"container\" and .event == \"died\") | .ts | ms" "$tmp/out.$i" | head -n 1)
	hrec=$(jq -r "$ms select(.type == \"health\" and .status == \"unhealthy\") | .ts | ms" "$tmp/out.$i" | head -n 1)
	if [ -z "$fin" ] || [ -z "$evt" ] || [ -z "$arr" ] || [ -z "$crec" ] || [ -z "$hrec" ]; then
		echo "bench watch: trial $i: missing a time (exit '$fin', event '$evt', plain '$arr', records '$crec' '$hrec')" >&2
		cat "$tmp/err.$i" >&2
		continue
	fi
	echo "$((evt - fin)) $((arr - fin)) $((crec - fin)) $((hrec - fin)) $((hrec - arr))" >>"$tmp/rows"
	printf 'trial %2d  exit -> event written %4d ms, -> plain podman events %4d ms, -> phx container record %4d ms, -> health record %4d ms\n' \
	    "$i" $(tail -n 1 "$tmp/rows" | cut -d' ' -f1-4)
	podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
done
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
col() { awk '{ print $'"$1"' }' "$tmp/rows" | median; }
echo
echo "death -> record over $(wc -l <"$tmp/rows") trials, medians (load $(cut -d' ' -f1 /proc/loadavg)):"
printf '  exit -> Podman writes its died event     %4d ms\n' "$(col 1)"
printf '  exit -> a plain podman events reads it   %4d ms\n' "$(col 2)"
printf '  exit -> phx-probe container record       %4d ms\n' "$(col 3)"
printf '  exit -> phx-probe health record          %4d ms (goal <= 100 ms)\n' "$(col 4)"
printf '  plain reader -> phx-probe health record  %4d ms\n' "$(col 5)"
