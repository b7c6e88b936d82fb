#!/bin/bash
# phx-probe -w and Podman's events file: once the podman events child's
# debug log names the file, phx-probe reads it in place (a death is a
# record within the 20 ms poll, not podman events' 250 ms), and the
# confirm pass waits probe.min_uptime after a container's start only for
# a service whose container may start again by itself (restart policy).
# Podman is a stand-in script; the events file is written here.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/ports.sh"

PORT=$(free_port)
mkdir -p "$T_TMP/www"
echo ok >"$T_TMP/www/health"
busybox httpd -f -p "127.0.0.1:$PORT" -h "$T_TMP/www" 2>/dev/null &
at_exit "kill $! 2>/dev/null"
wait_port "$PORT" || { echo "Bail out! busybox httpd did not start"; exit 1; }

EV=$T_TMP/events.log
# an earlier project's line, and one that names this project only in a
# message: neither is taken
printf '{"ID":"old","Name":"q_web_1","Status":"died","Type":"container","Time":"2026-01-01T00:00:00Z","Attributes":{"com.docker.compose.service":"web","io.podman.compose.project":"q"}}\nnot json p1\n' >"$EV"
cat >"$T_TMP/podman" <<EOF
#!/bin/sh
if [ "\$1" = events ]; then
	echo "\$\$" >"$T_TMP/child.pid"
	printf 'time="2026-12-02T06:23:55Z" level=debug msg="Initializing event backend file"\n'
	printf 'time="2026-12-02T06:23:55Z" level=debug msg="Reading events from file \\\\"%s\\\\""\n' "$EV"
	exec sleep 30
fi
# inspect: web restarts always, plain never
echo '[{"Id":"idweb","Name":"p1_web_1","State":{"Status":"running"},"HostConfig":{"RestartPolicy":{"Name":"always"}}},{"Id":"idplain","Name":"p1_plain_1","State":{"Status":"running"},"HostConfig":{"RestartPolicy":{"Name":""}}}]'
EOF
chmod +x "$T_TMP/podman"
printf 'deployment:\n  podman: %s\nrecovery: {health: abort}\n' "$T_TMP/podman" >"$T_TMP/cfg.yaml"

now() { date -u +%Y-%m-%dT%H:%M:%S.%NZ; }
ms() { date +%s%3N; }
event() {   # SERVICE STATUS [EXTRA JSON]
	printf '{%s"ID":"id%s","Name":"p1_%s_1","Status":"%s","Type":"container","Time":"%s","Attributes":{"com.docker.compose.service":"%s","io.podman.compose.project":"p1"}}\n' \
	    "${3:+$3,}" "$1" "$1" "$2" "$(now)" "$1" >>"$EV"
}
rec() {   # TYPE JSON
	printf '{"v":1,"type":"%s","deployment_id":"deploy_20261202_120000","ts":"%s","source":"test",%s}\n' \
	    "$1" "$(now | cut -c1-23)Z" "$2"
}
svc() {   # SERVICE
	rec service "\"service\":\"$1\",\"container_id\":\"id$1\",\"container_name\":\"p1_$1_1\",\"checks\":[{\"kind\":\"http\",\"target\":\"http://127.0.0.1:$PORT/health\"}]"
}
ts_ms() { jq -r "$1 | .ts" "$2" | head -n 1 | python3 -c 'import sys, datetime; print(int(datetime.datetime.strptime(sys.stdin.read().strip(), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000))'; }

# 1. no restart policy: confirmed at once, the death watched instead
{
	rec deployment '"status":"starting","project":"p1"'
	sleep 0.3
	event plain start
	svc plain
	sleep 0.5
} | { t0=$(ms); phx-probe -w -d 20s -c "$T_TMP/cfg.yaml" >"$T_TMP/out1" 2>"$T_TMP/err1"; echo $? >"$T_TMP/st1"; echo $(($(ms) - t0)) >"$T_TMP/t1"; }
is "$(cat "$T_TMP/st1")" 0 "no restart policy: exit 0"
ok $(($(cat "$T_TMP/t1") >= 2500)) "no restart policy: no min_uptime hold ($(cat "$T_TMP/t1") ms in all)"
is "$(jq -r 'select(.type == "container") | .service' "$T_TMP/out1")" plain \
    "the file's lines of other projects, and lines that are not events, are not taken"
check "the podman events child ended once the file was open" \
    sh -c "! kill -0 $(cat "$T_TMP/child.pid") 2>/dev/null"

# 2. restart: always: the confirm pass waits 3 s from the start event
{
	rec deployment '"status":"starting","project":"p1"'
	sleep 0.3
	event web start
	date +%s%3N >"$T_TMP/start2"
	svc web
	sleep 0.3
} | phx-probe -w -d 20s -c "$T_TMP/cfg.yaml" >"$T_TMP/out2" 2>"$T_TMP/err2"
is $? 0 "restart always: exit 0"
end2=$(ts_ms 'select(.type == "phase" and .event == "end")' "$T_TMP/out2")
ok $((end2 - $(cat "$T_TMP/start2") < 2900 || end2 - $(cat "$T_TMP/start2") > 4500)) \
    "restart always: confirmed min_uptime (3 s) after its start ($((end2 - $(cat "$T_TMP/start2"))) ms)"

# 3. a death read from the file is a record within some 100 ms
{
	rec deployment '"status":"starting","project":"p1"'
	sleep 0.3
	event plain start
	svc plain
	sleep 0.7
	ms >"$T_TMP/died3"
	event plain died '"ContainerExitCode":3'
	sleep 0.5
} | phx-probe -w -d 20s -c "$T_TMP/cfg.yaml" >"$T_TMP/out3" 2>"$T_TMP/err3"
is $? 1 "a death: exit 1"
like "$(jq -r 'select(.type == "health" and .status == "unhealthy") | .message' "$T_TMP/out3")" \
    "container p1_plain_1 exited with code 3" "a death: the service unhealthy, with the exit code"
lag=$(( $(ts_ms 'select(.type == "health" and .status == "unhealthy")' "$T_TMP/out3") - $(cat "$T_TMP/died3") ))
ok $((lag > 100)) "a death: its record $lag ms after the line was written (poll 20 ms)"
is "$(jq -r 'select(.type == "container" and .event == "died") | .service' "$T_TMP/out3")" plain \
    "a death: one container record for it, though the file is read again and again"

# 4. a configured service started early, its container restarted by the
# recovery policy, then the stream ends without its service record (the
# deploy failed): not reported, and phx-probe ends (it waited forever,
# its restart counted twice)
printf 'deployment:\n  podman: %s\nprobe: {deadline: 10s}\nservices:\n  plain:\n    url: http://127.0.0.1:%s/health\n' \
    "$T_TMP/podman" "$PORT" >"$T_TMP/cfg4.yaml"
{
	rec deployment '"status":"starting","project":"p1"'
	sleep 0.3
	event plain start
	rec container '"service":"plain","container_id":"idplain","name":"p1_plain_1","state":"running"'
	sleep 0.5
	event plain died '"ContainerExitCode":1'
	sleep 0.5
} | { timeout 30 phx-probe -w -c "$T_TMP/cfg4.yaml" >"$T_TMP/out4" 2>"$T_TMP/err4"; echo $? >"$T_TMP/st4"; }
ok $(($(cat "$T_TMP/st4") == 124)) "early service restarted, no record: phx-probe ends ($(cat "$T_TMP/st4"))"
is "$(jq -r 'select(.type == "health") | .service' "$T_TMP/out4")" "" \
    "early service restarted, no record: no health record"
done_testing
