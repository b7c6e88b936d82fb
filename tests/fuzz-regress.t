#!/bin/bash
# The fuzz harnesses (tests/fuzz/) replayed over every input that once
# crashed one (tests/fuzz/regress/NAME/) and over their seeds: the
# libFuzzer binary when `make fuzz` built it, else the plain replay
# driver `make` builds beside the unit test.
. "$(dirname "$0")/lib.sh"

NAMES="pass config compose redact report"
UNITDIR=$(dirname "${PHX_UNIT:-$TOP/tests/unit/phx-unit}")
REPLAYDIR=${UNITDIR%/unit}/fuzz

for name in $NAMES; do
	fuzzer=$TOP/build/fuzz/tests/fuzz/fuzz-$name
	bin=$REPLAYDIR/replay-$name
	# a libFuzzer binary older than the replay (make builds that every
	# time, make fuzz only the fuzzers) holds old code
	[ -x "$fuzzer" ] && [ "$fuzzer" -nt "$bin" ] && bin=$fuzzer
	if [ ! -x "$bin" ]; then
		ok 1 "$name: no harness built ($bin)"
		ok 1 "$name: no harness built"
		continue
	fi
	for set in regress corpus; do
		files=$(find "tests/fuzz/$set/$name" -type f 2>/dev/null | sort)
		if [ -z "$files" ]; then
			ok 0 "$name: no $set inputs"
			continue
		fi
		# shellcheck disable=SC2086  # file names have no blanks
		"$bin" $files >"$T_TMP/out" 2>"$T_TMP/err"
		rc=$?
		ok $rc "$name: $(echo "$files" | wc -l) $set inputs replayed by ${bin##*/}" ||
		    diag "$(grep -E 'ERROR: |property|SUMMARY|replay:' "$T_TMP/err" | tail -n 5)"
	done
done
done_testing
