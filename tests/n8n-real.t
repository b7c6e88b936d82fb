#!/bin/bash
# The real n8n (localhost/phx-n8n) in the bundled stack, end to end: deploy
# (phx-deploy, PHX_N8N unset), phx-probe -w waits out the first start,
# n8n-provision makes the owner and a least-scope API key (0600 file, never
# printed), phx-functest's n8n suite passes (create, activate, webhook,
# execution, deactivate, delete), a second provisioning reuses the key, and
# a restart (the second start) is timed.  Then pipelines/demo twice: the
# first sets up the owner and a key, its down keeps the stack's volume; the
# second reuses the volume, the owner and the key, and both give SUCCESS.
# Slow: not in `make check`; run by `make check-n8n`, which builds the
# image first.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/podman.sh"

unset PHX_N8N   # the real one
if ! podman image exists localhost/phx-n8n; then
	echo "1..0 # SKIP localhost/phx-n8n missing (make check-n8n builds it)"
	exit 0
fi
phx_images_or_bail
P=$(phx_test_project n8n)
set -- $(free_port 5)
export PHX_PORT_CORE=$1 PHX_PORT_NCA=$2 PHX_PORT_N8N=$3 PHX_PORT_WINDMILL=$4 PHX_PORT_DB=$5
rand() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }
export REVENUE_DB_PASSWORD=rdb-$(rand) N8N_DB_PASSWORD=n8n-$(rand) \
    N8N_ENCRYPTION_KEY=enc-$(rand) WINDMILL_TOKEN=wm-$(rand) \
    PHX_STATE_DIR=$T_TMP/state
at_exit "podman_cleanup_project $P"
export PHX_N8N_KEY_FILE=$T_TMP/state/n8n/api-key

t0=$(date +%s)
phx-deploy -p "$P" up </dev/null >"$T_TMP/up" 2>"$T_TMP/up.err"
check "phx-deploy up: the stack with the real n8n" test $? -eq 0
is "$(podman inspect --format '{{.ImageName}}' "${P}_n8n_1" 2>/dev/null)" \
    localhost/phx-n8n:latest "n8n runs localhost/phx-n8n"
is "$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}} {{.Config.User}}' "${P}_n8n_1")" \
    "true 10001:10001" "n8n: read-only root, not root"

phx-probe -w -s n8n <"$T_TMP/up" >"$T_TMP/probe" 2>"$T_TMP/probe.err"
first=$(($(date +%s) - t0))
is "$(jq -r 'select(.type == "health" and .service == "n8n") | .status' "$T_TMP/probe" | tail -n 1)" \
    healthy "phx-probe -w waits for n8n's first start (${first} s)"
diag "n8n first start (deploy to ready): ${first} s"

sh infra/podman/n8n-provision >"$T_TMP/prov" 2>"$T_TMP/prov.err"
check "n8n-provision: owner and API key" test $? -eq 0
is "$(cat "$T_TMP/prov")" "$PHX_N8N_KEY_FILE" "n8n-provision prints the key's file"
is "$(stat -c %a "$PHX_N8N_KEY_FILE")" 600 "the key file is 0600"
N8N_API_KEY=$(cat "$PHX_N8N_KEY_FILE")
export N8N_API_KEY
unlike "$(cat "$T_TMP/prov" "$T_TMP/prov.err")" "$N8N_API_KEY" "the key is never printed"

phx-functest -c configs/deployment-validation/tests.yaml -s n8n-workflow \
    </dev/null >"$T_TMP/ft" 2>"$T_TMP/ft.err"
st=$?
is "$(jq -r 'select(.type == "test") | .status' "$T_TMP/ft")" passed \
    "phx-functest's n8n suite passes against the real n8n"
is "$st" 0 "phx-functest exits 0"
[ "$st" = 0 ] || sed 's/^/# /' "$T_TMP/ft" "$T_TMP/ft.err" >&2
unlike "$(cat "$T_TMP/ft" "$T_TMP/ft.err")" "$N8N_API_KEY" "functest never prints the key"

sh infra/podman/n8n-provision >/dev/null 2>"$T_TMP/prov2.err"
like "$(cat "$T_TMP/prov2.err")" "works: reused" "a second provisioning reuses the key"
is "$(cat "$PHX_N8N_KEY_FILE")" "$N8N_API_KEY" "and leaves it as it was"

t1=$(date +%s)
podman restart -t 10 "${P}_n8n_1" >/dev/null 2>&1
phx-probe -w -s n8n <"$T_TMP/up" >"$T_TMP/probe2" 2>/dev/null
second=$(($(date +%s) - t1))
is "$(jq -r 'select(.type == "health" and .service == "n8n") | .status' "$T_TMP/probe2" | tail -n 1)" \
    healthy "n8n's second start (${second} s)"
diag "n8n second start (restart to ready): ${second} s"

# ---- make demo twice: the second reuses the volume, the owner and the key ----
podman_cleanup_project "$P"
P2=$(phx_test_project n8ndemo)
at_exit "podman_cleanup_project $P2"
D=$T_TMP/demo
# pipelines/demo makes up the secrets and keeps them; its own key file
unset REVENUE_DB_PASSWORD N8N_DB_PASSWORD N8N_ENCRYPTION_KEY WINDMILL_TOKEN \
    N8N_API_KEY PHX_N8N_KEY_FILE
demo() {   # N: pipelines/demo, its exit status, stdout and stderr in demoN*
	local t=$(date +%s)
	PHX_PROJECT=$P2 PHX_STATE_DIR=$D pipelines/demo >"$T_TMP/demo$1" 2>"$T_TMP/demo$1.err"
	echo $? >"$T_TMP/demo$1.st"
	echo $(($(date +%s) - t)) >"$T_TMP/demo$1.s"
}
vols() { podman volume ls -q --filter "label=$PHX_PROJECT_LABEL=$P2" | tr '\n' ' '; }
demo 1
is "$(cat "$T_TMP/demo1.st")" 0 "first demo: exit 0 ($(cat "$T_TMP/demo1.s") s)"
[ "$(cat "$T_TMP/demo1.st")" = 0 ] || tail -30 "$T_TMP/demo1" "$T_TMP/demo1.err" | sed 's/^/# /' >&2
like "$(tail -3 "$T_TMP/demo1")" 'verdict +SUCCESS' "first demo: SUCCESS"
like "$(cat "$T_TMP/demo1.err")" "owner phx-owner@example.com set up" "first demo: the owner is set up"
like "$(cat "$T_TMP/demo1.err")" "new API key" "first demo: and an API key made"
is "$(stat -c %a "$D/demo/secrets" "$D/n8n/api-key" | tr '\n' ' ')" "600 600 " \
    "first demo: the secrets and the key in 0600 files"
is "$(vols)" "${P2}_revenue-data " "first demo: down keeps the stack's volume"
is "$(_phx_project_objects "$P2" | grep -cv '^volume ')" 0 "first demo: and nothing else"
key1=$(cat "$D/n8n/api-key")
diag "first demo (fresh volume): $(cat "$T_TMP/demo1.s") s"

demo 2
is "$(cat "$T_TMP/demo2.st")" 0 "second demo: exit 0 ($(cat "$T_TMP/demo2.s") s)"
[ "$(cat "$T_TMP/demo2.st")" = 0 ] || tail -30 "$T_TMP/demo2" "$T_TMP/demo2.err" | sed 's/^/# /' >&2
like "$(tail -3 "$T_TMP/demo2")" 'verdict +SUCCESS' "second demo: SUCCESS"
like "$(cat "$T_TMP/demo2.err")" "reusing 1 volume\\(s\\) of an earlier deployment" \
    "second demo: phx-deploy reuses the volume"
like "$(cat "$T_TMP/demo2.err")" "works: reused \\(no new owner or key\\)" "second demo: provisioning reuses the key"
unlike "$(cat "$T_TMP/demo2.err")" "owner .*set up|new API key|logging in" "second demo: no new owner, no login, no new key"
is "$(cat "$D/n8n/api-key")" "$key1" "second demo: the key file is as it was"
unlike "$(cat "$T_TMP"/demo1* "$T_TMP"/demo2*)" "$key1" "no demo prints the key"
diag "second demo (volume, owner and key reused): $(cat "$T_TMP/demo2.s") s"

id=$(ls "$D" | grep '^deploy_' | tail -n 1)
PHX_STATE_DIR=$D phx-deploy down --volumes "$id" </dev/null >"$T_TMP/down" 2>&1
is "$(jq -c 'select(.type == "deployment") | .removed.volumes' "$T_TMP/down")" 1 \
    "down --volumes: removes the demos' volume"
check "down --volumes: nothing of the demos left" phx_nothing_left "$P2"

done_testing
