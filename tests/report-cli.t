#!/bin/bash
# phx-report: options, stored runs rendered again, file modes, colour and
# progress on a terminal, signals, write errors, bounded memory.
. "$(dirname "$0")/lib.sh"

data=$TOP/tests/data/phx-report
state=$T_TMP/state
export PHX_STATE_DIR=$state PHX_CONFIG_DIR=$T_TMP/noconfig
mkdir -p "$PHX_CONFIG_DIR"
id=deploy_20261127_162318

# ---- usage ----
phx-report -h >"$T_TMP/out" 2>&1
is "$?" 0 "-h exits 0"
like "$(cat "$T_TMP/out")" '^usage: phx-report ' "-h prints the usage line"
phx-report --bogus </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 2 "unknown option exits 2"
like "$(cat "$T_TMP/err")" 'usage: phx-report' "unknown option: usage on stderr"
phx-report -f yaml </dev/null >/dev/null 2>"$T_TMP/err"
is "$?" 2 "unknown format exits 2"
like "$(cat "$T_TMP/err")" 'unknown format "yaml"' "unknown format named"
phx-report --fail-on SEVERE </dev/null >/dev/null 2>"$T_TMP/err"
is "$?" 2 "unknown --fail-on severity exits 2"
like "$(phx-report -V)" '^phx-report [0-9.]+ \(records v1\)' "-V prints the version"
phx-report "$T_TMP/missing.ndjson" >/dev/null 2>"$T_TMP/err"
is "$?" 2 "missing input file exits 2"
like "$(cat "$T_TMP/err")" 'missing.ndjson: No such file' "missing input file named"

# ---- a stored run, rendered again ----
phx-report --junit "$T_TMP/j1.xml" <"$data/functest-failure.in.ndjson" \
    >"$T_TMP/text1" 2>/dev/null
is "$?" 1 "functest failure: exit 1"
check "stream stored beside the report" \
    cmp -s "$data/functest-failure.in.ndjson" "$state/$id/stream.ndjson"
phx-report -d $id -f junit >"$T_TMP/j2.xml" 2>/dev/null
is "$?" 1 "--deployment-id: same verdict"
check "--deployment-id renders the same JUnit" cmp -s "$T_TMP/j1.xml" "$T_TMP/j2.xml"
phx-report -d $id >"$T_TMP/text2" 2>/dev/null
check "--deployment-id renders the same summary" cmp -s "$T_TMP/text1" "$T_TMP/text2"
check "--deployment-id keeps the stored stream" \
    cmp -s "$data/functest-failure.in.ndjson" "$state/$id/stream.ndjson"
phx-report -n <"$data/functest-failure.in.ndjson" >"$T_TMP/text1n" 2>/dev/null
PHX_STATE_DIR=$T_TMP/state-file phx-report "$data/functest-failure.in.ndjson" \
    >"$T_TMP/text3" 2>/dev/null
check "a file argument reads like stdin -n" cmp -s "$T_TMP/text1n" "$T_TMP/text3"
check "a file argument writes no state directory" test ! -e "$T_TMP/state-file"
phx-report -d deploy_20991231_235959 >/dev/null 2>"$T_TMP/err"
is "$?" 2 "unknown deployment id exits 2"
phx-report -d ../../etc >/dev/null 2>"$T_TMP/err"
is "$?" 2 "a deployment id that is a path exits 2"
like "$(cat "$T_TMP/err")" 'not a deployment id' "and says so"

# ---- file modes ----
mode() { stat -c %a "$1"; }
is "$(mode "$state")" 700 "state directory is 0700"
is "$(mode "$state/$id")" 700 "deployment directory is 0700"
is "$(mode "$state/$id/report.json")" 600 "report.json is 0600"
is "$(mode "$state/$id/stream.ndjson")" 600 "stream.ndjson is 0600"
(umask 022; phx-report -n -o "$T_TMP/r.json" --junit "$T_TMP/j.xml" \
    --metrics "$T_TMP/m.prom" <"$data/healthy.in.ndjson" >/dev/null 2>&1)
is "$(mode "$T_TMP/r.json")" 600 "-o file is 0600"
is "$(mode "$T_TMP/j.xml")" 600 "--junit file is 0600"
is "$(mode "$T_TMP/m.prom")" 644 "--metrics file is readable by node_exporter (0644 less umask)"
is "$(find "$T_TMP" -maxdepth 1 -name '*.tmp.*' | wc -l)" 0 "no temporary file left"

# ---- a stream without a deployment id gets one of its own ----
rm -rf "$state"
grep -v '"phase"' "$data/healthy.in.ndjson" |
    sed 's/"deployment_id":"deploy_20261127_162318"/"deployment_id":null/' |
    phx-report -f json >"$T_TMP/r.json" 2>/dev/null
new=$(jq -r .deployment_id "$T_TMP/r.json")
like "$new" '^deploy_[0-9]{8}_[0-9]{6}' "no id in the stream: a new one is claimed"
check "and the run is stored under it" test -s "$state/$new/stream.ndjson"

# ---- records of another deployment are counted, not mixed in ----
{ cat "$data/healthy.in.ndjson"
  sed 's/deploy_20261127_162318/deploy_20261127_170000/' "$data/unhealthy.in.ndjson"
} | phx-report -n -f json >"$T_TMP/r.json" 2>/dev/null
is "$?" 0 "another deployment's failure does not fail this one"
is "$(jq .stream.other_deployments "$T_TMP/r.json")" 15 "its records are counted"

# ---- --fail-on ----
# (and no restarted container: that fails a run at any --fail-on)
sed -e 's/"phase":"secscan","event":"end","status":"failed"/"phase":"secscan","event":"end","status":"ok"/' \
    -e 's/"restarts":1/"restarts":0/' \
    "$data/security-findings.in.ndjson" >"$T_TMP/sec.ndjson"
phx-report -n --fail-on NONE <"$T_TMP/sec.ndjson" >/dev/null 2>&1
is "$?" 0 "--fail-on NONE: FAIL findings do not fail the run"
phx-report -n <"$T_TMP/sec.ndjson" >"$T_TMP/out" 2>&1
is "$?" 1 "default --fail-on HIGH: they do"
PHX_SECURITY_FAIL_ON=CRITICAL phx-report -n -f json <"$T_TMP/sec.ndjson" >"$T_TMP/r.json" 2>/dev/null
is "$(jq -r '[.errors[] | select(startswith("finding"))] | length' "$T_TMP/r.json")" 2 \
    "PHX_SECURITY_FAIL_ON=CRITICAL: only the CRITICAL ones count"

# a finding's group: its category field, else (older records) its id
{ printf '{"v":1,"type":"finding","deployment_id":"deploy_20261127_120000","ts":"2026-11-27T12:00:00.000Z","source":"x","id":"X-1","service":"a","status":"FAIL","severity":"LOW","category":"network"}\n'
  printf '{"v":1,"type":"finding","deployment_id":"deploy_20261127_120000","ts":"2026-11-27T12:00:00.000Z","source":"x","id":"PHX-SEC-002","service":"a","status":"PASS","severity":"HIGH"}\n'
} | phx-report -n -f json --fail-on never --allow-empty >"$T_TMP/r.json" 2>/dev/null
is "$? $(jq -c '.security_validation | [.rootless_containers, .network_isolation, .fail_on, [.findings[].category]]' "$T_TMP/r.json")" \
    '0 [true,false,"NONE",["network","rootless"]]' \
    "group from the category field, else from the id; --fail-on never"
# ---- a run that proves nothing: --allow-empty, report.allow_empty ----
phx-report -n <"$data/probe-nothing.in.ndjson" >/dev/null 2>&1
is "$?" 2 "a probe that checked no service: INCOMPLETE"
phx-report -n --allow-empty <"$data/probe-nothing.in.ndjson" >"$T_TMP/out" 2>&1
is "$?" 0 "--allow-empty: SUCCESS as before"
PHX_REPORT_ALLOW_EMPTY=true phx-report -n <"$data/secscan-only.in.ndjson" >/dev/null 2>&1
is "$?" 0 "PHX_REPORT_ALLOW_EMPTY=true: SUCCESS"
printf 'report:\n  allow_empty: true\n' >"$T_TMP/allow.yaml"
phx-report -n -c "$T_TMP/allow.yaml" <"$data/no-compose-file.in.ndjson" >/dev/null 2>&1
is "$?" 0 "report.allow_empty: true in the configuration: SUCCESS"
printf 'report:\n  allow_empty: maybe\n' >"$T_TMP/bad.yaml"
phx-report -n -c "$T_TMP/bad.yaml" <"$data/probe-nothing.in.ndjson" >/dev/null 2>"$T_TMP/err"
is "$?" 2 "report.allow_empty must be true or false"
phx-report -n --allow-empty <"$data/restarts.in.ndjson" >"$T_TMP/out" 2>&1
is "$?" 1 "--allow-empty does not excuse a restarted container"
phx-report -n --allow-empty <"$data/root-cause.in.ndjson" >"$T_TMP/out" 2>&1
is "$?" 1 "--allow-empty: a failed deployment still fails"
is "$(grep -c 'root cause:' "$T_TMP/out")" 1 "the root cause is said once"
is "$(grep '^reason' "$T_TMP/out" | head -1)" \
    "reason   root cause: phx-deploy ended in error: compose file infra/podman/compose.ymll not found" \
    "and first, in the error record's words"

# ---- colour and progress on a terminal ----
tty_run() { script -qec "$1" /dev/null </dev/null; }
tty_run "phx-report -n $data/unhealthy.in.ndjson" >"$T_TMP/tty" 2>&1
like "$(cat -v "$T_TMP/tty")" '\^\[\[31;1munhealthy' "colour on a terminal"
NO_COLOR=1 tty_run "phx-report -n $data/unhealthy.in.ndjson" >"$T_TMP/tty" 2>&1
unlike "$(cat -v "$T_TMP/tty")" '\^\[\[3' "no colour with NO_COLOR"
phx-report -n "$data/unhealthy.in.ndjson" >"$T_TMP/out" 2>"$T_TMP/err"
unlike "$(cat -v "$T_TMP/out")" '\^\[' "no colour when stdout is not a terminal"
is "$(wc -c <"$T_TMP/err")" 0 "no progress when stderr is not a terminal"

# records arrive, then nothing for 2.5 s: the progress line keeps moving
cat >"$T_TMP/slow.sh" <<SLOW
{ head -n 12 "$data/healthy.in.ndjson"; sleep 2.5; tail -n +13 "$data/healthy.in.ndjson"; } |
    phx-report -n -f json >/dev/null
SLOW
tty_run "bash $T_TMP/slow.sh" >"$T_TMP/tty" 2>&1
like "$(tr '\r' '\n' <"$T_TMP/tty")" 'probe running  services 1 healthy 0 unhealthy of 3' \
    "progress shows the stage running and services healthy so far"
like "$(tr '\r' '\n' <"$T_TMP/tty")" 'probe ended ok' "progress notes a stage's end"
redraws=$(tr '\r' '\n' <"$T_TMP/tty" | grep -c 'probe running')
check "progress redrawn during a 2.5 s silence ($redraws times)" test "$redraws" -ge 3

# ---- write errors and signals ----
phx-report -n "$data/healthy.in.ndjson" >/dev/full 2>"$T_TMP/err"
is "$?" 3 "standard output fails: exit 3"
rm -rf "$state"
# the reader is gone before phx-report writes: EPIPE on stdout
is "$(closed_stdout phx-report -f json - <"$data/healthy.in.ndjson")" 3 "stdout closed: exit 3"
check "stdout closed: report.json is still written" \
    jq -e '.status == "SUCCESS"' "$state/$id/report.json"
phx-report -n -o "$T_TMP/no/such/dir/r.json" "$data/healthy.in.ndjson" >/dev/null 2>"$T_TMP/err"
is "$?" 3 "-o cannot be written: exit 3"
like "$(cat "$T_TMP/err")" 'no/such/dir/r.json' "and the file is named"

# a signal mid-stream: tests/report-signal.t

# ---- bounded lists: past the bound, counted not kept ----
awk 'BEGIN { for (i = 0; i < 9000; i++)
	printf "{\"v\":1,\"type\":\"test\",\"deployment_id\":\"%s\",\"ts\":\"2026-11-27T16:23:27.250Z\",\"source\":\"phx-functest\",\"suite\":\"s\",\"name\":\"t%d\",\"status\":\"passed\",\"duration_ms\":1}\n", "deploy_20261127_162318", i }' |
    phx-report -n -f json >"$T_TMP/r.json" 2>/dev/null
is "$(jq '.functional_tests | length' "$T_TMP/r.json")" 4096 "at most 4096 tests kept"
is "$(jq .stream.not_kept "$T_TMP/r.json")" 4904 "the rest counted"

done_testing
