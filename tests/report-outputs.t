#!/bin/bash
# phx-report's outputs cannot be redirected, fooled or rejected by their
# readers: files are written through fresh temporaries (nothing planted
# is followed), control characters never reach a terminal raw, metrics
# labels are valid UTF-8 and the JUnit XML is valid against the schema
# CI reporters read (tests/data/junit.xsd; and Jenkins xunit's own
# junit-10.xsd where shared/ beside the tree has a copy).
. "$(dirname "$0")/lib.sh"

data=$TOP/tests/data/phx-report
state=$T_TMP/state
export PHX_STATE_DIR=$state PHX_CONFIG_DIR=$T_TMP/noconfig
mkdir -p "$PHX_CONFIG_DIR" "$T_TMP/out"
id=deploy_20261127_162318
xsds=$TOP/tests/data/junit.xsd
[ -f "$TOP/../shared/junit-10.xsd" ] && xsds="$xsds $TOP/../shared/junit-10.xsd"
mode() { stat -c %a "$1"; }

# ---- 1. nothing planted at a temporary or final name is followed ----
# the shell's pid is phx-report's after exec: the names the old code used
# (F.tmp.PID, STATE/.stream.PID.tmp) and the ones used now
# (STATE/.stream.PID) are planted as links to a file that must not change
mkdir -p "$state"
chmod 700 "$state"
echo precious >"$T_TMP/victim"
chmod 640 "$T_TMP/victim"
o=$T_TMP/out
ln -s "$T_TMP/victim" "$o/linked.xml"
(umask 000; exec sh -c '
	for f in "$2/r.json" "$2/m.prom"; do
		ln -s "$3" "$f.tmp.$$"
	done
	ln -s "$3" "$1/.stream.$$.tmp"
	ln -s "$3" "$1/.stream.$$"
	exec phx-report -o "$2/r.json" --junit "$2/linked.xml" \
	    --metrics "$2/m.prom" <"$4"' sh "$state" "$o" "$T_TMP/victim" \
	    "$data/healthy.in.ndjson") >/dev/null 2>"$T_TMP/err"
is "$?" 0 "planted links: the run succeeds"
is "$(cat "$T_TMP/victim")" precious "the links' target is not written"
is "$(mode "$T_TMP/victim")" 640 "nor chmod'ed"
for f in r.json m.prom linked.xml; do
	check "$f is a file of its own, not a link" test -f "$o/$f" -a ! -L "$o/$f"
done
check "the stream is stored, a file of its own" \
    test -f "$state/$id/stream.ndjson" -a ! -L "$state/$id/stream.ndjson"
is "$(mode "$o/r.json")" 600 "umask 000: -o file is 0600"
is "$(mode "$o/linked.xml")" 600 "umask 000: --junit file is 0600"
is "$(mode "$o/m.prom")" 644 "umask 000: --metrics file is 0644"
is "$(mode "$state/$id/stream.ndjson")" 600 "umask 000: stream.ndjson is 0600"
is "$(mode "$state/$id/report.json")" 600 "umask 000: report.json is 0600"
is "$(find "$o" "$state" -name '*.tmp.*' ! -type l | wc -l)" 0 "no temporary left (the planted links aside)"

# ---- 2. control characters never reach the terminal raw ----
# ESC (window title, screen clear), BEL, CR, LF (a forged verdict line),
# a C1 CSI and bytes that are not UTF-8, in every field a summary shows
hostile='web\u001b]0;pwned\u0007\u001b[2J\rverdict  SUCCESS\nreport   x\u009b31m'
bad=$'\xff\xfe'
r() { printf '{"v":1,"deployment_id":"%s","ts":"2026-11-27T16:23:%s.000Z",%s}\n' \
    "$id" "$1" "$2"; }
{
r 18 '"type":"phase","source":"phx-probe","phase":"probe","event":"start"'
r 19 "\"type\":\"health\",\"source\":\"phx-probe\",\"service\":\"$hostile$bad\",\"check\":\"http\",\"target\":\"http://x/$hostile\",\"status\":\"unhealthy\",\"attempts\":1,\"reason\":\"refused\",\"message\":\"$hostile$bad\""
r 20 "\"type\":\"test\",\"source\":\"phx-functest\",\"suite\":\"s$hostile\",\"name\":\"t$hostile$bad\",\"status\":\"failed\",\"duration_ms\":1,\"step\":\"$hostile\",\"reason\":\"exit\",\"message\":\"$hostile\""
r 21 "\"type\":\"finding\",\"source\":\"phx-secscan\",\"id\":\"X$hostile\",\"status\":\"PASS\",\"severity\":\"LOW\",\"title\":\"$hostile$bad\",\"message\":\"m\",\"service\":\"$hostile\""
r 22 "\"type\":\"error\",\"source\":\"phx-probe\",\"reason\":\"auth\",\"message\":\"$hostile$bad\""
r 23 '"type":"phase","source":"phx-probe","phase":"probe","event":"end","status":"failed","duration_ms":5'
} >"$T_TMP/hostile.ndjson"
phx-report -n -v "$T_TMP/hostile.ndjson" >"$T_TMP/text" 2>/dev/null
is "$?" 1 "hostile records: the run fails"
is "$(LC_ALL=C tr -d '\n\t -~' <"$T_TMP/text" | wc -c)" 0 \
    "text summary: no control byte, no byte outside printable ASCII"
is "$(grep -c '^verdict' "$T_TMP/text")" 1 "text summary: one verdict line"
like "$(tail -n 1 "$T_TMP/text")" '^verdict  FAILED$' "and it is the real one"
is "$(grep -c '^report' "$T_TMP/text")" 0 "no forged report line"
like "$(cat "$T_TMP/text")" 'web\\e\]0;pwned\\a\\e\[2J\\rverdict  SUCCESS\\nreport   x\\xc2\\x9b31m\\xff\\xfe' \
    "escaped as C escapes: \\e \\a \\r \\n, bytes as \\xNN"
# deployment, service, test, finding, totals, 4 reasons, verdict
is "$(wc -l <"$T_TMP/text")" 10 "no line but those the summary writes"

# the live progress line, its notes and the coloured summary (a terminal)
script -qec "phx-report -n $T_TMP/hostile.ndjson" /dev/null \
    </dev/null >"$T_TMP/tty" 2>&1
# the progress line's own ESC [K and the colours aside, nothing raw
LC_ALL=C sed 's/\x1b\[[0-9;]*[mK]//g' "$T_TMP/tty" |
    LC_ALL=C tr -d '\r\n\t -~' >"$T_TMP/raw"
is "$(wc -c <"$T_TMP/raw")" 0 "progress: no raw control byte from a record"
like "$(tr '\r' '\n' <"$T_TMP/tty")" 'web\\e\]0;pwned' "progress notes show the escapes"

# ---- 3. metrics: label values are valid UTF-8, escaped ----
phx-report -n -f prometheus "$T_TMP/hostile.ndjson" >"$T_TMP/m.prom" 2>/dev/null
check "hostile labels pass promtool check metrics" \
    sh -c 'promtool check metrics <"$1" >"$2" 2>&1' sh "$T_TMP/m.prom" "$T_TMP/promtool"
diag "$(head -n 5 "$T_TMP/promtool")"
check "labels are valid UTF-8 (iconv)" iconv -f UTF-8 -t UTF-8 "$T_TMP/m.prom" -o /dev/null
like "$(cat "$T_TMP/m.prom")" 'service="web.*31m'$'\xef\xbf\xbd\xef\xbf\xbd''"' \
    "invalid bytes become U+FFFD"
is "$(grep -c '^phx_service_up' "$T_TMP/m.prom")" 1 "a newline in a label does not split the sample"

# ---- 4. JUnit: valid against the reporters' schema ----
for xsd in $xsds; do
	for x in "$data"/*.junit.xml; do
		check "$(basename "$x") is valid ($(basename "$xsd"))" \
		    xmllint --noout --schema "$xsd" "$x"
	done
	for in in "$data"/*.in.ndjson "$T_TMP/hostile.ndjson"; do
		phx-report -n -f junit "$in" >"$T_TMP/j.xml" 2>/dev/null
		check "$(basename "$in"): fresh JUnit valid ($(basename "$xsd"))" \
		    xmllint --noout --schema "$xsd" "$T_TMP/j.xml"
	done
done
# WARN findings are not shown as passed: skipped, with the warning
phx-report -n -f junit "$data/security-findings.in.ndjson" >"$T_TMP/j.xml" 2>/dev/null
warn=$(grep -c '"type":"finding".*"status":"WARN"' "$data/security-findings.in.ndjson")
is "$(xmllint --xpath 'count(//testcase[skipped[@type="WARN"]])' "$T_TMP/j.xml")" "$warn" \
    "each WARN finding is a skipped case of type WARN"
is "$(xmllint --xpath 'count(//testcase[skipped[@type="WARN"]][not(starts-with(skipped/@message, "WARN "))])' "$T_TMP/j.xml")" 0 \
    "whose message starts with WARN"

done_testing
