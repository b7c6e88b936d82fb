#!/bin/bash
# phx-deploy interrupted: SIGINT and SIGTERM in the middle of up clean up
# like a failure and exit 128+N; a reader that goes away (EPIPE) does
# not leave the stack half-created without a record in the state
# directory; a second phx-deploy on the same project is refused.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail

D=tests/data/phx-deploy
export PHX_STATE_DIR=$T_TMP/state
P=$(phx_test_project signal)
at_exit "podman_cleanup_project $P"

latest() { ls "$PHX_STATE_DIR" | grep '^deploy_' | tail -1; }
count() { podman ps -aq --filter label=io.podman.compose.project="$P" | wc -l; }
nothing_left() { phx_nothing_left "$P"; }

# interrupt SIG: up on six services, signalled once the first container exists
interrupt() {
	phx-deploy -f $D/slow.yaml -p "$P" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err" &
	pid=$!
	i=0
	while [ "$(count)" -lt 1 ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	n=$(count)
	kill -"$1" "$pid"
	wait "$pid"
	st=$?
}

for sig in INT TERM; do
	num=$(kill -l "$sig")
	interrupt "$sig"
	check "SIG$sig: a container existed when the signal came" test "$n" -ge 1
	is "$st" $((128 + num)) "SIG$sig: exit $((128 + num))"
	check "SIG$sig: nothing left" nothing_left
	is "$(jq -r 'select(.type == "deployment") | .status' "$T_TMP/out" | tail -1)" failed \
		"SIG$sig: the last deployment record says failed"
	is "$(jq -r 'select(.type == "deployment") | .reason' "$T_TMP/out" | tail -1)" interrupted \
		"SIG$sig: reason interrupted"
	is "$(tail -1 "$T_TMP/out" | jq -c '[.phase, .event, .status]')" '["deploy","end","error"]' \
		"SIG$sig: phase end error"
	is "$(jq -r '[.status, .stack] | join(" ")' "$PHX_STATE_DIR/$(latest)/state.json")" "INTERRUPTED removed" \
		"SIG$sig: state.json says INTERRUPTED, removed"
	check "SIG$sig: the logs of what had started are kept" \
		test -n "$(ls "$PHX_STATE_DIR/$(latest)/logs/interrupted/" 2>/dev/null)"
	like "$(cat "$T_TMP/err")" "interrupted by signal $num during up; cleaning up" "SIG$sig: said on stderr"
done

# EPIPE: the reader exits after the first byte; the stack still comes up
# and state.json records it (and that the stream broke)
PA=$(free_port) PB=$(free_port)
export PHXT_PORT_A=$PA PHXT_PORT_B=$PB
phx-deploy -f $D/two.yaml -p "$P" up </dev/null 2>"$T_TMP/err" | head -c 1 >/dev/null
st=${PIPESTATUS[0]}
is "$st" 3 "EPIPE: exit 3"
ID=$(latest)
is "$(jq -r '[.status, (.stdout_failed | tostring), (.containers | length | tostring)] | join(" ")' "$PHX_STATE_DIR/$ID/state.json")" \
	"SUCCESS true 2" "EPIPE: state.json has the deployment, its containers and the broken stream"
is "$(count)" 2 "EPIPE: the stack is up, as recorded"

# one phx-deploy per project at a time
exec 9>"$PHX_STATE_DIR/.lock.$P"
flock 9
phx-deploy down "$ID" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 3 "lock: a second phx-deploy on the project: exit 3"
like "$(cat "$T_TMP/err")" "project $P: another phx-deploy is working on it" "lock: says why"
is "$(count)" 2 "lock: and touched nothing"
exec 9>&-

phx-deploy down --volumes "$ID" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 0 "down --volumes: exit 0"
is "$(jq -c 'select(.type == "deployment") | .removed' "$T_TMP/out")" '{"containers":2,"networks":2,"volumes":1}' \
	"down --volumes: two containers, both networks and the named volume"
check "down: nothing left" nothing_left

done_testing
