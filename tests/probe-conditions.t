#!/bin/bash
# phx-probe's conditions grammar (tools/probe/cond.c), data-driven: each
# tests/data/phx-probe/conditions/NAME.in holds conditions, one a line
# (# comments; "json VALUE" for a raw JSON value), each checked against
# body.json served over HTTP; NAME.expected holds, a line each, "ok" or
# "not" and the actual value recorded, or "invalid: " and the message.
# PHX_REGOLD=1 writes the .expected files from what phx-probe does.
. "$(dirname "$0")/lib.sh"

D=$TOP/tests/data/phx-probe/conditions
WWW=$T_TMP/www
mkdir -p "$WWW"
cp "$D/body.json" "$WWW/body"
PORT=$(free_port)
busybox httpd -f -p "127.0.0.1:$PORT" -h "$WWW" &
at_exit "kill $! 2>/dev/null"
wait_port "$PORT" || { echo "Bail out! busybox httpd did not start"; exit 1; }
U=http://127.0.0.1:$PORT/body

# one service record per condition, named c1, c2, ... in order
records() {
	grep -v -e '^#' -e '^$' "$1" | jq -cR --arg u "$U" '
	    (if startswith("json ") then .[5:] | fromjson else . end) as $c
	    | {v: 1, type: "service", deployment_id: null,
	       ts: "2026-11-27T00:00:00.000Z", source: "t", service: $c,
	       checks: [{kind: "http", target: $u, conditions: [$c]}]}' |
	    jq -c --slurp 'to_entries[] | .value.service = "c\(.key + 1)" | .value'
}

# the verdict of each condition, in the order of the file
verdicts() {
	jq -r 'select(.type == "health")
	    | [(.service[1:] | tonumber),
	       if .reason == "skipped" then "invalid: " + (.message
	           | sub("^invalid check: "; ""))
	       else (.conditions[0] | (if .ok then "ok " else "not " end) +
	           (if (.condition | test("RESPONSE_TIME")) then .actual | type
	            else .actual | tojson end))
	       end] | @tsv' | sort -n | cut -f2-
}

for in in "$D"/*.in; do
	name=$(basename "$in" .in)
	records "$in" | phx-probe -r 1 -c /dev/null >"$T_TMP/out" 2>"$T_TMP/err"
	st=$?
	got=$(verdicts <"$T_TMP/out")
	if [ -n "${PHX_REGOLD:-}" ]; then
		printf '%s\n' "$got" >"$D/$name.expected"
	fi
	is "$got" "$(cat "$D/$name.expected")" "$name: each condition's verdict"
	n=$(grep -vc -e '^#' -e '^$' "$in")
	is "$(grep -c . <<<"$got")" "$n" "$name: one verdict per condition"
	if [ "$name" = errors ]; then
		is $st 2 "$name: a condition that does not parse is an input error"
		is "$(grep -c 'stdin:[0-9]*: service c[0-9]*: ' "$T_TMP/err")" "$n" \
		    "$name: each reported with its line and service"
	else
		want=0
		grep -q '^not ' <<<"$got" && want=1
		is $st $want "$name: exit $want"
	fi
done
done_testing
