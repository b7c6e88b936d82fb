#!/bin/bash
# Secrets never reach phx-report's outputs, in any encoding, whole or in
# part: each secret (from the environment, or only from the compose
# project's .env) is put into records' names and messages, long enough
# that phx-report cuts them, and into an over-long line; the JSON
# report, JUnit, Prometheus, the text summary, the progress lines and the
# stored stream are searched for it raw, JSON-, XML- and URL-encoded and
# for any 8-byte prefix of those.  Every output still parses.
. "$(dirname "$0")/lib.sh"

cd "$T_TMP" || exit 1
python3 - <<'PY' >secrets.txt
import json
s = ['Star*Pass*word*2024', 'quo"te"Secret"99', 'back\\slash\\Secret\\7',
     "amp&lt<gt>ap'os'X1", 'per%cent%41%zzSecret', 'at@co:lo/sl?qu#hashSecret',
     'firstLINE\nsecondLINE', 'p\u00e4ssw\u00f6rd-\u00fcn\u00efc\u00f8d\u00e9-\u03a9\u03bc\u03ad\u03b3\u03b1',
     'Tok' + ''.join('%x' % (i * 7919 % 16) for i in range(297))]
for v in s:
    print(json.dumps(v))
PY

# records FILE SECRET: every place phx-report keeps text, each cut
# somewhere inside the secret, and a line past the 256 KiB limit with the
# secret across the point where the reader splits it
records() {
	python3 - "$2" <<'PY' >"$1"
import json, sys
s = json.loads(sys.argv[1])
ts = '2026-01-01T00:00:%02d.000Z'
def rec(i, **kw):
    r = {'v': 1, 'deployment_id': 'deploy_20260101_000000', 'ts': ts % i,
         'source': 'phx-probe'}
    r.update(kw)
    print(json.dumps(r))
pad = lambda n: 'p' * n
rec(0, type='phase', phase='probe', event='start')
rec(1, type='health', service=pad(124) + s, check='http', target=pad(250) + s,
    status='unhealthy', reason='status', message=pad(252) + s)
rec(2, type='test', suite=pad(123) + s, name=pad(125) + s, status='failed',
    step=pad(126) + s, reason=pad(124) + s, message=pad(253) + s)
rec(3, type='finding', id='SEC-' + pad(122) + s, status='FAIL', severity='HIGH',
    title=pad(250) + s, message=pad(251) + s, remediation=pad(254) + s,
    service=pad(125) + s)
rec(4, type='container', name=pad(126) + s, service='web', state='running',
    cpu_percent=1, mem_bytes=1)
rec(5, type='error', reason='oops', message=pad(490) + s)
rec(6, type='deployment', status='failed', project=pad(124) + s,
    reason='x', message=pad(250) + s)
head = '{"v":1,"type":"note","x":"'
body = json.dumps(s)[1:-1]
cut = 256 * 1024 - len(head) - 4
print(head + 'q' * cut + body + 'q' * 1000 + '"}')
rec(7, type='phase', phase='probe', event='end', status='failed', duration_ms=1)
PY
}

# forms SECRET: what must not show, one a line
forms() {
	python3 - "$1" <<'PY'
import json, sys, urllib.parse, html
s = json.loads(sys.argv[1])
out = {s, json.dumps(s)[1:-1], json.dumps(s, ensure_ascii=False)[1:-1],
       html.escape(s, quote=True), s.replace('&', '&amp;').replace('<', '&lt;')
       .replace('>', '&gt;').replace('"', '&quot;').replace("'", '&apos;'),
       urllib.parse.quote(s, safe=''), urllib.parse.quote_plus(s),
       s.replace('\\', '\\\\').replace('\n', '\\n')}
for f in sorted(out):
    print(json.dumps(f))
    print(json.dumps(f[:8]))
PY
}

# leaks FORMS FILE...: the forms found in the files
leaks() {
	python3 - "$@" <<'PY'
import json, sys
forms = [json.loads(l) for l in open(sys.argv[1])]
for path in sys.argv[2:]:
    data = open(path, 'rb').read().decode('utf-8', 'replace')
    for f in forms:
        if f in data:
            print('%s holds %r' % (path.rsplit('/', 1)[-1], f))
PY
}

n=0
while IFS= read -r js; do
	n=$((n + 1))
	secret=$(jq -r . <<<"$js")
	records "in$n.ndjson" "$js"
	mkdir -p "run$n"
	state=$T_TMP/state$n
	unset REVENUE_DB_PASSWORD N8N_API_KEY
	if [ "$n" = 9 ]; then
		# only the compose project knows this one
		mkdir -p "proj$n"
		printf 'services:\n  web:\n    image: x\n    environment:\n      N8N_API_KEY: ${N8N_API_KEY}\n' >"proj$n/compose.yaml"
		printf 'N8N_API_KEY=%s\n' "$secret" >"proj$n/.env"
		env=(PHX_COMPOSE_FILE=$T_TMP/proj$n/compose.yaml)
	elif [ $((n % 2)) = 1 ]; then
		env=(REVENUE_DB_PASSWORD="$secret")
	else
		env=(N8N_API_KEY="$secret")
	fi
	out=$T_TMP/run$n
	env "${env[@]}" PHX_STATE_DIR="$state" phx-report -o "$out/report.json" \
	    --junit "$out/junit.xml" --metrics "$out/phx.prom" <"in$n.ndjson" \
	    >"$out/summary.txt" 2>"$out/stderr.txt"
	env "${env[@]}" PHX_STATE_DIR="$state.tty" script -qec \
	    "phx-report -n -f json $T_TMP/in$n.ndjson" /dev/null </dev/null \
	    >"$out/progress.txt" 2>&1
	cp "$state"/deploy_*/stream.ndjson "$out/stream.ndjson"
	forms "$js" >"forms$n"
	found=$(leaks "forms$n" "$out"/*)
	is "$found" "" "secret $n: in no output, in no encoding, no prefix"
	check "secret $n: the records were kept (the test means something)" \
	    grep -q 'pppppppp.*pppppppp' "$out/report.json" "$out/junit.xml"
	parses() { jq -e . "$1" >/dev/null; }
	check "secret $n: report.json parses" parses "$out/report.json"
	check "secret $n: every stored line parses" parses "$out/stream.ndjson"
	check "secret $n: junit.xml is well-formed" xmllint --noout "$out/junit.xml"
	check "secret $n: phx.prom passes promtool" \
	    sh -c 'promtool check metrics <"$1" >/dev/null 2>&1' sh "$out/phx.prom"
	like "$(cat "$out/progress.txt")" 'test .* failed' "secret $n: progress lines were shown"
done <secrets.txt
is "$n" 9 "nine secrets tried"

done_testing
