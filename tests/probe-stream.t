#!/bin/bash
# phx-probe in a pipe: golden pass-through, invalid input, streaming, ad hoc
. "$(dirname "$0")/lib.sh"

D=$TOP/tests/data/phx-probe
# like lib.sh's normalize, but keeps lines that are not JSON
norm() {
	jq -rR '. as $l | try (fromjson | if type == "object" then
		(if has("ts") then .ts = "TS" else . end)
		| (if has("duration_ms") then .duration_ms = 0 else . end)
		| (if has("response_time_ms") then .response_time_ms = 0 else . end)
		| (if has("checks") and (.checks | type) == "array" then
		    .checks |= map(if type == "object" and has("duration_ms") then
		      .duration_ms = 0 | .response_time_ms = 0 else . end)
		  else . end)
		else . end | tojson) catch $l'
}
gold() {
	name=$1
	shift
	want=$(cat "$D/$name.status")
	phx-probe -c /dev/null "$@" <"$D/$name.in.ndjson" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err"
	st=$?
	norm <"$T_TMP/$name.out" >"$T_TMP/$name.norm"
	if cmp -s "$T_TMP/$name.norm" "$D/$name.out.ndjson" && [ "$st" = "$want" ]; then
		ok 0 "golden $name"
	else
		ok 1 "golden $name"
		diag "exit $st, want $want"
		diff -u "$D/$name.out.ndjson" "$T_TMP/$name.norm" | head -40 | sed 's/^/# /' >&2
	fi
}

gold passthrough
# every line that is not ours, byte for byte and in order; the last
# input line had no newline, so one was added before our next record
grep -v '"source":"phx-probe"' "$T_TMP/passthrough.out" | head -c -1 >"$T_TMP/passed"
cmp -s "$T_TMP/passed" "$D/passthrough.in.ndjson"
ok $? "pass-through: every foreign line byte for byte, in order"
like "$(cat "$T_TMP/passthrough.err")" "stdin:4:1: invalid JSON, passed through" \
    "pass-through: the invalid line is named on stderr"
is "$(tail -n 1 "$T_TMP/passthrough.out" | jq -r '.phase + " " + .event')" "probe end" \
    "pass-through: our phase end is a line of its own"
is "$(head -n 1 "$T_TMP/passthrough.out" | jq -r .deployment_id)" deploy_20261127_120000 \
    "phase start carries the stream's deployment id"

gold invalid
like "$(cat "$T_TMP/invalid.err")" 'stdin:1: service odd: unknown check kind "smtp"' \
    "invalid check: names line, service and problem"
like "$(cat "$T_TMP/invalid.err")" 'stdin:2: service record without "service"' \
    "service record without a name: named"

# empty input: phase start and end, exit 0
phx-probe -c /dev/null </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "empty input: exit 0"
is "$(jq -r '.event' "$T_TMP/out" | tr '\n' ' ')" "start end " "empty input: phase start and end"

# streaming: a service is checked as soon as its record arrives, while
# the next record is still on its way
WWW=$T_TMP/www
mkdir -p "$WWW"
echo '{"status":"UP"}' >"$WWW/health"
PORT=$(free_port)
busybox httpd -f -p "127.0.0.1:$PORT" -h "$WWW" &
at_exit "kill $! 2>/dev/null"
wait_port "$PORT" || { echo "Bail out! busybox httpd did not start"; exit 1; }
rec() {
	printf '{"v":1,"type":"service","deployment_id":"deploy_20261127_120000","ts":"2026-11-27T12:00:00.000Z","source":"phx-deploy","service":"%s","checks":[{"kind":"http","target":"http://127.0.0.1:%s/health","conditions":["[BODY].status == UP"]}]}\n' "$1" "$PORT"
}
{ rec first; sleep 2; rec second; } | phx-probe -c /dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "stream: exit 0"
is "$(jq -r '[.type, .service // .event] | join(":")' "$T_TMP/out" | tr '\n' ' ')" \
    "phase:start service:first health:first service:second health:second phase:end " \
    "stream: the first verdict comes out before the second record arrives"

# ad hoc: every configured service when there is no stream (-n)
cat >"$T_TMP/s.yaml" <<YAML
probe:
  retries: 1
services:
  core:
    url: http://127.0.0.1:$PORT/health
    conditions: "[BODY].status == UP"
  raw:
    type: tcp
    host: 127.0.0.1
    port: $PORT
  off:
    url: http://127.0.0.1:1/
    enabled: false
YAML
phx-probe -n -c "$T_TMP/s.yaml" >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "ad hoc: all configured services, exit 0"
is "$(jq -r 'select(.type == "health") | .service + "=" + .check' "$T_TMP/out" | sort | tr '\n' ' ')" \
    "core=http raw=tcp " "ad hoc: one record per enabled service"

# --services picks entries; a stream goes on passing through meanwhile
rec first | phx-probe -c "$T_TMP/s.yaml" -s raw >"$T_TMP/out" 2>"$T_TMP/err"
is "$(jq -r 'select(.type == "health") | .service' "$T_TMP/out" | sort | tr '\n' ' ')" \
    "first raw " "--services with a stream: both the record and the entry are checked"

# command-line targets, several at once, with names
phx-probe -n "a=http://127.0.0.1:$PORT/health" "tcp://127.0.0.1:$PORT" >"$T_TMP/out" 2>"$T_TMP/err"
is "$(jq -r 'select(.type == "health") | .service + "=" + .status' "$T_TMP/out" | sort | tr '\n' ' ')" \
    "a=healthy tcp://127.0.0.1:$PORT=healthy " "targets on the command line"

# a service with several checks: one record summing them up
printf '{"v":1,"type":"service","deployment_id":null,"ts":"2026-11-27T12:00:00.000Z","source":"t","service":"multi","checks":[{"kind":"http","target":"http://127.0.0.1:%s/health"},{"kind":"tcp","target":"127.0.0.1:1","retries":1}]}\n' "$PORT" |
    phx-probe -c /dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is $? 1 "several checks: one failing makes the service unhealthy"
is "$(jq -r 'select(.type == "health") | [.check, .status, .reason, (.checks | map(.status) | join(","))] | join(" ")' "$T_TMP/out")" \
    "http+tcp unhealthy refused healthy,unhealthy" "several checks: summary and each result"

# a closed stdout is exit 3, not a crash
is "$(closed_stdout phx-probe -n "a=http://127.0.0.1:$PORT/health")" 3 "closed stdout: exit 3"

# a healthcheck target that podman would read as an option: "podman
# healthcheck run --help" prints help and exits 0, which read as healthy
cat >"$T_TMP/podman" <<'SH'
#!/bin/sh
echo "$*" >>"${0%/*}/podman.args"
exit 0
SH
chmod +x "$T_TMP/podman"
printf '{"v":1,"type":"service","deployment_id":"deploy_20261127_120000","service":"hc","checks":[{"kind":"healthcheck","target":"--help"}]}\n' |
	PHX_DEPLOYMENT_PODMAN="$T_TMP/podman" phx-probe -c /dev/null >"$T_TMP/hc.out" 2>"$T_TMP/hc.err"
is "$(jq -r 'select(.type == "health") | .status' "$T_TMP/hc.out")" unhealthy \
	"healthcheck target --help: unhealthy"
like "$(jq -r 'select(.type == "health") | .message' "$T_TMP/hc.out")" \
	'invalid container name "--help"' "healthcheck target --help: the reason says why"
check "healthcheck target --help: podman never run" test ! -e "$T_TMP/podman.args"

done_testing
