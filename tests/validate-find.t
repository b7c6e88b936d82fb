#!/bin/bash
# pipelines/validate runs the tools it was shipped with: in a built clone
# (tools/ beside pipelines/) and installed (phx-validate beside the tools)
# before any on PATH; a missing tool is a clear error and exit 3, never
# 127; the VS Code tasks go through it; `make install` installs it and its
# man page, runnable by anyone.  No Podman.
. "$(dirname "$0")/lib.sh"

FAKE=$TOP/tests/data/validate/bin
TOOLS="phx-deploy phx-probe phx-functest phx-secscan phx-report"
export FAKE_LOG=$T_TMP/log FAKE_PATHS=1 PHX_STATE_DIR=$T_TMP/state
BUILD=${PHX_BIN%/tools}   # make install installs what this run tests
unset PHX_BIN
SYS=/usr/local/bin:/usr/bin:/bin
# fakes DIR: the stand-in tools in DIR
fakes() {
	mkdir -p "$1"
	cp "$FAKE/fake" "$1/fake"
	for t in $TOOLS; do ln -sf fake "$1/$t"; done
}
used() { cut -d' ' -f1 "$FAKE_LOG" | sed 's,/[^/]*$,,' | sort -u | tr '\n' ' '; }

# a decoy of every tool on PATH, that must not be the one run
fakes "$T_TMP/decoy"

# --- a built clone: pipelines/validate and tools/phx-* ---
C=$T_TMP/clone
mkdir -p "$C/pipelines"
cp pipelines/validate "$C/pipelines/validate"
fakes "$C/tools"
: >"$FAKE_LOG"
(cd "$C" && PATH=$T_TMP/decoy:$SYS pipelines/validate -o out >/dev/null 2>"$T_TMP/err")
is "$?" 0 "a built clone: exit 0"
is "$(used)" "pipelines/../tools " "a built clone: tools/ beside pipelines/, not PATH"
: >"$FAKE_LOG"
PATH=$T_TMP/decoy:$SYS "$C/pipelines/validate" -o "$T_TMP/o1" >/dev/null 2>&1
is "$(used)" "$C/pipelines/../tools " "a built clone, run from elsewhere: the same tools"

# --- installed: phx-validate beside the tools, run from PATH ---
I=$T_TMP/inst/bin
fakes "$I"
cp pipelines/validate "$I/phx-validate"
: >"$FAKE_LOG"
(cd "$T_TMP" && PATH=$I:$T_TMP/decoy:$SYS phx-validate -o o2 >/dev/null 2>&1)
is "$?" 0 "installed: exit 0"
is "$(used)" "$I " "installed: the tools of its own bindir"
: >"$FAKE_LOG"
(cd "$T_TMP" && PATH=$T_TMP/decoy:$I:$SYS phx-validate -o o3 >/dev/null 2>&1)
is "$(used)" "$I " "installed, a decoy earlier on PATH: still its own"

# --- PHX_BIN names the tools, before all others ---
: >"$FAKE_LOG"
PHX_BIN=$T_TMP/decoy PATH=$SYS "$C/pipelines/validate" -o "$T_TMP/o4" >/dev/null 2>&1
is "$(used)" "$T_TMP/decoy " "PHX_BIN: those tools"

# --- a fresh clone, nothing built: exit 3 and what to do ---
F=$T_TMP/fresh
mkdir -p "$F/pipelines" "$F/tools/deploy"
cp pipelines/validate "$F/pipelines/validate"
cp -r .vscode configs "$F/"
for args in "" "--down" "--services all" "--test-suite all" \
    "--deployment-id deploy_20260101_000000" "-V"; do
	# shellcheck disable=SC2086 # the arguments are words
	(cd "$F" && PATH=$SYS pipelines/validate $args >/dev/null 2>"$T_TMP/err")
	st=$?
	is "$st" 3 "fresh clone, validate $args: exit 3, not 127"
	like "$(cat "$T_TMP/err")" '^phx-validate: phx-[a-z]+: not found.*run make' \
	    "fresh clone, validate $args: names the tool and says run make"
done
check "fresh clone: nothing was made before the error" test ! -e "$F/.phx"
# one tool missing of five
fakes "$T_TMP/four"
rm "$T_TMP/four/phx-secscan"
PHX_BIN=$T_TMP/four PATH=$SYS "$F/pipelines/validate" >/dev/null 2>"$T_TMP/err"
is "$?" 3 "phx-secscan missing: exit 3"
like "$(cat "$T_TMP/err")" "phx-secscan: not found" "phx-secscan missing: named"
PHX_BIN=$T_TMP/four PATH=$SYS "$F/pipelines/validate" --no-secscan -o "$T_TMP/o5" >/dev/null 2>&1
is "$?" 0 "phx-secscan missing, --no-secscan: not needed, exit 0"

# --- the VS Code tasks run validate, directly, in a fresh clone too ---
n=$(jq '.tasks | length' .vscode/tasks.json)
is "$(jq -r '[.tasks[] | select(.type == "process" and
    .command == "${workspaceFolder}/pipelines/validate")] | length' .vscode/tasks.json)" "$n" \
    "tasks.json: every task runs pipelines/validate as a process (no shell)"
for i in $(seq 0 $((n - 1))); do
	label=$(jq -r ".tasks[$i].label" .vscode/tasks.json)
	mapfile -t argv < <(jq -r ".tasks[$i] | [.command] + (.args // []) | .[]" .vscode/tasks.json |
	    sed -e "s|\${workspaceFolder}|$F|g" -e 's|\${input:deploymentId}|deploy_20260101_000000|g')
	(cd "$F" && PATH=$SYS "${argv[@]}" >/dev/null 2>"$T_TMP/err")
	is "$?" 3 "task '$label', fresh clone: exit 3"
	like "$(cat "$T_TMP/err")" "not found.*run make" "task '$label', fresh clone: says run make"
done

# --- make install: phx-validate and its man page, for everyone ---
D=$T_TMP/dest
(umask 077; make -s -C "$TOP" -o all install BUILD="$BUILD" DESTDIR="$D" PREFIX=/usr \
    >/dev/null 2>"$T_TMP/err")
is "$?" 0 "make install DESTDIR=... (umask 077)"
is "$(stat -c %a "$D/usr/bin/phx-validate" 2>&1)" 755 "phx-validate installed 0755"
is "$(stat -c %a "$D/usr/share/man/man1/phx-validate.1" 2>&1)" 644 "man1/phx-validate.1 installed 0644"
n=0
for t in $TOOLS; do [ "$(stat -c %a "$D/usr/bin/$t" 2>&1)" = 755 ] && n=$((n + 1)); done
is "$n" 5 "the five tools installed 0755"
like "$(PATH=$SYS "$D/usr/bin/phx-validate" -V 2>&1)" '^phx-validate [0-9]+\.[0-9]+\.[0-9]+ \(records v1\)$' \
    "installed phx-validate -V runs the installed phx-report"

done_testing
