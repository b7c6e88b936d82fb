#!/bin/bash
# phx-functest without the stack: command suites (exit status, output
# expectations, timeout killing the process group with no zombie left,
# secrets masked), the stream (pass-through, health skips), usage errors.
. "$(dirname "$0")/lib.sh"

ft() { phx-functest "$@" 2>"$T_TMP/err"; }
rec() { jq -cR --arg name "$1" 'fromjson? | select(.type == "test" and .name == $name)' "$T_TMP/out"; }
field() { rec "$1" | jq -r ".$2 // empty"; }

SECRET=s3cr3t-$RANDOM-value
export MY_SERVICE_TOKEN=$SECRET
cat >"$T_TMP/cmd.yaml" <<EOF
tests:
  suites:
    cmds:
      type: command
      timeout: 2s
      tests:
        - name: ok
          command: echo hello world
          expect_stdout: '^hello world$'
        - name: exit3
          command: [sh, -c, 'echo to-stdout; echo to-stderr >&2; exit 3']
        - name: expected-exit
          command: [sh, -c, 'exit 4']
          expect_exit: 4
        - name: hang
          command: [sh, -c, 'sleep 987 & sleep 986 & wait']
        - name: no-leftovers
          # nothing of it running, and no zombie child of phx-functest (our parent)
          command: [sh, -c, '! ps -eo args= | grep -q "^sleep 98[67]" && ! ps -eo ppid=,stat= | grep -q "^ *\$\$PPID Z"']
        - name: secret
          env: { PLAIN_VAR: "$SECRET" }
          command: [sh, -c, 'echo "token: \$\$MY_SERVICE_TOKEN"; echo "again \$\$PLAIN_VAR" >&2']
        - name: wrong-output
          command: [printf, 'nothing to see\n']
          expect_stdout: 'total: [0-9]+'
        - name: shell
          shell: /bin/sh
          command: 'echo a | tr a b'
          expect_stdout: '^b$'
        - name: cwd-env
          cwd: tests
          env: { GREETING: hi }
          command: [sh, -c, 'echo "\$\$GREETING from \$\$(basename "\$\$PWD")"']
          expect_stdout: '^hi from tests$'
        - name: missing
          command: [/nonexistent/program]
        - name: off
          enabled: false
          command: [false]
    other:
      type: command
      service: revenue-db
      tests:
        - name: other-ok
          command: [true]
EOF

ft -c "$T_TMP/cmd.yaml" </dev/null >"$T_TMP/out"
is "$?" 1 "exit 1 when a test fails"
is "$(head -1 "$T_TMP/out" | jq -r '.phase + " " + .event')" "functest start" "phase start first"
is "$(tail -1 "$T_TMP/out" | jq -c '[.event, .status, .counts]')" \
    '["end","failed",{"passed":7,"failed":3,"skipped":1,"error":1}]' "phase end last, with counts"
is "$(field ok status)" passed "echo passes, stdout matched"
is "$(rec exit3 | jq -c '[.status, .step, .reason, .exit_code, .output, .stderr]')" \
    '["failed","run","exit",3,"to-stdout\n","to-stderr\n"]' "exit 3: failed, reason exit, output tails"
is "$(field expected-exit status)" passed "expect_exit 4"
is "$(rec hang | jq -c '[.status, .step, .reason]')" '["failed","run","timeout"]' \
    "a hanging command is killed at the timeout"
like "$(field hang duration_ms)" '^(19[0-9][0-9]|2[0-9][0-9][0-9])$' "killed after about 2 s"
is "$(field no-leftovers status)" passed \
    "no child of the killed command left, running or zombie (checked while phx-functest runs)"
ps -eo stat=,args= | grep -v grep | grep "sleep 98[67]" >/dev/null
is "$?" 1 "and none after it exits"
is "$(field secret status)" passed "the secret test ran"
is "$(field secret output)" "token: ***" "a secret from the environment is masked in stdout"
is "$(field secret stderr)" "again ***" "a secret value in the test's env: is masked too"
is "$(grep -c -- "$SECRET" "$T_TMP/out" "$T_TMP/err" | awk -F: '{s += $2} END {print s}')" 0 \
    "the secret is nowhere in stdout or stderr"
is "$(rec wrong-output | jq -c '[.status, .step, .reason]')" '["failed","stdout","output"]' \
    "expect_stdout that does not match: reason output"
is "$(field shell status)" passed "shell: runs the line through the shell"
is "$(field cwd-env status)" passed "cwd and env"
is "$(rec missing | jq -c '[.status, .step, .reason]')" '["error","exec","exec"]' \
    "a program that does not exist: error, reason exec"
is "$(rec off | jq -c '[.status, .reason]')" '["skipped","disabled"]' "a disabled test is skipped"
is "$(jq -r 'select(.type == "test") | .deployment_id' "$T_TMP/out" | sort -u)" null \
    "no stream, no deployment id"

# the stream: everything passes through byte for byte, health decides skips
{
	printf '%s\n' '{"v":1,"type":"deployment","deployment_id":"deploy_20261127_101010","ts":"2026-11-27T10:10:10.000Z","source":"phx-deploy","status":"running"}'
	printf '%s\n' 'not json at all'
	printf '%s\n' '{"v":1,"type":"health","deployment_id":"deploy_20261127_101010","ts":"2026-11-27T10:10:11.000Z","source":"phx-probe","service":"revenue-db","check":"postgres","status":"unhealthy","reason":"auth","message":"password authentication failed"}'
	printf '%s' '{"v":2,"type":"future","x":1}'
} >"$T_TMP/in"
ft -c "$T_TMP/cmd.yaml" -s other <"$T_TMP/in" >"$T_TMP/out"
is "$?" 0 "skipped tests do not fail the run"
sed -n '2,5p' "$T_TMP/out" >"$T_TMP/passed"
printf '\n' >>"$T_TMP/in"
check "input lines passed through unchanged, in order" cmp -s "$T_TMP/in" "$T_TMP/passed"
is "$(head -1 "$T_TMP/out" | jq -r .deployment_id)" deploy_20261127_101010 \
    "the phase start carries the stream's deployment id"
is "$(rec other-ok | jq -c '[.status, .reason, .upstream_reason]')" '["skipped","unhealthy","auth"]' \
    "a suite whose service is unhealthy upstream is skipped with the upstream reason"
like "$(field other-ok message)" 'revenue-db was reported unhealthy upstream \(phx-probe: auth: password' \
    "the message says why"
is "$(jq -cR 'fromjson? | select(.type == "test")' "$T_TMP/out" | wc -l)" 1 "--test-suite runs only that suite"
like "$(cat "$T_TMP/err")" 'stdin:2:1: invalid JSON, passed through' "invalid input is reported"

# a later healthy verdict of the same check wins
sed 's/"status":"unhealthy"/"status":"healthy"/' "$T_TMP/in" >"$T_TMP/in2"
{ cat "$T_TMP/in"; cat "$T_TMP/in2"; } | ft -c "$T_TMP/cmd.yaml" -s other >"$T_TMP/out"
is "$(field other-ok status)" passed "healthy again: the suite runs"

# the total deadline
PHX_TESTS_TIMEOUT=1s ft -c "$T_TMP/cmd.yaml" -s cmds </dev/null >"$T_TMP/out"
is "$(rec hang | jq -r '[.status, .reason] | join(" ")')" "failed timeout" \
    "a test gets at most the time left"
is "$(rec shell | jq -r '[.status, .reason] | join(" ")')" "error deadline" \
    "tests after the total deadline are errors, reason deadline"

# SIGTERM: the running command is killed with its group, the rest not run
cat >"$T_TMP/sig.yaml" <<EOF
tests:
  suites:
    cmds:
      type: command
      tests:
        - name: long
          command: [sh, -c, 'sleep 977 & sleep 976']
        - name: after
          command: [true]
EOF
phx-functest -c "$T_TMP/sig.yaml" </dev/null >"$T_TMP/out" 2>"$T_TMP/err" &
pid=$!
i=0
until ps -eo args= | grep -q '^sleep 976' || [ $i -gt 100 ]; do sleep 0.05; i=$((i + 1)); done
kill -TERM $pid
wait $pid
is "$?" 143 "SIGTERM: exit 128+15"
is "$(rec long | jq -r '[.status, .reason] | join(" ")')" "error interrupted" "the running test: error, interrupted"
is "$(rec after | jq -r '[.status, .reason] | join(" ")')" "error interrupted" "the next one is not run"
is "$(tail -1 "$T_TMP/out" | jq -r '.event + " " + .status')" "end error" "the phase still ends"
ps -eo args= | grep -q '^sleep 97[67]'
is "$?" 1 "nothing of it left running"

# usage and configuration errors: exit 2, one clear line
ft -c "$T_TMP/cmd.yaml" -s nosuch </dev/null >"$T_TMP/out"
is "$?" 2 "unknown suite: exit 2"
is "$(cat "$T_TMP/err")" "phx-functest: error: --test-suite nosuch: no such suite in tests.suites" \
    "unknown suite: the message"
is "$(wc -c <"$T_TMP/out")" 0 "nothing on stdout"
bad() {
	printf 'tests:\n  suites:\n    s:\n%s\n' "$1" >"$T_TMP/bad.yaml"
	ft -c "$T_TMP/bad.yaml" </dev/null >/dev/null
	is "$?:$(cat "$T_TMP/err")" "2:phx-functest: error: $2" "config error: $2"
}
bad '      service: x' 'tests.suites.s: needs a type: n8n, windmill or command'
bad '      type: ftp' 'tests.suites.s: type ftp: want n8n, windmill or command'
bad '      type: n8n' 'tests.suites.s: needs a base_url'
bad '      type: command' 'tests.suites.s: a command suite needs tests'
bad "      type: command
      tests: [{name: t, command: x, expect_stdout: '(['}]" \
    'tests.suites.s: t: expect_stdout: Invalid regular expression'
bad "      type: windmill
      base_url: http://x
      workspace: w
      script_path: 'a b'" \
    'tests.suites.s: script: script_path must be a Windmill path such as f/folder/name'
bad "      type: command
      tests: [{name: t, command: x, cwd: /nonexistent}]" \
    'tests.suites.s: t: cwd /nonexistent is not a directory'
bad '      type: n8n
      webhok_path: x' "$T_TMP/bad.yaml:5:7: unknown key \"webhok_path\" in tests.suites.s"
phx-functest --bogus </dev/null >/dev/null 2>"$T_TMP/err"
is "$?" 2 "unknown option: exit 2"
like "$(cat "$T_TMP/err")" '^usage: phx-functest ' "unknown option: the usage line"
is "$(phx-functest -h)" "usage: phx-functest [-hqVv] [-c file] [-s suite]..." "-h"

done_testing
