#!/bin/bash
# Every artifact accepted by its real consumer: TAP by a TAP parser,
# metrics by promtool (blackbox_exporter's names too), the job summary
# and annotations as GitHub reads them, the workflow by action-validator
# and its run: steps by shellcheck.
. "$(dirname "$0")/lib.sh"

data=$TOP/tests/data/phx-report
export PHX_STATE_DIR=$T_TMP/state PHX_CONFIG_DIR=$T_TMP/noconfig
mkdir -p "$PHX_CONFIG_DIR"

# tap_check FILE: "PLANNED PASSED FAILED SKIPPED UNKNOWN VERSION"
tap_check() {
	perl -MTAP::Parser -e '
	my $p = TAP::Parser->new({ source => $ARGV[0] }); my $u = 0;
	while (my $r = $p->next) { $u++ if $r->is_unknown }
	printf "%d %d %d %d %d %d\n", $p->tests_planned, scalar($p->passed),
	    scalar($p->failed), scalar($p->skipped), $u, $p->version' "$1"
}

# ---- TAP 13 ----
phx-report -n -f tap "$data/functest-failure.in.ndjson" >"$T_TMP/f.tap"
is "$?" 1 "-f tap: the verdict's exit status"
read -r planned passed failed skipped unknown version <<<"$(tap_check "$T_TMP/f.tap")"
is "$version $unknown" "13 0" "-f tap: TAP version 13, every line TAP"
is "$planned" "$(jq -s '[.[] | select(.type == "service" or .type == "test"
    or .type == "finding")] | length' "$data/functest-failure.in.ndjson")" \
    "-f tap: a test point a service, test and finding"
is "$failed" "$(jq -s '[.[] | select(.type == "test" and
    (.status == "failed" or .status == "error"))] | length' \
    "$data/functest-failure.in.ndjson")" "-f tap: each failed test is not ok"
phx-report -n -f tap "$data/healthy.in.ndjson" >"$T_TMP/h.tap"
read -r planned passed failed skipped unknown version <<<"$(tap_check "$T_TMP/h.tap")"
is "$failed $unknown" "0 0" "-f tap: a healthy run, all ok"
prove -e cat "$T_TMP/h.tap" >/dev/null 2>&1
is "$?" 0 "-f tap: prove accepts it"

# ---- Prometheus: phx's names and blackbox_exporter's ----
phx-report -n -f prometheus "$data/unhealthy.in.ndjson" >"$T_TMP/u.prom"
check "promtool check metrics accepts it" promtool check metrics <"$T_TMP/u.prom"
for m in probe_success probe_duration_seconds probe_http_status_code \
    phx_service_up phx_health_check_up; do
	like "$(cat "$T_TMP/u.prom")" "^$m\{" "metric $m"
done
like "$(cat "$T_TMP/u.prom")" \
    '^probe_success\{instance="http://127.0.0.1:8080/health",service="phoenix-core"\} 1$' \
    "probe_success: instance and service labels"
like "$(cat "$T_TMP/u.prom")" '^probe_success\{[^}]*service="revenue-db"\} 0$' \
    "probe_success 0 for the failed check"
like "$(cat "$T_TMP/u.prom")" \
    '^probe_http_status_code\{instance="http://127.0.0.1:8080/health",service="phoenix-core"\} 200$' \
    "probe_http_status_code of an http check"

# ---- GitHub: step summary and annotations ----
phx-report -n -f markdown "$data/unhealthy.in.ndjson" >"$T_TMP/s.md"
is "$(head -n 1 "$T_TMP/s.md")" "## :x: phx deployment validation: FAILED" \
    "markdown: the verdict heads the summary"
like "$(cat "$T_TMP/s.md")" '^\| revenue-db \| unhealthy \| ' \
    "markdown: a row per service"
like "$(cat "$T_TMP/s.md")" '^### Tests$' "markdown: tests"
like "$(cat "$T_TMP/s.md")" '^### Security findings$' "markdown: findings"
line=$(grep -n '^  revenue-db:$' "$TOP/infra/podman/compose.yaml" | cut -d: -f1)
phx-report -n --annotations github "$data/unhealthy.in.ndjson" >"$T_TMP/ann" 2>&1
is "$(grep '^::error file=' "$T_TMP/ann")" \
    "::error file=infra/podman/compose.yaml,line=$line,title=service revenue-db unhealthy::connection to 127.0.0.1:5432 refused after 5 attempts" \
    "--annotations github: the failing service at its compose file line"
like "$(cat "$T_TMP/ann")" '^verdict +FAILED' "--annotations: after the summary"
printf '%s\n' '{"v":1,"type":"health","deployment_id":"deploy_20261127_162318","ts":"2026-11-27T16:23:24.462Z","source":"phx-probe","service":"a,b:c","check":"tcp","target":"tcp://x:1","status":"unhealthy","attempts":1,"message":"100%\nforged"}' |
    phx-report -n -f tap --annotations github >"$T_TMP/ann" 2>/dev/null
is "$(grep -c '' "$T_TMP/ann" | tr -d ' ')$(grep '^::error' "$T_TMP/ann" | head -n 1)" \
    "8::error title=service a%2Cb%3Ac unhealthy::100%25%0Aforged" \
    "annotations: properties and message percent-encoded, one line each"
phx-report -n --annotations gitlab </dev/null >/dev/null 2>&1
is "$?" 2 "--annotations of another CI: usage error"

# ---- the workflow ----
wf=$TOP/.github/workflows/deployment-validation.yml
av=$TOP/.deps/node/node_modules/.bin/action-validator
[ -x "$av" ] || av=$(command -v action-validator)
if [ -n "$av" ]; then
	check "action-validator accepts the workflow" "$av" "$wf"
else
	skip "action-validator not installed (make deps)"
fi
for use in github/codeql-action/upload-sarif mikepenz/action-junit-report \
    actions/upload-artifact; do
	like "$(cat "$wf")" "uses: $use@" "the workflow uses $use"
done
like "$(cat "$wf")" 'GITHUB_STEP_SUMMARY' "the workflow writes a step summary"
like "$(cat "$wf")" '--annotations github' "the workflow annotates"
mkdir "$T_TMP/steps"
python3 - "$wf" "$T_TMP/steps" <<'PY'
import sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
n = 0
for job in wf["jobs"].values():
    for step in job["steps"]:
        if "run" in step:
            n += 1
            with open("%s/%02d.sh" % (sys.argv[2], n), "w") as f:
                f.write("#!/bin/bash\n" + step["run"])
PY
n=$(ls "$T_TMP/steps" | wc -l)
check "the workflow has run: steps ($n)" test "$n" -ge 4
# ${{ }} expressions are replaced by the runner before bash sees them
sed -i 's/\${{[^}]*}}/X/g' "$T_TMP"/steps/*.sh
check "shellcheck accepts every run: step" shellcheck -s bash "$T_TMP"/steps/*.sh
done_testing
