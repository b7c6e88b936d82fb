#!/bin/bash
# tests/broken-table.sh: runs the broken-stack suite (tests/broken-stacks.t,
# under the Podman lock) and prints its table, one row a case: the exit
# status of pipelines/validate, the verdict, the reason that names the
# failing service and cause, the seconds the run took and what was left
# of the project (containers, pods, networks, volumes).  The rows of the
# deterministic deploy errors (a held port, a missing image, a compose
# syntax error) give the time from the error to the verdict: those runs
# stop at the error.  make broken-table runs it; exit: prove's.
set -u
cd "$(dirname "$0")/.." || exit 1
table=$(mktemp "${TMPDIR:-/tmp}/phx-broken.XXXXXX") || exit 3
trap 'rm -f "$table"' EXIT
flock /tmp/phx-podman.lock env PHX_BIN="${PHX_BIN:-$PWD/tools}" \
    PHX_BROKEN_TABLE="$table" prove tests/broken-stacks.t >&2
st=$?
awk -F '\t' 'BEGIN { print "| case | exit | verdict | reason | seconds | leftovers |"
	print "|---|---|---|---|---|---|" }
{ gsub(/\|/, "\\|"); printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$table"
exit "$st"
