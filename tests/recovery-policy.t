#!/bin/bash
# the recovery policy without Podman (phx(7) RECOVERY): `continue` lets a
# failed test or an unhealthy service pass as a warning, with a recovery
# record, unless its service is critical; a policy a category does not
# take is a configuration error.  Restarts: tests/probe-recovery.t.
. "$(dirname "$0")/lib.sh"

export PHX_STATE_DIR=$T_TMP/state
PORT=$(free_port)   # nothing listens there
cat >"$T_TMP/cont.yaml" <<EOF
recovery: {health: continue, functional: continue}
services:
  gone: {type: tcp, host: 127.0.0.1, port: $PORT, critical: false}
  vital: {type: tcp, host: 127.0.0.1, port: $PORT, critical: true}
tests:
  suites:
    cmds:
      type: command
      tests:
        - {name: ok, command: "true"}
        - {name: bad, command: [sh, -c, 'exit 3']}
    vital-cmds:
      type: command
      service: vital
      tests:
        - {name: bad, command: [sh, -c, 'exit 4']}
EOF
recs() { jq -c "select(.type == \"recovery\") | $1" "$T_TMP/out"; }

# functional: continue
phx-functest -c "$T_TMP/cont.yaml" -s cmds </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "functest continue: exit 0"
is "$(recs '[.category, .action, .suite, .test, .outcome] | join(" ")' | tr -d '"')" \
    "functional continue cmds bad continued" "functest continue: one recovery record"
like "$(recs .why)" "exit" "functest continue: why is the test's message"
is "$(jq -r 'select(.type == "phase" and .event == "end") | [.status, .counts.continued] | join(" ")' "$T_TMP/out")" \
    "ok 1" "functest continue: the phase ends ok, 1 continued"
phx-report -c /dev/null -o "$T_TMP/r1.json" <"$T_TMP/out" >"$T_TMP/text" 2>&1
is $? 0 "functest continue: phx-report SUCCESS"
like "$(cat "$T_TMP/text")" "^verdict  SUCCESS \\(1 warning\\)" "functest continue: the verdict line says 1 warning"
like "$(cat "$T_TMP/text")" "^warning  test cmds/bad failed" "functest continue: the warning names the test"

# a critical service's tests are never let go
phx-functest -c "$T_TMP/cont.yaml" -s vital-cmds </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is $? 1 "critical service's test: exit 1"
is "$(recs .action)" "" "critical service's test: no recovery record"

# health: continue
phx-probe -c "$T_TMP/cont.yaml" -s gone -r 1 -t 1s >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "probe continue: exit 0"
is "$(recs '[.category, .action, .service, .outcome] | join(" ")' | tr -d '"')" \
    "health continue gone continued" "probe continue: one recovery record"
ok "$(jq -s 'map(.type) | index("recovery") < index("health") | not' "$T_TMP/out" | grep -c true)" \
    "probe continue: the recovery record before the health record"
phx-report -c /dev/null -o "$T_TMP/r2.json" <"$T_TMP/out" >"$T_TMP/text" 2>&1
is $? 0 "probe continue: phx-report SUCCESS"
like "$(cat "$T_TMP/text")" "^warning  service gone: tcp check" "probe continue: the warning names the service"
is "$(jq -r '.recovery.continued' "$T_TMP/r2.json")" 1 "probe continue: report.json counts it"
phx-probe -c "$T_TMP/cont.yaml" -s vital -r 1 -t 1s >"$T_TMP/out" 2>"$T_TMP/err"
is $? 1 "critical service: exit 1, not let go"
is "$(recs .action)" "" "critical service: no continue record"

# what a category does not take
printf 'recovery: {health: bogus}\n' >"$T_TMP/bad.yaml"
phx-probe -c "$T_TMP/bad.yaml" -n >/dev/null 2>"$T_TMP/err"
is $? 2 "health: bogus: exit 2"
like "$(cat "$T_TMP/err")" 'recovery.health: expected restart, continue or abort, got "bogus"' \
    "health: bogus: the key and the values it takes"
{ printf 'recovery: {functional: restart}\n'; sed -n '/^tests:/,$p' "$T_TMP/cont.yaml"; } >"$T_TMP/bad.yaml"
phx-functest -c "$T_TMP/bad.yaml" </dev/null >/dev/null 2>"$T_TMP/err"
is $? 2 "functional: restart: exit 2"
like "$(cat "$T_TMP/err")" 'recovery.functional: expected continue or abort' \
    "functional: restart: the values it takes"
printf 'recovery: {deployment: restart}\n' >"$T_TMP/bad.yaml"
phx-deploy -c "$T_TMP/bad.yaml" -n up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is $? 2 "deployment: restart: exit 2"
like "$(cat "$T_TMP/err")" 'recovery.deployment: expected retry, rollback or abort, got "restart"' \
    "deployment: restart: the values it takes"
is "$(jq -r 'select(.type == "deployment") | [.status, .reason] | join(" ")' "$T_TMP/out")" \
    "failed config_invalid" "deployment: restart: a failed deployment record"

done_testing
