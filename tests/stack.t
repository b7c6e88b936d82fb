#!/bin/bash
# The bundled Phoenix Hydra stack (infra/podman/compose.yaml) on real
# Podman, from the local images: it comes up under a project name of its
# own on free loopback ports with fresh secrets; every service answers
# (HTTP, and PostgreSQL with the password); the n8n stand-in runs a whole
# workflow cycle and the Windmill stand-in a script by path, both refusing
# bad credentials; the containers keep the compose file's promises
# (non-root, read-only, loopback ports, one network); and tearing it down
# leaves no container, network or volume of the project behind.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/podman.sh
. "$(dirname "$0")/podman.sh"

COMPOSE=infra/podman/compose.yaml
SERVICES=(phoenix-core nca-toolkit n8n windmill revenue-db)
UA='phx-stack-test/1.0'

phx_cleanup_stale "$PHX_STALE_MINUTES"
phx_images_or_bail
ok 0 "local images built"

project=$(phx_test_project stack)
# shellcheck disable=SC2046 # five port numbers
set -- $(free_port 5)
PHX_PORT_CORE=$1 PHX_PORT_NCA=$2 PHX_PORT_N8N=$3 PHX_PORT_WINDMILL=$4 PHX_PORT_DB=$5
REVENUE_DB_PASSWORD=pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
N8N_API_KEY=n8n_api_$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
WINDMILL_TOKEN=wm-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export PHX_PORT_CORE PHX_PORT_NCA PHX_PORT_N8N PHX_PORT_WINDMILL PHX_PORT_DB \
    REVENUE_DB_PASSWORD N8N_API_KEY WINDMILL_TOKEN
unset WINDMILL_WORKSPACE
# elapsed START: seconds since START (a `date +%s%N` value), one decimal
elapsed() { local t=$(( ($(date +%s%N) - $1) / 100000000 )); echo "$((t / 10)).$((t % 10))"; }
CORE=http://127.0.0.1:$PHX_PORT_CORE
NCA=http://127.0.0.1:$PHX_PORT_NCA
N8N=http://127.0.0.1:$PHX_PORT_N8N
WM=http://127.0.0.1:$PHX_PORT_WINDMILL
at_exit "podman_cleanup_project $project >/dev/null 2>&1"

# ---- up ---------------------------------------------------------------------
start=$(date +%s%N)
podman-compose -p "$project" -f "$COMPOSE" up -d >"$T_TMP/up.log" 2>&1
# podman-compose 1.0.3 exits 0 even when a container fails: ask podman.
running() {
	podman ps --filter "label=io.podman.compose.project=$project" \
	    --filter status=running --format '{{index .Labels "com.docker.compose.service"}}' | sort | tr '\n' ' '
}
want=$(printf '%s\n' "${SERVICES[@]}" | sort | tr '\n' ' ')
for _ in $(seq 1 600); do
	[ "$(running)" = "$want" ] && break
	sleep 0.1
done
is "$(running)" "$want" "podman shows all five containers running"
diag "podman-compose up -d took $(elapsed "$start") s"
if [ "$(running)" != "$want" ]; then
	tail -20 "$T_TMP/up.log" | sed 's/^/# /' >&2
	podman ps -a --filter "label=io.podman.compose.project=$project" | sed 's/^/# /' >&2
fi
unlike "$(cat "$T_TMP/up.log")" "$REVENUE_DB_PASSWORD|$N8N_API_KEY|$WINDMILL_TOKEN" \
    "no secret on podman-compose's command lines"

# Every compose healthcheck passes, within 60 s.
for svc in "${SERVICES[@]}"; do
	rc=1
	for _ in $(seq 1 120); do
		out=$(podman healthcheck run "${project}_${svc}_1" 2>&1) && { rc=0; break; }
		sleep 0.5
	done
	ok $rc "healthcheck of $svc passes"
	if [ $rc != 0 ]; then
		diag "podman healthcheck run: $out"
		podman inspect "${project}_${svc}_1" --format '{{json .State.Health}}' | diag "$(cat)"
	fi
done
diag "all healthy $(elapsed "$start") s after up started"

# ---- each service answers ------------------------------------------------------
c() { curl -sS -A "$UA" --max-time 10 "$@"; }
code() { c -o "$T_TMP/body" -w '%{http_code}' "$@"; }
body() { cat "$T_TMP/body"; }

is "$(code "$CORE/health")" 200 "phoenix-core /health: 200"
is "$(body | jq -r .status)" UP "phoenix-core /health: status UP"
is "$(code "$NCA/")" 200 "nca-toolkit /: 200"
like "$(body)" "<html" "nca-toolkit /: an HTML page"
is "$(code "$N8N/healthz")" 200 "n8n /healthz: 200"
is "$(body)" '{"status":"ok"}' "n8n /healthz: status ok"
is "$(code "$N8N/healthz/readiness")" 200 "n8n /healthz/readiness: 200"
is "$(code "$WM/api/version")" 200 "windmill /api/version: 200"
like "$(body)" '^CE v[0-9]' "windmill /api/version: a CE version"

psql_() {
	psql -h 127.0.0.1 -p "$PHX_PORT_DB" -U phoenix -d revenue -v ON_ERROR_STOP=1 -Atqc "$@" 2>&1
}
n=$(PGPASSWORD=$REVENUE_DB_PASSWORD psql_ 'SELECT count(*) FROM revenue')
is "$n" 5 "revenue-db: password login, 5 seeded rows in revenue"
out=$(PGPASSWORD=wrong-$REVENUE_DB_PASSWORD psql_ 'SELECT 1')
like "$out" 'password authentication failed' "revenue-db: a wrong password is refused"

# ---- n8n stand-in: the whole workflow cycle ---------------------------------------
K="X-N8N-API-KEY: $N8N_API_KEY"
is "$(code "$N8N/api/v1/workflows/x")" 401 "n8n: no API key: 401"
is "$(body)" "{\"message\":\"'X-N8N-API-KEY' header required\"}" "n8n: no API key: message"
is "$(code -H 'X-N8N-API-KEY: wrong' "$N8N/api/v1/workflows/x")" 401 "n8n: wrong API key: 401"
is "$(body)" '{"message":"unauthorized"}' "n8n: wrong API key: message"

hook=phx-stack-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
jq -n --arg path "$hook" --arg wid "$(cat /proc/sys/kernel/random/uuid)" '{
  name: "phx-stack-echo",
  nodes: [
    { id: "n1", name: "Webhook", type: "n8n-nodes-base.webhook", typeVersion: 1,
      position: [0, 0], webhookId: $wid,
      parameters: { httpMethod: "POST", path: $path, responseMode: "responseNode", options: {} } },
    { id: "n2", name: "Respond", type: "n8n-nodes-base.respondToWebhook", typeVersion: 1,
      position: [220, 0],
      parameters: { respondWith: "json",
        responseBody: "={{ { \"ok\": true, \"echo\": $json.body } }}", options: {} } }
  ],
  connections: { Webhook: { main: [[{ node: "Respond", type: "main", index: 0 }]] } },
  settings: {}
}' >"$T_TMP/wf.json"
is "$(code -H "$K" -H 'Content-Type: application/json' -d @"$T_TMP/wf.json" "$N8N/api/v1/workflows")" 200 \
    "n8n: create workflow: 200"
id=$(body | jq -r .id)
like "$id" '^[A-Za-z0-9]{16}$' "n8n: the new id is 16 alphanumerics"
is "$(body | jq -r .active)" false "n8n: created inactive"
is "$(code -X POST -d '{"a":1}' "$N8N/webhook/$hook")" 404 "n8n: webhook not registered before activation"
is "$(code -H "$K" -X POST "$N8N/api/v1/workflows/$id/activate")" 200 "n8n: activate: 200"
is "$(body | jq -r .active)" true "n8n: active after activate"
is "$(code -H 'Content-Type: application/json' -d '{"msg":"hello"}' "$N8N/webhook/$hook")" 200 \
    "n8n: production webhook: 200"
is "$(body | jq -c .)" '{"ok":true,"echo":{"msg":"hello"}}' "n8n: webhook answers through Respond to Webhook"
for _ in $(seq 1 50); do
	code -H "$K" "$N8N/api/v1/executions?workflowId=$id&status=success" >/dev/null
	[ "$(body | jq '.data | length')" = 1 ] && break
	sleep 0.1
done
is "$(body | jq -c '.data[0] | [.workflowId, .mode, .status, .finished]')" "[\"$id\",\"webhook\",\"success\",true]" \
    "n8n: one finished webhook execution listed"
is "$(body | jq -c .nextCursor)" null "n8n: executions list has no next page"
is "$(code -H "$K" -X DELETE "$N8N/api/v1/workflows/$id")" 200 "n8n: delete workflow: 200"
is "$(code -H "$K" "$N8N/api/v1/workflows/$id")" 404 "n8n: deleted workflow is gone"
is "$(code -X POST -d '{}' "$N8N/webhook/$hook")" 404 "n8n: its webhook is gone too"

# ---- Windmill stand-in: run a script by path ------------------------------------------
W=$WM/api/w/phoenix
script=jobs/run_wait_result/p/f/phoenix/gitops_check
is "$(code -X POST -d '{}' "$W/$script")" 401 "windmill: no token: 401"
is "$(code -H 'Authorization: Bearer wrong' -X POST -d '{}' "$W/$script")" 401 "windmill: wrong token: 401"
is "$(code -H "Authorization: Bearer $WINDMILL_TOKEN" -H 'Content-Type: application/json' \
    -d '{"msg":"from stack.t"}' "$W/$script")" 200 "windmill: run_wait_result: 200"
is "$(body | jq -c .)" '{"ok":true,"msg":"from stack.t"}' "windmill: the script's result"
is "$(code -H "Authorization: Bearer $WINDMILL_TOKEN" -X POST -d '{}' \
    "$WM/api/w/nope/$script")" 404 "windmill: unknown workspace: 404"

# ---- what the containers are ----------------------------------------------------------
for svc in "${SERVICES[@]}"; do
	cnt=${project}_${svc}_1
	podman container inspect "$cnt" >"$T_TMP/inspect.json"
	v=$(jq -r '.[0] | [.Config.User, .HostConfig.ReadonlyRootfs,
	    ([(.HostConfig.PortBindings // {})[] | select(.) | .[].HostIp] | join(" ")),
	    (.NetworkSettings.Networks | keys | join(" ")),
	    .HostConfig.Memory, .HostConfig.NanoCpus] | join("|")' "$T_TMP/inspect.json")
	IFS='|' read -r user ro ips nets mem cpus <<<"$v"
	if [ -n "$user" ] && [ "${user%%:*}" != 0 ] && [ "${user%%:*}" != root ] && [ "$ro" = true ] &&
	    [ "$ips" = 127.0.0.1 ] && [ "$nets" = "${project}_phoenix" ] &&
	    [ "$mem" -gt 0 ] && [ "$cpus" -gt 0 ]; then
		ok 0 "$svc: non-root, read-only, loopback port, one network, limits"
	else
		ok 1 "$svc: non-root, read-only, loopback port, one network, limits"
		diag "user=$user read-only=$ro host-ips=$ips networks=$nets memory=$mem nanocpus=$cpus"
		jq -c '.[0] | {State, HostConfig: {PortBindings: .HostConfig.PortBindings}}' "$T_TMP/inspect.json" | diag "$(cat)"
	fi
done
logs=$(podman logs "${project}_n8n_1" 2>&1; podman logs "${project}_windmill_1" 2>&1)
like "$logs" "POST /webhook/$hook 200" "stand-ins log one line per request"
unlike "$logs" "$N8N_API_KEY|$WINDMILL_TOKEN" "stand-ins never log the key or token"

# ---- down ---------------------------------------------------------------------------
start=$(date +%s%N)
podman-compose -p "$project" -f "$COMPOSE" down -v >"$T_TMP/down.log" 2>&1
# podman-compose 1.0.3's down keeps the network: remove what is left.
podman_cleanup_project "$project"
ok $? "teardown leaves nothing that podman_cleanup_project had to fail on"
diag "down and cleanup took $(elapsed "$start") s"
f="label=io.podman.compose.project=$project"
is "$(podman ps -a -q --filter "$f" | wc -l)" 0 "no container of the project left"
is "$(podman network ls -q --filter "$f" | wc -l)" 0 "no network of the project left"
is "$(podman volume ls -q --filter "$f" | wc -l)" 0 "no volume of the project left"
is "$(podman ps -a --format '{{.Names}}' | grep -c "^${project}_")" 0 "no container named after the project left"

done_testing
