#!/bin/bash
# phx-report golden tests: each hand-written stream in tests/data/phx-report
# must give the same verdict, exit status, text summary, JSON report, JUnit
# XML, metrics and ndjson output as recorded.  PHX_REGOLD=1 rewrites the
# expected files (review them before committing).
. "$(dirname "$0")/lib.sh"

dir=$TOP/tests/data/phx-report
state=$T_TMP/state
export PHX_STATE_DIR=$state PHX_CONFIG_DIR=$T_TMP/noconfig
# secret.in.ndjson carries this value; every output must mask it
export TEST_DB_PASSWORD=s3cr3t-Pa55-9f2c
mkdir -p "$PHX_CONFIG_DIR"

# paths and times that differ from run to run
scrub() { sed -e "s|$T_TMP|TMP|g"; }

# compare GOT with the expected file WANT (or record it)
# (the loop variable is tc: lib.sh's check() sets $name)
same() {
	if [ "${PHX_REGOLD:-}" = 1 ]; then
		cp "$1" "$2"
	fi
	if cmp -s "$1" "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diff -u "$2" "$1" | head -30 | sed 's/^/# /' >&2
	fi
}

for in in "$dir"/*.in.ndjson; do
	tc=$(basename "$in" .in.ndjson)
	out=$T_TMP/$tc
	mkdir -p "$out"
	want_status=$(cat "$dir/$tc.status")
	# a stream that names no deployment is stored under a new id: pin it
	if [ -s "$in" ]; then
		unset PHX_DEPLOYMENT_ID
	else
		export PHX_DEPLOYMENT_ID=deploy_20261127_000000
	fi

	phx-report --junit "$out/junit.xml" --metrics "$out/metrics.prom" \
	    -o "$out/report.json" <"$in" >"$out/stdout" 2>"$out/stderr"
	is "$?" "$want_status" "$tc: exit status"
	scrub <"$out/stdout" >"$out/text"
	same "$out/text" "$dir/$tc.txt" "$tc: text summary"
	jq -S . "$out/report.json" >"$out/report.sorted"
	same "$out/report.sorted" "$dir/$tc.report.json" "$tc: JSON report"
	same "$out/junit.xml" "$dir/$tc.junit.xml" "$tc: JUnit XML"
	same "$out/metrics.prom" "$dir/$tc.prom" "$tc: metrics"

	check "$tc: JUnit parses (xmllint)" xmllint --noout "$out/junit.xml"
	check "$tc: metrics pass promtool" \
	    sh -c 'promtool check metrics <"$1" >/dev/null 2>&1' sh "$out/metrics.prom"
	id=$(jq -r '.deployment_id' "$out/report.json")
	check "$tc: report stored for $id" \
	    cmp -s "$out/report.json" "$state/$id/report.json"

	phx-report -n -f ndjson <"$in" 2>/dev/null | normalize | scrub \
	    >"$out/out.ndjson"
	same "$out/out.ndjson" "$dir/$tc.out.ndjson" "$tc: ndjson pass-through and verdict"
	if grep -rqF "$TEST_DB_PASSWORD" "$out" "$state"; then
		ok 1 "$tc: no secret in any output"
		grep -rlF "$TEST_DB_PASSWORD" "$out" "$state" | scrub | sed 's/^/# /' >&2
	else
		ok 0 "$tc: no secret in any output"
	fi
done

done_testing
