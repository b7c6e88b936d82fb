#!/bin/bash
# recovery.deployment: rollback (phx(7) RECOVERY): an up that fails in
# the end brings the project's last SUCCESS deployment back.  The stream
# keeps the failed deployment (phx-report: FAILED, exit 1) plus one
# recovery record naming the deployment restored; the restored one's own
# records go to the failed one's rollback.ndjson.  Without an earlier
# SUCCESS the recovery record says failed.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail

export PHX_STATE_DIR=$T_TMP/state PHX_CONFIG_DIR=$T_TMP/noconfig
mkdir -p "$PHX_CONFIG_DIR"
P=$(phx_test_project recovery)
P2=$(phx_test_project recovery_none)
at_exit "podman_cleanup_project $P; podman_cleanup_project $P2"
W=$T_TMP/work
mkdir -p "$W/www"
echo good >"$W/www/index.html"
PORT=$(free_port)
printf 'recovery: {deployment: rollback}\ndeployment: {retries: 1}\n' >"$T_TMP/rb.yaml"

# version IMAGE: one service serving ./www from IMAGE
version() {
	cat >"$W/compose.yaml" <<EOF
services:
  web:
    image: $1
    init: true
    ports: ["127.0.0.1:$PORT:8080"]
    volumes: ["./www:/www:ro"]
EOF
}
served() { wget -q -O - "http://127.0.0.1:$PORT/" 2>/dev/null; }
running() { podman ps --filter label=io.podman.compose.project="$1" --format json | jq -r '.[].State' | tr '\n' ' '; }
recs() { jq -r "select(.type == \"$1\") | $2" "$T_TMP/out"; }

version localhost/phx-httpd
phx-deploy -c "$T_TMP/rb.yaml" -f "$W/compose.yaml" -p "$P" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 0 "good deployment: exit 0"
GOOD=$(jq -r .deployment_id "$T_TMP/out" | head -1)
phx-report -c /dev/null -o "$T_TMP/good.json" <"$T_TMP/out" >/dev/null 2>&1
is "$(jq -r .result "$PHX_STATE_DIR/$GOOD/state.json")" SUCCESS "good deployment: its state says SUCCESS"
wait_port "$PORT" 10
is "$(served)" good "good deployment: serves"

# the broken variant: an image that is not there (deterministic: one attempt)
version localhost/phx-nope-$$
phx-deploy -c "$T_TMP/rb.yaml" -f "$W/compose.yaml" -p "$P" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 1 "broken deployment: exit 1 even though the rollback worked"
BAD=$(jq -r .deployment_id "$T_TMP/out" | head -1)
check "broken deployment: an id of its own" test "$BAD" != "$GOOD"
is "$(recs deployment .status | tail -1)" failed "the stream's last deployment record: failed"
is "$(recs deployment 'select(.status == "running")' | wc -l)" 0 "the stream has no running deployment"
is "$(recs recovery '[.category, .action, .outcome, .to, .deployment_id] | join(" ")')" \
    "deployment rollback recovered $GOOD $BAD" "one recovery record: rollback to the good deployment, recovered"
AS=$(recs recovery .restored_as | tr -d '"')
is "$(tail -1 "$T_TMP/out" | jq -c '[.phase, .event, .status]')" '["deploy","end","failed"]' "the deploy phase ends failed"
is "$(running "$P")" "running " "the good stack's container runs again"
wait_port "$PORT" 10
is "$(served)" good "the good version serves again"
is "$(jq -r '[.result, .rollback_to, .rolled_back_as] | join(" ")' "$PHX_STATE_DIR/$BAD/state.json")" \
    "FAILED $GOOD $AS" "the failed deployment stays FAILED and names the rollback"
is "$(jq -r '[.result, .restored_from, .rollback_of] | join(" ")' "$PHX_STATE_DIR/$AS/state.json")" \
    "SUCCESS $GOOD $BAD" "the restored deployment's state"
is "$(jq -r 'select(.type == "deployment") | .status' "$PHX_STATE_DIR/$BAD/rollback.ndjson" | tail -1)" running \
    "the restored deployment's records are in the failed one's rollback.ndjson"
phx-report -c /dev/null -o "$T_TMP/bad.json" <"$T_TMP/out" >"$T_TMP/text" 2>&1
is "$?" 1 "phx-report: FAILED, exit 1"
like "$(cat "$T_TMP/text")" "recovery deployment rollback to $GOOD  recovered" "phx-report shows the rollback"
is "$(jq -r '[.status, .recovery.actions[0].outcome] | join(" ")' "$T_TMP/bad.json")" "FAILED recovered" \
    "report.json: FAILED, the rollback recovered"

phx-deploy down --volumes "$AS" </dev/null >/dev/null 2>&1
is "$?" 0 "down --volumes of the restored deployment"
check "nothing left" phx_nothing_left "$P"

# no earlier SUCCESS: the recovery record says failed
phx-deploy -c "$T_TMP/rb.yaml" -f "$W/compose.yaml" -p "$P2" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 1 "nothing to roll back to: exit 1"
is "$(recs recovery '[.action, .outcome, .to] | map(tostring) | join(" ")')" "rollback failed null" \
    "nothing to roll back to: recovery record failed, no to"
like "$(cat "$T_TMP/err")" "no earlier successful deployment" "nothing to roll back to: said on stderr"
check "nothing to roll back to: nothing left" phx_nothing_left "$P2"

done_testing
