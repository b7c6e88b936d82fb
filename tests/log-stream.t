#!/bin/bash
# One writer owns the terminal: with PHX_LOG_STREAM set (pipelines/validate
# sets it for every stage before phx-report) a stage's diagnostics are log
# records on its stdout, masked like every record, and phx-report writes
# them to stderr as the stage would have; a failure a record carries is
# said once, by phx-report.  Unset, a stage still says its errors itself.
. "$(dirname "$0")/lib.sh"

SECRET=lg-$RANDOM-Secr3t
export REVENUE_DB_PASSWORD=$SECRET
missing=$T_TMP/$SECRET/none.yaml

# --- a stage alone: stderr as always ---
phx-deploy -f "$missing" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
like "$(cat "$T_TMP/err")" '^phx-deploy: error: ' "unset: the stage writes its error to stderr"
is "$(jq -c 'select(.type == "log")' "$T_TMP/out" | wc -l)" 0 "unset: no log record"

# --- streamed: a log record, masked, nothing on stderr ---
PHX_LOG_STREAM=1 phx-deploy -f "$missing" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$(cat "$T_TMP/err")" "" "streamed: nothing on stderr"
is "$(jq -r 'select(.type == "log") | .level' "$T_TMP/out" | sort -u)" error \
    "streamed: the error is a log record of level error"
like "$(jq -r 'select(.type == "log") | .message' "$T_TMP/out")" 'none\.yaml' \
    "streamed: with the stage's message"
is "$(jq -r 'select(.type == "log") | [.v, .source] | @tsv' "$T_TMP/out" | sort -u)" \
    "$(printf '1\tphx-deploy')" "streamed: a v1 record with its source"
unlike "$(cat "$T_TMP/out")" "$SECRET" "streamed: the secret in the message is masked"
PHX_LOG_STREAM=0 phx-deploy -f "$missing" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
like "$(cat "$T_TMP/err")" '^phx-deploy: error: ' "PHX_LOG_STREAM=0: stderr as unset"

# --- phx-report writes it, once, as the stage would have ---
PHX_LOG_STREAM=1 phx-deploy -f "$missing" up </dev/null 2>"$T_TMP/err1" |
    phx-report -n >"$T_TMP/sum" 2>"$T_TMP/err"
grep -c '^phx-deploy: error: ' "$T_TMP/err" >"$T_TMP/n"
is "$(cat "$T_TMP/n")" 1 "phx-report writes the stage's error line once"
unlike "$(cat "$T_TMP/err" "$T_TMP/sum")" "$SECRET" "phx-report: the secret stays masked"
unlike "$(cat "$T_TMP/sum")" 'unknown type' "phx-report: log records are not of unknown type"
PHX_LOG_STREAM=1 phx-report -n "$T_TMP/out" >/dev/null 2>"$T_TMP/err"
unlike "$(cat "$T_TMP/err")" 'phx-deploy: error' "a saved stream's log records are not written again"
PHX_LOG_STREAM=1 phx-report -n -f bogus </dev/null >"$T_TMP/sum" 2>"$T_TMP/err"
like "$(cat "$T_TMP/err")" 'phx-report: error: unknown format' "phx-report's own errors go to stderr, set or not"

# a record's text reaches a terminal inert: no escape sequence, one line
esc=$(printf 'bad \033[2J\033]0;title\007 line\nnext')
jq -cn --arg m "$esc" '{v:1,type:"log",deployment_id:null,ts:"2026-11-27T16:23:18.120Z",source:"x\u001b[1m",level:"warning",message:$m}' |
    cat | phx-report -n >/dev/null 2>"$T_TMP/err"
is "$(cat "$T_TMP/err")" 'x?[1m: warning: bad ?[2J?]0;title? line?next' \
    "a relayed line: control characters and line breaks shown as ?"

# --- a failing test: said once in the pipeline, and still alone ---
cat >"$T_TMP/fail.yaml" <<'EOF'
tests:
  suites:
    term:
      type: command
      tests:
        - name: always-fails
          command: [sh, -c, 'echo oops >&2; exit 3']
        - name: child-env
          command: [sh, -c, 'echo "${PHX_LOG_STREAM-unset}"']
          expect_stdout: '^unset$'
EOF
phx-functest -c "$T_TMP/fail.yaml" >"$T_TMP/out" 2>"$T_TMP/err"
is "$(grep -c 'always-fails' "$T_TMP/err")" 1 "alone: phx-functest says the failure"
PHX_LOG_STREAM=1 phx-functest -c "$T_TMP/fail.yaml" 2>"$T_TMP/err1" >"$T_TMP/out"
is "$(cat "$T_TMP/err1")" "" "streamed: phx-functest writes nothing to stderr"
is "$(jq -r 'select(.type == "log") | .message' "$T_TMP/out" | grep -c always-fails)" 0 \
    "streamed: the failure is not also a log record (the test record says it)"
is "$(jq -r 'select(.type == "test" and .name == "child-env") | .status' "$T_TMP/out")" passed \
    "streamed: the commands it runs do not inherit PHX_LOG_STREAM"
phx-report -n "$T_TMP/out" >/dev/null 2>&1
cat "$T_TMP/out" | phx-report -n >"$T_TMP/sum" 2>"$T_TMP/err"
is "$(grep -c 'always-fails' "$T_TMP/err")" 1 "in the pipeline the failure is said once on stderr"

done_testing
