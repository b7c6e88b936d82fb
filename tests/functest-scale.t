#!/bin/bash
# phx-functest over a long stream: 100 000 health records of distinct
# services pass through unchanged within seconds (the verdicts are kept
# in a tree, not a list searched per record), and a suite's service is
# still found among them.
. "$(dirname "$0")/lib.sh"

cat >"$T_TMP/cmd.yaml" <<EOF
tests:
  suites:
    db:
      type: command
      service: svc-77777
      tests:
        - name: db-ok
          command: [true]
    web:
      type: command
      service: svc-12345
      tests:
        - name: web-ok
          command: [true]
EOF

awk 'BEGIN {
	for (i = 0; i < 100000; i++)
		printf "{\"v\":1,\"type\":\"health\",\"deployment_id\":\"deploy_20261127_101010\",\"ts\":\"2026-11-27T10:10:11.000Z\",\"source\":\"phx-probe\",\"service\":\"svc-%05d\",\"check\":\"http\",\"status\":\"%s\",\"reason\":\"refused\"}\n", i, i == 77777 ? "unhealthy" : "healthy"
}' >"$T_TMP/in"

# a bound, not a timing: the list searched per record took about a minute
# here for 100 000; the tree takes under a second (10 under sanitizers)
start=$(date +%s%N)
timeout 30 phx-functest -c "$T_TMP/cmd.yaml" <"$T_TMP/in" >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 0 "100 000 distinct health records: done well inside 30 s"
diag "100 000 health records: $(( ($(date +%s%N) - start) / 1000000 )) ms"
grep '"type":"health"' "$T_TMP/out" >"$T_TMP/passed"
check "every record passed through unchanged, in order" cmp -s "$T_TMP/in" "$T_TMP/passed"
rec() { jq -cR --arg name "$1" 'fromjson? | select(.type == "test" and .name == $name) | [.status, .upstream_reason]' "$T_TMP/out"; }
is "$(rec db-ok)" '["skipped","refused"]' "the one unhealthy service among them skips its suite"
is "$(rec web-ok)" '["passed",null]' "a healthy one does not"

done_testing
