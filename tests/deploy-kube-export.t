#!/bin/bash
# The round trip of issue 18 with real podman: the bundled compose stack
# up, phx-deploy export-kube, down; the exported manifests up with
# --engine kube and the same five services healthy; nothing left, no
# secret in the manifests.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail

export PHX_STATE_DIR=$T_TMP/state
phx_stack_env kube

# the bundled services.yaml, a deadline that fails in time
sed -e 's/^  deadline: 15m/  deadline: 60s/' -e 's/^  retries: 3$/  retries: 1/' \
    configs/deployment-validation/services.yaml >"$T_TMP/cfg.yaml"

# --- the round trip: compose -> export-kube -> --engine kube ---
P=$(phx_test_project kubert)
at_exit "podman_cleanup_project $P >/dev/null 2>&1"
phx-deploy -p "$P" up </dev/null >"$T_TMP/c.up" 2>"$T_TMP/c.err"
is "$?" 0 "round trip: the compose stack is up"
CID=$(jq -r 'select(.type == "deployment") | .deployment_id' "$T_TMP/c.up" | head -1)
phx-deploy export-kube "$CID" </dev/null >"$T_TMP/exp" 2>"$T_TMP/exp.err"
is "$?" 0 "export-kube: exit 0"
M=$(jq -r .manifests "$T_TMP/exp")
is "$(jq -r .pods "$T_TMP/exp")" 5 "export-kube: five pods"
unlike "$(cat "$M")" "$SECRETS" "export-kube: no secret in the manifests"
is "$(grep -c "$(printf '\t')" "$M")" 0 "export-kube: YAML indented by spaces (a tab is not YAML)"
if command -v kubectl >/dev/null 2>&1; then
	is "$(KUBECONFIG=/dev/null kubectl set resources --local -f "$M" --requests=cpu=1m -o json 2>&1 >/dev/null |
	    grep '^error' | grep -v 'not a pod')" "" "export-kube: kubectl decodes every exported pod"
else
	skip "kubectl (Debian kubernetes-client) not installed"
fi
is "$(phx-secscan -k "$M" </dev/null 2>/dev/null | jq -r 'select(.type == "finding") | .id' | sort -u | wc -l)" 11 \
    "export-kube: the pod checks read the exported manifests"
phx-deploy down --volumes "$CID" </dev/null >/dev/null 2>&1
is "$(phx_left "$P")" 0 "round trip: the compose stack is down"
P=$(phx_test_project kubert2)
at_exit "podman_cleanup_project $P >/dev/null 2>&1; podman secret rm $P-phx-secrets >/dev/null 2>&1"
phx-deploy -c "$T_TMP/cfg.yaml" --engine kube -p "$P" -f "$M" up </dev/null 2>"$T_TMP/rt.err" | tee "$T_TMP/rt.up" |
    phx-probe -c "$T_TMP/cfg.yaml" -w >"$T_TMP/rt.probe" 2>"$T_TMP/rt.probe.err"
is "${PIPESTATUS[0]} ${PIPESTATUS[2]}" "0 0" "round trip: the exported manifests deploy and probe"
jq -r 'select(.type == "error") | .message' "$T_TMP/rt.up" | diag
diag "$(tail -n 5 "$T_TMP/rt.err" "$T_TMP/rt.probe.err")"
is "$(jq -r 'select(.type == "health" and .status == "healthy") | .service' "$T_TMP/rt.probe" | sort -u | wc -l)" 5 \
    "round trip: the same five services healthy"
ID=$(jq -r 'select(.type == "deployment") | .deployment_id' "$T_TMP/rt.up" | head -1)
phx-deploy down --volumes "$ID" </dev/null >/dev/null 2>&1
is "$(phx_left "$P")" 0 "round trip: nothing left"

done_testing
