#!/bin/bash
# phx-functest against a fake n8n 2.x that answers the delete after a
# deactivation with 409 "Workflow is still being unpublished" for a while:
# retried until it succeeds; a 409 that lasts past the test's time is a
# failure (reason busy) whose http_status, reason and message agree.
. "$(dirname "$0")/lib.sh"

rec() { jq -c 'select(.type == "test")' "$T_TMP/out"; }
cat >"$T_TMP/fake.py" <<'EOF'
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

busy = int(sys.argv[2])   # how many deletes get 409 (-1: all)
deletes = 0

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
            self.answer(200, {"id": "7", "active": False})
        elif self.path.endswith("/activate"):
            self.answer(200, {"id": "7", "active": True, "activeVersionId": "v1"})
        elif self.path.endswith("/deactivate"):
            self.answer(200, {"id": "7", "active": False, "activeVersionId": None})
        elif self.path.startswith("/webhook/"):
            self.answer(200, {"body": body})
        else:
            self.answer(404, {"message": "not found"})

    def do_GET(self):
        self.answer(200, {"data": [{"id": "1", "status": "success"}]})

    def do_DELETE(self):
        global deletes
        deletes += 1
        if busy < 0 or deletes <= busy:
            self.answer(409, {"message": "Workflow is still being unpublished. Please try again in a few moments."})
        else:
            self.answer(200, {"id": "7"})

    def log_message(self, *a):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
read -r SOME ALWAYS < <(free_port 2 | tr '\n' ' ')
python3 "$T_TMP/fake.py" "$SOME" 3 &
at_exit "kill $! 2>/dev/null"
python3 "$T_TMP/fake.py" "$ALWAYS" -1 &
at_exit "kill $! 2>/dev/null"
wait_port "$SOME" && wait_port "$ALWAYS" || { echo "Bail out! the fake n8n did not start"; exit 1; }

yaml() {
	printf 'tests:\n  suites:\n    n8n:\n      type: n8n\n      base_url: %s\n      api_key: k\n      timeout: %s\n' \
	    "$1" "$2" >"$T_TMP/n8n.yaml"
}

yaml "http://127.0.0.1:$SOME" 30s
phx-functest -c "$T_TMP/n8n.yaml" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 0 "three 409s on delete, then 200: passed"
is "$(rec | jq -r .status)" passed "the record says passed"

yaml "http://127.0.0.1:$ALWAYS" 3s
start=$(date +%s)
phx-functest -c "$T_TMP/n8n.yaml" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 1 "409 on every delete: failed"
took=$(($(date +%s) - start))
check "within the test's time and the clean-up's 10 s (${took} s)" test "$took" -le 14
is "$(rec | jq -c '[.status, .step, .reason, .http_status]')" \
    '["failed","delete","busy",409]' "the record: delete, busy, 409"
like "$(rec | jq -r .message)" \
    '^DELETE http://127\.0\.0\.1:[0-9]+/api/v1/workflows/7: HTTP 409 after [0-9]+ tries in [0-9]+ ms: \{"message": "Workflow is still being unpublished' \
    "its message: the same call, the same status, n8n's words"

done_testing
