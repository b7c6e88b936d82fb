#!/bin/bash
# One services.yaml entry gives the same checks whichever tool reads it:
# phx-deploy's service record (piped to phx-probe) and phx-probe -s build
# them by one rule, with every field the entry has (lib/check.c)
. "$(dirname "$0")/lib.sh"

WWW=$T_TMP/www
mkdir -p "$WWW/cgi-bin"
# 200 only for a POST with the header and the body, else 400
cat >"$WWW/cgi-bin/post" <<'CGI'
#!/bin/sh
body=$(head -c "${CONTENT_LENGTH:-0}")
if [ "$REQUEST_METHOD" = POST ] && [ "$HTTP_X_PROBE" = yes ] && [ "$body" = ping ]; then
	printf 'Content-Type: text/plain\r\n\r\npong\n'
else
	printf 'Status: 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nno\n'
fi
CGI
chmod +x "$WWW/cgi-bin/post"
PORT=$(free_port)
busybox httpd -f -p "127.0.0.1:$PORT" -h "$WWW" &
at_exit "kill $! 2>/dev/null"
wait_port "$PORT" || { echo "Bail out! busybox httpd did not start"; exit 1; }

export PHX_STATE_DIR=$T_TMP/state
cat >"$T_TMP/compose.yaml" <<'EOF2'
services:
  web:
    image: localhost/phx-httpd
EOF2
cat >"$T_TMP/services.yaml" <<EOF2
probe:
  retries: 1
  timeout: 5s
services:
  web:
    url: http://127.0.0.1:$PORT/cgi-bin/post
    method: POST
    headers: {X-Probe: yes}
    body: ping
    expected_status: [200]
EOF2
C=$T_TMP/services.yaml

phx-deploy -n -c "$C" -f "$T_TMP/compose.yaml" -p phxt-checks up </dev/null \
	>"$T_TMP/deploy" 2>"$T_TMP/err"
is $? 0 "phx-deploy -n up: exit 0"
phx-probe -c "$C" <"$T_TMP/deploy" >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "phx-deploy -n up | phx-probe: exit 0"
is "$(jq -r 'select(.type == "health") | "\(.service) \(.status) \(.status_code)"' "$T_TMP/out")" \
	"web healthy 200" "from the stream: the header and the body were sent"

phx-probe -v -n -c "$C" -s web >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "phx-probe -s web: exit 0"
is "$(jq -r 'select(.type == "health") | "\(.service) \(.status) \(.status_code)"' "$T_TMP/out")" \
	"web healthy 200" "phx-probe -s: healthy too"

# phx-probe -v logs each check it builds: "phx-probe: debug: web: check {...}"
sed -n 's/^phx-probe: debug: web: check //p' "$T_TMP/err" | jq -cS . >"$T_TMP/probe-checks"
jq -cS 'select(.type == "service" and .service == "web") | .checks[]' "$T_TMP/deploy" \
	>"$T_TMP/deploy-checks"
check "phx-probe -s logged its checks" test -s "$T_TMP/probe-checks"
is "$(cat "$T_TMP/deploy-checks")" "$(cat "$T_TMP/probe-checks")" \
	"the service record's checks are those phx-probe -s builds"
is "$(jq -c '[.method, .headers, .body]' "$T_TMP/deploy-checks")" \
	'["POST",{"X-Probe":"yes"},"ping"]' "the record carries method, headers and body"

done_testing
