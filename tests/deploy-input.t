#!/bin/bash
# phx-deploy: bad input gets one clear line and a documented status, and
# nothing is half-created (no state directory, no podman object); -n
# prints the plan and touches nothing; usage, -h, -V.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

D=tests/data/phx-deploy
P=$(phx_test_project input)
export PHX_STATE_DIR=$T_TMP/state
at_exit "podman_cleanup_project $P"

# run ARGS...: status in $st, stdout in $T_TMP/out, stderr in $T_TMP/err
run() {
	phx-deploy "$@" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
	st=$?
}
untouched() {
	[ ! -e "$PHX_STATE_DIR" ] && [ -z "$(podman ps -aq --filter label=io.podman.compose.project="$P")" ] &&
	    [ -z "$(podman network ls -q --filter label=io.podman.compose.project="$P")" ]
}
# bad NAME STATUS REGEX ARGS...: one stderr line matching, that status, no stdout
bad() {
	name=$1 want=$2 re=$3
	shift 3
	run "$@"
	is "$st" "$want" "$name: exit $want"
	is "$(wc -l <"$T_TMP/err")" 1 "$name: one line on stderr"
	like "$(cat "$T_TMP/err")" "$re" "$name: says why"
	check "$name: nothing created" untouched
}

bad "missing compose file" 2 '^phx-deploy: error: compose file /nonexistent/compose.yaml: No such file or directory$' \
	-f /nonexistent/compose.yaml -p "$P" up
bad "invalid YAML" 2 "^phx-deploy: error: $D/invalid.yaml:4:1: invalid YAML: " \
	-f $D/invalid.yaml -p "$P" up
bad "service with no image" 2 "^phx-deploy: error: $D/no-image.yaml:4:3: service \"broken\" has no image\$" \
	-f $D/no-image.yaml -p "$P" up
bad "no services" 2 "^phx-deploy: error: $D/no-services.yaml:1:1: no services defined\$" \
	-f $D/no-services.yaml -p "$P" up
bad "bad port" 2 "^phx-deploy: error: $D/bad-port.yaml:5:7: service \"web\": bad port \"127.0.0.1:eighty:8080\"\$" \
	-f $D/bad-port.yaml -p "$P" up
bad "bad project name" 2 '^phx-deploy: error: project name "no way": use letters' \
	-f $D/port.yaml -p "no way" up

printf 'services:\n  web:\n    image: x\n    ports: ["${PHXT_NEEDED:?set PHXT_NEEDED}"]\n' >"$T_TMP/needs.yaml"
bad "required variable unset" 2 "needs.yaml:4:13: PHXT_NEEDED: set PHXT_NEEDED\$" \
	-f "$T_TMP/needs.yaml" -p "$P" up

# podman (and podman-compose) not on PATH: environment error, status 3
mkdir "$T_TMP/bin"
ln -s "$(command -v phx-deploy)" "$T_TMP/bin/phx-deploy"
st=0
PATH=$T_TMP/bin "$T_TMP/bin/phx-deploy" -f $D/port.yaml -p "$P" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err" || st=$?
is "$st" 3 "podman missing: exit 3"
is "$(cat "$T_TMP/err")" "phx-deploy: error: podman: not found in PATH; install Podman (make deps)" \
	"podman missing: one clear line"
check "podman missing: nothing created" untouched

bad "unknown deployment id" 2 '^phx-deploy: error: deploy_20000101_000000: unknown deployment id \(no .*/deploy_20000101_000000/state.json\)$' \
	down deploy_20000101_000000
rm -rf "$PHX_STATE_DIR"
bad "not a deployment id" 2 '^phx-deploy: error: ../etc: not a deployment id \(deploy_YYYYMMDD_HHMMSS\)$' \
	rollback ../etc
bad "status of an unknown id" 2 'unknown deployment id' status deploy_20000101_000000
rm -rf "$PHX_STATE_DIR"

# usage
run frobnicate
is "$st" 2 "unknown command: exit 2"
like "$(cat "$T_TMP/err")" '^usage: phx-deploy ' "unknown command: usage on stderr"
run --no-such-option up
is "$st" 2 "unknown option: exit 2"
run down
is "$st" 2 "down without an id: exit 2"
run -h
is "$st" 0 "-h: exit 0"
like "$(cat "$T_TMP/out")" '^usage: phx-deploy \[-hnqVv\]' "-h: usage on stdout"
run -V
like "$(cat "$T_TMP/out")" '^phx-deploy [0-9.]+ \(records v1\)$' "-V: version"
check "usage and version: nothing created" untouched

# -n: the plan, nothing touched
PA=$(free_port) PB=$(free_port)
PHXT_PORT_A=$PA PHXT_PORT_B=$PB run -n -f $D/two.yaml -p "$P" up
is "$st" 0 "dry run: exit 0"
check "dry run: nothing created" untouched
is "$(jq -r .type "$T_TMP/out" | tr '\n' ' ')" "phase deployment service service phase " \
	"dry run: phase, deployment, one service record per service, phase"
is "$(jq -r 'select(.type == "deployment") | .status' "$T_TMP/out")" planned "dry run: status planned"
is "$(jq -c 'select(.service == "web") | .ports' "$T_TMP/out")" \
	"[{\"host_ip\":\"127.0.0.1\",\"host_port\":$PA,\"container_port\":8080,\"protocol\":\"tcp\"}]" \
	"dry run: short port syntax, interpolated"
is "$(jq -c 'select(.service == "api") | .ports' "$T_TMP/out")" \
	"[{\"host_ip\":\"127.0.0.1\",\"host_port\":$PB,\"container_port\":8080,\"protocol\":\"tcp\"}]" \
	"dry run: long port syntax"
is "$(jq -c 'select(.service == "web") | [.checks[] | [.kind, .target]]' "$T_TMP/out")" \
	"[[\"healthcheck\",\"${P}_web_1\"],[\"tcp\",\"127.0.0.1:$PA\"]]" \
	"dry run: checks derived from the healthcheck and the published port"
is "$(jq -c 'select(.service == "api") | .networks' "$T_TMP/out")" "[\"${P}_front\",\"${P}_back\"]" \
	"dry run: networks as podman-compose names them"

# the bundled stack's compose file: merge keys (<<: *hardening), defaults
PHX_PORT_DB=15432 run -n -p "$P" up
is "$st" 0 "bundled stack dry run: exit 0"
is "$(jq -r 'select(.type == "service") | .networks[0]' "$T_TMP/out" | sort -u)" "${P}_phoenix" \
	"bundled stack dry run: networks from the merged anchor"
is "$(jq -r 'select(.type == "service") | "\(.service)=\(.ports[0].host_port)"' "$T_TMP/out" | sort | tr '\n' ' ')" \
	"n8n=5678 nca-toolkit=8081 phoenix-core=8080 revenue-db=15432 windmill=8000 " \
	"bundled stack dry run: \${VAR:-default} and the environment"

# .env beside the compose file, $$ escapes, a set-but-empty variable wins
mkdir "$T_TMP/envdir"
printf 'PHXT_DOTENV_PORT=23456\nexport PHXT_IMG="localhost/from-dotenv"\n' >"$T_TMP/envdir/.env"
cat >"$T_TMP/envdir/compose.yaml" <<'EOF'
services:
  web:
    image: ${PHXT_IMG}
    container_name: cost-$$5
    ports: ["${PHXT_DOTENV_PORT}:80", "127.0.0.1:${PHXT_EMPTY:-9}:81"]
EOF
PHXT_EMPTY='' run -n -f "$T_TMP/envdir/compose.yaml" -p "$P" up
is "$(jq -c 'select(.type == "service") | [.image, .ports[0].host_port, (.ports[1] | has("host_port")), .checks[0].target]' "$T_TMP/out")" \
	'["localhost/from-dotenv",23456,false,"127.0.0.1:23456"]' ".env, set-but-empty variables and ports"

# services.yaml entries win over what the compose file implies
cat >"$T_TMP/services.yaml" <<EOF
probe:
  timeout: 7s
services:
  web:
    url: http://127.0.0.1:\${PHXT_PORT_A}/health
    expected_status: [200, 204]
    conditions: ["[BODY].status == UP"]
  api:
    type: postgres
    port: 5999
    dbname: revenue
    user: phoenix
    password: not-in-any-record
    password_env: PHXT_DB_PASSWORD
EOF
PHXT_PORT_A=$PA PHXT_PORT_B=$PB run -n -c "$T_TMP/services.yaml" -f $D/two.yaml -p "$P" up
is "$(jq -c 'select(.service == "web") | .checks[0]' "$T_TMP/out")" \
	"{\"kind\":\"http\",\"target\":\"http://127.0.0.1:$PA/health\",\"conditions\":[\"[BODY].status == UP\"],\"expected_status\":[200,204],\"insecure\":false,\"timeout_ms\":7000,\"retries\":5,\"backoff_initial_ms\":1000,\"backoff_max_ms\":30000,\"backoff_multiplier\":2,\"interval_ms\":500}" \
	"config entry: an http check with its conditions and the probe defaults"
is "$(jq -c 'select(.service == "web") | [.checks[1:][] | [.kind, .target, .timeout_ms]]' "$T_TMP/out")" \
	"[[\"healthcheck\",\"${P}_web_1\",7000]]" \
	"config entry: the compose file's healthcheck runs too"
is "$(jq -c 'select(.service == "api") | [.checks[].kind]' "$T_TMP/out")" '["postgres"]' \
	"config entry: no healthcheck where the compose file declares none"
is "$(jq -c 'select(.service == "api") | .checks[0] | [.kind, .target, .dbname, .user, .password_env]' "$T_TMP/out")" \
	'["postgres","localhost:5999","revenue","phoenix","PHXT_DB_PASSWORD"]' \
	"config entry: a postgres check names the password's variable"
unlike "$(cat "$T_TMP/out" "$T_TMP/err")" 'not-in-any-record' "config entry: the password itself is in no record"

# rollback with no earlier successful deployment: clear error, nothing touched
mkdir -p "$PHX_STATE_DIR/deploy_20000101_000000"
printf '{"deployment_id":"deploy_20000101_000000","project":"%s","status":"FAILED","result":"FAILED"}\n' "$P" \
	>"$PHX_STATE_DIR/deploy_20000101_000000/state.json"
run rollback deploy_20000101_000000
is "$st" 1 "rollback without an earlier SUCCESS: exit 1"
is "$(cat "$T_TMP/err")" "phx-deploy: error: deploy_20000101_000000: no earlier successful deployment of project $P to roll back to" \
	"rollback without an earlier SUCCESS: one clear line"
is "$(ls "$PHX_STATE_DIR")" deploy_20000101_000000 "rollback without an earlier SUCCESS: no new deployment"

done_testing
