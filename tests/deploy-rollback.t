#!/bin/bash
# phx-deploy rollback: two deployments of different content from the same
# compose file; rolling the second back tears it down and brings back the
# first one's compose file from its snapshot (the file itself now holds
# the second), with relative paths resolved from the folder of the
# compose file configured now.  The state directory is data only: a
# planted config.json naming a program is never run.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail

export PHX_STATE_DIR=$T_TMP/state
P=$(phx_test_project rollback)
at_exit "podman_cleanup_project $P"
W=$T_TMP/work
mkdir -p "$W/www-one" "$W/www-two"
echo one >"$W/www-one/index.html"
echo two >"$W/www-two/index.html"
PORT=$(free_port)

# version NAME: a compose file serving www-NAME (a relative bind mount)
version() {
	cat >"$W/compose.yaml" <<EOF
services:
  $1:
    image: localhost/phx-httpd
    init: true
    ports: ["127.0.0.1:$PORT:8080"]
    volumes: ["./www-$1:/www:ro"]
EOF
}
served() { wget -q -O - "http://127.0.0.1:$PORT/" 2>/dev/null; }
services() { podman ps --filter label=io.podman.compose.project="$P" --format json | jq -r '.[].Labels["com.docker.compose.service"]' | sort | tr '\n' ' '; }
up() { phx-deploy -f "$W/compose.yaml" -p "$P" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"; }

version one
up
is "$?" 0 "first deployment: exit 0"
ID1=$(jq -r .deployment_id "$T_TMP/out" | head -1)
wait_port "$PORT" 10
is "$(served)" one "first deployment: serves one"

version two
up
is "$?" 0 "second deployment: exit 0"
ID2=$(jq -r .deployment_id "$T_TMP/out" | head -1)
wait_port "$PORT" 10
is "$(services)" "two " "second deployment: service two replaced service one"
is "$(served)" two "second deployment: serves two"
is "$(jq -r .replaced_by "$PHX_STATE_DIR/$ID1/state.json")" "$ID2" "the first deployment is marked replaced"

# dry run: the plan, nothing touched
phx-deploy -f "$W/compose.yaml" -n rollback "$ID2" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 0 "rollback -n: exit 0"
is "$(jq -c 'select(.type == "deployment") | [.status, .action, .restored_from, .rollback_of]' "$T_TMP/out")" \
	"[\"planned\",\"rollback\",\"$ID1\",\"$ID2\"]" "rollback -n: says what it would restore"
is "$(services)" "two " "rollback -n: touched nothing"
is "$(ls "$PHX_STATE_DIR" | grep -c '^deploy_')" 2 "rollback -n: no new deployment"

phx-deploy -f "$W/compose.yaml" rollback "$ID2" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 0 "rollback: exit 0"
ID3=$(jq -r .deployment_id "$T_TMP/out" | head -1)
check "rollback: a new deployment id" test "$ID3" != "$ID2" -a "$ID3" != "$ID1"
is "$(services)" "one " "rollback: service one is back"
wait_port "$PORT" 10
is "$(served)" one "rollback: serves one again (relative mount resolved)"
is "$(jq -c 'select(.type == "deployment") | .status' "$T_TMP/out" | tr '\n' ' ')" \
	'"down" "starting" "running" ' "rollback: down, then starting, then running"
is "$(jq -r 'select(.type == "deployment" and .status == "running") | "\(.restored_from) \(.rollback_of)"' "$T_TMP/out")" \
	"$ID1 $ID2" "rollback: the record names what was restored and what was rolled back"
is "$(jq -r 'select(.type == "service") | .service' "$T_TMP/out")" one "rollback: the service record is service one"
is "$(tail -1 "$T_TMP/out" | jq -c '[.phase, .event, .status]')" '["rollback","end","ok"]' "rollback: phase end ok"
check "rollback: the restored compose is the first deployment's snapshot" \
	cmp -s "$PHX_STATE_DIR/$ID3/compose.yaml" "$PHX_STATE_DIR/$ID1/compose.yaml"
is "$(jq -r '[.status, .rolled_back_by] | join(" ")' "$PHX_STATE_DIR/$ID2/state.json")" "ROLLED_BACK $ID3" \
	"rollback: the second deployment is ROLLED_BACK"
is "$(jq -r '[.status, .restored_from, .rollback_of] | join(" ")' "$PHX_STATE_DIR/$ID3/state.json")" \
	"SUCCESS $ID1 $ID2" "rollback: the new deployment's state"
check "rollback: the second deployment's logs were kept" test -s "$PHX_STATE_DIR/$ID2/logs/down/${P}_two_1.log"
is "$(ls -A "$W" | tr '\n' ' ')" "compose.yaml www-one www-two " "rollback: no temporary file left beside the compose file"
cmp -s "$W/compose.yaml" "$PHX_STATE_DIR/$ID2/compose.yaml"
ok $? "rollback: the user's compose file was not touched"

# rolling back the rollback skips the deployment that was rolled back
phx-deploy -f "$W/compose.yaml" -n rollback "$ID3" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$(jq -r 'select(.type == "deployment") | .restored_from' "$T_TMP/out")" "$ID1" \
	"a ROLLED_BACK deployment is never restored"

phx-deploy down "$ID3" </dev/null >/dev/null 2>&1
is "$?" 0 "down: exit 0"

# a planted SUCCESS whose config.json names a program and whose
# compose_file is elsewhere, then a FAILED one to roll back
X=$T_TMP/x
mkdir -p "$X/sub"
printf '#!/bin/sh\ntouch %s/ran\nexit 1\n' "$X" >"$X/evil"
chmod +x "$X/evil"
plant() {   # plant ID RESULT
	mkdir -m 700 "$PHX_STATE_DIR/$1"
	jq -n --arg id "$1" --arg p "$P" --arg r "$2" --arg c "$X/sub/compose.yaml" \
	    '{deployment_id: $id, project: $p, result: $r, status: $r, compose_file: $c,
	      compose_dir: "'"$X"'/sub", services: ["one"]}' >"$PHX_STATE_DIR/$1/state.json"
	jq -n --arg e "$X/evil" '{deployment: {compose: $e, podman: $e}}' >"$PHX_STATE_DIR/$1/config.json"
	cp "$PHX_STATE_DIR/$ID1/compose.yaml" "$PHX_STATE_DIR/$1/compose.yaml"
}
plant deploy_20010101_000000 SUCCESS
plant deploy_20010101_000001 FAILED
phx-deploy -f "$W/compose.yaml" rollback deploy_20010101_000001 </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 0 "planted config: the rollback works"
check "planted config: its program was not run" test ! -e "$X/ran"
is "$(ls -A "$X/sub")" "" "planted config: nothing written where its compose_file points"
wait_port "$PORT" 10
is "$(served)" one "planted config: the snapshot serves from the configured compose file's folder"
ID4=$(jq -r 'select(.type == "deployment" and .status == "running") | .deployment_id' "$T_TMP/out")
phx-deploy down "$ID4" </dev/null >/dev/null 2>&1
is "$?" 0 "planted config: down"
check "down: nothing left" podman_cleanup_project "$P"

done_testing
