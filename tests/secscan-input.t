#!/bin/bash
# phx-secscan on records it must not trust, without Podman (a stand-in
# podman answers): container references that would be podman options, a
# compose_file that is /dev/zero, a FIFO, a directory or huge, and
# thousands of containers whose inspect output passes phx_run's 1 MiB.
. "$(dirname "$0")/lib.sh"

FAKE=$TOP/tests/data/phx-secscan/podman/podman
LOG=$T_TMP/podman.log
export FAKE_PODMAN_LOG=$LOG
scan() { PHX_DEPLOYMENT_PODMAN=$FAKE timeout 60 phx-secscan --scanner none "$@" \
	>"$T_TMP/out" 2>"$T_TMP/err"; echo $? >"$T_TMP/status"; }
svc() { printf '{"v":1,"type":"service","deployment_id":"d","service":"%s","%s":"%s"}\n' "$@"; }
dep() { printf '{"v":1,"type":"deployment","deployment_id":"d","project":"demo","compose_file":"%s"}\n' "$1"; }
finding() { jq -r --arg id "$1" 'select(.type == "finding" and .id == $id) | .status + " " + .message' "$T_TMP/out"; }

# a record's container reference reaches podman only as a name or id,
# and only after "--"
: >"$LOG"
{ svc web container_id --latest; svc db container_name '-l'; svc x container_id 'a b;c'
  svc ok container_name web_1; } | scan
is "$(cat "$T_TMP/status")" 1 "references that are not names: exit 1"
is "$(jq -r 'select(.type == "error") | .reason' "$T_TMP/out" | sort | uniq -c | tr -s ' ')" " 3 invalid" \
	"an error record (reason invalid) for each"
like "$(jq -r 'select(.type == "error") | .message' "$T_TMP/out" | head -1)" \
	'^container "--latest" of service web: not a container name or id' "the error names the reference"
is "$(jq -r 'select(.type == "finding") | .container // empty' "$T_TMP/out" | sort -u)" web_1 \
	"only the named container is scanned, not the host's newest"
unlike "$(cat "$LOG")" '(^| )(--latest|-l|a b;c)( |$)' "podman never sees a record's option"
is "$(grep -Evc '^(info|ps) |^(container inspect|network inspect|cp) -- ' "$LOG")" 0 \
	"every podman call with operands puts -- before them"
scan -- --latest </dev/null
is "$(cat "$T_TMP/status") $(jq -r 'select(.type == "error") | .reason' "$T_TMP/out")" "2 invalid" \
	"an option-like container argument: usage error"

# thousands of containers: batched, never one call each
: >"$LOG"
n=450
for i in $(seq "$n"); do svc "s$i" container_id "$(printf '%064x' "$i")"; done >"$T_TMP/many.in"
FAKE_PODMAN_PAD=8192 scan <"$T_TMP/many.in"
is "$(grep -c '^container inspect' "$LOG")" 3 "$n containers, 4 MiB of inspect output: 3 inspect calls (200 ids each)"
is "$(tail -1 "$T_TMP/out" | jq .counts.containers)" "$n" "all $n scanned"

# a compose_file that is not a small regular file: warned, and the check
# that needed it SKIP with the reason; nothing hangs or runs out of memory
mkfifo "$T_TMP/fifo"
head -c $((4 * 1024 * 1024 + 1)) /dev/zero | tr '\0' '#' >"$T_TMP/big.yaml"
printf 'services:\n  web:\n    image: localhost/phx-httpd\n' >"$T_TMP/ok.yaml"
# bounded, so that a regression fails here rather than take the machine
limit() { if [ -n "${ASAN_OPTIONS:-}" ]; then ASAN_OPTIONS=$ASAN_OPTIONS:hard_rss_limit_mb=1024 "$@"
	else (ulimit -v 2000000; "$@"); fi; }
for f in /dev/zero "$T_TMP/fifo" "$T_TMP/big.yaml" "$T_TMP"; do
	case $f in "$T_TMP/big.yaml") why="larger than 4 MiB" ;; *) why="not a regular file" ;; esac
	{ dep "$f"; svc web container_id abc; } | limit scan
	is "$(cat "$T_TMP/status") $(finding PHX-SEC-030)" "1 SKIP not checked: $f: $why" \
		"compose_file ${f#"$T_TMP"/}: network check SKIP, $why"
	like "$(cat "$T_TMP/err")" "$f: $why; network declarations not checked" "... and a warning"
done
{ dep "$T_TMP/ok.yaml"; svc web container_id abc; } | scan
like "$(finding PHX-SEC-030)" "^FAIL attached to podman, not declared" "a regular compose file is read"
scan -f /dev/zero </dev/null
is "$(cat "$T_TMP/status") $(cat "$T_TMP/err")" "2 phx-secscan: error: /dev/zero: not a regular file" \
	"-f /dev/zero: usage error"

done_testing
