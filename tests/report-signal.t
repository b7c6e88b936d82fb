#!/bin/bash
# phx-report stopped by SIGINT or SIGTERM mid-stream (the pipeline's ^C):
# what was read is judged INCOMPLETE, stored, every output written, and
# it exits 128+N; a signal once it writes still ends it at once.
. "$(dirname "$0")/lib.sh"

data=$TOP/tests/data/phx-report
state=$T_TMP/state
export PHX_STATE_DIR=$state PHX_CONFIG_DIR=$T_TMP/noconfig
mkdir -p "$PHX_CONFIG_DIR"
id=deploy_20261127_162318

# phx-deploy's own records when ^C reached it too: its interrupted up
interrupted() {
	head -n 2 "$data/healthy.in.ndjson"
	printf '%s\n' '{"v":1,"type":"deployment","deployment_id":"'$id'","ts":"2026-11-27T16:23:20.000Z","source":"phx-deploy","status":"failed","project":"phoenix-hydra","compose_file":"infra/podman/compose.yaml","attempt":1,"attempts":3,"duration_ms":1875,"reason":"interrupted","message":"interrupted by signal 2 during up"}'
}

# run NAME SIG ARGS...: phx-report reads NAME's lines from a pipe that
# stays open until it gets SIG; its status is in $T_TMP/NAME.status
run() {
	name=$1 sig=$2
	shift 2
	mkfifo "$T_TMP/$name.fifo"
	phx-report "$@" <"$T_TMP/$name.fifo" >"$T_TMP/$name.out" \
	    2>"$T_TMP/$name.err" &
	pid=$!
	exec 7>"$T_TMP/$name.fifo"
	cat "$T_TMP/$name.in" >&7
	# every line read (and stored) before the signal comes
	for _ in $(seq 100); do
		[ "$(cat "$state"/.stream.* 2>/dev/null | wc -l)" -ge \
		    "$(wc -l <"$T_TMP/$name.in")" ] && break
		sleep 0.05
	done
	start=$(date +%s)
	kill -"$sig" $pid
	wait $pid
	echo $? >"$T_TMP/$name.status"
	echo $(($(date +%s) - start)) >"$T_TMP/$name.secs"
	exec 7>&-
}

# ---- SIGINT: the records read, stored; every output written ----
head -n 5 "$data/healthy.in.ndjson" >"$T_TMP/int.in"
run int INT --junit "$T_TMP/int.xml" --metrics "$T_TMP/int.prom"
is "$(cat "$T_TMP/int.status")" 130 "SIGINT: exit 128+2"
check "SIGINT: ends within the grace, not when the input does" \
    test "$(cat "$T_TMP/int.secs")" -le 5
check "SIGINT: the records read are stored" \
    cmp -s "$T_TMP/int.in" "$state/$id/stream.ndjson"
is "$(find "$state" -maxdepth 1 -name '.stream*' | wc -l)" 0 \
    "SIGINT: no temporary stream left"
check "SIGINT: report.json says INCOMPLETE" \
    jq -e '.status == "INCOMPLETE" and .exit_status == 130' \
    "$state/$id/report.json"
is "$(jq -r '.errors[0]' "$state/$id/report.json")" \
    "interrupted by signal 2 (SIGINT) while reading the stream" \
    "SIGINT: the reason says so"
is "$(jq .stream.records "$state/$id/report.json")" 5 \
    "SIGINT: every record read is judged"
like "$(cat "$T_TMP/int.out")" 'verdict  INCOMPLETE' "SIGINT: the summary is printed"
like "$(cat "$T_TMP/int.out")" 'interrupted by signal 2 \(SIGINT\)' \
    "SIGINT: the summary gives the reason"
like "$(cat "$T_TMP/int.xml")" 'interrupted by signal 2' "SIGINT: JUnit written"
like "$(cat "$T_TMP/int.prom")" 'phx_deployment_status\{status="INCOMPLETE"\} 1' \
    "SIGINT: metrics written"

# ---- SIGTERM, -n -o: phx-deploy's interrupted up is the root cause ----
rm -rf "$state"
interrupted >"$T_TMP/term.in"
run term TERM -n -o "$T_TMP/term.json" -f json
is "$(cat "$T_TMP/term.status")" 143 "SIGTERM: exit 128+15"
check "SIGTERM: -o written, INCOMPLETE" \
    jq -e '.status == "INCOMPLETE" and .exit_status == 143' "$T_TMP/term.json"
check "SIGTERM: -f json on stdout is the same report" \
    cmp -s "$T_TMP/term.json" "$T_TMP/term.out"
like "$(jq -r '.errors[0]' "$T_TMP/term.json")" \
    '^root cause: phx-deploy ended in error: .*interrupted by signal 2 during up' \
    "SIGTERM: phx-deploy's interruption is the root cause"
like "$(jq -r '.errors[]' "$T_TMP/term.json")" \
    'interrupted by signal 15 \(SIGTERM\) while reading the stream' \
    "SIGTERM: and ours follows"
is "$(jq .stream.records "$T_TMP/term.json")" 3 "SIGTERM: every record read is judged"
check "-n: nothing stored" test ! -e "$state/$id"

# ---- upstream records written after the signal, within the grace ----
rm -rf "$state"
mkfifo "$T_TMP/late.fifo"
phx-report -n -o "$T_TMP/late.json" <"$T_TMP/late.fifo" >/dev/null 2>&1 &
pid=$!
exec 7>"$T_TMP/late.fifo"
head -n 2 "$data/healthy.in.ndjson" >&7
sleep 0.3
kill -INT $pid
sleep 0.3
interrupted | tail -n 1 >&7
exec 7>&-
wait $pid
is "$?" 130 "late upstream record: exit 130"
like "$(jq -r '.errors[0]' "$T_TMP/late.json")" 'root cause: .*interrupted by signal 2 during up' \
    "a record the upstream writes as it winds down is read"

# ---- a stored stream given as a file is read whole ----
phx-report -n -o "$T_TMP/file.json" "$data/healthy.in.ndjson" >/dev/null 2>&1
is "$?" 0 "a whole stream, no signal: SUCCESS as before"

done_testing
