#!/bin/bash
# What a person sees: pipelines/validate on the bundled stack (stand-in
# images, the n8n stand-in) in a detached tmux pane of fixed width, with
# one functional test that fails.  The pane is captured while it runs and
# at the end: phx-report is the one writer (the other stages' diagnostics
# come above its progress line, whole), the progress line is redrawn in
# place, the failure is said once before the summary, and the summary ends
# with the verdict.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

command -v tmux >/dev/null || { echo "1..0 # SKIP tmux missing (make deps)"; exit 0; }
phx_images_or_bail

WIDTH=160
export PHX_STATE_DIR=$T_TMP/state
phx_stack_env term
P=$(phx_test_project term)
export PHX_PROJECT=$P
at_exit "podman_cleanup_project $P >/dev/null 2>&1"

cat >"$T_TMP/fail.yaml" <<'EOF'
tests:
  suites:
    terminal:
      type: command
      tests:
        - name: always-fails
          command: [sh, -c, 'echo oops >&2; exit 3']
EOF
# the pane runs this; the tmux server has our environment
C=$TOP/configs/deployment-validation
cat >"$T_TMP/run.sh" <<EOF
cd "$TOP" || exit 9
pipelines/validate -c "$C/services.yaml" -c "$C/tests.yaml" \\
    -c "$C/security.yaml" -c "$T_TMP/fail.yaml" --down -o "$T_TMP/out"
echo \$? >"$T_TMP/status"
sleep 600
EOF
SOCK=phx-term-$$
at_exit "tmux -L $SOCK kill-server >/dev/null 2>&1"
tmux -L "$SOCK" -f /dev/null new-session -d -x "$WIDTH" -y 100 "sh $T_TMP/run.sh"
ok $? "validate starts in a detached tmux pane, $WIDTH columns"

capture() { tmux -L "$SOCK" capture-pane -p -J | sed '/^$/d'; }
# the live part of a screen: what comes before the summary (stdout)
live() { awk '/^deployment / { s = 1 } !s' "$1"; }
n=0
start=$(date +%s)
while [ ! -s "$T_TMP/status" ] && [ $(($(date +%s) - start)) -lt 240 ]; do
	n=$((n + 1))
	capture >"$T_TMP/cap.$n"
	sleep 0.5
done
sleep 0.3
capture >"$T_TMP/final"
is "$(cat "$T_TMP/status" 2>/dev/null)" 1 "the run ends, FAILED (exit 1), in $(($(date +%s) - start)) s"

PROGRESS='^phx-report: [0-9]+s  [a-z]+( running)?  services [0-9]+ healthy [0-9]+ unhealthy of [0-9]+  tests [0-9]+ passed [0-9]+ failed  findings [0-9]+ FAIL  [0-9]+ records$'
# the lines the live part may hold: phx-validate's notes, the progress
# line, whole diagnostic lines of a stage (ours or relayed)
LIVE='^phx-(validate|deploy|probe|functest|secscan|report): '

# --- while it ran ---
shown=0 stamps=''
for f in "$T_TMP"/cap.*; do
	grep -Eq "$PROGRESS" "$f" || continue
	shown=$((shown + 1))
	stamps="$stamps $(grep -E "$PROGRESS" "$f" | sed 's/^phx-report: \([0-9]*\)s.*/\1/')"
done
check "the progress line was on screen while the run went on ($shown captures)" test "$shown" -ge 3
check "it is redrawn: its clock moved ($(echo "$stamps" | tr ' ' '\n' | sort -un | tr '\n' ' '))" \
    test "$(echo "$stamps" | tr ' ' '\n' | sort -u | wc -l)" -ge 2
bad=0 twice=0 notlast=0
for c in "$T_TMP"/cap.*; do
	f=$T_TMP/live.${c##*.}
	live "$c" >"$f"
	grep -Evq "$LIVE" "$f" && { bad=$((bad + 1)); diag "$c:" "$(grep -Ev "$LIVE" "$f")"; }
	# a line that holds progress text is the progress line whole
	grep 'records' "$f" | grep -q 'findings' && grep 'findings.*records' "$f" |
	    grep -Evq "$PROGRESS" && { bad=$((bad + 1)); diag "$(grep 'findings.*records' "$f")"; }
	[ "$(grep -Ec "$PROGRESS" "$f")" -le 1 ] || twice=$((twice + 1))
	# in place: the last line, below everything else said so far
	grep -Eq "$PROGRESS" "$f" && ! tail -1 "$f" | grep -Eq "$PROGRESS" && notlast=$((notlast + 1))
done
is "$bad" 0 "no garbled line while it ran: each is a note, the progress line or a whole diagnostic"
is "$twice" 0 "never two progress lines on screen: it is redrawn in place"
is "$notlast" 0 "the progress line is always the last line: diagnostics go above it"

# --- at the end ---
# the live part, then the summary (phx-report's stdout) from its first line
live "$T_TMP/final" >"$T_TMP/live"
awk '/^deployment / { s = 1 } s' "$T_TMP/final" >"$T_TMP/summary"
check "the summary is on screen" test -s "$T_TMP/summary"
is "$(grep -Ev "$LIVE" "$T_TMP/live" | wc -l)" 0 "at the end the live part has only whole diagnostic lines"
is "$(grep -Ec "$PROGRESS" "$T_TMP/final")" 0 "the progress line is gone at the end"
is "$(grep -c 'always-fails' "$T_TMP/live")" 1 "the failing test is said once before the summary"
like "$(grep 'always-fails' "$T_TMP/live")" '^phx-report: test always-fails failed: ' \
    "by phx-report, as one whole line"
is "$(grep -c 'phx-functest' "$T_TMP/live")" 0 "phx-functest says nothing itself"
# after the report, the policy: phx-validate's notes and the teardown's
unlike "$(grep -Ev '^phx-(validate|deploy): ' "$T_TMP/summary" | grep -Ev '^[a-z]+ +[^ ]')" '.' \
    "every summary line is a summary row"
like "$(grep -Ev '^phx-(validate|deploy): |^report ' "$T_TMP/final" | tail -1)" '^verdict +FAILED$' \
    "the summary ends with the verdict"
like "$(grep '^phx-validate: ' "$T_TMP/final" | tail -1)" "^phx-validate: taking deploy_[0-9_]+ down" \
    "then phx-validate says the teardown"
unlike "$(cat "$T_TMP/final" "$T_TMP"/cap.*)" "$REVENUE_DB_PASSWORD|$N8N_API_KEY|$WINDMILL_TOKEN" \
    "no secret on screen"
[ "$T_FAILED" -eq 0 ] || diag "final screen:" "$(cat "$T_TMP/final")"
done_testing
