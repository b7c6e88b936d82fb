#!/bin/bash
# phx-deploy: a deployment that fails before it starts (a compose file
# that is missing, not YAML, has a key twice, is not a compose file; a
# bad project name) is still a deployment that failed: phase start, an
# error and a failed deployment record with a documented reason and
# file:line:column, phase end error, exit 2; the same for a phx
# configuration that cannot be read; phx-report names it as the
# root cause, and phx-functest and phx-secscan skip with reason upstream.
# A planted lock link is refused, its target never created.  No Podman
# object is made: nothing here needs the lock.
. "$(dirname "$0")/lib.sh"

D=tests/data/phx-deploy
export PHX_STATE_DIR=$T_TMP/state
# phx-report keeps its report in a state directory of its own here
# (and a configuration of its own: the broken ones below are the stages')
report() {
	env -u PHX_CONFIG_DIR -u PHX_DEPLOYMENT_RETRIES PHX_STATE_DIR=$T_TMP/rstate \
	    phx-report "$@"
}

printf 'services:\n  web:\n    image: localhost/phx-httpd\n  web:\n    image: localhost/phx-httpd\n' >"$T_TMP/dup.yaml"

# refused NAME REASON MESSAGE-REGEX ARGS...: the four records, exit 2
refused() {
	name=$1 reason=$2 re=$3
	shift 3
	phx-deploy "$@" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
	is "$?" 2 "$name: exit 2"
	is "$(jq -r '[.type, .event // .status // .reason] | join(" ")' "$T_TMP/out" | tr '\n' '|')" \
		"phase start|error $reason|deployment failed|phase end|" "$name: phase, error, deployment, phase end"
	is "$(jq -r 'select(.type == "deployment") | .reason' "$T_TMP/out")" "$reason" "$name: reason $reason"
	is "$(tail -1 "$T_TMP/out" | jq -r .status)" error "$name: phase end error"
	like "$(jq -r 'select(.type == "deployment") | .message' "$T_TMP/out")" "$re" "$name: the message"
	like "$(report -f text <"$T_TMP/out" 2>/dev/null | grep '^reason' | head -1)" \
		"root cause: phx-deploy ended in error: .*$re" "$name: phx-report names the root cause"
	report -f text <"$T_TMP/out" >/dev/null 2>&1
	is "$?" 1 "$name: phx-report FAILED"
}

refused "invalid YAML" compose_syntax "$D/invalid.yaml:4:1: invalid YAML: " -f $D/invalid.yaml up
refused "duplicate service" compose_syntax "dup.yaml:4:3: duplicate key \"web\" in services" -f "$T_TMP/dup.yaml" up
refused "no image" compose_invalid "$D/no-image.yaml:4:3: service \"broken\" has no image" -f $D/no-image.yaml up
PHX_COMPOSE_FILE=$T_TMP/compose.ymll refused "missing file" compose_missing \
	"compose file $T_TMP/compose.ymll: No such file or directory" up
refused "bad project name" config_invalid 'project name "no way"' -f $D/port.yaml -p "no way" up
refused "dry run too" compose_syntax "$D/invalid.yaml:4:1: " -n -f $D/invalid.yaml up
# the phx configuration, given with -c or found by default, or a PHX_*
# variable: the same four records, reason config_invalid, file:line:column
printf 'deployment:\n  retries: [\n' >"$T_TMP/notyaml.yaml"
printf 'deployment:\n  project: demo\n  retrys: 3\n' >"$T_TMP/unknown.yaml"
printf 'deployment:\n  retries: many\n' >"$T_TMP/value.yaml"
mkdir -p "$T_TMP/confdir" && cp "$T_TMP/unknown.yaml" "$T_TMP/confdir/services.yaml"
refused "config not YAML" config_invalid "notyaml.yaml:3:1: invalid YAML" -c "$T_TMP/notyaml.yaml" up
refused "config unknown key" config_invalid 'unknown.yaml:3:3: unknown key "retrys" in deployment' -c "$T_TMP/unknown.yaml" up
refused "config bad value" config_invalid 'value.yaml:2:12: deployment.retries: expected an integer' -c "$T_TMP/value.yaml" -f $D/port.yaml up
PHX_CONFIG_DIR=$T_TMP/confdir refused "default config" config_invalid "confdir/services.yaml:3:3: unknown key" up
PHX_DEPLOYMENT_RETRIES=many refused "config variable" config_invalid "PHX_DEPLOYMENT_RETRIES: expected an integer" up
refused "config, rollback" config_invalid "nowhere.yaml: No such file" -c "$T_TMP/nowhere.yaml" rollback deploy_20260101_000000
check "nothing in the state directory" test ! -e "$PHX_STATE_DIR"

# every stage given that configuration passes the stream on and says so;
# phx-report says the cause once
c=$T_TMP/unknown.yaml
printf '{"v":1,"type":"note","text":"from before"}\n' |
	{ phx-deploy -c "$c" up; echo "deploy $?" >"$T_TMP/st"; } 2>/dev/null |
	{ phx-probe -c "$c"; echo "probe $?" >>"$T_TMP/st"; } 2>/dev/null |
	{ phx-functest -c "$c"; echo "functest $?" >>"$T_TMP/st"; } 2>/dev/null |
	{ phx-secscan -c "$c"; echo "secscan $?" >>"$T_TMP/st"; } 2>/dev/null >"$T_TMP/all"
is "$(sort "$T_TMP/st" | tr '\n' ' ')" "deploy 2 functest 2 probe 2 secscan 2 " "bad config: every stage exits 2"
is "$(jq -r 'select(.type == "note") | .text' "$T_TMP/all")" "from before" "bad config: the input is passed on"
is "$(jq -r 'select(.type == "error") | "\(.source) \(.reason)"' "$T_TMP/all" | sort | tr '\n' ' ')" \
	"phx-deploy config_invalid phx-functest config_invalid phx-probe config_invalid phx-secscan config_invalid " \
	"bad config: one error record from each stage"
is "$(jq -r 'select(.event == "end") | "\(.phase) \(.status)"' "$T_TMP/all" | sort | tr '\n' ' ')" \
	"deploy error functest error probe error secscan error " "bad config: every phase ends in error"
report -f text <"$T_TMP/all" >"$T_TMP/rep" 2>/dev/null
is "$?" 1 "bad config: report FAILED"
like "$(grep '^reason' "$T_TMP/rep" | head -1)" 'root cause: phx-deploy ended in error: .*unknown.yaml:3:3: unknown key "retrys"' \
	"bad config: the root cause first"
is "$(grep -c 'unknown key' "$T_TMP/rep")" 1 "bad config: said once"
# phx-report given it too still judges the stream (by the defaults):
# INCOMPLETE, the root cause first and once
report -c "$c" -f text <"$T_TMP/all" >"$T_TMP/rep" 2>"$T_TMP/err"
is "$?" 2 "bad config, phx-report too: exit 2"
is "$(grep '^verdict' "$T_TMP/rep")" "verdict  INCOMPLETE" "bad config, phx-report too: INCOMPLETE"
like "$(grep '^reason' "$T_TMP/rep" | head -1)" 'root cause: phx-deploy ended in error: .*unknown.yaml:3:3: unknown key "retrys"' \
	"bad config, phx-report too: the root cause first"
is "$(grep -c 'unknown key' "$T_TMP/rep")" 1 "bad config, phx-report too: said once"
like "$(cat "$T_TMP/rep")" "phx-report could not read its configuration either" \
	"bad config, phx-report too: and that it could not read it"
like "$(cat "$T_TMP/err")" 'unknown.yaml:3:3: unknown key' "bad config, phx-report too: said on stderr"
report -c "$c" -f text </dev/null >"$T_TMP/rep" 2>/dev/null
is "$?" 2 "bad config, phx-report alone: exit 2"
like "$(grep '^reason' "$T_TMP/rep" | head -1)" 'phx-report: configuration: .*unknown.yaml:3:3: unknown key' \
	"bad config, phx-report alone: its own configuration is the first reason"

# what follows says it once: skipped, reason upstream
printf '{"v":1,"type":"note","text":"from before"}\n' >"$T_TMP/in"
phx-deploy -f "$T_TMP/dup.yaml" up <"$T_TMP/in" 2>/dev/null | phx-functest 2>/dev/null |
	phx-secscan 2>/dev/null >"$T_TMP/all"
is "$(jq -r 'select(.type == "note") | .text' "$T_TMP/all")" "from before" "stream: the input is passed on"
is "$(jq -r 'select(.type == "test") | "\(.status) \(.reason) \(.upstream_reason)"' "$T_TMP/all" | sort -u)" \
	"skipped upstream compose_syntax" "functest: every test skipped, reason upstream"
check "functest: there were tests" test "$(jq -c 'select(.type == "test")' "$T_TMP/all" | wc -l)" -gt 0
is "$(jq -r 'select(.source == "phx-functest" and .event == "end") | .status' "$T_TMP/all")" ok "functest: phase ok"
is "$(jq -r 'select(.type == "finding") | "\(.id) \(.status) \(.reason)"' "$T_TMP/all")" "PHX-SEC-000 SKIP upstream" \
	"secscan: one SKIP note, reason upstream"
is "$(jq -r 'select(.source == "phx-secscan" and .event == "end") | .status' "$T_TMP/all")" ok "secscan: phase ok"
report -f text <"$T_TMP/all" >"$T_TMP/rep" 2>/dev/null
is "$?" 1 "report: FAILED"
is "$(grep -c '^reason' "$T_TMP/rep")" 2 "report: the root cause and one effect, no test failure"
like "$(grep '^reason' "$T_TMP/rep" | head -1)" 'root cause: phx-deploy ended in error: .*dup.yaml:4:3: duplicate key' \
	"report: the root cause first"

# a retried attempt's failed record does not make the deployment failed
cat >"$T_TMP/retried" <<'X'
{"v":1,"type":"deployment","deployment_id":"deploy_20260101_000000","ts":"2026-01-01T00:00:00.000Z","source":"phx-deploy","status":"failed","project":"p","attempt":1,"attempts":2,"reason":"exited","message":"m"}
{"v":1,"type":"deployment","deployment_id":"deploy_20260101_000000","ts":"2026-01-01T00:00:01.000Z","source":"phx-deploy","status":"running","project":"p","attempt":2,"attempts":2}
X
phx-secscan --scanner none <"$T_TMP/retried" 2>/dev/null >"$T_TMP/out"
is "$(jq -r 'select(.type == "finding") | .id' "$T_TMP/out")" "" "a later attempt that ran: no upstream note"

# a planted lock link: refused, its target never created
mkdir -p "$PHX_STATE_DIR" && chmod 700 "$PHX_STATE_DIR"
ln -s "$T_TMP/created-by-lock" "$PHX_STATE_DIR/.lock.phxt_lock"
phx-deploy -p phxt_lock restart web </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 3 "planted lock link: exit 3"
check "planted lock link: its target was not created" test ! -e "$T_TMP/created-by-lock"
like "$(cat "$T_TMP/err")" "\.lock\.phxt_lock: " "planted lock link: said on stderr"
PHX_STATE_DIR=$PHX_STATE_DIR phx-deploy -f $D/port.yaml -p phxt_lock up </dev/null >"$T_TMP/out" 2>/dev/null
is "$?" 3 "planted lock link, up: exit 3"
is "$(jq -r 'select(.type == "deployment") | .reason' "$T_TMP/out")" environment "planted lock link, up: a failed deployment record"
check "planted lock link, up: its target was not created" test ! -e "$T_TMP/created-by-lock"

done_testing
