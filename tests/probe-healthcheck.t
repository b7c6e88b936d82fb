#!/bin/bash
# phx-probe runs `podman healthcheck run` for healthcheck checks, several at
# once in its event loop, next to an HTTP check of the same container
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail
PROJ=$(phx_test_project probe)
at_exit "podman_cleanup_project $PROJ"
PORT=$(free_port)
run_web() {   # NAME [PORT]: a phx-httpd container healthy once /tmp/ok exists
	podman run -d --name "${PROJ}_$1" --label "$PHX_PROJECT_LABEL=$PROJ" \
	    ${2:+-p 127.0.0.1:$2:8080} --health-cmd 'test -e /tmp/ok' \
	    --health-interval 0 localhost/phx-httpd >/dev/null
}
run_web good "$PORT" || { echo "Bail out! podman run failed"; exit 1; }
run_web bad || { echo "Bail out! podman run failed"; exit 1; }
podman exec "${PROJ}_good" touch /tmp/ok
wait_port "$PORT" || { echo "Bail out! container port did not open"; exit 1; }

rec() {
	printf '{"v":1,"type":"service","deployment_id":null,"ts":"2026-11-27T12:00:00.000Z","source":"phx-deploy","service":"%s","checks":[%s]}\n' "$1" "$2"
}
hc() { printf '{"kind":"healthcheck","target":"%s","retries":2,"backoff_initial_ms":100}' "$1"; }
{
	rec good "$(hc "${PROJ}_good"),{\"kind\":\"http\",\"target\":\"http://127.0.0.1:$PORT/\",\"retries\":1}"
	rec bad "$(hc "${PROJ}_bad")"
	rec missing "$(hc "${PROJ}_nosuch")"
} | phx-probe -c /dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is $? 1 "exit 1: some unhealthy"
field() { jq -r --arg s "$1" "select(.type == \"health\" and .service == \$s) | $2" "$T_TMP/out"; }
is "$(field good '[.check, .status] | join(" ")')" "healthcheck+http healthy" \
    "healthy container: healthcheck and HTTP both pass"
is "$(field bad '[.status, .reason, .attempts] | join(" ")')" "unhealthy status 2" \
    "unhealthy container: reason status after 2 attempts"
is "$(field missing .reason)" protocol "no such container: reason protocol"
like "$(field missing .message)" "no such container|no container with name" \
    "no such container: podman's words in the message"

# a declared healthcheck runs by default next to the services.yaml check:
# bad's healthcheck fails while the port checked answers
cat >"$T_TMP/compose.yaml" <<EOF
services:
  bad:
    image: localhost/phx-httpd
    container_name: ${PROJ}_bad
    healthcheck:
      test: ["CMD", "test", "-e", "/tmp/ok"]
EOF
svcyaml() {   # [LINE]: bad's services.yaml entry, deployed dry and probed
	printf 'services:\n  bad:\n    url: http://127.0.0.1:%s/\n    retries: 1\n%s' \
	    "$PORT" "${1:+    $1
}" >"$T_TMP/services.yaml"
	phx-deploy -n -c "$T_TMP/services.yaml" -f "$T_TMP/compose.yaml" -p "$PROJ" up </dev/null |
	    phx-probe -r 2 -c "$T_TMP/services.yaml" >"$T_TMP/out" 2>"$T_TMP/err"
}
svcyaml
is $? 1 "declared healthcheck: exit 1"
is "$(field bad '[.check, .status, .reason] | join(" ")')" "http+healthcheck unhealthy status" \
    "declared healthcheck: unhealthy although the port answers"
svcyaml "healthcheck: false"
is "$(field bad '[.check, .status] | join(" ")')" "http healthy" \
    "healthcheck: false: only the services.yaml check"

# the container becomes healthy while phx-probe waits
( sleep 2; podman exec "${PROJ}_bad" touch /tmp/ok ) &
at_exit "kill $! 2>/dev/null"
rec bad "$(printf '{"kind":"healthcheck","target":"%s"}' "${PROJ}_bad")" |
    phx-probe -w --deadline 60s -c /dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "wait mode: the healthcheck turns healthy"
is "$(field bad .status)" healthy "wait mode: reported healthy"

done_testing
