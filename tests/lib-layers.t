#!/bin/bash
# lib is layered, util <- codec <- pattern <- redact <- secrets <- log <- out
# <- the rest (see lib/phx_priv.h): no file calls a higher layer, no files
# call each other round in a cycle.  Read from the built objects' symbols (nm), so every
# use counts, also one behind a macro; builds nothing itself.
. "$(dirname "$0")/lib.sh"
UNIT=${PHX_UNIT:-$TOP/tests/unit/phx-unit}
# the archive, not lib/*.o: it holds exactly today's objects, no stale one
LIBA=$(cd "$(dirname "$UNIT")/../.." && pwd)/lib/libphx.a
plan 3

# "A B sym": object A uses phx_ symbol sym, which object B defines
nm "$LIBA" 2>/dev/null | awk '
/\.o:$/ { obj = substr($0, 1, length($0) - 3); next }
NF == 2 && $1 == "U" && $2 ~ /^phx_/ { use[obj " " $2] = 1; next }
NF == 3 && $2 ~ /^[A-TV-Z]$/ && $3 ~ /^phx_/ { def[$3] = obj }
END {
	for (k in use) {
		split(k, f, " ")
		if ((f[2] in def) && def[f[2]] != f[1])
			print f[1], def[f[2]], f[2]
	}
}' | sort >"$T_TMP/uses"
check "objects of $LIBA read, uses found" test -s "$T_TMP/uses"

# tsort names the files of each loop it finds; the uses between them say why
cut -d' ' -f1,2 "$T_TMP/uses" | sort -u | tsort >/dev/null 2>"$T_TMP/tsort"
if ok $? "no cycle between lib's files"; then :; else
	awk '/loop:$/ { if (l) print l; l = ""; next }
	    { sub(/^tsort: /, ""); l = l " " $0 } END { if (l) print l }' \
	    "$T_TMP/tsort" | while read -r loop; do
		diag "cycle: $loop"
		while read -r a b sym; do
			case " $loop " in *" $a "*) case " $loop " in *" $b "*)
				diag "  $a -> $b ($sym)";; esac;; esac
		done <"$T_TMP/uses"
	done
fi

# a lower layer never calls a higher one
awk '
function rank(f) {
	return f == "util" ? 0 : f == "codec" ? 0.5 : f == "pattern" ? 0.7 : \
	    f == "redact" ? 1 : f == "secrets" ? 1.5 : f == "log" ? 2 : \
	    f == "out" ? 3 : 4
}
rank($1) < rank($2) { print "  " $1 " -> " $2 " (" $3 ")" }
' "$T_TMP/uses" >"$T_TMP/up"
if ok "$(wc -l <"$T_TMP/up")" \
    "util <- codec <- pattern <- redact <- secrets <- log <- out <- the rest: no call upwards"; then :; else
	diag "calls upwards:" "$(cat "$T_TMP/up")"
fi
