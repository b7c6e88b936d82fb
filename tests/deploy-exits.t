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

# a container that exits during start is retried
PHX_DEPLOYMENT_RETRIES=2 phx-deploy -f $D/exits.yaml -p "$P2" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 1 "exits, two attempts allowed: exit 1"
is "$(jq -r 'select(.type == "deployment") | "\(.status)/\(.attempt)"' "$T_TMP/out" | tr '\n' ' ')" \
	"starting/1 failed/1 starting/2 failed/2 " "exits: retried"
check "exits, retried: cleaned up" nothing_left "$P2"

# killed at its memory limit: SIGKILL and the limit are said.  From a
# copy: conmon leaves a file "oom" in podman-compose's folder, the
# compose file's
cp $D/oom.yaml "$T_TMP/oom.yaml"
PHX_DEPLOYMENT_RETRIES=1 phx-deploy -f "$T_TMP/oom.yaml" -p "$P2" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 1 "oom: exit 1"
err=$(jq -c 'select(.type == "error")' "$T_TMP/out")
is "$(printf '%s' "$err" | jq -r '"\(.reason) \(.service) \(.exit_code) \(.signal) \(.mem_limit_bytes)"')" \
	"exited hog 137 9 6291456" "oom: exit code 137, signal 9, the memory limit"
like "$(printf '%s' "$err" | jq -r .message)" \
	"^service hog: container ${P2}_hog_1 exited with code 137 \(killed by SIGKILL, as the OOM killer kills; its memory limit is 6 MiB\)" \
	"oom: the message explains 137"
is "$(jq -r 'select(.type == "container") | "\(.exit_code) \(.mem_limit_bytes)"' "$T_TMP/out")" "137 6291456" \
	"oom: the container record has the limit"
like "$(PHX_STATE_DIR=$T_TMP/rstate phx-report -f text <"$T_TMP/out" 2>/dev/null | grep '^reason' | head -1)" \
	"root cause: .*137 \(killed by SIGKILL.*6 MiB" "oom: phx-report's root cause says it"
check "oom: cleaned up" nothing_left "$P2"

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
