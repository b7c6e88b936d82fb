#!/bin/bash
# Bad NDJSON: each bad line reported with input and line number, passed
# through unchanged; nothing is lost.
. "$(dirname "$0")/lib.sh"
UNIT=${PHX_UNIT:-$TOP/tests/unit/phx-unit}

rec='{"v":1,"type":"health","deployment_id":"deploy_20261127_120000","ts":"2026-11-27T12:00:00.000Z","source":"x","service":"a","status":"healthy"}'
printf '%s\nnot json\n{"v":1,"type":"x"}\n' "$rec" >"$T_TMP/in"
"$UNIT" pass <"$T_TMP/in" >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "invalid JSON: exit 0 (pass-through is not a failure)"
check "invalid JSON: every byte passed through" cmp -s "$T_TMP/in" "$T_TMP/out"
is "$(cat "$T_TMP/err")" "phx-unit: warning: stdin:2:1: invalid JSON, passed through" \
    "invalid JSON: names the input and the line"

head -c 3000 /dev/urandom | tr -d '\n' >"$T_TMP/garbage"   # one line: its number is known
printf '\n%s\n' "$rec" >>"$T_TMP/garbage"
"$UNIT" pass <"$T_TMP/garbage" >"$T_TMP/out" 2>"$T_TMP/err"
check "binary garbage: passed through byte for byte" cmp -s "$T_TMP/garbage" "$T_TMP/out"
like "$(head -1 "$T_TMP/err")" '^phx-unit: warning: stdin:1(:[0-9]+)?: (invalid JSON|not a JSON object)' \
    "binary garbage: reported"

{ printf '%s\n' "$rec"; head -c 5000 /dev/zero | tr '\0' x; printf '\n%s\n' "$rec"; } >"$T_TMP/long"
"$UNIT" pass 1024 <"$T_TMP/long" >"$T_TMP/out" 2>"$T_TMP/err"
check "over-long line: passed through unparsed, unchanged" cmp -s "$T_TMP/long" "$T_TMP/out"
is "$(cat "$T_TMP/err")" "phx-unit: warning: stdin:2: line longer than 1024 bytes, passed through unparsed" \
    "over-long line: reported with its line number"

PHX_MAX_LINE=2k "$UNIT" pass <"$T_TMP/long" >"$T_TMP/out" 2>"$T_TMP/err"
is "$(cat "$T_TMP/err")" "phx-unit: warning: stdin:2: line longer than 2048 bytes, passed through unparsed" \
    "PHX_MAX_LINE sets the limit"
PHX_MAX_LINE=lots "$UNIT" pass <"$T_TMP/long" >/dev/null 2>"$T_TMP/err"
is "$?:$(cat "$T_TMP/err")" '2:phx-unit: error: PHX_MAX_LINE: expected a size from 64 bytes to 2G, got "lots"' \
    "a bad PHX_MAX_LINE: exit 2, named"

: >"$T_TMP/empty"
"$UNIT" pass <"$T_TMP/empty" >"$T_TMP/out" 2>"$T_TMP/err"
is "$?:$(wc -c <"$T_TMP/out"):$(wc -c <"$T_TMP/err")" "0:0:0" "empty input: nothing out, no error"

printf '%s' "$rec" >"$T_TMP/nonl"
"$UNIT" pass <"$T_TMP/nonl" >"$T_TMP/out"
check "last line without a newline: kept as it was" cmp -s "$T_TMP/nonl" "$T_TMP/out"

out=$("$UNIT" pass 0 note <"$T_TMP/nonl" | jq -c .type | tr '\n' ' ')
is "$out" '"health" "note" ' "last line without a newline: ended before our next record"

{ printf '%s\n' "$rec"; head -c 5000 /dev/zero | tr '\0' x; } >"$T_TMP/longlast"
"$UNIT" pass 1024 note <"$T_TMP/longlast" >"$T_TMP/out" 2>/dev/null
is "$(sed -n 2p "$T_TMP/out" | wc -c)" 5001 "an over-long last line stays one line"
is "$(sed -n 3p "$T_TMP/out" | jq -r .type)" note "and our record follows it on its own line"

printf '%s\r\n\n%s\n' "$rec" "$rec" >"$T_TMP/crlf"
"$UNIT" pass <"$T_TMP/crlf" >"$T_TMP/out" 2>"$T_TMP/err"
check "CRLF and blank lines: passed through" cmp -s "$T_TMP/crlf" "$T_TMP/out"
is "$(wc -c <"$T_TMP/err")" 0 "CRLF and blank lines: no warning"

# a closed stdout is a failure, not silence
yes "$rec" | head -20000 >"$T_TMP/many"
"$UNIT" pass <"$T_TMP/many" 2>"$T_TMP/err" | head -1 >/dev/null
is "${PIPESTATUS[0]}" 3 "reader gone (EPIPE): exit 3"
like "$(cat "$T_TMP/err")" 'standard output: Broken pipe' "EPIPE: reported once"

# a secret from the environment is masked in passed-through lines
printf '{"note":"the password is Hunter2-secret"}\n' >"$T_TMP/sec"
out=$(DEMO_DB_PASSWORD=Hunter2-secret "$UNIT" pass <"$T_TMP/sec")
is "$out" '{"note":"the password is ***"}' "pass-through masks known secrets"

# redaction on values: a line holding no secret is passed byte for byte,
# one holding one is printed again and still parses; one whose bytes
# spell it (the value pw, then its closing quote) has that value masked,
# never the quote
printf '{"service":"pwx","state":"up"}\n{"m":"pw\\"x","n":"\\u00e9t\\u00e9-pass"}\n{"service":"pw","state":"up"}\n' >"$T_TMP/q"
DB_PASSWORD='pw"' X_PASSWORD='été-pass' "$UNIT" pass <"$T_TMP/q" >"$T_TMP/out" 2>"$T_TMP/err"
is "$(sed -n 1p "$T_TMP/out")" '{"service":"pwx","state":"up"}' \
    "a secret ending in a quote: a line without it stays byte for byte"
is "$(sed -n 2p "$T_TMP/out" | jq -c . 2>&1)" '{"m":"***x","n":"***"}' \
    "a line holding it (also behind escapes): masked, still JSON"
is "$(sed -n 3p "$T_TMP/out")" '{"service":"***","state":"up"}' \
    "a line whose bytes spell it across a quote: the value masked, the quote kept"

# an over-long line's chunks are masked across their boundaries
tok=tok-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123
for off in $(seq 40 69); do
	printf '%*s%s%s\n' "$off" '' "$tok" "$(printf '=%.0s' $(seq 100))"
done >"$T_TMP/longsec"
PHX_MAX_LINE=64 API_TOKEN=$tok "$UNIT" pass <"$T_TMP/longsec" >"$T_TMP/out" 2>/dev/null
is "$(grep -c -- "$tok" "$T_TMP/out"):$(wc -l <"$T_TMP/out")" 0:30 \
    "a secret split between two chunks of an over-long line: masked"
is "$(sed 's/\*\*\*/'"$tok"'/' "$T_TMP/out" | cmp - "$T_TMP/longsec" && echo same)" same \
    "and nothing else changed"
printf '%s' "$(printf 'x%.0s' $(seq 100))$tok" >"$T_TMP/longend"
PHX_MAX_LINE=64 API_TOKEN=$tok "$UNIT" pass 0 note <"$T_TMP/longend" >"$T_TMP/out" 2>/dev/null
is "$(grep -c -- "$tok" "$T_TMP/out"):$(sed -n 2p "$T_TMP/out" | jq -r .type)" 0:note \
    "an over-long last line without a newline: masked, ended before our record"

done_testing
