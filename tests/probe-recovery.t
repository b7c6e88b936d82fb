#!/bin/bash
# the recovery policy for health (phx(7) RECOVERY), against real
# containers: a non-critical service whose container dies once is
# restarted once and recovers (SUCCESS, recovered 1); a critical one is
# not restarted (FAILED); one that dies again after its restart fails
# with the restart's outcome failed; under `continue` a dead service is a
# warning, not a failure
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail
export PHX_STATE_DIR=$T_TMP/state
PROJ=$(phx_test_project recovery)
at_exit "podman_cleanup_project $PROJ >/dev/null 2>&1 || { sleep 1; podman_cleanup_project $PROJ; }"
read -r P_ONCE P_CRIT P_AGAIN P_CONT <<<"$(free_port 4 | tr '\n' ' ')"

# /tmp of a container outlives `podman restart`: the marker says "second
# run".  The first run lives 6 s, so that the container dies while
# phx-probe watches (an exit before it starts is only seen at the end)
ONCE='if [ -e /tmp/ran ]; then exec /bin/phx-httpd; fi; touch /tmp/ran; /bin/phx-httpd & sleep 6; exit 3'
AGAIN='if [ -e /tmp/ran ]; then /bin/phx-httpd & sleep 2; exit 3; fi; touch /tmp/ran; /bin/phx-httpd & sleep 6; exit 3'
run() {   # SERVICE PORT COMMAND: the id in $T_TMP/id.SERVICE
	podman run -d --name "${PROJ}_$1" --label "$PHX_PROJECT_LABEL=$PROJ" \
	    --label "com.docker.compose.service=$1" -p "127.0.0.1:$2:8080" \
	    --entrypoint sh localhost/phx-httpd -c "$3" >"$T_TMP/id.$1"
}
T0=$(date +%s)
run once "$P_ONCE" "$ONCE" & run crit "$P_CRIT" "$ONCE" & run again "$P_AGAIN" "$AGAIN" &
wait
ID_ONCE=$(cat "$T_TMP/id.once") ID_CRIT=$(cat "$T_TMP/id.crit") ID_AGAIN=$(cat "$T_TMP/id.again")
[ -n "$ID_ONCE" ] && [ -n "$ID_CRIT" ] && [ -n "$ID_AGAIN" ] ||
    { echo "Bail out! podman run failed"; exit 1; }
[ $(($(date +%s) - T0)) -lt 5 ] || diag "podman run took $(($(date +%s) - T0)) s: the first exits may come before the watch"

now() { date -u +%Y-%m-%dT%H:%M:%S.000Z; }
dep() {
	printf '{"v":1,"type":"deployment","deployment_id":null,"ts":"%s","source":"phx-deploy","status":"running","project":"%s"}\n' "$(now)" "$PROJ"
}
svc() {   # SERVICE ID PORT
	printf '{"v":1,"type":"service","deployment_id":null,"ts":"%s","source":"phx-deploy","service":"%s","project":"%s","container_id":"%s","container_name":"%s","checks":[{"kind":"tcp","target":"127.0.0.1:%s"}]}\n' \
	    "$(now)" "$1" "$PROJ" "$2" "${PROJ}_$1" "$3"
}
cat >"$T_TMP/crit.yaml" <<'YAML'
services:
  crit: {critical: true}
YAML
probe() {   # CONFIG SECONDS SERVICE...: the stream, held open SECONDS
	local cfg=$1 secs=$2
	shift 2
	{
		dep
		for s in "$@"; do
			case $s in
			once) svc once "$ID_ONCE" "$P_ONCE" ;;
			crit) svc crit "$ID_CRIT" "$P_CRIT" ;;
			again) svc again "$ID_AGAIN" "$P_AGAIN" ;;
			cont) svc cont "$ID_CONT" "$P_CONT" ;;
			esac
		done
		sleep "$secs"
	} | phx-probe -w -d 30s -c "$cfg"
}
probe "$T_TMP/crit.yaml" 12 once crit again >"$T_TMP/out" 2>"$T_TMP/err"
is $? 1 "exit 1: the critical service and the one that died again fail"

rec() { jq -r --arg s "$1" "select(.type == \"recovery\" and .service == \$s) | $2" "$T_TMP/out"; }
last() { jq -r --arg s "$1" "select(.type == \"health\" and .service == \$s) | $2" "$T_TMP/out" | tail -n 1; }
cont() { jq -r --arg s "$1" "select(.type == \"container\" and .service == \$s and (.event | not)) | $2" "$T_TMP/out"; }

# died once: restarted once, healthy again
is "$(rec once '[.category, .action, .outcome, .container] | join(" ")')" \
    "health restart recovered $ID_ONCE" "once: one restart record, recovered"
like "$(rec once .why)" "container ${PROJ}_once exited with code 3" "once: why names the container and the cause"
is "$(last once .status)" healthy "once: its last health record is healthy"
is "$(cont once '[.state, .restarts] | join(" ")')" "running 0" \
    "once: running at the end, no restart of its own counted"
ok "$(jq -s '[.[] | select(.type == "recovery" or (.type == "health" and .service == "once"))] | map(.type) | index("recovery") < rindex("health") | not' "$T_TMP/out" | grep -c true)" \
    "once: the recovery record comes before the last health record"

# critical: no restart
is "$(rec crit '[.action, .outcome, .critical] | join(" ")')" "abort failed true" \
    "crit: an abort record, critical"
is "$(last crit '[.status, .reason] | join(" ")')" "unhealthy exited" "crit: unhealthy, exited"
is "$(cont crit .state)" exited "crit: not restarted"

# died again after its restart
is "$(rec again .outcome | tr '\n' ' ')" "recovered failed " \
    "again: recovered, then a second record: failed"
like "$(rec again .why | tail -n 1)" "again after its restart" "again: why says it failed again"
is "$(last again '[.status, .reason] | join(" ")')" "unhealthy exited" "again: unhealthy, exited"

# the verdict of once alone: its records, and the phase as it would have
# ended without the other two
jq -c 'select(.service != "crit" and .service != "again") |
    if .type == "phase" and .event == "end" then .status = "ok" else . end' "$T_TMP/out" |
    phx-report -c /dev/null -o "$T_TMP/rep.json" >"$T_TMP/text" 2>&1
is $? 0 "once alone: phx-report exit 0"
like "$(cat "$T_TMP/text")" "SUCCESS.*recovered 1" "once alone: SUCCESS, recovered 1 in the summary"
is "$(jq -r '.recovery.recovered' "$T_TMP/rep.json")" 1 "once alone: report.json says recovered 1"
phx-report -c /dev/null -o "$T_TMP/rep2.json" <"$T_TMP/out" >"$T_TMP/text" 2>&1
is $? 1 "all three: FAILED"
like "$(cat "$T_TMP/text")" "service crit" "all three: the critical service is named"

# continue: the dead service is a warning
printf 'recovery: {health: continue}\n' >"$T_TMP/cont.yaml"
run cont "$P_CONT" 'sleep 2; exit 5' || { echo "Bail out! podman run failed"; exit 1; }
ID_CONT=$(cat "$T_TMP/id.cont")
probe "$T_TMP/cont.yaml" 4 cont >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "continue: phx-probe exit 0"
is "$(rec cont '[.action, .outcome] | join(" ")')" "continue continued" "continue: a continue record"
is "$(cont cont .state)" exited "continue: not restarted"
phx-report -c /dev/null -o "$T_TMP/rep3.json" <"$T_TMP/out" >"$T_TMP/text" 2>&1
is $? 0 "continue: SUCCESS"
like "$(cat "$T_TMP/text")" "warning" "continue: the summary says warning"

done_testing
