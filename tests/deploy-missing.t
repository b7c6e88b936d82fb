#!/bin/bash
# phx-deploy with a localhost/ image that is not here: no registry has
# it, so it is said before podman-compose runs and not retried; nothing
# is left, exit 1.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail

D=tests/data/phx-deploy
export PHX_STATE_DIR=$T_TMP/state
P1=$(phx_test_project missing)
at_exit "podman_cleanup_project $P1"

latest() { ls "$PHX_STATE_DIR" | grep '^deploy_' | tail -1; }
nothing_left() { phx_nothing_left "$1"; }

# ---- an image that does not exist: one attempt, said at once ----
T0=$(date +%s%N)
phx-deploy -f $D/missing-image.yaml -p "$P1" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 1 "missing image: exit 1"
MS=$((($(date +%s%N) - T0) / 1000000))
diag "missing image: $MS ms"
check "missing image: failed in under 5 s" test "$MS" -lt 5000
ID=$(latest)
is "$(jq -r 'select(.type == "deployment") | "\(.status)/\(.attempt)"' "$T_TMP/out" | tr '\n' ' ')" \
	"starting/1 failed/1 " "missing image: one attempt, not retried"
is "$(jq -r 'select(.type == "error") | "\(.reason) \(.service) \(.image)"' "$T_TMP/out" | sort -u)" \
	"image_missing ghost localhost/phx-does-not-exist:1" "missing image: the error names the service and the image"
like "$(jq -r 'select(.type == "error") | .message' "$T_TMP/out" | head -1)" \
	'^service ghost: image localhost/phx-does-not-exist:1 is not available locally and could not be pulled' \
	"missing image: a sentence for people"
is "$(tail -1 "$T_TMP/out" | jq -c '[.phase, .event, .status]')" '["deploy","end","failed"]' "missing image: phase end failed"
check "missing image: no container, network or volume left" nothing_left "$P1"
is "$(jq -r '[.status, .result, .stack, .reason, .attempts] | join(" ")' "$PHX_STATE_DIR/$ID/state.json")" \
	"FAILED FAILED removed image_missing 1" "missing image: state.json"
like "$(cat "$T_TMP/err")" 'attempt 1 of 3: service ghost: image localhost/phx-does-not-exist:1' \
	"missing image: said on stderr"

done_testing
