#!/bin/bash
# phx-deploy --engine kube --kube-context: the cluster path, WITHOUT a
# cluster.  deployment.kubectl points at tests/data/kubectl/fake-kubectl,
# which replays saved `kubectl get pods -o json` and `kubectl get events
# -o json` output (tests/data/kubectl/*.json, written after what kubectl
# 1.3x prints) and logs each call's argv and standard input.  So this
# covers the record building from that output (compared with the golden
# files tests/data/kubectl/*.golden.ndjson; PHX_REGOLD=1 rewrites them),
# the exact kubectl command sequence, the clean-up of a failed attempt,
# port-forwards and down, and that no secret reaches argv or any file;
# not what a real API server or kubelet does.  No Podman, no cluster.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/ports.sh"

D=$TOP/tests/data/kubectl
SECRET=kc-secret-Vq83nZp2
SECRET64=$(printf %s "$SECRET" | base64)
export KUBECONFIG=/dev/null   # never an accidental cluster
export PHX_DEPLOYMENT_KUBECTL=$D/fake-kubectl PHX_DEPLOYMENT_RETRIES=1
export WEB_TOKEN=$SECRET KC_EVENTS=$D/events.json
KC_PORT=$(free_port)
export KC_PORT

# run NAME PODS [ROLLOUT]: phx-deploy up with the replayed pods; the
# records normalized in $T_TMP/NAME.norm, the kubectl calls in NAME.kc
run() {
	export KC_LOG=$T_TMP/$1.kc KC_PODS=$D/pods-$2.json KC_ROLLOUT=${3:-0}
	export PHX_STATE_DIR=$T_TMP/state-$1
	phx-deploy --engine kube --kube-context kind-test -f "$D/web.yaml" -p kc up \
	    </dev/null >"$T_TMP/$1.out" 2>"$T_TMP/$1.err"
	echo $? >"$T_TMP/$1.status"
	normalize <"$T_TMP/$1.out" | jq -c --arg top "$TOP/" \
	    'if .deployment_id then .deployment_id = "ID" else . end |
	    if .manifests then .manifests |= sub($top; "") else . end' |
	    sed "s/$KC_PORT/PORT/g" >"$T_TMP/$1.norm"
	ID=$(jq -r 'select(.type == "deployment") | .deployment_id' "$T_TMP/$1.out" | head -1)
}

# golden NAME: the records as tests/data/kubectl/NAME.golden.ndjson has them
golden_is() {
	if [ -n "${PHX_REGOLD:-}" ]; then
		cp "$T_TMP/$1.norm" "$D/$1.golden.ndjson"
	fi
	if cmp -s "$T_TMP/$1.norm" "$D/$1.golden.ndjson"; then
		ok 0 "$1: the records are the golden ones"
	else
		ok 1 "$1: the records are the golden ones"
		diff -u "$D/$1.golden.ndjson" "$T_TMP/$1.norm" | head -30 | sed 's/^/# /' >&2
		sed 's/^/# stderr: /' "$T_TMP/$1.err" | head -5 >&2
	fi
}

calls() { sed 's/^--context kind-test //; s/ -l io.podman.compose.project=kc//' "$T_TMP/$1.kc" | tr '\n' ';'; }

# --- a healthy pod: up, the port-forward, down ---
run healthy healthy
is "$(cat "$T_TMP/healthy.status")" 0 "healthy: exit 0"
golden_is healthy
is "$(calls healthy)" \
    "get persistentvolumeclaims -o json;apply --server-side --field-manager=phx -f -;rollout status deployment/web --timeout=299s;get pods -o json;get events -o json;port-forward --address 127.0.0.1 deployment/web $KC_PORT:8080;" \
    "healthy: kubectl apply, rollout status, get pods and events, port-forward, in that order"
pf=$(jq -r '.port_forwards[0].pid' "$PHX_STATE_DIR/$ID/state.json")
check "healthy: the port-forward runs after up (pid in state.json)" kill -0 "$pf"
at_exit "kill -- -$pf 2>/dev/null"   # when down did not
apply_in=$(ls -v "$T_TMP"/healthy.kc.stdin.* | head -1)
like "$(cat "$apply_in")" "\"WEB_TOKEN\":\"$SECRET64\"" "healthy: the Secret reaches kubectl apply on its standard input"
like "$(cat "$apply_in")" '"com.docker.compose.service":"web"' "healthy: the pods are labelled with their service"
unlike "$(cat "$apply_in")" 'hostPort' "healthy: no hostPort goes to the cluster"
# phx-probe on up's records reaches the service through the forward
# (the stand-in's forward is a local HTTP server, not a pod)
phx-probe <"$T_TMP/healthy.out" >"$T_TMP/probe.out" 2>"$T_TMP/probe.err"
is "$?:$(jq -c 'select(.type == "health") | [.service, .status, .target]' "$T_TMP/probe.out")" \
    "0:[\"web\",\"healthy\",\"127.0.0.1:$KC_PORT\"]" "phx-probe: web healthy through its port-forward"
phx-deploy status "$ID" </dev/null >"$T_TMP/status.out" 2>"$T_TMP/status.err"
is "$?:$(jq -c 'select(.type != "phase") | [.type, .status // .state, .name // .project]' "$T_TMP/status.out" | tr -d '\n')" \
    '0:["container","running","web-7d9f8c6b5-x2x4q/httpd"]["deployment","running","kc"]' \
    "status: the pod's container from kubectl get pods"
phx-deploy down "$ID" </dev/null >"$T_TMP/down.out" 2>"$T_TMP/down.err"
is "$?" 0 "down: exit 0"
is "$(tail -n 3 "$T_TMP/healthy.kc" | sed 's/^--context kind-test //; s/ -l [^ ]*//' | tr '\n' ';')" \
    "get pods -o json;logs web-7d9f8c6b5-x2x4q -c httpd --timestamps;delete --ignore-not-found --wait=false -f -;" \
    "down: the logs kept, then kubectl delete"
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status"; }
for _ in 1 2 3 4 5 6 7 8 9 10; do gone "$pf" && break; sleep 0.2; done
check "down: the port-forward is ended" gone "$pf"
del_in=$(ls -v "$T_TMP"/healthy.kc.stdin.* | tail -1)
is "$(jq -sc '[.[] | .kind + "/" + .metadata.name]' <(grep -v '^---' "$del_in"))" \
    '["Secret/web-secrets","Deployment/web","Service/web"]' "down: deletes what was applied, by name only"
is "$(jq -c 'select(.type == "deployment") | [.status, .engine, .kube_context]' "$T_TMP/down.out")" \
    '["down","kube","kind-test"]' "down: the deployment record"
test -s "$PHX_STATE_DIR/$ID/logs/down/web-7d9f8c6b5-x2x4q_httpd.log"
ok "$?" "down: the container's log is kept"

# --- failures: the cause named, what was applied deleted, logs kept ---
failure() {   # name, pods, rollout status, reason
	run "$1" "$2" "$3"
	is "$(cat "$T_TMP/$1.status")" 1 "$1: exit 1"
	golden_is "$1"
	is "$(jq -r 'select(.type == "error") | .reason' "$T_TMP/$1.out")" "$4" "$1: reason $4"
	is "$(tail -n 1 "$T_TMP/$1.kc" | sed 's/^--context kind-test //')" \
	    "delete --ignore-not-found --wait=false -f -" "$1: the clean-up deletes what the attempt applied"
	test -s "$PHX_STATE_DIR/$ID/logs/attempt-1/kubectl-apply.log" &&
	    ls "$PHX_STATE_DIR/$ID/logs/attempt-1/"*_httpd.log >/dev/null 2>&1
	ok "$?" "$1: kubectl's output and the container's log are kept"
	is "$(jq -r .stack "$PHX_STATE_DIR/$ID/state.json")" removed "$1: state.json: stack removed"
}
failure crashloop crashloop 1 crash_loop
like "$(calls crashloop)" "logs web-7d9f8c6b5-k8w2m -c httpd --tail=50 --previous;" \
    "crashloop: the log of the run that crashed (--previous)"
failure oomkilled oomkilled 0 exited
is "$(jq -c 'select(.type == "container") | [.oom_killed, .restarts]' "$T_TMP/oomkilled.out")" \
    '[true,1]' "oomkilled: the container record says oom_killed, one restart"
failure imagepull imagepull 1 image_missing
failure notready notready 1 not_ready
like "$(jq -r 'select(.type == "error") | .message' "$T_TMP/notready.out")" \
    "statuscode: 503" "notready: the latest Unhealthy event's message"

# --- secrets: never on a command line, never in a file phx wrote ---
unlike "$(cat "$T_TMP"/*.kc)" "$SECRET|$SECRET64" "no secret in any kubectl argv"
unlike "$(cat "$T_TMP"/*.out "$T_TMP"/*.err; find "$T_TMP"/state-* -type f -exec cat {} +)" \
    "$SECRET|$SECRET64" "no secret in any record, diagnostic, state or log file"

# --- the rule: no context, no cluster ---
KC_LOG=$T_TMP/plain.kc phx-deploy --engine kube -n -f "$D/web.yaml" -p kc up </dev/null >/dev/null 2>&1
is "$?" 0 "without --kube-context: the podman path (-n plans)"
check "without --kube-context: kubectl is never run" test ! -e "$T_TMP/plain.kc"
phx-deploy --kube-context kind-test -n up </dev/null >/dev/null 2>"$T_TMP/usage.err"
is "$?" 2 "--kube-context without --engine kube: a usage error"
done_testing
