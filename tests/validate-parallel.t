#!/bin/bash
# Two runs of pipelines/validate at once on real Podman, on the bundled
# stack under two project names and two sets of free ports, in one state
# directory and without -o: each ends SUCCESS with a deployment id
# (two in the same second are deploy_..._N and deploy_..._N_2),
# output folder and report of its own that name only its own project;
# the one run with --down takes down only its own deployment, and the
# other's stack is still running afterwards.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail

export PHX_STATE_DIR=$T_TMP/state
export REVENUE_DB_PASSWORD="par-$$-Db-Secr3t" N8N_API_KEY="n8n_api_par$$K3y" \
    WINDMILL_TOKEN="par-$$-Wm-T0ken"
A=$(phx_test_project para)
B=$(phx_test_project parb)
at_exit "podman_cleanup_project $A >/dev/null 2>&1; podman_cleanup_project $B >/dev/null 2>&1"
read -r a1 a2 a3 a4 a5 b1 b2 b3 b4 b5 <<EOF
$(free_port 10 | tr '\n' ' ')
EOF
running() {
	podman ps --filter "label=io.podman.compose.project=$1" --filter status=running -q | wc -l
}

# the same invocation but for the project, the ports and --down
PHX_PROJECT=$A PHX_PORT_CORE=$a1 PHX_PORT_NCA=$a2 PHX_PORT_N8N=$a3 \
    PHX_PORT_WINDMILL=$a4 PHX_PORT_DB=$a5 \
    pipelines/validate --down --volumes >"$T_TMP/a.out" 2>"$T_TMP/a.err" &
pa=$!
PHX_PROJECT=$B PHX_PORT_CORE=$b1 PHX_PORT_NCA=$b2 PHX_PORT_N8N=$b3 \
    PHX_PORT_WINDMILL=$b4 PHX_PORT_DB=$b5 \
    pipelines/validate >"$T_TMP/b.out" 2>"$T_TMP/b.err" &
pb=$!
wait "$pa"
sa=$?
wait "$pb"
sb=$?
is "$sa" 0 "run A (--down): exit 0"
[ "$sa" -eq 0 ] || diag "$(tail -20 "$T_TMP/a.out" "$T_TMP/a.err")"
is "$sb" 0 "run B: exit 0"
[ "$sb" -eq 0 ] || diag "$(tail -20 "$T_TMP/b.out" "$T_TMP/b.err")"

da=$(sed -n 's/.*reports in //p' "$T_TMP/a.err")
db=$(sed -n 's/.*reports in //p' "$T_TMP/b.err")
check "each run names an output folder of its own" test -n "$da" -a -n "$db" -a "$da" != "$db"
ida=$(jq -r .deployment_id "$da/report.json")
idb=$(jq -r .deployment_id "$db/report.json")
check "two deployment ids" test -n "$ida" -a -n "$idb" -a "$ida" != "$idb"
is "$(jq -r '[.status, .deployment.project] | join(" ")' "$da/report.json")" "SUCCESS $A" \
    "A's report: SUCCESS, project A"
is "$(jq -r '[.status, .deployment.project] | join(" ")' "$db/report.json")" "SUCCESS $B" \
    "B's report: SUCCESS, project B"
is "$(jq -r .project "$PHX_STATE_DIR/$ida/state.json")" "$A" "A's state names project A"
is "$(jq -r .project "$PHX_STATE_DIR/$idb/state.json")" "$B" "B's state names project B"
is "$(cat "$da"/* "$PHX_STATE_DIR/$ida"/*.json "$PHX_STATE_DIR/$ida"/*.ndjson | grep -cwF -e "$B" -e "$idb")" 0 \
    "nothing of A's run names B's project or deployment"
is "$(cat "$db"/* "$PHX_STATE_DIR/$idb"/*.json "$PHX_STATE_DIR/$idb"/*.ndjson | grep -cwF -e "$A" -e "$ida")" 0 \
    "nothing of B's run names A's project or deployment"
is "$(jq -r '.security_validation.findings // {} | length > 0' "$db/report.json")" true \
    "B's report has security findings (of its own containers only, above)"
like "$(cat "$T_TMP/a.err")" "taking $ida down" "A takes down its own deployment"
unlike "$(cat "$T_TMP/a.err" "$T_TMP/b.err")" "taking $idb down" "nobody takes B's down"
check "A: nothing left" phx_nothing_left "$A"
is "$(running "$B")" 5 "B: its five containers still running"

phx-deploy down --volumes "$idb" </dev/null >/dev/null 2>&1
check "B taken down by id afterwards: nothing left" phx_nothing_left "$B"

done_testing
