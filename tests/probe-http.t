#!/bin/bash
# phx-probe against real HTTP servers on loopback (busybox httpd with CGI)
. "$(dirname "$0")/lib.sh"

WWW=$T_TMP/www
mkdir -p "$WWW/cgi-bin"
echo '{"status":"UP","items":[{"n":"a"},{"n":"b"}]}' >"$WWW/health"
echo '{"status":"DOWN"}' >"$WWW/down"
cat >"$WWW/cgi-bin/err" <<'CGI'
#!/bin/sh
printf 'Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\nboom\n'
CGI
cat >"$WWW/cgi-bin/slow" <<'CGI'
#!/bin/sh
sleep 4
printf 'Content-Type: text/plain\r\n\r\nlate\n'
CGI
chmod +x "$WWW/cgi-bin/err" "$WWW/cgi-bin/slow"
PORT=$(free_port)
busybox httpd -f -p "127.0.0.1:$PORT" -h "$WWW" &
at_exit "kill $! 2>/dev/null"
wait_port "$PORT" || { echo "Bail out! busybox httpd did not start"; exit 1; }
U=http://127.0.0.1:$PORT

# health record of service $1 in $T_TMP/out
health() { jq -c --arg s "$1" 'select(.type == "health" and .service == $s)' "$T_TMP/out"; }
field() { health "$1" | jq -r "$2"; }

# healthy, with conditions
phx-probe -n -r 1 "core=$U/health" >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "healthy target: exit 0"
is "$(field core .status)" healthy "healthy target: status healthy"
is "$(field core .status_code)" 200 "healthy target: status_code 200"
is "$(field core .attempts)" 1 "healthy target: one attempt"
is "$(jq -r 'select(.type == "phase") | .event' "$T_TMP/out" | tr '\n' ' ')" \
    "start end " "phase start first and end last"

# 500
phx-probe -n -r 2 --timeout 5s -c /dev/null "e=$U/cgi-bin/err" >"$T_TMP/out" 2>"$T_TMP/err"
is $? 1 "500: exit 1"
is "$(field e '[.status, .reason, .status_code, .attempts] | join(" ")')" \
    "unhealthy status 500 2" "500: unhealthy, reason status, two attempts"
like "$(field e .message)" "HTTP status 500, expected 200" "500: message"

# wrong body, and the conditions grammar
cat >"$T_TMP/c.yaml" <<YAML
probe:
  retries: 1
services:
  up:
    url: $U/health
    conditions:
      - "[STATUS] == 200"
      - "[BODY].status == UP"
      - "[BODY].items[1].n == b"
      - "len([BODY].items) == 2"
      - "has([BODY].items) == true"
      - "has([BODY].nothing) == false"
      - "[BODY] == pat(*UP*)"
      - "[BODY] contains items"
      - "[BODY] =~ \"status\":\"U+P\""
      - "[STATUS] == any(200, 204)"
      - "[RESPONSE_TIME] < 10000"
  down:
    url: $U/down
    conditions: "[BODY].status == UP"
  notls:
    url: $U/health
    conditions: "[CERTIFICATE_EXPIRATION] > 48h"
YAML
phx-probe -c "$T_TMP/c.yaml" -s up,down,notls </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is $? 1 "conditions: exit 1 (one service down)"
is "$(field up .status)" healthy "conditions: every operator and function holds"
is "$(field up '[.conditions[] | .ok] | all')" true "conditions: each one recorded as ok"
is "$(field down '[.status, .reason] | join(" ")')" "unhealthy condition" \
    "wrong body: reason condition"
is "$(field down '.conditions[0].actual')" DOWN "wrong body: the actual value recorded"
is "$(field notls .reason)" condition "certificate condition fails on plain HTTP"

# a condition that does not parse is an input error
printf '%s\n' '{"v":1,"type":"service","deployment_id":null,"ts":"2026-11-27T00:00:00.000Z","source":"t","service":"x","checks":[{"kind":"http","target":"'"$U"'/health","conditions":["[BODY].status === UP"]}]}' |
    phx-probe -c /dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is $? 2 "bad condition: exit 2"
like "$(cat "$T_TMP/err")" 'stdin:1: service x: condition "\[BODY\]\.status === UP": unknown operator' \
    "bad condition: names line, service and condition"
is "$(field x .reason)" skipped "bad condition: the service is reported, reason skipped"

# slow response beyond the attempt timeout
phx-probe -n -r 1 --timeout 1s "slow=$U/cgi-bin/slow" >"$T_TMP/out" 2>"$T_TMP/err"
is $? 1 "slow: exit 1"
is "$(field slow .reason)" timeout "slow: reason timeout"
is "$(field slow .message)" "no complete answer within 1000 ms" "slow: message"

# a port that never opens: the backoff schedule and the total time bound
CLOSED=$(free_port)
cat >"$T_TMP/b.yaml" <<YAML
probe:
  retries: 5
  timeout: 2s
  backoff: { initial: 100ms, max: 300ms, multiplier: 2 }
YAML
t0=$(date +%s%N)
phx-probe -v -c "$T_TMP/b.yaml" -n "tcp://127.0.0.1:$CLOSED" "h=http://127.0.0.1:$CLOSED/" \
    >"$T_TMP/out" 2>"$T_TMP/err"
st=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is $st 1 "closed port: exit 1"
is "$(field h '[.reason, .attempts] | join(" ")')" "refused 5" "closed port: refused after 5 attempts"
is "$(field "tcp://127.0.0.1:$CLOSED" '[.check, .reason, .attempts] | join(" ")')" \
    "tcp refused 5" "closed port: tcp check too"
is "$(grep '^phx-probe: debug: h: ' "$T_TMP/err" | grep -o 'next in [0-9]* ms' | tr '\n' ,)" \
    "next in 100 ms,next in 200 ms,next in 300 ms,next in 300 ms," \
    "closed port: backoff 100, 200, then capped at 300 ms"
# the delays alone take 900 ms; an upper bound far above that
check "closed port: took at least the backoff (${ms} ms)" test "$ms" -ge 900
check "closed port: bounded (${ms} ms < 10 s)" test "$ms" -lt 10000

# --deadline cuts retries short
t0=$(date +%s%N)
phx-probe -n -r 50 -c "$T_TMP/b.yaml" --deadline 1s "h=http://127.0.0.1:$CLOSED/" >"$T_TMP/out" 2>"$T_TMP/err"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$(field h .status)" unhealthy "deadline: unhealthy"
check "deadline: fewer attempts than allowed" test "$(field h .attempts)" -lt 50
check "deadline: bounded (${ms} ms < 5 s)" test "$ms" -lt 5000

# wait mode: a service that comes up after 3 s
LATE=$(free_port)
mkdir -p "$T_TMP/late"
echo ok >"$T_TMP/late/ready"
( sleep 3; exec busybox httpd -f -p "127.0.0.1:$LATE" -h "$T_TMP/late" ) &
# the subshell execs busybox: $! is the server's pid
at_exit "kill $! 2>/dev/null"
phx-probe -n -w --deadline 30s "late=http://127.0.0.1:$LATE/ready" >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "wait mode: exit 0 once the late service answers"
is "$(field late .status)" healthy "wait mode: reported healthy"
check "wait mode: it took several attempts" test "$(field late .attempts)" -gt 3

# without -w the same schedule gives up after the retries
phx-probe -n -r 2 --timeout 1s -c "$T_TMP/b.yaml" "gone=http://127.0.0.1:$CLOSED/" >"$T_TMP/out" 2>&1
is $? 1 "no wait: gives up"

# usage errors
phx-probe --bogus >/dev/null 2>&1
is $? 2 "unknown option: exit 2"
phx-probe -n ftp://x/ >/dev/null 2>"$T_TMP/err"
is $? 2 "not a target: exit 2"
like "$(cat "$T_TMP/err")" "ftp://x/: not a target" "not a target: says which"
phx-probe -n -s nosuch -c "$T_TMP/c.yaml" >/dev/null 2>"$T_TMP/err"
is $? 2 "unknown service: exit 2"
phx-probe -h | grep -q '^usage: phx-probe'
ok $? "-h prints usage on stdout"

done_testing
