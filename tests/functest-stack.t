#!/bin/bash
# phx-functest against the bundled stack on real Podman (one stack for the
# whole file, on free ports, under a project name of its own): the three
# bundled suites pass; a wrong API key fails with reason auth and is never
# printed; an unregistered webhook; scripts that exit 3, hang, or print a
# secret; n8n down, seen upstream by phx-probe (skipped) or alone (refused).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/podman.sh"

phx_images_or_bail
project=$(phx_test_project functest)
set -- $(free_port 5)
PHX_PORT_CORE=$1 PHX_PORT_NCA=$2 PHX_PORT_N8N=$3 PHX_PORT_WINDMILL=$4 PHX_PORT_DB=$5
N8N_API_KEY=n8n_api_$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
WINDMILL_TOKEN=wm-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
WRONG_N8N_API_KEY=n8n_api_wrong$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
REVENUE_DB_PASSWORD=pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
WINDMILL_WORKSPACE=phoenix
PHX_BADGE_DIR=$T_TMP/badges
export PHX_PORT_CORE PHX_PORT_NCA PHX_PORT_N8N PHX_PORT_WINDMILL PHX_PORT_DB \
    N8N_API_KEY WINDMILL_TOKEN WRONG_N8N_API_KEY REVENUE_DB_PASSWORD \
    WINDMILL_WORKSPACE PHX_BADGE_DIR

at_exit "podman_cleanup_project $project"
# nca-toolkit is not needed: one container less to start
podman-compose -p "$project" -f infra/podman/compose.yaml up -d \
    phoenix-core n8n windmill revenue-db >"$T_TMP/up.log" 2>&1
# podman-compose's exit status means nothing (1.0.3): wait for the services
ready() {
	curl -fsS -o /dev/null "http://127.0.0.1:$PHX_PORT_CORE/health" &&
	    curl -fsS -o /dev/null "http://127.0.0.1:$PHX_PORT_N8N/healthz/readiness" &&
	    curl -fsS -o /dev/null "http://127.0.0.1:$PHX_PORT_WINDMILL/api/version" &&
	    PGPASSWORD=$REVENUE_DB_PASSWORD psql -h 127.0.0.1 -p "$PHX_PORT_DB" \
		-U phoenix -d revenue -Atqc 'SELECT 1 FROM revenue LIMIT 1' >/dev/null 2>&1
}
i=0
until ready || [ $i -ge 1200 ]; do sleep 0.1; i=$((i + 1)); done
if ! ready; then
	ok 1 "the bundled stack comes up"
	sed 's/^/# /' "$T_TMP/up.log" | tail -20 >&2
	podman ps -a --filter "label=io.podman.compose.project=$project" | sed 's/^/# /' >&2
	done_testing
	exit 1
fi
ok 0 "the bundled stack comes up (ports $PHX_PORT_N8N, $PHX_PORT_WINDMILL, $PHX_PORT_DB)"

rec() { jq -cR --arg s "$1" --arg n "$2" 'fromjson? | select(.type == "test" and .suite == $s and .name == $n)' "$T_TMP/out"; }
verdict() { rec "$1" "$2" | jq -r '[.status, .step, .reason] | map(. // "-") | join(" ")'; }

# the bundled suites, plus broken ones next to them (all in parallel)
cat >"$T_TMP/broken.yaml" <<'EOF'
tests:
  suites:
    n8n-wrong-key:
      type: n8n
      base_url: http://localhost:${PHX_PORT_N8N}
      api_key_env: WRONG_N8N_API_KEY
    n8n-unregistered:
      type: n8n
      base_url: http://localhost:${PHX_PORT_N8N}
      api_key_env: N8N_API_KEY
      webhook_id: false
    windmill-bad:
      type: windmill
      base_url: http://localhost:${PHX_PORT_WINDMILL}
      token_env: WINDMILL_TOKEN
      workspace: ${WINDMILL_WORKSPACE}
      tests:
        - name: async
          mode: async
          script_path: f/phoenix/gitops_check
          args: { msg: async }
          expect: { ok: true, msg: async }
        - name: wrong-result
          script_path: f/phoenix/gitops_check
          expect: { msg: something-else }
        - name: no-such-script
          script_path: f/phoenix/no_such_script
    scripts-bad:
      type: command
      timeout: 3s
      tests:
        - name: exits-3
          command: [sh, -c, 'echo counting; exit 3']
        - name: hangs
          command: [sh, -c, 'sleep 967 & sleep 966 & wait']
        - name: no-leftovers
          command: [sh, -c, '! ps -eo args= | grep -q "^sleep 96[67]" && ! ps -eo ppid=,stat= | grep -q "^ *$PPID Z"']
        - name: prints-secret
          command: [sh, -c, 'echo "db password is $REVENUE_DB_PASSWORD"; echo "key $N8N_API_KEY" >&2']
EOF
phx-functest -c configs/deployment-validation/tests.yaml -c "$T_TMP/broken.yaml" \
    </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 1 "exit 1: some tests fail"
is "$(verdict n8n-workflow webhook-workflow)" "passed - -" "n8n: workflow created, activated, webhook answered, execution success, deleted"
is "$(verdict windmill-script gitops-check)" "passed - -" "windmill: f/phoenix/gitops_check run by path, result as expected"
for t in revenue-tracking deploy-badges neotec-generator; do
	is "$(verdict automation-scripts $t)" "passed - -" "automation script $t"
done
like "$(rec automation-scripts revenue-tracking | jq -r .output)" '"total_usd":2047.75' \
    "revenue-tracking read the revenue database"
is "$(jq -r .message "$PHX_BADGE_DIR/windmill.json" 2>&1)" "v1.458.3-standin" \
    "deploy-badges wrote Windmill's version badge"
is "$(verdict n8n-wrong-key webhook-workflow)" "failed create auth" "wrong API key: failed at create, reason auth"
is "$(rec n8n-wrong-key webhook-workflow | jq -r .http_status)" 401 "wrong API key: HTTP 401"
is "$(verdict n8n-unregistered webhook-workflow)" "failed webhook not_registered" \
    "no webhookId: production webhook not registered"
is "$(verdict windmill-bad async)" "passed - -" "windmill: async run and jobs_u/get polling"
is "$(verdict windmill-bad wrong-result)" "failed run result" "windmill: result that does not match"
is "$(verdict windmill-bad no-such-script)" "failed run not_found" "windmill: unknown script"
is "$(rec scripts-bad exits-3 | jq -c '[.status, .reason, .exit_code, .output]')" \
    '["failed","exit",3,"counting\n"]' "a script that exits 3"
is "$(verdict scripts-bad hangs)" "failed run timeout" "a script that hangs is killed at the timeout"
is "$(verdict scripts-bad no-leftovers)" "passed - -" "its children too, and no zombie is left"
is "$(rec scripts-bad prints-secret | jq -c '[.output, .stderr]')" \
    '["db password is ***\n","key ***\n"]' "a script that prints secrets: masked"
podman logs "${project}_n8n_1" >"$T_TMP/n8n.log" 2>&1
is "$(grep -c 'DELETE /api/v1/workflows/[^ ]* 200' "$T_TMP/n8n.log")" 2 \
    "both workflows created were deleted, the failing one too"
for s in "$N8N_API_KEY" "$WRONG_N8N_API_KEY" "$WINDMILL_TOKEN" "$REVENUE_DB_PASSWORD"; do
	grep -qF -- "$s" "$T_TMP/out" "$T_TMP/err" "$T_TMP/n8n.log"
	ok $((!$?)) "secret ${s:0:6}... appears in no output or log"
done

# n8n down
podman kill "${project}_n8n_1" >/dev/null
phx-probe -s n8n -r 1 -t 2s </dev/null 2>/dev/null |
    phx-functest -s n8n-workflow >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 0 "n8n down upstream: exit 0 (skipped, the probe already failed it)"
is "$(verdict n8n-workflow webhook-workflow)" "skipped - unhealthy" "skipped as unhealthy"
# the probe's own reason (refused, or timeout while podman is still
# removing the port forwarding), carried over as it is
up=$(jq -rR 'fromjson? | select(.type == "health" and .service == "n8n") | .reason' "$T_TMP/out")
like "$up" '^(refused|timeout)$' "the probe said why n8n is down"
is "$(rec n8n-workflow webhook-workflow | jq -r .upstream_reason)" "$up" "with the upstream reason"
is "$(jq -cR 'fromjson? | select(.type == "health") | .service' "$T_TMP/out")" '"n8n"' \
    "the health record passed through"
phx-functest -s n8n-workflow </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 1 "n8n down, run alone: exit 1"
is "$(verdict n8n-workflow webhook-workflow)" "failed create refused" "failed, reason refused"

podman_cleanup_project "$project"
ok $? "nothing of the stack is left"

done_testing
