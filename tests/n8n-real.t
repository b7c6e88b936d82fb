#!/bin/bash
# The real n8n (localhost/phx-n8n) in the bundled stack, end to end: deploy
# (phx-deploy, PHX_N8N unset), phx-probe -w waits out the first start,
# n8n-provision makes the owner and a least-scope API key (0600 file, never
# printed), phx-functest's n8n suite passes (create, activate, webhook,
# execution, deactivate, delete), a second provisioning reuses the key, and
# a restart (the second start) is timed.  Slow: not in `make check`; run by
# `make check-n8n`, which builds the image first.
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

done_testing
