#!/bin/bash
# The man pages' EXAMPLES as a reader sees them (mandoc -Tascii): every
# jq(1) program in them runs on a recorded stream.  A quote lost to the
# roff source (.Dl "...") makes jq fail here as it would for the reader.
. "$(dirname "$0")/lib.sh"

stream=$TOP/tests/data/phx-report/functest-failure.in.ndjson
for page in "$TOP"/man/*.[1-9]; do
	MANWIDTH=1000 mandoc -Tascii -O width=1000 "$page" | col -b |
	    awk '/^EXAMPLES/ { on = 1; next } /^[A-Z][A-Z ]+$/ { on = 0 } on' \
	    >"$T_TMP/ex"
	# each jq program: its options and the single-quoted program
	grep -o "jq \(-[a-z]* \)*'[^']*'" "$T_TMP/ex" >"$T_TMP/jq" || continue
	while IFS= read -r cmd; do
		opts=${cmd#jq }
		opts=${opts%%\'*}
		prog=${cmd#*\'}
		prog=${prog%\'}
		# shellcheck disable=SC2086
		jq $opts "$prog" "$stream" >/dev/null 2>"$T_TMP/err"
		ok $? "${page##*/}: $cmd"
		[ -s "$T_TMP/err" ] && diag "$(cat "$T_TMP/err")"
	done <"$T_TMP/jq"
done
check "some examples were run" test "$T_N" -ge 5
done_testing
