#!/bin/bash
# phx-deploy with an image that exists nowhere: three attempts, cleanup
# between and after, each attempt's logs kept, nothing left, exit 1.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail

D=tests/data/phx-deploy
export PHX_STATE_DIR=$T_TMP/state
P1=$(phx_test_project missing)
at_exit "podman_cleanup_project $P1"

latest() { ls "$PHX_STATE_DIR" | grep '^deploy_' | tail -1; }
nothing_left() { phx_nothing_left "$1"; }

# ---- an image that does not exist: three attempts, then cleanup ----
phx-deploy -f $D/missing-image.yaml -p "$P1" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 1 "missing image: exit 1"
ID=$(latest)
is "$(jq -r 'select(.type == "deployment") | "\(.status)/\(.attempt)"' "$T_TMP/out" | tr '\n' ' ')" \
	"starting/1 failed/1 starting/2 failed/2 starting/3 failed/3 " "missing image: three attempts"
is "$(jq -r 'select(.type == "error") | "\(.reason) \(.service) \(.image)"' "$T_TMP/out" | sort -u)" \
	"image_missing ghost localhost/phx-does-not-exist:1" "missing image: the error names the service and the image"
like "$(jq -r 'select(.type == "error") | .message' "$T_TMP/out" | head -1)" \
	'^service ghost: image localhost/phx-does-not-exist:1 is not available locally and could not be pulled' \
	"missing image: a sentence for people"
is "$(tail -1 "$T_TMP/out" | jq -c '[.phase, .event, .status]')" '["deploy","end","failed"]' "missing image: phase end failed"
check "missing image: no container, network or volume left" nothing_left "$P1"
S=$PHX_STATE_DIR/$ID
for a in 1 2 3; do
	check "missing image: attempt $a's podman-compose output kept" test -s "$S/logs/attempt-$a/podman-compose.log"
	check "missing image: attempt $a's container log kept" test -f "$S/logs/attempt-$a/${P1}_web_1.log"
done
has_name() { jq -e --arg n "$1" '.Name == $n' "$2" >/dev/null; }
check "missing image: inspect JSON kept" has_name "${P1}_web_1" "$S/logs/attempt-3/${P1}_web_1.inspect.json"
is "$(jq -r '[.status, .result, .stack, .reason] | join(" ")' "$S/state.json")" \
	"FAILED FAILED removed image_missing" "missing image: state.json"
like "$(cat "$T_TMP/err")" 'attempt 3 of 3: service ghost: image localhost/phx-does-not-exist:1' \
	"missing image: said on stderr"

done_testing
