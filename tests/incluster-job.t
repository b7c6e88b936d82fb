#!/bin/bash
# phx in the cluster, without a cluster: the pod template of the Job
# infra/kube/job/phx-job.yaml, as kubectl decodes it, run as a Pod by
# `podman kube play` (which runs no Job) in the localhost/phx image,
# against the bundled stack deployed by phx-deploy --engine kube.  Its
# pipeline reaches the services by their cluster DNS names
# (configs/deployment-validation/incluster.yaml): podman's network DNS
# knows pods by podman's names, not SERVICE.NAMESPACE.svc, and has no
# Services, so the Pod gets hostAliases naming each service's pod IP
# (what kube-dns and the Service's virtual IP do in a cluster; the ports
# are the containers', which the Services' equal).  The Job's run ends
# SUCCESS with the report JSON in the log between its markers; with a
# service stopped it ends FAILED (exit 1) and says which.  No secret in
# any log.  Not in make check: in make check-kube (it runs alone).
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

command -v kubectl >/dev/null 2>&1 || { plan 0; echo "# SKIP kubectl not installed"; exit 0; }
export KUBECONFIG=/dev/null   # never an accidental cluster
phx_images_or_bail
PHX_TOOLS=$PHX_BIN sh "$TOP/infra/podman/images/build" phx >&2 || { echo "Bail out! image localhost/phx"; exit 1; }

export PHX_STATE_DIR=$T_TMP/state
phx_stack_env incl

P=$(phx_test_project incl)
NS=phxns$$
at_exit "podman pod rm -f -t 0 $P-phx $P-phx-broken >/dev/null 2>&1; podman_cleanup_project $P >/dev/null 2>&1; podman secret rm $P-phoenix-secrets $P-phx-secrets >/dev/null 2>&1"

phx-deploy --engine kube -p "$P" up </dev/null >"$T_TMP/up" 2>"$T_TMP/up.err"
st=$?
is "$st" 0 "the bundled stack is up (phx-deploy --engine kube)"
[ "$st" -eq 0 ] || diag "$(tail -n 5 "$T_TMP/up.err")"

# the pod IP of each service's pod, on the project's network
net=$P-kube
aliases=$(for svc in phoenix-core nca-toolkit n8n windmill revenue-db; do
	infra=$(podman pod inspect --format '{{.InfraContainerID}}' "$P-$svc-pod-0")
	ip=$(podman container inspect --format "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$infra")
	jq -n --arg ip "$ip" --arg h "$svc.$NS.svc" '{ip: $ip, hostnames: [$h]}'
done | jq -s -c .)
is "$(jq '[.[] | select(.ip | test("^[0-9.]+$"))] | length' <<<"$aliases")" 5 "five pod IPs on $net"

# The secret the Job reads (phoenix-secrets): a podman secret, made as
# phx-deploy makes them, its values from the environment through stdin
jq -n '{REVENUE_DB_PASSWORD: (env.REVENUE_DB_PASSWORD | @base64),
    N8N_API_KEY: (env.N8N_API_KEY | @base64), WINDMILL_TOKEN: (env.WINDMILL_TOKEN | @base64)}' |
    podman secret create "$P-phx-secrets" - >/dev/null
is "$?" 0 "the Job's secret, as a podman secret"

# pod NAME [ENV-JSON]: the Job's pod template as a Pod named NAME in
# namespace $NS, with the hostAliases, the secret's podman name and the
# extra environment; the namespace from the downward API is written in
# (Podman 4.3 refuses fieldPath metadata.namespace)
pod() {
	kubectl label --local -f "$TOP/infra/kube/job/phx-job.yaml" phx.dev/checked=yes -o json |
	    jq --arg name "$1" --arg ns "$NS" --arg sec "$P-phx-secrets" \
	    --argjson aliases "$aliases" --argjson extra "${2:-[]}" '
		{apiVersion: "v1", kind: "Pod",
		 metadata: {name: $name, namespace: $ns, labels: .spec.template.metadata.labels},
		 spec: (.spec.template.spec | .hostAliases = $aliases |
		     .containers |= map(.env |= map(
		         if .valueFrom.secretKeyRef then .valueFrom.secretKeyRef.name = $sec
		         elif .valueFrom.fieldRef.fieldPath == "metadata.namespace" then {name, value: $ns}
		         else . end) + $extra))}'
}
# run NAME: play the Pod, wait for its container; status in $st, log in $T_TMP/NAME.log
run() {
	podman kube play --network "$net" "$T_TMP/$1.json" >"$T_TMP/$1.play" 2>&1 ||
	    diag "kube play $1: $(tail -n 3 "$T_TMP/$1.play")"
	st=$(timeout 600 podman wait "$1-phx")
	podman logs "$1-phx" >"$T_TMP/$1.log" 2>&1
}
# the report between the Job's markers
report() { sed -n '/^=== phx report.json begin/,/^=== phx report.json end/{//!p}' "$T_TMP/$1.log"; }

kubectl label --local -f "$TOP/infra/kube/job/phx-job.yaml" phx.dev/checked=yes -o json |
    jq -c '.spec.template.spec.containers[0].env[] | select(.name == "PHX_NAMESPACE")' >"$T_TMP/nsenv"
is "$(cat "$T_TMP/nsenv")" '{"name":"PHX_NAMESPACE","valueFrom":{"fieldRef":{"fieldPath":"metadata.namespace"}}}' \
    "the Job takes PHX_NAMESPACE from its own namespace (written in for Podman)"
pod "$P-phx" >"$T_TMP/$P-phx.json"
is "$(jq -c '[.kind, .spec.restartPolicy, .spec.containers[0].image, .spec.containers[0].securityContext.readOnlyRootFilesystem]' "$T_TMP/$P-phx.json")" \
    '["Pod","Never","localhost/phx:latest",true]' "the Pod is the Job's template (read-only root, never restarted)"
t0=$(date +%s)
run "$P-phx"
diag "in-pod pipeline: $(($(date +%s) - t0)) s"
is "$st" 0 "the pipeline in the pod: exit 0 (the Job would succeed)"
[ "$st" = 0 ] || diag "$(tail -n 30 "$T_TMP/$P-phx.log")"
report "$P-phx" >"$T_TMP/ok.json"
is "$(jq -r .status "$T_TMP/ok.json")" SUCCESS "the report in the log says SUCCESS"
is "$(jq -r '[.services[] | select(.status == "healthy")] | length' "$T_TMP/ok.json")" 5 "five healthy services"
is "$(jq -r '[.functional_tests[] | "\(.suite) \(.status)"] | sort | unique | join(", ")' "$T_TMP/ok.json")" \
    "automation-scripts skipped, n8n-workflow passed, windmill-script passed" \
    "the n8n and Windmill suites passed (through the cluster names); the disabled one is skipped"
is "$(grep -c '^=== phx report.json end: exit 0$' "$T_TMP/$P-phx.log")" 1 "the end marker carries the exit status"
like "$(jq -r '.. | .target? // empty' "$T_TMP/ok.json" | sort -u | tr '\n' ' ')" \
    "http://phoenix-core\\.$NS\\.svc:8080/health" "the checks went to the services' cluster names"
is "$(podman container inspect --format '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}' "$P-phx-phx")" \
    "10001:10001 true" "the container ran as 10001 on a read-only root"

# a service down: phx-probe's wait ends at a short deadline (the Job's is
# probe.deadline, 15m), the run is FAILED and names it
podman pod stop -t 0 "$P-windmill-pod-0" >/dev/null 2>&1
pod "$P-phx-broken" '[{"name": "PHX_PROBE_DEADLINE", "value": "20s"}]' >"$T_TMP/$P-phx-broken.json"
run "$P-phx-broken"
is "$st" 1 "windmill stopped: exit 1 (the Job would fail)"
[ "$st" = 1 ] || diag "$(tail -n 30 "$T_TMP/$P-phx-broken.log")"
report "$P-phx-broken" >"$T_TMP/broken.json"
is "$(jq -r .status "$T_TMP/broken.json")" FAILED "the report in the log says FAILED"
is "$(jq -r '[.services | to_entries[] | select(.value.status != "healthy") | .key] | join(" ")' "$T_TMP/broken.json")" windmill \
    "the unhealthy service is windmill"

unlike "$(cat "$T_TMP"/*.log "$T_TMP"/*.play "$T_TMP/up" "$T_TMP/up.err")" "$SECRETS" "no secret in any log"

podman pod rm -f -t 0 "$P-phx" "$P-phx-broken" >/dev/null 2>&1
podman secret rm "$P-phx-secrets" >/dev/null 2>&1   # the test's own
ID=$(jq -r 'select(.type == "deployment") | .deployment_id' "$T_TMP/up" | head -1)
phx-deploy down --volumes "$ID" </dev/null >/dev/null 2>&1
is "$(phx_left "$P")" 0 "down: nothing of the stack left (its ConfigMap and emptyDir volumes too)"
done_testing
