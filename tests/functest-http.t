#!/bin/bash
# phx-functest's HTTP calls against loopback servers: a transport failure
# gets the reason phx-probe gives the same failure (one table, lib/curl.c),
# and a test record's http_status, reason and message come from one call.
. "$(dirname "$0")/lib.sh"

rec() { jq -c 'select(.type == "test")' "$T_TMP/out"; }
health() { jq -r 'select(.type == "health") | .reason' "$T_TMP/out"; }

# n8n at URL, the suite's one test against it
n8n_yaml() {
	printf 'tests:\n  suites:\n    n8n:\n      type: n8n\n      base_url: %s\n      api_key: k\n' \
	    "$1" >"$T_TMP/n8n.yaml"
}

# same_reason WHAT URL WANT: phx-probe and phx-functest fail on URL alike
same_reason() {
	local probe ft
	phx-probe -n -r 1 -t 5s "s=$2" >"$T_TMP/out" 2>"$T_TMP/err"
	probe=$(health)
	n8n_yaml "$2"
	phx-functest -c "$T_TMP/n8n.yaml" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
	ft=$(rec | jq -r '[.status, .step, .reason] | join(" ")')
	is "$probe" "$3" "$1: phx-probe's reason"
	is "$ft" "failed create $3" "$1: phx-functest's first call, the same reason"
}

cd "$T_TMP" || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem \
    -days 10 -subj /CN=localhost >/dev/null 2>&1
cat >fake.py <<'EOF'
# a fake n8n whose clean-up fails twice, each time differently
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    def answer(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n) or b"{}")
        if self.path == "/api/v1/workflows":
            self.answer(200, {"id": "7"})
        elif self.path.endswith("/activate"):
            self.answer(200, {"id": "7", "active": True})
        elif self.path.endswith("/deactivate"):
            self.answer(403, {"message": "forbidden"})
        elif self.path.startswith("/webhook/"):
            self.answer(200, {"body": body})
        else:
            self.answer(404, {"message": "not found"})

    def do_GET(self):
        self.answer(200, {"data": [{"id": "1", "status": "success"}]})

    def do_DELETE(self):
        self.answer(409, {"message": "conflict"})

    def log_message(self, *a):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
# answers every ClientHello with a fatal certificate_required alert, as a
# server that wants a client certificate does (curl: CURLE_SSL_CLIENTCERT)
cat >alert.py <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
while True:
    c, _ = s.accept()
    c.recv(65536)
    c.sendall(bytes([0x15, 3, 3, 0, 2, 2, 116]))
    c.close()
EOF
cd "$TOP" || exit 1

read -r TLS HTTP DEAD ALERT < <(free_port 4 | tr '\n' ' ')
openssl s_server -www -accept "$TLS" -cert "$T_TMP/cert.pem" \
    -key "$T_TMP/key.pem" -quiet >/dev/null 2>&1 </dev/null &
at_exit "kill $! 2>/dev/null"
python3 "$T_TMP/fake.py" "$HTTP" &
at_exit "kill $! 2>/dev/null"
python3 "$T_TMP/alert.py" "$ALERT" &
at_exit "kill $! 2>/dev/null"
wait_port "$TLS" || { echo "Bail out! openssl s_server did not start"; exit 1; }
wait_port "$HTTP" || { echo "Bail out! the fake n8n did not start"; exit 1; }
wait_port "$ALERT" || { echo "Bail out! the alerting server did not start"; exit 1; }

same_reason "unknown issuer" "https://localhost:$TLS" tls
like "$(rec | jq -r .message)" "self-signed certificate" "unknown issuer: the message says why"
same_reason "TLS to a plain HTTP server" "https://127.0.0.1:$HTTP" tls
same_reason "client certificate required" "https://127.0.0.1:$ALERT" tls
same_reason "nothing listening" "http://127.0.0.1:$DEAD" refused

# the deactivation is refused (403), then the deletion conflicts (409):
# the first failure is reported, with its own status
n8n_yaml "http://127.0.0.1:$HTTP"
phx-functest -c "$T_TMP/n8n.yaml" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 1 "a failed clean-up fails the run"
is "$(rec | jq -c '[.status, .step, .reason, .http_status]')" \
    '["failed","deactivate","auth",403]' \
    "the record: the first failure's step, reason and status"
like "$(rec | jq -r .message)" '^POST http://127\.0\.0\.1:[0-9]+/api/v1/workflows/7/deactivate: HTTP 403 ' \
    "its message: the same call, the same status"

done_testing
