#!/bin/bash
# phx-deploy when a published host port is already taken: the failure
# names the port, is not retried (it would fail the same way), is a
# FAILED verdict within 5 s, and nothing is left.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail

D=tests/data/phx-deploy
export PHX_STATE_DIR=$T_TMP/state
P3=$(phx_test_project port)
at_exit "podman_cleanup_project $P3"

latest() { ls "$PHX_STATE_DIR" | grep '^deploy_' | tail -1; }
nothing_left() { phx_nothing_left "$1"; }

# ---- a host port already taken ----
PORT=$(free_port)
python3 -c 'import socket,sys,time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); print("ready", flush=True); time.sleep(300)' "$PORT" >"$T_TMP/listener" &
L=$!
at_exit "kill $L 2>/dev/null"
wait_port "$PORT" 10
T0=$(date +%s%N)
PHXT_PORT=$PORT phx-deploy -f $D/port.yaml -p "$P3" up </dev/null 2>"$T_TMP/err" | tee "$T_TMP/out" |
	PHX_STATE_DIR=$T_TMP/rstate phx-report -f text >"$T_TMP/rep" 2>/dev/null
set -- "${PIPESTATUS[@]}"
MS=$((($(date +%s%N) - T0) / 1000000))
diag "held port: phx-deploy up | phx-report took $MS ms"
is "$1" 1 "port taken: exit 1"
is "$3" 1 "port taken: phx-report exit 1"
is "$(grep '^verdict' "$T_TMP/rep")" "verdict  FAILED" "port taken: verdict FAILED"
check "port taken: FAILED in under 5 s" test "$MS" -lt 5000
is "$(jq -r 'select(.type == "deployment") | "\(.status)/\(.attempt)"' "$T_TMP/out" | tr '\n' ' ')" \
	"starting/1 failed/1 " "port taken: one attempt of three allowed, not retried"
is "$(jq -r 'select(.type == "deployment" and .status == "failed") | .reason' "$T_TMP/out")" port_in_use \
	"port taken: the deployment's reason"
like "$(grep '^reason' "$T_TMP/rep" | head -1)" "root cause: phx-deploy ended in error: service web: port 127.0.0.1:$PORT is already in use" \
	"port taken: phx-report's root cause"
is "$(jq -r 'select(.type == "error") | "\(.reason) \(.service) \(.port)"' "$T_TMP/out")" "port_in_use web $PORT" \
	"port taken: reason port_in_use, the service and the port"
is "$(jq -r 'select(.type == "error") | .message' "$T_TMP/out")" \
	"service web: port 127.0.0.1:$PORT is already in use on the host" "port taken: the message names the port"
like "$(cat "$T_TMP/err")" "port 127.0.0.1:$PORT is already in use" "port taken: said on stderr"
check "port taken: cleaned up" nothing_left "$P3"
kill "$L" 2>/dev/null

done_testing
