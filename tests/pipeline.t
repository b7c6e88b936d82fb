#!/bin/bash
# The main job end to end: pipelines/validate on the bundled stack
# (SUCCESS, exit 0, valid report/JUnit/metrics, nothing left running) and
# on a broken variant where phoenix-core never becomes healthy (FAILED,
# exit 1, cleanup done, logs kept, the report names service and reason),
# the broken one run from a `make install DESTDIR=...` tree.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail

export PHX_STATE_DIR=$T_TMP/state
phx_stack_env pipe

# --- the bundled stack, the full run ---
P=$(phx_test_project pipe)
at_exit "podman_cleanup_project $P >/dev/null 2>&1"
out=$T_TMP/ok
PHX_PROJECT=$P pipelines/validate --down --volumes -o "$out" >"$T_TMP/ok.stdout" 2>"$T_TMP/ok.stderr"
st=$?
is "$st" 0 "bundled stack: exit 0"
[ "$st" -eq 0 ] || diag "$(cat "$T_TMP/ok.stdout")" "$(tail -20 "$T_TMP/ok.stderr")"
is "$(jq -r .status "$out/report.json")" SUCCESS "bundled stack: report says SUCCESS"
like "$(tail -3 "$T_TMP/ok.stdout")" 'verdict +SUCCESS' "bundled stack: the console summary ends with the verdict"
like "$(cat "$T_TMP/ok.stdout")" "report +$PHX_STATE_DIR/deploy_" "bundled stack: and the report path"
is "$(jq -r '[.services[] | select(.status == "healthy")] | length' "$out/report.json")" 5 \
    "bundled stack: five healthy services"
is "$(jq -r '[.functional_tests[] | select(.status != "passed")] | length' "$out/report.json")" 0 \
    "bundled stack: every functional test passed"
check "bundled stack: JUnit parses (xmllint)" xmllint --noout "$out/junit.xml"
like "$(xmllint --xpath 'count(//testcase)' "$out/junit.xml")" '^[1-9][0-9]*$' \
    "bundled stack: JUnit has test cases"
is "$(xmllint --xpath 'count(//failure)' "$out/junit.xml")" 0 "bundled stack: JUnit has no failure"
check "bundled stack: metrics pass promtool" sh -c "promtool check metrics <'$out/phx.prom'"
is "$(phx_left "$P")" 0 "bundled stack: nothing left (--down --volumes)"
ID=$(jq -r .deployment_id "$out/report.json")
check "bundled stack: the stream is stored with the report" test -s "$PHX_STATE_DIR/$ID/stream.ndjson"
unlike "$(cat "$T_TMP/ok.stdout" "$T_TMP/ok.stderr" "$out"/* "$PHX_STATE_DIR/$ID"/*.json \
    "$PHX_STATE_DIR/$ID"/*.ndjson 2>/dev/null)" "$SECRETS" "bundled stack: no secret in any output"

# the report of that run, again, from the state directory
pipelines/validate --deployment-id "$ID" -o "$T_TMP/again" >/dev/null 2>&1
is "$?" 0 "--deployment-id re-renders the stored run"
is "$(jq -c '[.deployment_id, .status]' "$T_TMP/again/report.json")" "[\"$ID\",\"SUCCESS\"]" \
    "--deployment-id: the same verdict"

# --- installed, on a broken variant ---
# install what this run tests (-o all: build nothing, whatever the flags)
BUILD=${PHX_BIN%/tools}
make -s -C "$TOP" -o all install BUILD="$BUILD" DESTDIR="$T_TMP/inst" PREFIX=/usr >/dev/null 2>&1
check "make install DESTDIR=... installs the pipeline" test -x "$T_TMP/inst/usr/bin/phx-validate"
n=0
for t in phx-deploy phx-probe phx-functest phx-secscan phx-report; do
	[ -x "$T_TMP/inst/usr/bin/$t" ] && n=$((n + 1))
done
is "$n" 5 "make install DESTDIR=... installs the five tools"

cp -r "$TOP/infra/podman" "$T_TMP/stack"
printf '{"status":"DOWN"}\n' >"$T_TMP/stack/www/phoenix-core/health"
cat >"$T_TMP/broken.yaml" <<EOT
deployment:
  compose_file: $T_TMP/stack/compose.yaml
  retries: 1
probe:
  deadline: 15s
services:
  phoenix-core:
    url: http://localhost:$PHX_PORT_CORE/health
    conditions: ["[BODY].status == UP"]
  nca-toolkit:
    url: http://localhost:$PHX_PORT_NCA/
EOT
P2=$(phx_test_project broken)
at_exit "podman_cleanup_project $P2 >/dev/null 2>&1"
out=$T_TMP/broken
PATH=$T_TMP/inst/usr/bin:/usr/sbin:/usr/bin:/sbin:/bin PHX_PROJECT=$P2 \
    phx-validate -c "$T_TMP/broken.yaml" --no-functest --volumes -o "$out" \
    >"$T_TMP/broken.stdout" 2>"$T_TMP/broken.stderr"
st=$?
is "$st" 1 "broken stack: exit 1"
[ "$st" -eq 1 ] || diag "$(cat "$T_TMP/broken.stdout")" "$(tail -20 "$T_TMP/broken.stderr")"
is "$(jq -r .status "$out/report.json")" FAILED "broken stack: report says FAILED"
is "$(jq -r '.services["phoenix-core"].status' "$out/report.json")" unhealthy \
    "broken stack: the report names phoenix-core unhealthy"
like "$(jq -r '.errors | join(" ")' "$out/report.json")" 'phoenix-core.*condition|condition.*phoenix-core' \
    "broken stack: and gives the reason (condition)"
is "$(phx_left "$P2")" 0 "broken stack: cleanup done, nothing left (--volumes)"
ID2=$(jq -r .deployment_id "$out/report.json")
check "broken stack: logs preserved" sh -c "find '$PHX_STATE_DIR/$ID2/logs' -name '*phoenix-core*' | grep -q ."
like "$(cat "$T_TMP/broken.stderr")" "taking $ID2 down" "broken stack: the pipeline says it cleans up"

done_testing
