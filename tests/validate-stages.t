#!/bin/bash
# pipelines/validate's control flow, on stand-in tools
# (tests/data/validate/bin/fake, no Podman): every stage's exit status
# counts (a stage killed or not run makes the run INCOMPLETE, never
# SUCCESS); jq is not needed; the deployment taken down is the one this
# run created, never one named by a report an earlier run left, and none
# when none was created; each run has an output folder of its own.
. "$(dirname "$0")/lib.sh"

FAKE=$TOP/tests/data/validate/bin
export PHX_BIN=$FAKE PATH=$FAKE:$PATH
export PHX_STATE_DIR=$T_TMP/state FAKE_LOG=$T_TMP/log
V=$TOP/pipelines/validate

# run NAME ARGS...: validate ARGS, status in $st, stderr in $T_TMP/NAME.err
run() {
	local name=$1
	shift
	: >"$FAKE_LOG"
	"$V" "$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err"
	st=$?
}
downs() { grep -c '^phx-deploy .*\[down\]' "$FAKE_LOG"; }

# --- the happy path, and --down takes down exactly this run's deployment
FAKE_ID=deploy_20260102_030405 run ok --down -o "$T_TMP/ok"
is "$st" 0 "all stages 0, report SUCCESS: exit 0"
is "$(grep '\[down\]' "$FAKE_LOG")" "phx-deploy [down] [deploy_20260102_030405]" \
    "--down: takes down the deployment phx-deploy claimed, once"
is "$(grep -c '^phx-' "$FAKE_LOG")" 6 "five stages and the take-down ran"

# --- under umask 000 what it writes is still 0600 in 0700 folders
(umask 000; FAKE_ID=deploy_20260102_030406 run umask --down -o "$T_TMP/um")
is "$(find "$T_TMP/um" -type f ! -perm 600 | wc -l) $(find "$T_TMP/um" -type d ! -perm 700 | wc -l)" \
    "0 0" "umask 000: files 0600, folders 0700"
check "umask 000: it did write files (down.ndjson)" test -f "$T_TMP/um/down.ndjson"

# --- without jq ---
mkdir -p "$T_TMP/nojq"
printf '#!/bin/sh\necho "jq: not found" >&2\nexit 127\n' >"$T_TMP/nojq/jq"
chmod +x "$T_TMP/nojq/jq"
PATH=$T_TMP/nojq:$PATH run nojq --down -o "$T_TMP/nojq-out"
is "$st" 0 "no jq: SUCCESS is exit 0"
is "$(downs)" 1 "no jq: --down still takes the deployment down"
unlike "$(cat "$T_TMP/nojq.err")" "no report was written" "no jq: no false 'no report' message"

# --- a stage that dies without a word ---
for s in deploy probe functest secscan report; do
	FAKE_KILL=$s run "kill-$s" -o "$T_TMP/kill"
	is "$st" 2 "phx-$s killed: INCOMPLETE, exit 2"
	like "$(cat "$T_TMP/kill-$s.err")" "$s stage was killed by signal 9" \
	    "phx-$s killed: said so"
done
FAKE_EXIT_secscan=127 run notfound -o "$T_TMP/nf"
is "$st" 3 "a stage that could not be run (127): exit 3"
FAKE_EXIT_probe=126 run noexec -o "$T_TMP/nx"
is "$st" 3 "a stage that could not be executed (126): exit 3"
FAKE_EXIT_functest=5 run five -o "$T_TMP/five"
is "$st" 2 "a stage that exits 5: INCOMPLETE, exit 2"
FAKE_EXIT_functest=1 run one -o "$T_TMP/one"
is "$st" 1 "a stage that failed (1) under a SUCCESS report: exit 1"
like "$(cat "$T_TMP/one.err")" "verdict FAILED" "and the verdict said is FAILED"
FAKE_EXIT_deploy=3 run env3 -o "$T_TMP/env3"
is "$st" 3 "phx-deploy exits 3 (environment): exit 3"
FAKE_EXIT_report=1 run failed -o "$T_TMP/failed"
is "$st" 1 "the report says FAILED: exit 1"
is "$(downs)" 1 "FAILED: the deployment is taken down (cleanup_on_failure)"
FAKE_EXIT_report=1 run nocleanup --no-cleanup -o "$T_TMP/failed"
is "$(downs)" 0 "FAILED with --no-cleanup: left up"
FAKE_EXIT_report=1 run rollback --rollback -o "$T_TMP/failed"
is "$(grep '\[rollback\]' "$FAKE_LOG")" "phx-deploy [rollback] [deploy_20260101_000000]" \
    "FAILED with --rollback: that deployment rolled back"

# a probe that dies before phx-deploy has said which deployment it made:
# the deployment is still known, and taken down
printf '#!/bin/sh\nexit 2\n' >"$T_TMP/quitter"
chmod +x "$T_TMP/quitter"
FAKE_SLOW=1 FAKE_ID=deploy_20260404_040404 run early --probe "$T_TMP/quitter" -o "$T_TMP/early"
is "$st" 2 "the probe stage quits at once: exit 2"
is "$(grep '\[down\]' "$FAKE_LOG")" "phx-deploy [down] [deploy_20260404_040404]" \
    "the probe stage quits at once: the deployment made after is taken down"

# --- --rollback and a failed up: phx-deploy rolls back (a record in the
# report), and the deployment it restored is neither taken down nor
# rolled back again
FAKE_DEPLOY=failed FAKE_EXIT_report=1 run deployrb --rollback -o "$T_TMP/drb"
is "$st" 1 "failed up, --rollback: exit 1"
is "$(grep -c '\[down\]\|\[rollback\]' "$FAKE_LOG")" 0 "failed up, --rollback: nothing taken down or rolled back after"
like "$(cat "$T_TMP/deployrb.err")" "rolled deploy_20260101_000000 back to deploy_20250101_000000" \
    "failed up, --rollback: says phx-deploy rolled back"
FAKE_DEPLOY=failed FAKE_EXIT_report=1 run deployfail -o "$T_TMP/dfl"
is "$(downs)" 1 "failed up without --rollback: no rollback by phx-deploy, taken down"

# --- no deployment created: nothing taken down, whatever a report says ---
mkdir -p "$T_TMP/stale"
printf '{"deployment_id":"deploy_20250101_000000","status":"SUCCESS"}\n' \
    >"$T_TMP/stale/report.json"
FAKE_DEPLOY=invalid FAKE_EXIT_report=2 run stale --down -o "$T_TMP/stale"
is "$st" 2 "invalid compose file: exit 2"
is "$(downs)" 0 "invalid compose file: nothing taken down"
unlike "$(cat "$FAKE_LOG" "$T_TMP/stale.err")" deploy_20250101_000000 \
    "the earlier run's report is neither read nor named"
like "$(cat "$T_TMP/stale.err")" "no deployment was created" "and it says why"
printf '{"deployment_id":"deploy_20250101_000000","status":"SUCCESS"}\n' \
    >"$T_TMP/stale/report.json"
FAKE_KILL=report run noreport -o "$T_TMP/stale"
check "a run that wrote no report leaves none of an earlier run's in its folder" \
    test ! -e "$T_TMP/stale/report.json"
FAKE_DEPLOY=invalid run invalid --down -o "$T_TMP/fresh"
is "$(downs)" 0 "invalid compose file, fresh folder: nothing taken down"

# --- each run its own output folder, and PHX_DEPLOYMENT_ID is not ours ---
run d1
run d2
n=$(find "$PHX_STATE_DIR" -name report.json | wc -l)
is "$n" 2 "two runs without -o: two reports in two folders"
d1=$(sed -n 's/.*reports in //p' "$T_TMP/d1.err")
d2=$(sed -n 's/.*reports in //p' "$T_TMP/d2.err")
check "each run names its own folder" test -n "$d1" -a "$d1" != "$d2" -a -s "$d1/report.json"
is "$(stat -c %a "$d1")" 700 "the run's folder is 0700"
FAKE_ID=deploy_20260303_030303 PHX_DEPLOYMENT_ID=deploy_20250101_000000 run envid --down
is "$(grep '\[down\]' "$FAKE_LOG")" "phx-deploy [down] [deploy_20260303_030303]" \
    "PHX_DEPLOYMENT_ID set: the deployment taken down is still this run's"

# --- the other modes ---
run all --services all -o "$T_TMP/m"
is "$(grep '^phx-probe' "$FAKE_LOG")" "phx-probe [-a]" "--services all: phx-probe -a"
run svc --services 'a,b c' -o "$T_TMP/m"
is "$(grep '^phx-probe' "$FAKE_LOG")" "phx-probe [--services] [a,b c]" "--services LIST: passed as one argument"
run suites --test-suite 'one two' --test-suite '$(x)' -o "$T_TMP/m"
is "$(grep '^phx-functest' "$FAKE_LOG")" 'phx-functest [-s] [one two] [-s] [$(x)]' \
    "--test-suite: each suite one argument"
is "$(grep '^phx-report' "$FAKE_LOG" | grep -c '\[-s\]')" 0 "--test-suite: phx-report is not given -s"
FAKE_EXIT_probe=127 run svc127 --services all -o "$T_TMP/m"
is "$st" 3 "--services: a probe that could not run is exit 3"
run dep --deployed 'infra/my kube' -c /dev/null -o "$T_TMP/m"
is "$st" 0 "--deployed: all stages 0, exit 0"
is "$(sed 's/ .*//' "$FAKE_LOG" | sort | tr '\n' ' ')" "phx-functest phx-probe phx-report phx-secscan " \
    "--deployed: no phx-deploy, the four other stages, nothing taken down"
is "$(grep '^phx-probe' "$FAKE_LOG")" "phx-probe [-c] [/dev/null] [-w] [-a]" \
    "--deployed: phx-probe -w -a, every configured service"
like "$(grep '^phx-secscan' "$FAKE_LOG")" " \\[-k\\] \\[infra/my kube\\]\$" \
    "--deployed: phx-secscan -k the manifests, one argument"
FAKE_EXIT_functest=1 run dep1 --deployed infra/kube -o "$T_TMP/m"
is "$st" 1 "--deployed: a stage that exits 1 makes it FAILED"
FAKE_KILL=secscan run depk --deployed infra/kube -o "$T_TMP/m"
is "$st" 2 "--deployed: a stage killed makes it INCOMPLETE"
run rep --deployment-id deploy_20260101_000000 -o "$T_TMP/m"
is "$st:$(grep -c '\[--deployment-id\] \[deploy_20260101_000000\]' "$FAKE_LOG")" "0:1" \
    "--deployment-id: phx-report -d"

# --- usage ---
out=$("$V" -h 2>&1)
is "$?:$(printf '%s\n' "$out" | wc -l)" "0:1" "-h: one usage line, exit 0"
like "$out" "^usage: phx-validate " "-h: usage names phx-validate"
is "$("$V" -V 2>&1)" "phx-validate 9.8.7 (records v1)" "-V: the version of the tools it runs"
"$V" --bogus >/dev/null 2>"$T_TMP/err"
is "$?" 2 "unknown option: exit 2"
like "$(cat "$T_TMP/err")" "usage: phx-validate" "unknown option: usage on stderr"
"$V" -c "$T_TMP/nonexistent.yaml" >/dev/null 2>&1
is "$?" 2 "unreadable -c file: exit 2"
: >"$FAKE_LOG"
"$V" --services '' >/dev/null 2>&1
is "$?:$(wc -l <"$FAKE_LOG")" "2:0" "--services '': usage error, nothing run (not a full run)"

done_testing
