#!/bin/bash
# phx-deploy --engine kube with real `podman kube play`: the bundled
# manifests (infra/kube) deploy and the whole pipeline says SUCCESS; down
# leaves nothing (the export-kube round trip: tests/deploy-kube-export.t).
# Broken variants of one workload fail FAILED with the cause named and
# nothing left behind (pods, containers, volumes, the
# podman secrets): a missing image, a crash-looping container, a
# readiness probe that never passes.  No secret in any output.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail

export PHX_STATE_DIR=$T_TMP/state
phx_stack_env kube


# --- the bundled manifests, the whole pipeline ---
P=$(phx_test_project kube)
at_exit "podman_cleanup_project $P >/dev/null 2>&1; podman secret rm $P-phoenix-secrets >/dev/null 2>&1"
t0=$(date +%s)
phx-deploy --engine kube -p "$P" up </dev/null 2>"$T_TMP/up.err" | tee "$T_TMP/up" |
    phx-probe -w 2>"$T_TMP/probe.err" | phx-functest 2>"$T_TMP/ft.err" |
    phx-secscan 2>"$T_TMP/sec.err" | phx-report -o "$T_TMP/report.json" >"$T_TMP/report" 2>"$T_TMP/report.err"
st=$?
is "$st" 0 "bundled manifests: the pipeline exits 0"
[ "$st" -eq 0 ] || diag "$(tail -n 5 "$T_TMP/up.err" "$T_TMP/probe.err" "$T_TMP/ft.err" "$T_TMP/sec.err" "$T_TMP/report.err")"
diag "kube pipeline: $(($(date +%s) - t0)) s"
is "$(jq -r .status "$T_TMP/report.json")" SUCCESS "bundled manifests: report says SUCCESS"
is "$(jq -r '[.services[] | select(.status == "healthy")] | length' "$T_TMP/report.json")" 5 \
    "bundled manifests: five healthy services"
is "$(jq -c 'select(.type == "deployment" and .status == "running") | [.engine, .project]' "$T_TMP/up")" \
    "[\"kube\",\"$P\"]" "up: a running kube deployment record"
is "$(jq -r 'select(.type == "container") | .name' "$T_TMP/up" | sort | tr '\n' ' ')" \
    "$P-n8n-pod-0-n8n $P-nca-toolkit-pod-0-httpd $P-phoenix-core-pod-0-httpd $P-revenue-db-pod-0-postgres $P-windmill-pod-0-windmill " \
    "up: a container record per pod container, podman's names"
is "$(jq -r 'select(.type == "service" and .service == "phoenix-core") | .ports[0].host_port' "$T_TMP/up")" \
    "$PHX_PORT_CORE" "up: the published port is PHX_PORT_CORE's"
is "$(podman secret ls --format '{{.Name}}' | grep -c "^$P-")" 0 "up: no podman secret outlives the play"
ID=$(jq -r 'select(.type == "deployment") | .deployment_id' "$T_TMP/up" | head -1)
phx-deploy down --volumes "$ID" </dev/null >"$T_TMP/down" 2>"$T_TMP/down.err"
is "$?" 0 "down: exit 0"
is "$(phx_left "$P")" 0 "down: nothing left"
unlike "$(cat "$T_TMP"/up* "$T_TMP"/*.err "$T_TMP/report.json" "$PHX_STATE_DIR/$ID"/*.json "$PHX_STATE_DIR/$ID"/*.yaml 2>/dev/null)" \
    "$SECRETS" "no secret in any output or state file"

# --- broken variants: one workload each ---
variant() {   # name, then the container's extra lines (YAML, 10 spaces in)
	cat >"$T_TMP/$1.yaml" <<EOT
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {WINDMILL_TOKEN: ""}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, annotations: {phx.dev/host-ports: "8080=PHX_PORT_CORE"}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      shareProcessNamespace: true
      containers:
        - name: httpd
          image: ${IMAGE:-localhost/phx-httpd:latest}
          imagePullPolicy: Never
          env:
            - name: TOKEN
              valueFrom: {secretKeyRef: {name: s, key: WINDMILL_TOKEN}}
          ports: [{containerPort: 8080, hostPort: 8080, hostIP: 127.0.0.1}]
$2
EOT
}
broken() {   # name, reasons wanted (ERE), message pattern
	P=$(phx_test_project "kube$1")
	at_exit "podman_cleanup_project $P >/dev/null 2>&1; podman secret rm $P-s >/dev/null 2>&1"
	phx-deploy -c "$T_TMP/one.yaml" --engine kube -p "$P" -f "$T_TMP/$1.yaml" up </dev/null \
	    >"$T_TMP/$1.out" 2>"$T_TMP/$1.err"
	is "$?" 1 "$1: exit 1"
	is "$(jq -r 'select(.type == "deployment") | .status' "$T_TMP/$1.out" | tail -1)" failed "$1: deployment failed"
	like "$(jq -r 'select(.type == "error") | "\(.reason) \(.service)"' "$T_TMP/$1.out" | head -1)" "^($2) web\$" \
	    "$1: reason $2, service web"
	like "$(jq -r 'select(.type == "error") | .message' "$T_TMP/$1.out" | head -1)" "$3" "$1: the message names the cause"
	is "$(phx_left "$P")" 0 "$1: nothing left behind"
	id=$(jq -r 'select(.type == "deployment") | .deployment_id' "$T_TMP/$1.out" | head -1)
	is "$(jq -r .result "$PHX_STATE_DIR/$id/state.json")" FAILED "$1: state.json FAILED"
	unlike "$(cat "$T_TMP/$1".* "$PHX_STATE_DIR/$id"/*.json)" "$SECRETS" "$1: no secret in any output"
}
printf 'deployment:\n  retries: 1\n  timeout: 30s\n' >"$T_TMP/one.yaml"

IMAGE=localhost/phx-nothing-here:latest variant missing ''
broken missing image_missing 'phx-nothing-here'

variant crash '          command: [/bin/sh, -c, "echo boom-'$$' >&2; sleep 1; exit 3"]'
broken crash 'exited|crash_loop' "boom-$$"

variant unready '          readinessProbe: {exec: {command: [/bin/false]}, periodSeconds: 1, failureThreshold: 3}'
broken unready not_ready 'readiness probe of container .* failed'
done_testing
