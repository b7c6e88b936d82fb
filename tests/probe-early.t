#!/bin/bash
# phx-probe -w starts a configured service's checks when its container
# starts (a podman "start" event), before phx-deploy's service record; the
# verdict waits for that record, and a service whose record never comes
# is not reported; a healthcheck the compose file declares starts early too
# and is not run again by the confirm pass.  Podman is a stand-in script
# here: its events and inspect are given.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/ports.sh"

PORT=$(free_port)
mkdir -p "$T_TMP/www"
echo ok >"$T_TMP/www/health"
busybox httpd -f -v -p "127.0.0.1:$PORT" -h "$T_TMP/www" 2>"$T_TMP/httpd.log" &
hpid=$!
at_exit "kill $hpid 2>/dev/null"
wait_port "$PORT" || { echo "Bail out! busybox httpd did not start"; exit 1; }

cat >"$T_TMP/podman" <<'EOF'
#!/bin/sh
# events: two containers start (web, and ghost that no record names)
if [ "$1" = events ]; then
	for s in web ghost; do
		printf '{"ID":"id%s","Name":"p1_%s_1","Status":"start","Type":"container","Time":"%s","Attributes":{"com.docker.compose.service":"%s","io.podman.compose.project":"p1"}}\n' \
		    "$s" "$s" "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" "$s"
	done
	exec sleep 30
fi
# web's healthcheck (the compose file declares it): each run logged
case "$*" in
*healthcheck*run*) date +%s%3N >>"${0%/*}/hc.log"; exit 0 ;;
*) echo '[]' ;;
esac
EOF
cat >"$T_TMP/compose.yaml" <<'EOF'
services:
  web:
    image: localhost/phx-httpd
    healthcheck:
      test: ["CMD-SHELL", "true"]
  ghost:
    image: localhost/phx-httpd
EOF
chmod +x "$T_TMP/podman"
cat >"$T_TMP/cfg.yaml" <<EOF
deployment:
  podman: $T_TMP/podman
services:
  web:
    url: http://127.0.0.1:$PORT/health
  ghost:
    url: http://127.0.0.1:$PORT/health
EOF
ID=deploy_20261202_120000
rec() { printf '{"v":1,"type":"%s","deployment_id":"%s","ts":"2026-12-02T12:00:00.000Z","source":"test",%s}\n' "$1" "$ID" "$2"; }
{
	rec deployment "\"status\":\"starting\",\"project\":\"p1\",\"compose_file\":\"$T_TMP/compose.yaml\""
	sleep 1.5
	grep -c 'response:200' "$T_TMP/httpd.log" >"$T_TMP/before" || true
	date +%s%3N >"$T_TMP/sent"
	rec service "\"service\":\"web\",\"checks\":[{\"kind\":\"http\",\"target\":\"http://127.0.0.1:$PORT/health\"},{\"kind\":\"healthcheck\",\"target\":\"p1_web_1\"},{\"kind\":\"tcp\",\"target\":\"127.0.0.1:$PORT\"}]"
	sleep 0.5
} | phx-probe -w -d 20s -c "$T_TMP/cfg.yaml" >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "exit 0"
like "$(cat "$T_TMP/before")" '^[1-9]' "web was checked before its service record came (its container started)"
is "$(jq -r 'select(.type == "health") | .service + "=" + .status' "$T_TMP/out" | tr '\n' ' ')" \
    "web=healthy " "one health record, web's: ghost's record never came, so it is not reported"
is "$(jq -r 'select(.type == "health") | .check' "$T_TMP/out")" "http+healthcheck+tcp" \
    "the record's check that the configuration lacks (tcp) was added, the http one and the healthcheck not twice"
is "$(awk -v t="$(cat "$T_TMP/sent")" '$1 < t' "$T_TMP/hc.log" | wc -l)" 1 \
    "the healthcheck the compose file declares ran before the record came"
is "$(wc -l <"$T_TMP/hc.log")" 1 "and once only: the confirm pass asks the endpoints, not podman exec"
is "$(jq -c 'select(.type == "phase" and .event == "end") | .counts' "$T_TMP/out")" \
    '{"healthy":1,"unhealthy":0}' "counts: web only"
health_ms=$(jq -r 'select(.type == "health") | .ts' "$T_TMP/out" |
    python3 -c 'import sys, datetime; print(int(datetime.datetime.strptime(sys.stdin.read().strip(), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000))')
ok $(( health_ms - $(cat "$T_TMP/sent") < 300 ? 0 : 1 )) \
    "the verdict goes out as the record comes ($(( health_ms - $(cat "$T_TMP/sent") )) ms), not after a first attempt"
# a declared healthcheck waits until the service's endpoint answers, then
# runs at once (a podman exec costs CPU the starting stack needs)
mkdir -p "$T_TMP/www2"
cat >"$T_TMP/podman3" <<'EOF'
#!/bin/sh
date +%s%3N >>"${0%/*}/hc3.log"
up=0
[ -e "${0%/*}/flag" ] && up=1
sleep 0.3
[ "$up" = 1 ]
EOF
chmod +x "$T_TMP/podman3"
printf 'deployment:\n  podman: %s\n' "$T_TMP/podman3" >"$T_TMP/cfg3.yaml"
PORT3=$(free_port)
busybox httpd -f -p "127.0.0.1:$PORT3" -h "$T_TMP/www2" 2>/dev/null &
at_exit "kill $! 2>/dev/null"
wait_port "$PORT3" || { echo "Bail out! busybox httpd did not start"; exit 1; }
{
	rec service "\"service\":\"db\",\"checks\":[{\"kind\":\"http\",\"target\":\"http://127.0.0.1:$PORT3/health\",\"interval_ms\":10000},{\"kind\":\"healthcheck\",\"target\":\"db_1\",\"interval_ms\":10000}]"
	sleep 3
	echo ok >"$T_TMP/www2/health"
	touch "$T_TMP/flag"
	date +%s%3N >"$T_TMP/up3"
	sleep 2.5
} | phx-probe -w -d 20s -c "$T_TMP/cfg3.yaml" >"$T_TMP/out3" 2>"$T_TMP/err3"
is $? 0 "slow healthcheck: exit 0"
h3=$(jq -r 'select(.type == "health") | .ts' "$T_TMP/out3" |
    python3 -c 'import sys, datetime; print(int(datetime.datetime.strptime(sys.stdin.read().strip(), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000))')
ok $(( h3 - $(cat "$T_TMP/up3") < 1000 ? 0 : 1 )) \
    "the healthcheck was tried as the http check passed: healthy $(( h3 - $(cat "$T_TMP/up3") )) ms after the service came up"
is "$(awk -v t="$(cat "$T_TMP/up3")" '$1 < t' "$T_TMP/hc3.log" | wc -l)" 0 \
    "no podman healthcheck run while the service's endpoint did not answer (it could only fail)"

# a deployment that fails before any service record: the container of a
# service started early dies while phx-deploy cleans up.  It is
# phx-deploy's to judge (the failed deployment says so); phx-probe does
# not restart it, and ends with the input (it once restarted it, counted
# the service twice as pending and waited for good)
cat >"$T_TMP/podman4" <<'EOF'
#!/bin/sh
if [ "$1" = events ]; then
	ev() { printf '{"ID":"iddb","Name":"p4_db_1","Status":"%s","Type":"container","Time":"%s","ContainerExitCode":1,"Attributes":{"com.docker.compose.service":"db","io.podman.compose.project":"p4"}}\n' "$1" "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)"; }
	ev start
	sleep 1
	ev died
	exec sleep 30
fi
case "$*" in
*restart*) date +%s >>"${0%/*}/restart4.log"; echo iddb ;;
*) echo '[]' ;;
esac
EOF
chmod +x "$T_TMP/podman4"
printf 'deployment:\n  podman: %s\nservices:\n  db:\n    url: http://127.0.0.1:%s/health\n' \
    "$T_TMP/podman4" "$(free_port)" >"$T_TMP/cfg4.yaml"
# now, not rec's fixed time: events older than the deployment are not taken
rec4() { printf '{"v":1,"type":"%s","deployment_id":"%s","ts":"%s","source":"test",%s}\n' "$1" "$ID" "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" "$2"; }
{
	rec4 deployment "\"status\":\"starting\",\"project\":\"p4\",\"compose_file\":\"$T_TMP/compose.yaml\""
	sleep 0.3
	rec4 container "\"service\":\"db\",\"container_id\":\"iddb\",\"name\":\"p4_db_1\",\"state\":\"exited\",\"exit_code\":1"
	sleep 2.5
	rec4 deployment "\"status\":\"failed\",\"project\":\"p4\",\"reason\":\"exited\""
} | timeout 25 phx-probe -w -d 10s -c "$T_TMP/cfg4.yaml" >"$T_TMP/out4" 2>"$T_TMP/err4"
ok "$([ "$?" != 124 ] && echo 0 || echo 1)" "a failed deployment's early service whose container died: phx-probe ends with its input"
is "$(cat "$T_TMP/restart4.log" 2>/dev/null | wc -l)" 0 "and does not restart its container (phx-deploy's to judge)"
done_testing
