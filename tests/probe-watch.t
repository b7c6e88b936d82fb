#!/bin/bash
# phx-probe -w watches the deployment's containers through podman events:
# a container that exits, restarts or is SIGKILLed makes its service
# unhealthy at once, named with the cause; at the end one podman inspect
# gives each container's final record
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail
PROJ=$(phx_test_project watch)
# a crash-looping container can refuse one removal: try again
at_exit "podman_cleanup_project $PROJ >/dev/null 2>&1 || { sleep 1; podman_cleanup_project $PROJ; }"
read -r P_WEB P_EXIT P_LOOP P_NEVER P_KILL <<<"$(free_port 5 | tr '\n' ' ')"

run() {   # SERVICE [podman run options] [-- sh command]: prints the id
	local svc=$1 opts=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	podman run -d --name "${PROJ}_$svc" --label "$PHX_PROJECT_LABEL=$PROJ" \
	    --label "com.docker.compose.service=$svc" "${opts[@]}" \
	    ${1:+--entrypoint sh} localhost/phx-httpd ${1:+-c "$1"}
}
# web and exit answer on their port; exit stops after 3 s; loop answers,
# exits after 2 s and restarts; never and kill answer nothing and exit
ID_WEB=$(run web -p "127.0.0.1:$P_WEB:8080") &&
ID_EXIT=$(run exit -p "127.0.0.1:$P_EXIT:8080" -- '/bin/phx-httpd & sleep 3; exit 3') &&
ID_LOOP=$(run loop --restart always -p "127.0.0.1:$P_LOOP:8080" -- \
    '/bin/phx-httpd & sleep 2; exit 4') &&
ID_NEVER=$(run never -- 'sleep 2') &&
# (exit $?: a shell would exec its last command, and PID 1 ignores SIGKILL)
ID_KILL=$(run kill -m 6m -- 'sleep 2; sh -c "kill -9 \$\$"; exit $?') ||
    { echo "Bail out! podman run failed"; exit 1; }

now() { date -u +%Y-%m-%dT%H:%M:%S.000Z; }
dep() {
	printf '{"v":1,"type":"deployment","deployment_id":null,"ts":"%s","source":"phx-deploy","status":"running","project":"%s"}\n' "$(now)" "$PROJ"
}
svc() {   # SERVICE ID PORT
	printf '{"v":1,"type":"service","deployment_id":null,"ts":"%s","source":"phx-deploy","service":"%s","project":"%s","container_id":"%s","container_name":"%s","checks":[{"kind":"tcp","target":"127.0.0.1:%s"}]}\n' \
	    "$(now)" "$1" "$PROJ" "$2" "${PROJ}_$1" "$3"
}
# what the containers do, unmended: the recovery policy's restart is
# tests/probe-recovery.t's
printf 'recovery: {health: abort}\n' >"$T_TMP/abort.yaml"
T0=$(date +%s)
{
	dep
	svc web "$ID_WEB" "$P_WEB"
	svc exit "$ID_EXIT" "$P_EXIT"
	svc loop "$ID_LOOP" "$P_LOOP"
	svc never "$ID_NEVER" "$P_NEVER"
	svc kill "$ID_KILL" "$P_KILL"
	sleep 6
} | phx-probe -w -d 30s -c "$T_TMP/abort.yaml" >"$T_TMP/out" 2>"$T_TMP/err"
is $? 1 "exit 1: some unhealthy"
T1=$(date +%s)
ok $((T1 - T0 > 15)) "ends soon after its input, not at the deadline ($((T1 - T0)) s)"

health() { jq -r --arg s "$1" "select(.type == \"health\" and .service == \$s) | $2" "$T_TMP/out"; }
last() { health "$1" "$2" | tail -n 1; }
cont() { jq -r --arg s "$1" "select(.type == \"container\" and .service == \$s) | $2" "$T_TMP/out"; }

# a healthy container: one health record, one final container record
is "$(health web .status)" healthy "healthy container: one health record, healthy"
is "$(cont web '[.state, .restarts, .event // "final"] | join(" ")')" "running 0 final" \
    "healthy container: only the final container record"

# a container that exits while its service is healthy
is "$(health exit '[.status, .was_healthy // false] | join(" ")')" \
    "$(printf 'healthy false\nunhealthy true')" "exit: healthy, then unhealthy with was_healthy"
is "$(last exit .reason)" exited "exit: reason exited"
like "$(last exit .message)" "container ${PROJ}_exit exited with code 3" \
    "exit: the message names the container and the exit code"
is "$(cont exit '.event // "final"' | head -n 1)" died "exit: a container record for the event"
is "$(cont exit '[.state, .exit_code] | join(" ")' | tail -n 1)" "exited 3" \
    "exit: the final record says exited 3"
# latency: from the container's exit to the health record
ms='def ms: capture("^(?<s>[^.Z]+)(\\.(?<f>[0-9]+))?Z$") | ((.s + "Z") | fromdate) * 1000 + (((.f // "") + "000")[0:3] | tonumber);'
FIN=$(podman inspect --format json "$ID_EXIT" | jq -r "$ms .[0].State.FinishedAt | sub(\"[+]00:00$\"; \"Z\") | ms")
REC=$(jq -r "$ms select(.type == \"health\" and .service == \"exit\" and .was_healthy) | .ts | ms" "$T_TMP/out")
EVT=$(jq -r "$ms select(.type == \"container\" and .service == \"exit\" and .event == \"died\") | .event_ts | ms" "$T_TMP/out")
diag "exit -> health record: $((REC - FIN)) ms; podman event -> record: $((REC - EVT)) ms"
ok $((REC - FIN > 1000 || REC < FIN)) "exit: the health record within 1 s of the exit ($((REC - FIN)) ms)"

# a crash loop: restart always
is "$(last loop '[.status, .reason] | join(" ")')" "unhealthy restarted" \
    "crash loop: unhealthy, reason restarted"
like "$(last loop .message)" "container ${PROJ}_loop restarted after it exited with code 4" \
    "crash loop: the message says it restarted and why"
ok $(($(cont loop .restarts | tail -n 1) < 1)) "crash loop: the final record counts the restarts"

# a service still waiting when its container is gone for good
is "$(health never '[.status, .reason] | join(" ")')" "unhealthy exited" \
    "waiting service: fails fast with reason exited"
like "$(health never .message)" "container ${PROJ}_never exited with code 0" \
    "waiting service: the message names the container"

# killed with SIGKILL under a memory limit
is "$(health kill .reason)" exited "SIGKILL: reason exited"
like "$(health kill .message)" "exited with code 137: killed by SIGKILL, as the OOM killer does; memory limit 6 MiB" \
    "SIGKILL: the message says SIGKILL and the limit"
like "$(cont kill .cause | head -n 1)" "SIGKILL.*6 MiB" "SIGKILL: the container record's cause"
is "$(cont kill '.mem_limit_bytes' | tail -n 1)" 6291456 "SIGKILL: the final record gives the limit"

is "$(jq -r 'select(.type == "phase" and .event == "end") | .counts | [.healthy, .unhealthy] | join(" ")' "$T_TMP/out")" \
    "1 4" "the last phase record counts 1 healthy, 4 unhealthy"

# without a deployment record, nothing is watched: no container record
svc web "$ID_WEB" "$P_WEB" | phx-probe -w -d 30s -c /dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$(jq -r 'select(.type == "container") | .service' "$T_TMP/out")" "" \
    "no deployment record: no container record"

done_testing
