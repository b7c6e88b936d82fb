#!/bin/bash
# The bundled Kubernetes manifests (infra/kube) without a cluster: every
# object decodes in kubectl's own client-side code (no API server here,
# so typed decoding through `kubectl set resources --local`, which loads
# each pod template into the real Go types); configmaps.yaml is what
# infra/kube/configmaps makes today; phx-secscan's pod checks pass on
# them and fail, at the right manifest line, on a broken copy; phx-deploy
# -n --engine kube plans the five services.  What the cluster path
# (--kube-context) hands `kubectl apply` on its standard input, made from
# infra/kube with made-up secrets and caught by tests/data/kubectl/
# fake-kubectl, decodes the same way.  `kubectl apply --dry-run=client`
# is not used: kubectl 1.32 asks an API server for discovery even then
# (with --validate=false and a kubeconfig for an unreachable server it
# fails "unable to recognize"), so the --local commands are what decodes
# offline; export-kube's output: tests/deploy-kube-export.t.
. "$(dirname "$0")/lib.sh"

K=$TOP/infra/kube
export KUBECONFIG=/dev/null   # never an accidental cluster

if command -v kubectl >/dev/null 2>&1; then
	kubectl label --local -f "$K" phx.dev/checked=yes -o json >"$T_TMP/all.json" 2>"$T_TMP/all.err"
	is "$?" 0 "kubectl reads every manifest"
	is "$(jq -s '[.[] | if .items then .items[] else . end] | length' "$T_TMP/all.json")" 16 \
	    "kubectl: 16 objects (5 Deployments, 5 Services, 4 ConfigMaps, a Secret, a claim)"
	out=$(kubectl set resources --local -f "$K/stack.yaml" --requests=cpu=50m -o json 2>&1 |
	    grep -E '^error' | grep -v 'not a pod or does not have a pod template')
	is "$out" "" "kubectl decodes every pod template into its types"
	printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: many}\n' >"$T_TMP/bad.yaml"
	kubectl set resources --local -f "$T_TMP/bad.yaml" --requests=cpu=1 -o json >/dev/null 2>&1
	isnt_ok=$?
	ok "$([ "$isnt_ok" -ne 0 ] && echo 0 || echo 1)" "kubectl's decoding can fail (replicas: many)"
	# the cluster path's apply stream
	PHX_STATE_DIR=$T_TMP/kc-state KC_LOG=$T_TMP/kc.log KC_ROLLOUT=1 \
	    KC_PODS=$T_TMP/no-pods.json KC_EVENTS=$T_TMP/no-pods.json \
	    PHX_DEPLOYMENT_KUBECTL=$TOP/tests/data/kubectl/fake-kubectl \
	    PHX_DEPLOYMENT_RETRIES=1 REVENUE_DB_PASSWORD=made-up-1 \
	    N8N_API_KEY=made-up-2 WINDMILL_TOKEN=made-up-3 \
	    sh -c 'echo "{\"kind\":\"List\",\"items\":[]}" >"$KC_PODS";
	    phx-deploy --engine kube --kube-context none -p kc -f "$1" up' sh "$K" \
	    </dev/null >/dev/null 2>"$T_TMP/kc.err"
	stream=$(grep -l 'apply --server-side' "$T_TMP"/kc.log >/dev/null &&
	    ls "$T_TMP"/kc.log.stdin.* | head -1)
	kubectl label --local -f "$stream" phx.dev/checked=yes -o json >"$T_TMP/kc.json" 2>"$T_TMP/kc-label.err"
	is "$?:$(jq -s '[.[] | if .items then .items[] else . end] | length' "$T_TMP/kc.json")" "0:16" \
	    "kubectl reads the 16 objects phx applies to a cluster"
	out=$(kubectl set resources --local -f "$stream" --requests=cpu=50m -o json 2>&1 |
	    grep -E '^error' | grep -v 'not a pod or does not have a pod template')
	is "$out" "" "kubectl decodes every pod template phx applies into its types"
	is "$(jq -r 'select(.kind == "Secret") | .data.N8N_API_KEY | @base64d' "$T_TMP/kc.json")" made-up-2 \
	    "the applied Secret carries the environment's value as data"
	sh "$K/configmaps" "$T_TMP/cm.yaml"
	check "configmaps.yaml is current (sh infra/kube/configmaps)" cmp -s "$T_TMP/cm.yaml" "$K/configmaps.yaml"
	# the in-cluster Job (job/, apart: phx-deploy and kubectl -f infra/kube
	# read no subfolder), typed: a change to a limit goes through its types
	J=$K/job/phx-job.yaml
	kubectl set resources --local -f "$J" -c phx --limits=cpu=200m -o json >"$T_TMP/job.json" 2>"$T_TMP/job.err"
	is "$?:$(jq -c '[.kind, .spec.backoffLimit, .spec.template.spec.restartPolicy, .spec.template.spec.containers[0].resources.limits.cpu]' "$T_TMP/job.json")" \
	    '0:["Job",0,"Never","200m"]' "kubectl decodes the Job: backoffLimit 0, never restarted"
	sed 's/backoffLimit: 0/backoffLimit: none/' "$J" >"$T_TMP/badjob.yaml"
	kubectl set resources --local -f "$T_TMP/badjob.yaml" -c phx --limits=cpu=1 -o json >/dev/null 2>&1
	isnt_ok=$?
	ok "$([ "$isnt_ok" -ne 0 ] && echo 0 || echo 1)" "kubectl's decoding of the Job can fail (backoffLimit: none)"
	is "$(jq -r '[.spec.template.spec.containers[].env[] | select(.value and (.name | test("PASSWORD|KEY|TOKEN"))) | .name] | length' "$T_TMP/job.json")" \
	    0 "the Job: no secret as a literal, every one from a secretKeyRef"
	is "$(jq -r '[.spec.template.spec.containers[].env[] | .valueFrom.secretKeyRef.key // empty] | join(" ")' "$T_TMP/job.json")" \
	    "REVENUE_DB_PASSWORD N8N_API_KEY WINDMILL_TOKEN" "the Job: the stack's three secrets"
else
	for _ in $(seq 12); do skip "kubectl (Debian kubernetes-client) not installed"; done
fi

# the pod checks
cd "$TOP" || exit 1
phx-secscan -k infra/kube --sarif "$T_TMP/ok.sarif" </dev/null >"$T_TMP/ok" 2>"$T_TMP/ok.err"
is "$?" 0 "secscan -k infra/kube: exit 0"
is "$(jq -r 'select(.type == "finding" and (.id | startswith("PHX-SEC-1"))) | .status' "$T_TMP/ok" | sort -u | tr '\n' ' ')" \
    "PASS " "secscan: every pod check passes on the bundled manifests"
is "$(jq -r 'select(.type == "finding") | .id' "$T_TMP/ok" | sort -u | wc -l)" 11 "secscan: 11 pod rules"
is "$(jq -r 'select(.type == "finding" and .id == "PHX-SEC-101") | .service' "$T_TMP/ok" | sort | tr '\n' ' ')" \
    "n8n nca-toolkit phoenix-core revenue-db windmill " "secscan: each workload's container"
phx-secscan -k infra/kube/job </dev/null >"$T_TMP/job.out" 2>/dev/null
is "$?:$(jq -r 'select(.type == "finding") | "\(.status) \(.service)"' "$T_TMP/job.out" | sort | uniq -c | tr -s ' ')" \
    "0: 11 PASS phx-validate" "secscan -k infra/kube/job: the Job passes the 11 pod checks"
mkdir "$T_TMP/bad"
sed -e '0,/runAsNonRoot: true/s//runAsNonRoot: false/' \
    -e '0,/automountServiceAccountToken: false/s//hostNetwork: true/' \
    -e '0,/allowPrivilegeEscalation: false$/s//allowPrivilegeEscalation: true/' \
    "$K/stack.yaml" >"$T_TMP/bad/stack.yaml"
phx-secscan -k "$T_TMP/bad" --sarif "$T_TMP/bad.sarif" </dev/null >"$T_TMP/bad.out" 2>/dev/null
is "$?" 1 "secscan on a broken manifest: exit 1"
is "$(jq -r 'select(.type == "finding" and .status == "FAIL") | "\(.id) \(.service)"' "$T_TMP/bad.out" | sort | tr '\n' ',')" \
    "PHX-SEC-101 phoenix-core,PHX-SEC-102 phoenix-core,PHX-SEC-108 phoenix-core," \
    "secscan: runAsNonRoot, allowPrivilegeEscalation and hostNetwork fail, on phoenix-core"
line=$(grep -n 'runAsNonRoot: false' "$T_TMP/bad/stack.yaml" | cut -d: -f1)
is "$(jq -r '.runs[0].results[] | select(.ruleId == "PHX-SEC-101") | .locations[0].physicalLocation.region.startLine' "$T_TMP/bad.sarif")" \
    "$line" "SARIF: the finding points at the runAsNonRoot line"
line=$(grep -n 'hostNetwork: true' "$T_TMP/bad/stack.yaml" | cut -d: -f1)
is "$(jq -r '.runs[0].results[] | select(.ruleId == "PHX-SEC-108") | .locations[0].physicalLocation.region.startLine' "$T_TMP/bad.sarif")" \
    "$line" "SARIF: and hostNetwork at its line"

# the plan, without podman
export PHX_STATE_DIR=$T_TMP/state PHX_PORT_CORE=18123
phx-deploy --engine kube -n -p plan up </dev/null >"$T_TMP/plan" 2>"$T_TMP/plan.err"
is "$?" 0 "deploy --engine kube -n: exit 0"
is "$(jq -r 'select(.type == "service") | .service' "$T_TMP/plan" | tr '\n' ' ')" \
    "phoenix-core nca-toolkit n8n windmill revenue-db " "plan: the five workloads as services"
is "$(jq -c 'select(.type == "service" and .service == "phoenix-core") | [(.checks[] | select(.kind == "healthcheck") | .target), .ports[0].host_port]' "$T_TMP/plan")" \
    '["plan-phoenix-core-pod-0-httpd",18123]' "plan: the healthcheck of podman's container; PHX_PORT_CORE moves the host port"
is "$(jq -c 'select(.type == "deployment") | [.engine, (.manifests | endswith("infra/kube"))]' "$T_TMP/plan")" \
    '["kube",true]' "plan: the deployment record names the engine and the manifests"
phx-deploy --engine swarm -n up </dev/null >/dev/null 2>"$T_TMP/eng.err"
is "$?" 2 "--engine swarm: a usage error"
phx-deploy --engine kube -n -f "$T_TMP/nothing" up </dev/null >/dev/null 2>"$T_TMP/none.err"
is "$?" 2 "--engine kube -f missing: a usage error"
done_testing
