#!/bin/bash
# phx-deploy with a service that exits right after it starts: the exit
# code and the last log lines (stdout and stderr) are reported; with
# cleanup_on_failure false the failed stack stays for inspection.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail

D=tests/data/phx-deploy
export PHX_STATE_DIR=$T_TMP/state
P2=$(phx_test_project exits)
at_exit "podman_cleanup_project $P2"

latest() { ls "$PHX_STATE_DIR" | grep '^deploy_' | tail -1; }
nothing_left() { phx_nothing_left "$1"; }

# ---- a service that exits right after it starts ----
PHX_DEPLOYMENT_RETRIES=1 phx-deploy -f $D/exits.yaml -p "$P2" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 1 "exits: exit 1"
err=$(jq -c 'select(.type == "error")' "$T_TMP/out")
is "$(printf '%s' "$err" | jq -r '"\(.reason) \(.service) \(.exit_code)"')" "exited crasher 7" \
	"exits: reason exited, the service and exit code 7"
like "$(printf '%s' "$err" | jq -r .message)" \
	"^service crasher: container ${P2}_crasher_1 exited with code 7; last log: .*giving up" \
	"exits: the message has the exit code and the last log lines"
is "$(printf '%s' "$err" | jq -r .log_tail | sed "/^$/d" | sort | tr '\n' '|')" "booting|config: /etc/app.conf not found|giving up|" \
	"exits: log_tail has stdout and stderr lines"
is "$(jq -r 'select(.type == "container") | "\(.service) \(.state) \(.exit_code)"' "$T_TMP/out")" "crasher exited 7" \
	"exits: a container record says exited 7"
check "exits: cleaned up" nothing_left "$P2"
check "exits: logs kept" grep -q 'giving up' "$PHX_STATE_DIR/$(latest)/logs/attempt-1/${P2}_crasher_1.log"

# cleanup_on_failure false: the failed stack is left for inspection
printf 'deployment:\n  cleanup_on_failure: false\n  retries: 1\n' >"$T_TMP/keep.yaml"
phx-deploy -c "$T_TMP/keep.yaml" -f $D/exits.yaml -p "$P2" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 1 "no cleanup: exit 1"
is "$(podman ps -a --filter label=io.podman.compose.project="$P2" --format json | jq -r ".[] | \"\\(.Names[0]) \\(.State)\"" | sort | tr '\n' ' ')" \
	"${P2}_crasher_1 exited ${P2}_web_1 running " "no cleanup: the containers are still there"
is "$(jq -r .stack "$PHX_STATE_DIR/$(latest)/state.json")" "left for inspection" "no cleanup: state.json says so"
phx-deploy down "$(latest)" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 0 "no cleanup: down removes it"
check "no cleanup: nothing left after down" nothing_left "$P2"

done_testing
