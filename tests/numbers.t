#!/bin/bash
# Numbers from outside at the edges of a double (1e300, -1e300, and
# 1e999, which reads as infinity) reach no integer cast out of range:
# undefined behaviour that a build with -fsanitize=float-cast-overflow
# (make check-asan) turns into an abort.
. "$(dirname "$0")/lib.sh"

# every number of every report fixture but "v" becomes one of the three
cat tests/data/phx-report/*.in.ndjson | perl -pe '
	BEGIN { @big = ("1e300", "-1e300", "1e999") }
	s/("(?!v")[a-z_]+":)-?[0-9]+(?:\.[0-9]+)?/$1 . $big[$n++ % 3]/ge' \
    >"$T_TMP/big.ndjson"
check "the stream has the three numbers" grep -q '1e999' "$T_TMP/big.ndjson"

for f in text json junit prometheus ndjson; do
	phx-report -n -f "$f" "$T_TMP/big.ndjson" >/dev/null 2>"$T_TMP/err"
	st=$?
	check "phx-report -f $f: ends (status $st)" test "$st" -le 3
	is "$(grep -c 'runtime error' "$T_TMP/err")" 0 "phx-report -f $f: no undefined behaviour"
done

printf 'tests:\n  suites: {}\n' >"$T_TMP/none.yaml"
phx-functest -c "$T_TMP/none.yaml" <"$T_TMP/big.ndjson" >"$T_TMP/out" 2>"$T_TMP/err"
st=$?
check "phx-functest: ends (status $st)" test "$st" -le 3
is "$(grep -c 'runtime error' "$T_TMP/err")" 0 "phx-functest: no undefined behaviour"
# every line, and its phase start and end
is "$(wc -l <"$T_TMP/out")" "$(($(wc -l <"$T_TMP/big.ndjson") + 2))" \
    "phx-functest: passes the lines on"

done_testing
