#!/bin/bash
# A one-shot job: a service another depends on with condition
# service_completed_successfully.  Exit 0 is its success: phx-deploy
# confirms the stack once it completed, its container record says
# "completed", it is no service to probe, and the run is SUCCESS.  A job
# that exits non-zero fails the deployment with its code and log.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"
. "$TOP/tests/ports.sh"

phx_images_or_bail

D=tests/data/phx-deploy
export PHX_STATE_DIR=$T_TMP/state WEB_PORT
WEB_PORT=$(free_port)
P=$(phx_test_project jobs)
at_exit "podman_cleanup_project $P >/dev/null 2>&1"
printf 'services:\n  web:\n    url: http://127.0.0.1:%s/\n' "$WEB_PORT" >"$T_TMP/cfg.yaml"

JOB_EXIT=0 PHX_DEPLOYMENT_RETRIES=1 phx-deploy -c "$T_TMP/cfg.yaml" -f $D/job.yaml -p "$P" up </dev/null |
    phx-probe -w -c "$T_TMP/cfg.yaml" -d 30s 2>"$T_TMP/probe.err" | phx-report >"$T_TMP/sum" 2>"$T_TMP/rep.err"
is "${PIPESTATUS[*]}" "0 0 0" "job exits 0: deploy, probe and report exit 0"
R=$(ls -d "$PHX_STATE_DIR"/deploy_* | tail -1)/report.json
is "$(jq -r .status "$R")" SUCCESS "job exits 0: SUCCESS"
is "$(jq -r '.services | keys | join(" ")' "$R")" web "job exits 0: web is a service to probe, migrate is not"
like "$(cat "$T_TMP/sum")" 'containers 1/1 running \(and 1 one-shot completed\)' \
    "job exits 0: the summary counts it completed, not as a container down"
is "$(jq -r '.container_metrics.resource_usage.containers | to_entries[] | select(.key | test("migrate")) | .value.state' "$R" | sort -u)" completed \
    "job exits 0: its container's state is completed"
ID=$(basename "$(dirname "$R")")
phx-deploy status "$ID" </dev/null >"$T_TMP/status" 2>/dev/null
is "$?" 0 "status: exit 0, the completed job is no service down"
is "$(jq -r 'select(.type == "container") | "\(.service) \(.state)"' "$T_TMP/status" | sort | tr '\n' ' ')" \
    "migrate completed web running " "status: the job completed, web running"
phx-deploy down "$ID" </dev/null >/dev/null 2>&1
check "job exits 0: down leaves nothing" phx_nothing_left "$P"

JOB_EXIT=3 PHX_DEPLOYMENT_RETRIES=1 phx-deploy -c "$T_TMP/cfg.yaml" -f $D/job.yaml -p "$P" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 1 "job exits 3: the deployment fails"
is "$(jq -r 'select(.type == "error") | "\(.reason) \(.service) \(.exit_code)"' "$T_TMP/out")" "exited migrate 3" \
    "job exits 3: reason exited, the job and its code"
like "$(jq -r 'select(.type == "error") | .message' "$T_TMP/out")" "last log: migrated" "job exits 3: its last log line"
check "job exits 3: cleaned up" phx_nothing_left "$P"
done_testing
