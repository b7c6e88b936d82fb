#!/bin/bash
# phx-deploy on the bundled stack: up emits one service record per
# compose service whose container id, ports and networks are what podman
# inspect says; container records; snapshots in the state directory; no
# secret anywhere; status; restart; down keeps logs and leaves nothing.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail

P=$(phx_test_project stack)
export PHX_STATE_DIR=$T_TMP/state
at_exit "podman_cleanup_project $P"
read -r PHX_PORT_CORE PHX_PORT_NCA PHX_PORT_N8N PHX_PORT_WINDMILL PHX_PORT_DB <<EOF
$(free_port 5 | tr '\n' ' ')
EOF
export PHX_PORT_CORE PHX_PORT_NCA PHX_PORT_N8N PHX_PORT_WINDMILL PHX_PORT_DB
export REVENUE_DB_PASSWORD="rdb-$$-Secr3t" N8N_API_KEY="n8n-$$-K3y" WINDMILL_TOKEN="wm-$$-T0ken"
SECRETS="$REVENUE_DB_PASSWORD|$N8N_API_KEY|$WINDMILL_TOKEN"
SERVICES="n8n nca-toolkit phoenix-core revenue-db windmill"

echo '{"v":1,"type":"note","from":"upstream"}' >"$T_TMP/in"
phx-deploy -p "$P" up <"$T_TMP/in" >"$T_TMP/up" 2>"$T_TMP/up.err"
is "$?" 0 "up: exit 0"
ID=$(jq -r 'select(.type == "deployment") | .deployment_id' "$T_TMP/up" | head -1)
like "$ID" '^deploy_[0-9]{8}_[0-9]{6}' "up: a deployment id"
is "$(head -1 "$T_TMP/up" | jq -c '[.type, .phase, .event]')" '["phase","deploy","start"]' "up: phase start first"
is "$(tail -1 "$T_TMP/up" | jq -c '[.type, .phase, .event, .status]')" '["phase","deploy","end","ok"]' "up: phase end ok last"
is "$(grep -c '"from":"upstream"' "$T_TMP/up")" 1 "up: the upstream line passed through"
is "$(jq -r 'select(.type == "deployment") | .status' "$T_TMP/up" | tr '\n' ' ')" "starting running " \
	"up: deployment starting, then running"
is "$(jq -r 'select(.type == "service") | .service' "$T_TMP/up" | sort | tr '\n' ' ')" "$SERVICES " \
	"up: one service record per compose service"
is "$(jq -r 'select(.type == "container") | "\(.service)=\(.state)"' "$T_TMP/up" | sort | tr '\n' ' ')" \
	"n8n=running nca-toolkit=running phoenix-core=running revenue-db=running windmill=running " \
	"up: container records, all running"
is "$(jq -r 'select(.type == "container") | select(.mem_bytes > 0 and .pids > 0) | .service' "$T_TMP/up" | wc -l)" 5 \
	"up: container records carry podman stats"

# every service record against podman inspect
for s in $SERVICES; do
	rec=$(jq -c --arg s "$s" 'select(.type == "service" and .service == $s)' "$T_TMP/up")
	id=$(printf '%s' "$rec" | jq -r .container_id)
	insp=$(podman inspect --type container "$id" 2>/dev/null)
	is "$(printf '%s' "$insp" | jq -r --arg p "$P" '.[0].Config.Labels["com.docker.compose.service"] + "@" + .[0].Config.Labels["io.podman.compose.project"]')" \
		"$s@$P" "$s: container id is the service's container"
	is "$(printf '%s' "$rec" | jq -r .container_name)" "$(printf '%s' "$insp" | jq -r '.[0].Name')" "$s: container name"
	is "$(printf '%s' "$rec" | jq -c '[.ports[] | "\(.host_ip):\(.host_port)->\(.container_port)/\(.protocol)"] | sort')" \
		"$(printf '%s' "$insp" | jq -c '[.[0].NetworkSettings.Ports | to_entries[] | .key as $k | .value[]? | "\(.HostIp):\(.HostPort)->\($k)"] | sort')" \
		"$s: ports as podman inspect has them"
	is "$(printf '%s' "$rec" | jq -c '.networks | sort')" \
		"$(printf '%s' "$insp" | jq -c '.[0].NetworkSettings.Networks | keys | sort')" "$s: networks"
done
is "$(jq -r 'select(.type == "service" and .service == "phoenix-core") | .ports[0].host_port' "$T_TMP/up")" \
	"$PHX_PORT_CORE" "phoenix-core: published on the port asked for"
is "$(jq -c 'select(.type == "service" and .service == "phoenix-core") | [.checks[] | [.kind, .target]]' "$T_TMP/up")" \
	"[[\"http\",\"http://localhost:$PHX_PORT_CORE/health\"],[\"healthcheck\",\"${P}_phoenix-core_1\"]]" \
	"phoenix-core: the check from services.yaml, and the compose file's healthcheck"
is "$(jq -c 'select(.type == "service" and .service == "revenue-db") | .checks[0] | [.kind, .target, .password_env]' "$T_TMP/up")" \
	"[\"postgres\",\"localhost:$PHX_PORT_DB\",\"REVENUE_DB_PASSWORD\"]" "revenue-db: a postgres check"

# the state directory
S=$PHX_STATE_DIR/$ID
check "state: compose snapshot is the compose file" cmp -s "$S/compose.yaml" infra/podman/compose.yaml
is "$(jq -r '.deployment.project' "$S/config.json")" "phoenix-hydra" "state: the resolved configuration"
is "$(jq -r '[.status, .result, .project] | join(" ")' "$S/state.json")" "SUCCESS SUCCESS $P" "state: SUCCESS"
is "$(jq -r '.containers | length' "$S/state.json")" 5 "state: the containers"
is "$(stat -c %a "$S" "$S/state.json" | tr '\n' ' ')" "700 600 " "state: 0700 folder, 0600 files"

# status and restart
phx-deploy status "$ID" </dev/null >"$T_TMP/status" 2>"$T_TMP/status.err"
is "$?" 0 "status: exit 0 while everything runs"
is "$(jq -r 'select(.type == "container") | .state' "$T_TMP/status" | sort -u)" running "status: container records"
before=$(podman inspect --format '{{.State.StartedAt}}' "${P}_nca-toolkit_1" 2>/dev/null)
phx-deploy -p "$P" restart nca-toolkit </dev/null >"$T_TMP/restart" 2>"$T_TMP/restart.err"
is "$?" 0 "restart: exit 0"
is "$(jq -r 'select(.type == "container") | "\(.service) \(.state)"' "$T_TMP/restart")" "nca-toolkit running" \
	"restart: the container's record"
isnt_before=$(podman inspect --format '{{.State.StartedAt}}' "${P}_nca-toolkit_1" 2>/dev/null)
check "restart: the container really restarted" test "$before" != "$isnt_before"
is "$(jq -r 'select(.type == "phase") | .deployment_id' "$T_TMP/restart" | sort -u)" "$ID" \
	"restart: records carry the project's latest deployment id"

# no secret anywhere
unlike "$(cat "$T_TMP"/up* "$T_TMP"/status* "$T_TMP"/restart*)" "$SECRETS" "no secret on stdout or stderr"
unlike "$(grep -rhoE "$SECRETS" "$PHX_STATE_DIR")" . "no secret in the state directory"

# down: logs kept, nothing left, final state as records
# (--volumes: tests/deploy-volumes.t has down keeping them)
phx-deploy down --volumes "$ID" </dev/null >"$T_TMP/down" 2>"$T_TMP/down.err"
is "$?" 0 "down: exit 0"
is "$(jq -r 'select(.type == "container") | .state' "$T_TMP/down" | sort | uniq -c | tr -s ' ')" " 5 removed" \
	"down: five containers removed"
is "$(jq -c 'select(.type == "deployment") | [.status, .removed]' "$T_TMP/down")" \
	'["down",{"containers":5,"networks":1,"volumes":1}]' "down: containers, the network and the volume"
is "$(ls "$S/logs/down" | grep -c '\.log$')" 5 "down: every container's log kept"
is "$(ls "$S/logs/down" | grep -c '\.inspect\.json$')" 5 "down: every container's inspect JSON kept"
like "$(cat "$S/logs/down/${P}_revenue-db_1.log")" 'database system is ready' "down: the logs are the real logs"
check "down: nothing left with the project label" podman_cleanup_project "$P"
is "$(jq -r .status "$S/state.json")" DOWN "down: state DOWN"
unlike "$(grep -rhoE "$SECRETS" "$PHX_STATE_DIR")" . "down: no secret in the kept logs"

done_testing
