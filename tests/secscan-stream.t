#!/bin/bash
# phx-secscan as a pipeline stage: golden pass-through, lines that are not
# records passed byte for byte, a container from the stream that is gone,
# usage and config errors, podman missing, secrets masked.
. "$(dirname "$0")/lib.sh"

golden phx-secscan passthrough
golden phx-secscan missing

# lines that are not JSON, CRLF, no final newline: the same bytes out
printf '{"v":1,"type":"health","deployment_id":"deploy_20261127_120000","service":"a"}\r\nnot json {\n\n\001\002 binary\n{"v":1,"type":"test"}' >"$T_TMP/odd.in"
phx-secscan <"$T_TMP/odd.in" >"$T_TMP/odd.out" 2>"$T_TMP/odd.err"
is "$?" 0 "odd input: exit 0"
check "odd input passed through byte for byte, the last line ended" \
	cmp -s <(cat "$T_TMP/odd.in"; echo) <(grep -av '"source":"phx-secscan"' "$T_TMP/odd.out")
like "$(cat "$T_TMP/odd.err")" "stdin:2:1: invalid JSON, passed through" "invalid line reported on stderr"
is "$(head -1 "$T_TMP/odd.out" | jq -r .deployment_id)" deploy_20261127_120000 \
	"phase start carries the first line's deployment id"

# no input at all (a terminal is not read; /dev/null is empty)
phx-secscan </dev/null >"$T_TMP/out" 2>&1
is "$?" 0 "empty input: exit 0"
is "$(jq -r '.event' "$T_TMP/out" | tr '\n' ' ')" "start end " "empty input: start and end only"

# security validation turned off: the stream passes, nothing is inspected
PHX_DEPLOYMENT_SECURITY_VALIDATION=false phx-secscan \
	<"$TOP/tests/data/phx-secscan/missing.in.ndjson" >"$T_TMP/out" 2>"$T_TMP/err"
is "$? $(grep -c '"source":"phx-deploy"' "$T_TMP/out") $(grep -c '"type":"error"' "$T_TMP/out")" "0 2 0" \
	"deployment.security_validation false: passed on, no scan"

# usage
phx-secscan -h >"$T_TMP/out" 2>&1
is "$? $(head -c 18 "$T_TMP/out")" "0 usage: phx-secscan" "-h: usage on stdout, exit 0"
phx-secscan --bogus </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$? $(wc -c <"$T_TMP/out")" "2 0" "unknown option: exit 2, nothing on stdout"
like "$(tail -1 "$T_TMP/err")" "^usage: phx-secscan " "unknown option: usage line on stderr"
like "$(phx-secscan -V)" "^phx-secscan [0-9]" "-V: version"
phx-secscan --scanner clamav </dev/null >/dev/null 2>"$T_TMP/err"
is "$? $(cat "$T_TMP/err")" \
	'2 phx-secscan: error: scanner: expected auto, trivy, grype or none, got "clamav"' "bad --scanner"
printf 'security:\n  fail_on: SOMETIMES\n' >"$T_TMP/c.yaml"
phx-secscan -c "$T_TMP/c.yaml" </dev/null >/dev/null 2>"$T_TMP/err"
is "$? $(cat "$T_TMP/err")" \
	'2 phx-secscan: error: security.fail_on: expected LOW, MEDIUM, HIGH, CRITICAL or NONE, got "SOMETIMES"' \
	"bad fail_on in security.yaml"
printf 'security:\n  ignore: [PHX-SEC-404]\n' >"$T_TMP/c.yaml"
phx-secscan -c "$T_TMP/c.yaml" </dev/null >/dev/null 2>"$T_TMP/err"
is "$? $(cat "$T_TMP/err")" '2 phx-secscan: error: security.ignore: unknown rule "PHX-SEC-404"' \
	"unknown rule in ignore"
phx-secscan -f "$T_TMP/nonexistent.yaml" </dev/null >/dev/null 2>"$T_TMP/err"
is "$?" 2 "missing compose file: exit 2"
like "$(cat "$T_TMP/err")" "nonexistent.yaml" "missing compose file named"

# podman missing: an environment error, after passing the input on
PHX_DEPLOYMENT_PODMAN=/nonexistent/podman phx-secscan some-container - \
	<"$TOP/tests/data/phx-secscan/missing.in.ndjson" >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 3 "podman missing: exit 3"
is "$(grep -c '"source":"phx-deploy"' "$T_TMP/out")" 2 "podman missing: input still passed on"
is "$(jq -r 'select(.type == "error") | .reason' "$T_TMP/out")" podman "podman missing: error record"
is "$(tail -1 "$T_TMP/out" | jq -r '.event + " " + .status')" "end error" "podman missing: phase end error"

# a password in an https URL is masked in records and in SARIF
port=$(free_port)
printf '{"v":1,"type":"service","deployment_id":"deploy_20261127_120000","service":"web","checks":[{"kind":"http","target":"https://admin:hunter2-%s@localhost:%s/"}]}\n' "$$" "$port" >"$T_TMP/s.in"
phx-secscan --sarif "$T_TMP/s.sarif" <"$T_TMP/s.in" >"$T_TMP/out" 2>"$T_TMP/err"
is "$(jq -r 'select(.type == "finding") | .id + " " + .status' "$T_TMP/out")" "PHX-SEC-060 SKIP" \
	"unreachable https endpoint: one SKIP"
check "password appears in no output" \
	bash -c "! grep -q 'hunter2-$$' '$T_TMP/out' '$T_TMP/err' '$T_TMP/s.sarif'"
like "$(jq -r 'select(.type == "finding") | .target' "$T_TMP/out")" "admin:\*\*\*@localhost" "masked as ***"

# a full disk: the write error turns into exit 3
phx-secscan <"$TOP/tests/data/phx-secscan/passthrough.in.ndjson" >/dev/full 2>"$T_TMP/err"
is "$?" 3 "write error on stdout: exit 3"
like "$(cat "$T_TMP/err")" "standard output: No space left on device" "write error reported"

# a container_id podman would read as an option: "podman container
# inspect --latest" inspects whatever container is newest on the host
cat >"$T_TMP/podman" <<'SH'
#!/bin/sh
echo "$*" >>"${0%/*}/podman.args"
case "$1" in
info) echo '{"host":{"security":{"rootless":true}}}' ;;
*) echo '[]' ;;
esac
SH
chmod +x "$T_TMP/podman"
: >"$T_TMP/podman.args"
printf '{"v":1,"type":"service","deployment_id":"deploy_20261127_120000","service":"web","container_id":"--latest"}\n' |
	PHX_DEPLOYMENT_PODMAN="$T_TMP/podman" phx-secscan --scanner none >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 1 "container_id --latest: exit 1"
is "$(jq -r 'select(.type == "error") | .reason' "$T_TMP/out")" invalid \
	"container_id --latest: refused as invalid"
check "container_id --latest: never given to podman" \
	bash -c "! grep -q -- --latest '$T_TMP/podman.args'"
is "$(jq -r 'select(.type == "finding") | .id' "$T_TMP/out" | wc -l)" 0 \
	"container_id --latest: nothing scanned"

# compose network naming is one rule: the networks phx-deploy's dry run
# plans for a service (external.name here) are the ones phx-secscan
# expects the service's container to be on
cat >"$T_TMP/net.yaml" <<'EOF'
services:
  web:
    image: localhost/phx-httpd
    networks: [ext]
networks:
  ext:
    external:
      name: x
EOF
PHX_STATE_DIR="$T_TMP/state" phx-deploy -n -c /dev/null up -f "$T_TMP/net.yaml" -p pn \
	</dev/null >"$T_TMP/plan" 2>"$T_TMP/err"
nets=$(jq -c 'select(.type == "service") | .networks' "$T_TMP/plan")
is "$nets" '["x"]' "dry run: external.name is the network's name"
jq -c --argjson n "${nets:-[]}" -n '[{Id: "0123456789ab", Name: "pn_web_1",
	Config: {Labels: {"io.podman.compose.project": "pn",
	"com.docker.compose.service": "web"}},
	NetworkSettings: {Networks: ($n | map({(.): {}}) | add)}}]' >"$T_TMP/inspect.json"
cat >"$T_TMP/podman" <<SH
#!/bin/sh
case "\$1 \$2" in
info*) echo '{"host":{"security":{"rootless":true}}}' ;;
"container inspect") cat "$T_TMP/inspect.json" ;;
"network inspect") echo '[{}]' ;;
ps*) echo '[]' ;;
*) exit 125 ;;
esac
SH
chmod +x "$T_TMP/podman"
PHX_DEPLOYMENT_PODMAN="$T_TMP/podman" phx-secscan -c /dev/null --scanner none \
	-f "$T_TMP/net.yaml" pn_web_1 </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$(jq -r 'select(.type == "finding" and .id == "PHX-SEC-030") | .status' "$T_TMP/out")" \
	PASS "phx-secscan declares the network the dry run planned"

done_testing
