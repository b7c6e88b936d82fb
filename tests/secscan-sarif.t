#!/bin/bash
# phx-secscan's SARIF as its consumers take it, without Podman (a stand-in
# podman answers, and openssl s_server serves TLS): the SARIF 2.1.0 JSON
# schema (ajv), Sarif.Multitool validate with GitHub's rules (both from
# npm, installed by `make deps` under .deps/), GitHub's requirements
# checked with jq, fingerprints stable across runs, a saved golden, and
# rule titles that read right beside FAIL and WARN.
. "$(dirname "$0")/lib.sh"

DATA=$TOP/tests/data/phx-secscan
NODE_MODULES=$TOP/.deps/node/node_modules
MULTITOOL=$NODE_MODULES/@microsoft/sarif-multitool-linux/Sarif.Multitool
export PHX_DEPLOYMENT_PODMAN=$DATA/podman/podman

# SARIF from the stream: two containers of services in a compose file
# under the working directory, the engine check, the image check
stream_sarif() {
	phx-secscan --scanner none --sarif "$1" <"$DATA/sarif.in.ndjson" >"$T_TMP/out" 2>"$T_TMP/err"
}
stream_sarif "$T_TMP/stream.sarif"
is "$?" 1 "stream run: FAIL findings, exit 1"
stream_sarif "$T_TMP/again.sarif"

# SARIF from TLS endpoints: self-signed, closed; the compose file outside
# the working directory
cd "$T_TMP" || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.crt -days 365 \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost >/dev/null 2>&1
port=$(free_port)
openssl s_server -accept "127.0.0.1:$port" -cert self.crt -key self.key -quiet \
	</dev/null >/dev/null 2>&1 &
at_exit "kill $! 2>/dev/null"
wait_port "$port" 10 || diag "s_server did not start"
cp "$DATA/sarif.compose.yaml" "$T_TMP/my compose.yaml"
{ printf '{"v":1,"type":"deployment","deployment_id":"d","project":"demo","compose_file":"%s"}\n' \
	"$T_TMP/my compose.yaml"
  printf '{"v":1,"type":"service","deployment_id":"d","service":"web","container_name":"demo_web_1","checks":[{"kind":"http","target":"https://localhost:%s/"},{"kind":"http","target":"https://localhost:%s/"}]}\n' \
	"$port" "$(free_port)"; } >tls.in
(cd / && phx-secscan --scanner none --sarif "$T_TMP/tls.sarif" <"$T_TMP/tls.in" >"$T_TMP/out" 2>"$T_TMP/err")
cd "$TOP" || exit 1
is "$(jq '[.runs[0].results[] | select(.ruleId == "PHX-SEC-060")] | length' "$T_TMP/tls.sarif")" 2 \
	"TLS run: the self-signed chain FAIL and the closed port SKIP in SARIF"
LOGS=("$T_TMP/stream.sarif" "$T_TMP/tls.sarif" "$DATA/sarif.golden.sarif")

# GitHub code scanning's requirements, checked without the multitool
for f in "${LOGS[@]}"; do
	n=${f##*/}
	is "$(jq -r '.runs[0].tool.driver.rules[] | select((.fullDescription.text | length) == 0
		or (.help.text | length) == 0 or (.help.markdown | length) == 0
		or (.helpUri | test("^(https|man):") | not)) | .id' "$f")" "" \
		"$n: every rule has fullDescription, help text and markdown, helpUri"
	is "$(jq -r '.runs[0] as $run | [$run.results[].locations[].physicalLocation.artifactLocation
		| select(. != null) | select((.uri | test("^/|^[a-z]+:")) or ($run.originalUriBaseIds[.uriBaseId].uri
		| test("^file:///.*/$") | not))] | length' "$f")" 0 \
		"$n: artifact URIs relative, under a uriBaseId of originalUriBaseIds"
	is "$(jq '[.runs[0].results[] | select((.partialFingerprints["phxSecscanFinding/v1"] // "") == "")] | length' "$f")" 0 \
		"$n: every result has a partialFingerprint"
	is "$(jq '[.runs[0].results[].partialFingerprints[]] | length - (unique | length)' "$f")" 0 \
		"$n: no two results share a fingerprint"
done
like "$(jq -r '.runs[0].originalUriBaseIds["%SRCROOT%"].uri' "$T_TMP/tls.sarif")" \
	"^file://$T_TMP/\$" "compose file outside the working directory: its folder is the base"
is "$(jq -r '[.runs[0].results[].locations[].physicalLocation.artifactLocation.uri // empty] | unique[]' "$T_TMP/tls.sarif")" \
	"my%20compose.yaml" "a space in a file name is percent-encoded"
is "$(jq -c '[.runs[0].results[].partialFingerprints]' "$T_TMP/stream.sarif")" \
	"$(jq -c '[.runs[0].results[].partialFingerprints]' "$T_TMP/again.sarif")" "fingerprints stable across runs"

# the golden: what changes in the SARIF shows in review
normalize_sarif() {
	jq --arg top "file://$TOP/" '.runs[0].tool.driver.version = "VERSION"
		| .runs[0].originalUriBaseIds["%SRCROOT%"].uri |= sub("^\($top)"; "file:///TOP/")' "$1"
}
if diff -u <(normalize_sarif "$DATA/sarif.golden.sarif") <(normalize_sarif "$T_TMP/stream.sarif") >"$T_TMP/diff"; then
	ok 0 "stream SARIF matches tests/data/phx-secscan/sarif.golden.sarif"
else
	ok 1 "stream SARIF matches tests/data/phx-secscan/sarif.golden.sarif"
	head -40 "$T_TMP/diff" | sed 's/^/# /' >&2
fi

# titles name what is checked, not the passing state: "WARN Container
# engine runs rootless" read as the opposite of the finding
is "$(jq -r '.runs[0].tool.driver.rules[] | select(.shortDescription.text
	| test("(^| )(not|no|is|are|runs|has|only|verifies|refused|dropped|defined)( |$)| limit set$"; "i"))
	| .id + ": " + .shortDescription.text' "$T_TMP/stream.sarif")" "" \
	"no rule title states a passing condition"
is "$(jq -r 'select(.type == "finding" and .id == "PHX-SEC-001") | .status + " " + .title' "$T_TMP/out")" \
	"WARN Rootless container engine" "the rootful engine's finding reads right"

# the SARIF 2.1.0 schema itself (Sarif.Multitool checks it too), where
# shared/ beside the tree holds a copy: fetched files are not committed
SCHEMA=$TOP/../shared/sarif-schema-2.1.0.json
if [ ! -f "$SCHEMA" ]; then
	:
elif [ -d "$NODE_MODULES/ajv-draft-04" ] && [ -d "$NODE_MODULES/ajv-formats" ]; then
	for f in "${LOGS[@]}"; do
		NODE_PATH=$NODE_MODULES node -e '
const fs = require("fs"), Ajv = require("ajv-draft-04"), formats = require("ajv-formats");
const ajv = new Ajv({allErrors: true, strict: false});
formats(ajv);
const validate = ajv.compile(JSON.parse(fs.readFileSync(process.argv[1])));
if (!validate(JSON.parse(fs.readFileSync(process.argv[2])))) {
	for (const e of validate.errors) console.log(e.instancePath + " " + e.message);
	process.exit(1);
}' "$SCHEMA" "$f" >"$T_TMP/ajv" 2>&1
		ok $? "${f##*/}: valid against the SARIF 2.1.0 schema" || sed 's/^/# /' "$T_TMP/ajv" | head -20 >&2
	done
else
	for f in "${LOGS[@]}"; do skip "ajv not installed (make deps)"; done
fi

# Sarif.Multitool validate, SARIF and GitHub rules: no error, no warning
if [ -x "$MULTITOOL" ]; then
	for f in "${LOGS[@]}"; do
		rm -f "$T_TMP/v.sarif"
		"$MULTITOOL" validate --rule-kind "Gh;Sarif" -o "$T_TMP/v.sarif" "$f" >"$T_TMP/mt" 2>&1
		is "$? $(jq '[.runs[].results[]? | select(.level != "note" and .level != "none")] | length' "$T_TMP/v.sarif")" \
			"0 0" "${f##*/}: Sarif.Multitool validate (GitHub rules): no error or warning" ||
			grep -E ': (error|warning) ' "$T_TMP/mt" | head -20 | sed 's/^/# /' >&2
	done
else
	for f in "${LOGS[@]}"; do skip "Sarif.Multitool not installed (make deps)"; done
fi

done_testing
