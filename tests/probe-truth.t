#!/bin/bash
# phx-probe's verdicts tell what the service did, not what the clock did:
# an attempt the deadline cuts short does not replace a finished one's
# answer; in wait mode a service that stops answering after its healthy
# record is reported again; numbers out of range are clamped, never cast
# as they are (run with a UBSan build to see no undefined behaviour)
. "$(dirname "$0")/lib.sh"

WWW=$T_TMP/www
mkdir -p "$WWW/cgi-bin" "$T_TMP/state"
echo ok >"$WWW/health"
# 500 on the first request for each query string, then no answer at all
cat >"$WWW/cgi-bin/flaky" <<CGI
#!/bin/sh
f="$T_TMP/state/\$QUERY_STRING"
[ -e "\$f" ] && exec sleep 5
: >"\$f"
printf 'Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\nboom\n'
CGI
printf '#!/bin/sh\nexec sleep 5\n' >"$WWW/cgi-bin/hang"
chmod +x "$WWW/cgi-bin/flaky" "$WWW/cgi-bin/hang"
PORT=$(free_port)
busybox httpd -f -p "127.0.0.1:$PORT" -h "$WWW" 2>/dev/null &
at_exit "kill $! 2>/dev/null"
wait_port "$PORT" || { echo "Bail out! busybox httpd did not start"; exit 1; }
U=http://127.0.0.1:$PORT

# a service record whose one check is $2 (JSON), for service $1
rec() {
	printf '{"v":1,"type":"service","deployment_id":null,"ts":"2026-11-27T00:00:00.000Z","source":"t","service":"%s","checks":[%s]}\n' "$1" "$2"
}
# the last health record of service $1 in file $2, as jq $3 sees it
field() { jq -rs --arg s "$1" "[.[] | select(.type == \"health\" and .service == \$s)] | last | $3" "$2"; }

# 1. the deadline: these run at once, each on its own query string
B=$T_TMP/backoff.yaml
printf 'probe:\n  backoff: { initial: 100ms, max: 100ms }\n' >"$B"
phx-probe -n -c "$B" -r 5 -t 30s -d 2500ms "a=$U/cgi-bin/flaky?a" >"$T_TMP/a" 2>"$T_TMP/a.err" &
pa=$!
printf 'probe:\n  backoff: { initial: 900ms }\n' >"$T_TMP/b.yaml"
phx-probe -v -n -c "$T_TMP/b.yaml" -r 5 -t 5s -d 1s "b=$U/cgi-bin/flaky?b" >"$T_TMP/b" 2>"$T_TMP/b.err" &
pb=$!
phx-probe -n -c "$B" -r 5 -t 1s -d 2500ms "c=$U/cgi-bin/hang" >"$T_TMP/c" 2>"$T_TMP/c.err" &
pc=$!
phx-probe -n -r 5 -t 30s -d 1500ms "d=$U/cgi-bin/hang" >"$T_TMP/d" 2>"$T_TMP/d.err" &
pd=$!
wait $pa $pb $pc $pd

is "$(field a "$T_TMP/a" '[.reason, .status_code, .message] | join(" | ")')" \
    "status | 500 | HTTP status 500, expected 200" \
    "500, then the deadline cuts a hanging attempt: the 500 stands"
is "$(field a "$T_TMP/a" .attempts)" 2 "  and both attempts are counted"
is "$(field b "$T_TMP/b" '[.reason, .status_code, .attempts] | join(" ")')" "status 500 1" \
    "deadline shorter than the timeout: no attempt without the time to finish"
unlike "$(cat "$T_TMP/b.err")" "within [0-9]+ ms" "  no tiny attempt timed out"
is "$(field c "$T_TMP/c" '[.reason, .message] | join(" | ")')" \
    "timeout | no complete answer within 1000 ms" \
    "every attempt timed out: timeout, with the attempts' own timeout"
is "$(field d "$T_TMP/d" '[.reason, .message] | join(" | ")')" \
    "timeout | no complete answer within 1500 ms (cut short by the deadline)" \
    "the first attempt cut short: timeout, saying so"

# 2. wait mode: healthy once, then gone before the stream ends
FP=$(free_port)
mkdir -p "$T_TMP/flap"
echo ok >"$T_TMP/flap/health"
busybox httpd -f -p "127.0.0.1:$FP" -h "$T_TMP/flap" 2>/dev/null &
fpid=$!
at_exit "kill $fpid 2>/dev/null"
wait_port "$FP" || { echo "Bail out! busybox httpd did not start"; exit 1; }
{
	rec flap "{\"kind\":\"http\",\"target\":\"http://127.0.0.1:$FP/health\"}"
	rec steady "{\"kind\":\"http\",\"target\":\"$U/health\"}"
	sleep 1
	kill $fpid
	sleep 0.5
} | phx-probe -w -d 20s -c /dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is $? 1 "flapping: exit 1"
is "$(jq -r 'select(.type == "health") | .service + "=" + .status' "$T_TMP/out" |
    sed '2q' | sort | tr '\n' ' ')" "flap=healthy steady=healthy " \
    "flapping: both healthy at first"
is "$(jq -r 'select(.type == "health") | .service + "=" + .status' "$T_TMP/out" |
    sed 1,2d | tr '\n' ' ')" "flap=unhealthy " \
    "flapping: then a second record for it; a steady service gets none"
is "$(field flap "$T_TMP/out" '[.reason, .was_healthy] | join(" ")')" "refused true" \
    "flapping: the attempt's reason, and was_healthy"
is "$(jq -c 'select(.type == "phase" and .event == "end") | .counts' "$T_TMP/out")" \
    '{"healthy":1,"unhealthy":1}' "flapping: counted as unhealthy"

# the same when another service used the whole deadline up: the confirm
# attempt still runs, past the deadline, with its own timeout
FP2=$(free_port)
mkdir -p "$T_TMP/flap2"
echo ok >"$T_TMP/flap2/health"
busybox httpd -f -p "127.0.0.1:$FP2" -h "$T_TMP/flap2" 2>/dev/null &
fpid2=$!
at_exit "kill $fpid2 2>/dev/null"
wait_port "$FP2" || { echo "Bail out! busybox httpd did not start"; exit 1; }
{
	rec flap "{\"kind\":\"http\",\"target\":\"http://127.0.0.1:$FP2/health\",\"timeout_ms\":2000}"
	rec never "{\"kind\":\"tcp\",\"target\":\"127.0.0.1:1\"}"
	sleep 0.5
	kill $fpid2
} | phx-probe -w -d 2s -c "$B" >"$T_TMP/out" 2>"$T_TMP/err"
is $? 1 "flapping, deadline used up by another: exit 1"
is "$(jq -r 'select(.type == "health" and .service == "flap") | .status' "$T_TMP/out" | tr '\n' ' ')" \
    "healthy unhealthy " "flapping, deadline used up by another: still confirmed, and caught"
is "$(field flap "$T_TMP/out" '[.reason, .was_healthy] | join(" ")')" "refused true" \
    "flapping, deadline used up by another: the attempt's own reason"

# 3. numbers out of range in records: clamped (1e999 is infinity)
rec big "{\"kind\":\"http\",\"target\":\"$U/health\",\"expected_status\":[1e300,-1e300],\"retries\":1e300,\"timeout_ms\":1e999,\"interval_ms\":-1e999,\"backoff_multiplier\":1e999}" >"$T_TMP/in"
rec inf "{\"kind\":\"tcp\",\"target\":\"127.0.0.1:1\",\"retries\":3,\"backoff_initial_ms\":1e999,\"backoff_max_ms\":1e300}" >>"$T_TMP/in"
rec hang "{\"kind\":\"http\",\"target\":\"$U/cgi-bin/hang\",\"timeout_ms\":1e300,\"retries\":-1e300}" >>"$T_TMP/in"
rec tiny "{\"kind\":\"http\",\"target\":\"$U/cgi-bin/hang\",\"timeout_ms\":-1e999,\"backoff_initial_ms\":-1e300,\"retries\":1}" >>"$T_TMP/in"
phx-probe -d 1s -c /dev/null <"$T_TMP/in" >"$T_TMP/out" 2>"$T_TMP/err"
is $? 1 "out of range: exit 1 (the services are unhealthy), no crash"
unlike "$(cat "$T_TMP/err")" "runtime error|Sanitizer" "out of range: no undefined behaviour"
is "$(field big "$T_TMP/out" .message)" "HTTP status 200, expected 599 or 100" \
    "expected_status clamped to 100..599"
is "$(field inf "$T_TMP/out" '[.reason, .attempts] | join(" ")')" "refused 1" \
    "infinite backoff: clamped, no second attempt before the deadline"
like "$(field hang "$T_TMP/out" '[.attempts, .message] | join(" ")')" \
    "^1 no complete answer within (99[0-9]|1000) ms \\(cut short by the deadline\\)$" \
    "timeout_ms 1e300: clamped to a week, so the deadline cuts it"
is "$(field tiny "$T_TMP/out" .message)" "no complete answer within 1 ms" \
    "timeout_ms -inf: clamped to 1 ms"

# a configured port out of range is no target
cat >"$T_TMP/p.yaml" <<YAML
services:
  far:
    type: tcp
    host: 127.0.0.1
    port: 99999
YAML
phx-probe -n -c "$T_TMP/p.yaml" >"$T_TMP/out" 2>"$T_TMP/err"
is $? 2 "port 99999: an input error"
like "$(cat "$T_TMP/err")" "far: check without a target" "port 99999: said so"

done_testing
