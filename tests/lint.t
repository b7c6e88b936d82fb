#!/bin/bash
# Every tool and phx-validate: -h (usage on one line, exit 0), -V, an unknown option
# (exit 2), a man page with EXIT STATUS and EXAMPLES that mandoc -Tlint
# finds clean; the shell scripts are shellcheck-clean.
. "$(dirname "$0")/lib.sh"

for t in phx-deploy phx-probe phx-functest phx-secscan phx-report phx-validate; do
	cmd=$t
	[ "$t" = phx-validate ] && cmd=pipelines/validate
	out=$("$cmd" -h 2>&1)
	st=$?
	is "$st:$(printf '%s\n' "$out" | wc -l)" "0:1" "$t -h: one usage line, exit 0"
	like "$out" "^usage: $t " "$t -h: says usage"
	like "$("$cmd" -V 2>&1)" "^$t [0-9]+\.[0-9]+\.[0-9]+ \(records v1\)$" "$t -V"
	"$cmd" --no-such-option </dev/null >/dev/null 2>"$T_TMP/err"
	is "$?" 2 "$t: unknown option, exit 2"
	like "$(cat "$T_TMP/err")" "usage: $t" "$t: unknown option, usage on stderr"
	m=man/$t.1
	check "$m exists" test -f "$m"
	is "$(grep -c '^\.Sh \(EXIT STATUS\|EXAMPLES\)$' "$m")" 2 "$m: EXIT STATUS and EXAMPLES"
done

out=$(mandoc -Tlint -W warning man/*.[1-9] 2>&1)
is "$out" "" "mandoc -Tlint: man pages clean"

out=$(shellcheck -s sh pipelines/validate pipelines/demo infra/podman/images/build tests/podman.sh 2>&1)
is "$out" "" "shellcheck: pipelines and image build clean"

# the shape rules of the code: no source file over 700 lines, no function
# over 80 (a definition: a line at column 0 naming a function, "{" and
# "}" at column 0)
long=$(wc -l lib/*.[ch] tools/*/*.[ch] | awk '!/ total$/ && $1 > 700')
is "$long" "" "no source file over 700 lines"
long=$(awk '
FNR == 1 { infn = 0; cand = "" }
/^[A-Za-z_].*\(/ && !/;[ \t]*$/ { cand = $0; line = FNR }
/^\{/ && cand != "" { infn = 1; start = FNR; name = cand; from = line; next }
/^\}/ && infn { if (FNR - start - 1 > 80) { sub(/\(.*/, "", name); printf "%s:%d %s %d lines\n", FILENAME, from, name, FNR - start - 1 }; infn = 0; cand = "" }
' lib/*.c tools/*/*.c)
is "$long" "" "no function over 80 lines"

# one table of defaults (lib/config.c): no stage gives a config accessor
# a default of its own
dflt=$(perl -0777 -ne '
	print "$ARGV: $1\n" while
	    /(phx_cfg_(?:str|num|bool|opt_str)\(\s*[^,()]+,\s*"[^"]*"\s*,[^;]*)/g;
	print "$ARGV: $1\n" while
	    /(phx_j(?:str|num|bool|int)\(\s*[\w.>-]*cfg\s*,[^;]*)/g;
' lib/*.c tools/*/*.c)
is "$dflt" "" "no literal default passed to a config accessor"

done_testing
