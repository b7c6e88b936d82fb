#!/bin/bash
# Logs written for people, a CI log that never goes silent, and operands
# that replace standard input (as cat's and grep's do).
. "$(dirname "$0")/lib.sh"

data=$TOP/tests/data/phx-report
export PHX_STATE_DIR=$T_TMP/state PHX_CONFIG_DIR=$T_TMP/noconfig
mkdir -p "$PHX_CONFIG_DIR"
unset PHX_LOG_FORMAT

# ---- stderr not a terminal: still lines for people ----
for t in deploy probe functest secscan report; do
	phx-$t --bogus </dev/null >/dev/null 2>"$T_TMP/err"
	like "$(head -n 1 "$T_TMP/err")" "^phx-$t: " \
	    "phx-$t: a usage error is a line for people, not JSON"
done
phx-report -f yaml </dev/null >/dev/null 2>"$T_TMP/err"
is "$(head -n 1 "$T_TMP/err")" 'phx-report: error: unknown format "yaml" (text, json, junit, prometheus, ndjson, tap, markdown)' \
    "an error reads 'phx-report: error: ...'"
phx-report --log-format json -f yaml </dev/null >/dev/null 2>"$T_TMP/err"
is "$(head -n 1 "$T_TMP/err" | jq -r '.component + " " + .level')" \
    "phx-report ERROR" "--log-format json: the seed's JSON log line"
PHX_LOG_FORMAT=json phx-probe -t bogus </dev/null >/dev/null 2>"$T_TMP/err"
is "$(head -n 1 "$T_TMP/err" | jq -r .component)" phx-probe \
    "PHX_LOG_FORMAT=json: JSON log lines"
phx-probe --log-format yaml </dev/null >/dev/null 2>"$T_TMP/err"
is "$?" 2 "--log-format of another name: usage error"

# ---- a live stream: a line per stage event, none for a stored file ----
cat "$data/healthy.in.ndjson" | phx-report -n >/dev/null 2>"$T_TMP/err"
like "$(cat "$T_TMP/err")" '^phx-report: deploy started$' "pipe: a stage's start"
like "$(cat "$T_TMP/err")" '^phx-report: probe ended ok in [0-9.]+ s$' \
    "pipe: a stage's end"
like "$(cat "$T_TMP/err")" '^phx-report: phoenix-core healthy$' \
    "pipe: each service's verdict"
phx-report -n -q <"$data/healthy.in.ndjson" >/dev/null 2>"$T_TMP/err"
is "$(cat "$T_TMP/err")" "" "-q: no stage lines"
phx-report -n "$data/healthy.in.ndjson" >/dev/null 2>"$T_TMP/err"
is "$(cat "$T_TMP/err")" "" "a stored stream: no stage lines"

# ---- phx-report FILE writes no state; stdin does ----
(cd "$T_TMP" && unset PHX_STATE_DIR &&
    phx-report "$data/healthy.in.ndjson" >/dev/null 2>&1)
check "phx-report FILE: no .phx/ where it is run" test ! -e "$T_TMP/.phx"
check "phx-report FILE: nothing in PHX_STATE_DIR" test ! -e "$PHX_STATE_DIR"
phx-report <"$data/healthy.in.ndjson" >/dev/null 2>&1
check "phx-report <FILE: the run is stored" \
    test -f "$(echo "$PHX_STATE_DIR"/deploy_*/stream.ndjson)"

# ---- operands, not an open stdin ----
# a FIFO held open for reading and writing: a stdin that never ends
mkfifo "$T_TMP/open"
exec 7<>"$T_TMP/open"
start=$(date +%s)
timeout 15 phx-probe -t 1s -r 1 tcp://127.0.0.1:1 <&7 \
    >"$T_TMP/out" 2>/dev/null
is "$?" 1 "phx-probe URL with an open stdin: does not wait for its EOF"
check "and answers at once" test $(($(date +%s) - start)) -lt 10
is "$(jq -r 'select(.type == "health") | .status' "$T_TMP/out")" unhealthy \
    "the operand probed"
start=$(date +%s)
PHX_DEPLOYMENT_PODMAN=/nonexistent/podman timeout 15 \
    phx-secscan some-container <&7 >/dev/null 2>&1
is "$?" 3 "phx-secscan NAME with an open stdin: does not wait for its EOF"
check "and answers at once" test $(($(date +%s) - start)) -lt 10
printf '%s\n' "$(head -n 1 "$data/healthy.in.ndjson")" |
    phx-probe -t 1s -r 1 tcp://127.0.0.1:1 - >"$T_TMP/out" 2>/dev/null
is "$(grep -c '"source":"phx-deploy"' "$T_TMP/out")" 1 \
    "phx-probe URL -: standard input read too"
done_testing
