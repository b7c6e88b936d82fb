#!/bin/bash
# phx-report bench (issue 5): reduce a 1,000,000-record stream to the JSON
# report, with phx-report and with a jq program computing the same summary
# (latest record by ts per check/test/finding/container, phase balance,
# totals, verdict), in the same run.  Goals: >= 5x faster than jq, peak
# RSS <= 20 MB.  N=... changes the stream length.
set -eu
cd "$(dirname "$0")/../.."
N=${N:-1000000}
PHX_BIN=${PHX_BIN:-$PWD/tools}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/phx-bench-report.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# a stream of N records: container stats, health, test and finding
# records for one deployment, 3 ms apart, some of each failing then fixed;
# 200 services and containers, 4000 tests, 3000 findings (within the bounds)
awk -v N="$N" '
function rec(type, src, rest,   ms) {
	ms = t0 + n * 3
	printf "{\"v\":1,\"type\":\"%s\",\"deployment_id\":\"deploy_20261127_162318\",\"ts\":\"%s.%03dZ\",\"source\":\"%s\",%s}\n", type, strftime("%Y-%m-%dT%H:%M:%S", int(ms / 1000), 1), ms % 1000, src, rest
	n++
}
BEGIN {
	t0 = 1795796598000
	rec("phase", "phx-deploy", "\"phase\":\"deploy\",\"event\":\"start\"")
	for (i = 0; n < N - 1; i++) {
		k = i % 10
		if (k < 4) {
			c = nc++ % 200
			rec("container", "phx-deploy", sprintf("\"service\":\"svc%d\",\"container_id\":\"c%05d\",\"name\":\"proj_svc%d_1\",\"state\":\"running\",\"restarts\":0,\"health\":\"none\",\"cpu_percent\":%.2f,\"mem_bytes\":%d,\"mem_limit_bytes\":268435456,\"pids\":%d", c, c, c, (i % 97) / 7.0, 1048576 + (i % 1000) * 4096, 2 + i % 5))
		} else if (k < 6) {
			h = nh++ % 200
			rec("health", "phx-probe", sprintf("\"service\":\"svc%d\",\"check\":\"http\",\"target\":\"http://127.0.0.1:%d/health\",\"status\":\"%s\",\"attempts\":1,\"response_time_ms\":%d,\"status_code\":200", h, 20000 + h, (nh % 1999 == 0) ? "unhealthy" : "healthy", 1 + i % 13))
		} else if (k < 8) {
			t = nt++ % 4000
			rec("test", "phx-functest", sprintf("\"suite\":\"suite%d\",\"name\":\"test %d\",\"status\":\"%s\",\"duration_ms\":%d", t % 20, t, (nt % 3001 == 0) ? "failed" : "passed", 10 + i % 500))
		} else {
			f = nf++ % 3000
			rec("finding", "phx-secscan", sprintf("\"id\":\"PHX-SEC-%03d\",\"cis\":\"5.%d\",\"service\":\"svc%d\",\"container\":\"proj_svc%d_1\",\"status\":\"%s\",\"severity\":\"%s\",\"title\":\"check %d\",\"message\":\"seen value %d\"", f % 60, f % 30, f % 50, f % 50, (f % 17 == 0) ? "WARN" : "PASS", (f % 4 == 0) ? "HIGH" : "MEDIUM", f % 60, i))
		}
	}
	rec("phase", "phx-deploy", "\"phase\":\"deploy\",\"event\":\"end\",\"status\":\"ok\",\"duration_ms\":3000000")
}' >"$tmp/stream.ndjson"
echo "stream: $N records, $(du -m "$tmp/stream.ndjson" | cut -f1) MB"

jq_summary='
def later($r): . == null or $r.ts >= .ts;
reduce inputs as $r ({services: {}, tests: {}, findings: {}, containers: {},
    phases: {}, records: 0, unknown: 0, first: null, last: null};
  .records += 1
  | .first = (if .first == null or $r.ts < .first then $r.ts else .first end)
  | .last = (if .last == null or $r.ts > .last then $r.ts else .last end)
  | if $r.type == "health" then
      .services[$r.service + "/" + $r.check + "/" + $r.target] |=
        (if later($r) then {service: $r.service, ts: $r.ts, status: $r.status,
          response_time_ms: $r.response_time_ms, health_check_url: $r.target}
         else . end)
    elif $r.type == "test" then
      .tests[$r.suite + "/" + $r.name] |=
        (if later($r) then {ts: $r.ts, status: $r.status,
          duration_ms: $r.duration_ms} else . end)
    elif $r.type == "finding" then
      .findings[$r.id + "/" + ($r.service // $r.container // "engine")] |=
        (if later($r) then {ts: $r.ts, status: $r.status,
          severity: $r.severity} else . end)
    elif $r.type == "container" then
      .containers[$r.name] |=
        (if later($r) then {ts: $r.ts, state: $r.state,
          cpu_percent: $r.cpu_percent, mem_bytes: $r.mem_bytes,
          pids: $r.pids} else . end)
    elif $r.type == "phase" then
      .phases[$r.phase][$r.event] += 1
      | if $r.event == "end" then .phases[$r.phase].status = $r.status
        else . end
    else .unknown += 1 end)
| . as $a
| ([$a.services[] | select(.status != "healthy")] | length) as $bad
| ([$a.tests[] | select(.status == "failed" or .status == "error")]
   | length) as $failed
| ([$a.findings[] | select(.status == "FAIL" and
    (.severity == "HIGH" or .severity == "CRITICAL"))] | length) as $sec
| ([$a.phases[] | select((.start // 0) != (.end // 0))] | length) as $open
| {
    timestamp: $a.first,
    status: (if $open > 0 then "INCOMPLETE"
      elif $bad + $failed + $sec > 0 then "FAILED" else "SUCCESS" end),
    services: ($a.services | map_values({status, response_time_ms,
      health_check_url})),
    functional_tests: ($a.tests | map_values({status, duration_ms})),
    container_metrics: {
      total_containers: ($a.containers | length),
      running_containers: ([$a.containers[] | select(.state == "running")]
        | length),
      resource_usage: {
        cpu_percent: ([$a.containers[].cpu_percent] | add),
        mem_bytes: ([$a.containers[].mem_bytes] | add),
        pids: ([$a.containers[].pids] | add)}},
    security_validation: {
      counts: ([$a.findings[].status] | group_by(.)
        | map({key: .[0], value: length}) | from_entries)},
    stream: {records: $a.records, unknown_records: $a.unknown}
  }'

now() { date +%s.%N; }

t0=$(now)
PHX_STATE_DIR=$tmp/state /usr/bin/time -f '%M' -o "$tmp/rss" \
    "$PHX_BIN/phx-report" -f json <"$tmp/stream.ndjson" >"$tmp/phx.json" || true
t1=$(now)
jq -n "$jq_summary" <"$tmp/stream.ndjson" >"$tmp/jq.json"
t2=$(now)

# the two must agree before their times mean anything
pick='{status, timestamp, n: (.services | length), t: (.functional_tests | length),
    tc: ([.functional_tests[].status] | group_by(.) | map({(.[0]): length}) | add),
    cm: (.container_metrics | {total_containers, running_containers,
      r: (.resource_usage | {cpu_percent: (.cpu_percent * 100 | round),
        mem_bytes, pids})}),
    fc: (.security_validation.counts | with_entries(select(.value > 0))),
    records: .stream.records}'
if ! diff <(jq -S "$pick" "$tmp/phx.json") <(jq -S "$pick" "$tmp/jq.json") >"$tmp/diff"; then
	echo "phx-report and jq disagree:" >&2
	cat "$tmp/diff" >&2
	exit 1
fi

phx=$(echo "$t1 - $t0" | bc -l)
jqt=$(echo "$t2 - $t1" | bc -l)
rss=$(tail -n 1 "$tmp/rss")
printf 'phx-report: %.2f s  peak RSS %d KB (%.1f MB; goal <= 20 MB)\n' "$phx" "$rss" "$(echo "$rss / 1024" | bc -l)"
printf 'jq:         %.2f s\n' "$jqt"
printf 'ratio:      %.1fx faster than jq (goal >= 5x)\n' "$(echo "$jqt / $phx" | bc -l)"

# the worst case for memory is not a long stream but a hostile one: every
# bounded list full, every name and message longer than what is kept
long=$(printf 'x%.0s' $(seq 600))
awk -v L="$long" 'BEGIN {
	H = "{\"v\":1,\"deployment_id\":\"deploy_20261127_162318\",\"ts\":\"2026-11-27T16:23:27.250Z\",\"source\":\"bench\","
	for (i = 0; i < 600; i++)
		printf "%s\"type\":\"service\",\"service\":\"s%d%s\",\"image\":\"%s\",\"container_name\":\"%s\"}\n", H, i, L, L, L
	for (i = 0; i < 3000; i++)
		printf "%s\"type\":\"health\",\"service\":\"s%d%s\",\"check\":\"c%d%s\",\"target\":\"%s\",\"status\":\"unhealthy\",\"reason\":\"%s\",\"message\":\"%s\"}\n", H, i % 600, L, i, L, L, L, L
	for (i = 0; i < 10000; i++)
		printf "%s\"type\":\"test\",\"suite\":\"%s\",\"name\":\"t%d%s\",\"status\":\"failed\",\"step\":\"%s\",\"reason\":\"%s\",\"message\":\"%s\"}\n", H, L, i, L, L, L, L
	for (i = 0; i < 10000; i++)
		printf "%s\"type\":\"finding\",\"id\":\"F%d%s\",\"service\":\"%s\",\"status\":\"FAIL\",\"severity\":\"HIGH\",\"title\":\"%s\",\"message\":\"%s\",\"remediation\":\"%s\",\"evidence\":{\"v\":\"%s\"}}\n", H, i, L, L, L, L, L, substr(L, 1, 200)
	for (i = 0; i < 2000; i++)
		printf "%s\"type\":\"container\",\"name\":\"c%d%s\",\"service\":\"%s\",\"state\":\"%s\",\"mem_bytes\":1}\n", H, i, L, L, L
}' >"$tmp/hostile.ndjson"
PHX_STATE_DIR=$tmp/state /usr/bin/time -f '%M' -o "$tmp/rss2" \
    "$PHX_BIN/phx-report" --junit "$tmp/j.xml" --metrics "$tmp/m.prom" \
    -o "$tmp/r.json" <"$tmp/hostile.ndjson" >/dev/null || true
rss2=$(tail -n 1 "$tmp/rss2")
printf 'hostile stream (%d records, every list full, long strings): peak RSS %d KB (%.1f MB)\n' \
    "$(wc -l <"$tmp/hostile.ndjson")" "$rss2" "$(echo "$rss2 / 1024" | bc -l)"

ok=0
[ "$(echo "$jqt / $phx >= 5" | bc -l)" = 1 ] || { echo "FAIL: ratio under 5x"; ok=1; }
[ "$rss" -le 20480 ] || { echo "FAIL: peak RSS over 20 MB"; ok=1; }
[ "$rss2" -le 20480 ] || { echo "FAIL: peak RSS over 20 MB on the hostile stream"; ok=1; }
exit $ok
