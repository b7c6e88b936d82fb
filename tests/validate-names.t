#!/bin/bash
# pipelines/validate passes file names as arguments, never as shell code:
# configuration files, output folders, state directories and stage
# programs named with `;`, `$()`, backquotes, spaces, globs and a leading
# `-` reach each tool whole, and run nothing (stand-in tools, no Podman).
. "$(dirname "$0")/lib.sh"

FAKE=$TOP/tests/data/validate/bin
export PHX_BIN=$FAKE PATH=$FAKE:$PATH FAKE_LOG=$T_TMP/log
V=$TOP/pipelines/validate
H=$T_TMP/hostile
mkdir -p "$H"
cd "$H" || exit 1
export PHX_STATE_DIR=$H/state

# shellcheck disable=SC2016 # the names are meant literally
names=(
	'c;touch${IFS}PWNED;.yaml'
	'$(touch PWNED).yaml'
	'`touch PWNED`.yaml'
	'a b  c.yaml'
	'-leading.yaml'
	'--config=x.yaml'
	'*.yaml'
	"q'uote\"d.yaml"
)
for f in "${names[@]}"; do
	: >"$H/$f"
	: >"$FAKE_LOG"
	"$V" -c "$f" --down -o "out $f" >/dev/null 2>"$T_TMP/err"
	st=$?
	is "$st" 0 "-c '$f': exit 0"
	[ "$st" -eq 0 ] || diag "$(cat "$T_TMP/err")"
	# every stage but tee got "-c NAME" as two whole arguments
	want="phx-deploy phx-deploy phx-functest phx-probe phx-report phx-secscan"
	got=$(grep -F -- "[-c] [$f]" "$FAKE_LOG" | cut -d' ' -f1 | sort | tr '\n' ' ')
	is "$got" "$want " "-c '$f': every tool got it as one argument"
	check "-c '$f': the output folder is named as given" test -s "$H/out $f/report.json"
	check "-c '$f': no command in the name ran" test ! -e "$H/PWNED"
	rm -f "$H/PWNED"
done

# two configuration files, in order
: >"$H/two words.yaml"
: >"$FAKE_LOG"
"$V" -c "$H/two words.yaml" -c '-leading.yaml' --services all -o o2 >/dev/null 2>&1
is "$(grep '^phx-probe' "$FAKE_LOG")" "phx-probe [-c] [$H/two words.yaml] [-c] [-leading.yaml] [-a]" \
    "-c twice: both, in order, each whole"

# a state directory and an output folder with a leading "-"
: >"$FAKE_LOG"
PHX_STATE_DIR=-state "$V" --no-functest >/dev/null 2>"$T_TMP/err"
is "$?" 0 "PHX_STATE_DIR=-state: exit 0"
check "PHX_STATE_DIR=-state: the run's folder is in ./-state" \
    sh -c 'ls ./-state/validate.*/report.json >/dev/null'
"$V" -o -out --no-secscan >/dev/null 2>&1
check "-o -out: the folder is ./-out" test -s "$H/-out/report.json"

# a stage program with spaces and a ; in its path: run, not parsed
mkdir -p "$H/my stages;x"
printf '#!/bin/sh\necho probe-ran >>"$FAKE_LOG"\nexec cat\n' >"$H/my stages;x/probe \$(x)"
chmod +x "$H/my stages;x/probe \$(x)"
: >"$FAKE_LOG"
"$V" --probe "$H/my stages;x/probe \$(x)" -o o3 >/dev/null 2>"$T_TMP/err"
is "$?" 0 "--probe 'PATH with spaces, ; and \$()': exit 0"
is "$(grep -c probe-ran "$FAKE_LOG")" 1 "--probe: that program ran, once"
is "$(grep -c '^phx-probe' "$FAKE_LOG")" 0 "--probe: phx-probe did not"
check "--probe: nothing in its path ran" test ! -e "$H/x"
"$V" --probe "$H/no such program" -o o4 >/dev/null 2>&1
is "$?" 3 "--probe with a program that does not exist: exit 3"

# a suite and a service list are one argument each
: >"$FAKE_LOG"
"$V" --test-suite '; touch PWNED' --test-suite '$(touch PWNED)' -o o5 >/dev/null 2>&1
is "$(grep '^phx-functest' "$FAKE_LOG")" 'phx-functest [-s] [; touch PWNED] [-s] [$(touch PWNED)]' \
    "--test-suite: names passed whole"
"$V" --services 'x;touch PWNED' -o o6 >/dev/null 2>&1
check "--test-suite, --services: nothing ran" test ! -e "$H/PWNED"

done_testing
