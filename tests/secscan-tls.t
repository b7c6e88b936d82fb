#!/bin/bash
# phx-secscan TLS checks against openssl s_server on loopback, with
# certificates made here: CA-signed and valid (passes), self-signed,
# expired, wrong host name, and a server that still accepts TLS 1.0/1.1.
. "$(dirname "$0")/lib.sh"

cd "$T_TMP" || exit 1
quiet() { "$@" >/dev/null 2>&1; }

# a CA, and certificates it signs with chosen dates
mkdir -p ca/new && touch ca/index.txt && echo 01 >ca/serial
cat >ca.cnf <<'EOF'
[ca]
default_ca = d
[d]
dir = ca
database = ca/index.txt
new_certs_dir = ca/new
serial = ca/serial
default_md = sha256
policy = p
copy_extensions = copy
unique_subject = no
[p]
commonName = supplied
EOF
# sign NAME SAN START END
sign() {
	quiet openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" \
		-subj "/CN=$1" -addext "subjectAltName=$2" &&
	quiet openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key \
		-in "$1.csr" -out "$1.crt" -startdate "$3" -enddate "$4" -notext
}
quiet openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt \
	-days 30 -subj "/CN=phx test CA" &&
sign good "DNS:localhost" 20200101000000Z 20991231000000Z &&
sign expired "DNS:localhost" 20200101000000Z 20210101000000Z &&
sign soon "DNS:localhost" 20200101000000Z "$(date -u -d '+10 days' +%Y%m%d%H%M%SZ)" &&
sign wronghost "DNS:wrong.example" 20200101000000Z 20991231000000Z &&
quiet openssl req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.crt \
	-days 365 -subj /CN=localhost -addext subjectAltName=DNS:localhost
ok $? "certificates made with openssl"

# serve VAR NAME [s_server options...]: starts a server, its port in VAR
# (not echoed: at_exit in a $(...) subshell would never kill it)
serve() {
	local var=$1 name=$2 port
	shift 2
	port=$(free_port)
	openssl s_server -accept "127.0.0.1:$port" -cert "$name.crt" -key "$name.key" \
		-quiet "$@" </dev/null >/dev/null 2>&1 &
	at_exit "kill $! 2>/dev/null"
	wait_port "$port" 10 || echo "s_server $name did not start" >&2
	printf -v "$var" %s "$port"
}
serve GOOD good
serve SELF self
serve EXPIRED expired
serve SOON soon
serve WRONG wronghost
serve LEGACY good -cipher 'DEFAULT:@SECLEVEL=0'
CLOSED=$(free_port)

scan() { phx-secscan "$@" 2>err >out </dev/null; echo $? >status; }
f() { jq -cr --arg t "https://localhost:$1/" --arg id "$2" \
	"select(.type == \"finding\" and .target == \$t and .id == \$id) | $3" out; }
st() { f "$1" "$2" '.status + " " + .severity'; }

printf 'security:\n  ca_file: %s\n  min_cert_days: 30\n' "$T_TMP/ca.crt" >sec.yaml
scan -c sec.yaml -t "localhost:$GOOD" -t "localhost:$SELF" -t "localhost:$EXPIRED" \
	-t "localhost:$SOON" -t "localhost:$WRONG" -t "localhost:$LEGACY" -t "localhost:$CLOSED"
is "$(cat status)" 1 "exit 1: HIGH failures"

is "$(for id in 060 061 062 063; do st "$GOOD" PHX-SEC-$id; done | tr '\n' ,)" \
	"PASS HIGH,PASS HIGH,PASS MEDIUM,PASS HIGH," "valid CA-signed certificate passes every TLS check"
like "$(f "$GOOD" PHX-SEC-062 .message)" "@SECLEVEL=0" "legacy check says how TLS 1.0/1.1 were offered"
like "$(f "$GOOD" PHX-SEC-063 .evidence.value)" "^2099-12-31T00:00:00Z$" "expiry date from the certificate"

is "$(st "$SELF" PHX-SEC-060)" "FAIL HIGH" "self-signed: chain fails"
like "$(f "$SELF" PHX-SEC-060 .evidence.value)" "self.signed certificate" "evidence: OpenSSL's reason"
is "$(st "$SELF" PHX-SEC-061)" "PASS HIGH" "self-signed: host name still matches"

is "$(st "$EXPIRED" PHX-SEC-063)" "FAIL HIGH" "expired certificate: FAIL"
is "$(f "$EXPIRED" PHX-SEC-063 .evidence)" '{"field":"tls.not_after","value":"2021-01-01T00:00:00Z"}' \
	"evidence: notAfter"
like "$(f "$EXPIRED" PHX-SEC-063 .message)" "certificate expired [0-9]+ days ago" "message counts the days"
is "$(st "$EXPIRED" PHX-SEC-060)" "FAIL HIGH" "expired: chain fails too"
like "$(f "$EXPIRED" PHX-SEC-060 .evidence.value)" "expired" "evidence: expired"

is "$(st "$SOON" PHX-SEC-063)" "WARN MEDIUM" "expiring within min_cert_days: WARN"
like "$(f "$SOON" PHX-SEC-063 .message)" "expires in (9|10) days" "days to expiry"

is "$(st "$WRONG" PHX-SEC-061)" "FAIL HIGH" "wrong host name: FAIL"
is "$(st "$WRONG" PHX-SEC-060)" "PASS HIGH" "wrong host name: chain alone verifies"

is "$(st "$LEGACY" PHX-SEC-062)" "FAIL MEDIUM" "server accepting TLS 1.0/1.1: FAIL"
is "$(f "$LEGACY" PHX-SEC-062 .evidence.value)" '["TLSv1.0","TLSv1.1"]' "evidence: accepted versions"

is "$(f "$CLOSED" PHX-SEC-060 .status)" SKIP "closed port: SKIP, nothing claimed"
is "$(jq -r --arg t "https://localhost:$CLOSED/" 'select(.target == $t) | .id' out | wc -l)" 1 \
	"closed port: one finding only"
is "$(jq -r 'select(.type == "finding") | .id' out | grep -c PHX-SEC-070)" 0 \
	"TLS-only run: no image scan claimed"

# https endpoints from the stream's service records
printf '{"v":1,"type":"service","deployment_id":"deploy_20261127_120000","ts":"2026-11-27T12:00:00.000Z","source":"phx-deploy","service":"web","checks":[{"kind":"http","target":"https://localhost:%s/health"},{"kind":"http","target":"http://localhost:1/"}]}\n' "$SELF" >in.ndjson
phx-secscan -c sec.yaml <in.ndjson >out 2>err
is "$?" 1 "stream https endpoint: self-signed fails"
is "$(jq -r 'select(.type == "finding") | .service + " " + .target + " " + .id + " " + .status' out | head -1)" \
	"web https://localhost:$SELF/health PHX-SEC-060 FAIL" "finding names the service and URL"
is "$(grep -c '"source":"phx-deploy"' out)" 1 "service record passed through"

# tls_ports from security.yaml, by service
printf 'security:\n  ca_file: %s\n  tls_ports:\n    web: "localhost:%s"\n' "$T_TMP/ca.crt" "$EXPIRED" >sec2.yaml
phx-secscan -c sec2.yaml <in.ndjson >out 2>err
is "$(jq -r --arg t "https://localhost:$EXPIRED/" 'select(.type == "finding" and .target == $t and .id == "PHX-SEC-063") | .status' out)" \
	FAIL "tls_ports entry checked for a service in the stream"

# one --fail-on grammar and one rule in phx-secscan and phx-report: for
# the same findings (FAIL HIGH and FAIL MEDIUM) every level, NEVER too, gives
# both the same exit; phx-report judges a stream whose phase passed (--allow-empty: a scan alone proves no run, see phx-report(1))
two() { phx-secscan "$@" -t "localhost:$SELF" -t "localhost:$LEGACY" </dev/null 2>err; }
two -c sec.yaml --fail-on never >never.ndjson
is "$? $(cat err)" "0 " "--fail-on never accepted, as phx-report accepts it"
for lvl in LOW medium HIGH Critical NONE never NEVER; do
	two -c sec.yaml --fail-on "$lvl" >/dev/null
	s=$?
	phx-report -n --allow-empty --fail-on "$lvl" <never.ndjson >/dev/null 2>&1
	printf '%s %s %s,' "$lvl" "$s" "$?"
done >agree
is "$(cat agree)" "LOW 1 1,medium 1 1,HIGH 1 1,Critical 0 0,NONE 0 0,never 0 0,NEVER 0 0," \
	"--fail-on: phx-secscan and phx-report exit alike at every level"
printf 'security:\n  ca_file: %s\n  fail_on: never\n' "$T_TMP/ca.crt" >never.yaml
two -c never.yaml >/dev/null
s=$?
phx-report -n --allow-empty -c never.yaml <never.ndjson >/dev/null 2>&1
is "$s $? $(cat err)" "0 0 " "security.fail_on: never accepted by both"
two -c sec.yaml --fail-on sometimes >/dev/null
is "$? $(cat err)" '2 phx-secscan: error: --fail-on: expected LOW, MEDIUM, HIGH, CRITICAL or NONE, got "sometimes"' \
	"unknown --fail-on level refused"
phx-report -n --fail-on sometimes <never.ndjson >/dev/null 2>err
is "$? $(cat err)" '2 phx-report: error: --fail-on: expected LOW, MEDIUM, HIGH, CRITICAL or NONE, got "sometimes"' \
	"refused by phx-report in the same words"
is "$(jq -r 'select(.type == "finding") | .category // "none"' never.ndjson | sort -u)" none \
	"TLS findings belong to no group: no category"

done_testing
