#!/bin/bash
# Named volumes are data, as with compose: `phx-deploy down` keeps them
# and `down --volumes` removes them; the next up uses what is there (its
# data intact); an up that fails removes only the volumes it created.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail

D=tests/data/phx-deploy
export PHX_STATE_DIR=$T_TMP/state
P=$(phx_test_project volumes)
at_exit "podman_cleanup_project $P"
PA=$(free_port) PB=$(free_port)
export PHXT_PORT_A=$PA PHXT_PORT_B=$PB PHX_DEPLOYMENT_RETRIES=1
VOL=${P}_data

latest() { ls "$PHX_STATE_DIR" | grep '^deploy_' | tail -1; }
vols() { podman volume ls -q --filter "label=$PHX_PROJECT_LABEL=$P" | tr '\n' ' '; }
# everything of the project but its volumes
others() { _phx_project_objects "$P" | grep -cv '^volume '; }
created() { podman volume inspect --format '{{.CreatedAt}}' "$VOL" 2>/dev/null; }
down() { phx-deploy "$@" </dev/null >"$T_TMP/down" 2>"$T_TMP/down.err"; }
removed() { jq -c 'select(.type == "deployment") | [.status, .removed, .kept]' "$T_TMP/down"; }

# ---- an up that fails on a new project removes the volume it made ----
phx-deploy -f $D/volume-fail.yaml -p "$P" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 1 "failed up: exit 1"
check "failed up on a new project: nothing left, its new volume neither" phx_nothing_left "$P"

# ---- up, then down: the volume stays ----
phx-deploy -f $D/two.yaml -p "$P" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 0 "up: exit 0"
ID1=$(latest)
is "$(vols)" "$VOL " "up: the named volume"
unlike "$(cat "$T_TMP/err")" "reusing" "up: a new volume is not said to be reused"
podman exec "${P}_web_1" sh -c 'echo kept >/data/marker' 2>/dev/null
born=$(created)
down down "$ID1"
is "$?" 0 "down: exit 0"
is "$(removed)" "[\"down\",{\"containers\":2,\"networks\":2,\"volumes\":0},{\"volumes\":[\"$VOL\"]}]" \
	"down: containers and networks removed, the volume kept, by name"
is "$(others)" 0 "down: no container or network left"
is "$(vols)" "$VOL " "down: the volume is still there"
like "$(cat "$T_TMP/down.err")" "1 volume\\(s\\) kept.*down --volumes $ID1" "down: says so, and how to remove it"
is "$(jq -r .status "$PHX_STATE_DIR/$ID1/state.json")" DOWN "down: state DOWN"

# ---- the next up uses it as it is ----
phx-deploy -f $D/two.yaml -p "$P" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 0 "second up: exit 0"
ID2=$(latest)
is "$(created)" "$born" "second up: the same volume"
is "$(podman exec "${P}_web_1" cat /data/marker 2>&1)" kept "second up: its data intact"
like "$(cat "$T_TMP/err")" "reusing 1 volume\\(s\\) of an earlier deployment.*$VOL" "second up: says it reuses it"
is "$(jq -c .volumes_reused "$PHX_STATE_DIR/$ID2/state.json")" "[\"$VOL\"]" "second up: state.json names it"

# ---- an up that fails keeps the volume that was there before it ----
phx-deploy -f $D/volume-fail.yaml -p "$P" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 1 "failed up on the kept volume: exit 1"
is "$(others)" 0 "failed up: its containers and networks removed (and the earlier stack's)"
is "$(created)" "$born" "failed up: the volume that was there before stays"

# ---- down --volumes ----
phx-deploy -f $D/two.yaml -p "$P" up </dev/null >/dev/null 2>&1
ID3=$(latest)
down down --volumes "$ID3"
is "$?" 0 "down --volumes: exit 0"
is "$(removed)" '["down",{"containers":2,"networks":2,"volumes":1},null]' "down --volumes: the volume removed too"
check "down --volumes: nothing left" phx_nothing_left "$P"

# ---- down --volumes after a down removes what it kept ----
phx-deploy -f $D/two.yaml -p "$P" up </dev/null >/dev/null 2>&1
ID4=$(latest)
down down "$ID4"
is "$(vols)" "$VOL " "down: kept"
down down --volumes "$ID4"
is "$?" 0 "down --volumes of a deployment already down: exit 0"
is "$(removed)" '["down",{"containers":0,"networks":0,"volumes":1},null]' "and it removes the volume kept"
check "nothing left" phx_nothing_left "$P"

# ---- usage ----
phx-deploy --volumes up </dev/null >/dev/null 2>"$T_TMP/err"
is "$?" 2 "--volumes is for down only: exit 2"
phx-deploy -n down --volumes "$ID4" </dev/null >/dev/null 2>&1
is "$?" 0 "-n down --volumes: exit 0"

done_testing
