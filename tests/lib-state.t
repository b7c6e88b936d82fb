#!/bin/bash
# The state directory is data only, and ours alone: made 0700 whatever the
# umask, refused when another user owns it or may write in it; files phx
# writes cannot be redirected by a symlink planted where they go; a tool
# started with a standard descriptor closed does not read or write
# whatever opens next in its place.  Needs neither Podman nor a network.
. "$(dirname "$0")/lib.sh"
plan 17

S=$T_TMP/state
ID=deploy_20260101_000000
stream() {
	printf '{"v":1,"type":"phase","deployment_id":"%s","ts":"2026-01-01T00:00:00.000Z","source":"phx-deploy","phase":"deploy","event":"start"}\n' "$ID"
}

# validate makes the state directory before any tool does
(umask 000; PHX_STATE_DIR=$S/v pipelines/validate --deployment-id "$ID" \
    >/dev/null 2>&1)
is "$(stat -c %a "$S/v" "$S/v"/validate.* | tr '\n' ' ')" "700 700 " \
	"validate, umask 000: state directory 0700"

# the tools: directories 0700 whatever the umask (mkdir's mode is masked)
(umask 277; stream | PHX_STATE_DIR=$S/r/deep phx-report >/dev/null 2>&1)
is "$(stat -c %a "$S/r" "$S/r/deep" "$S/r/deep/$ID" | tr '\n' ' ')" \
	"700 700 700 " "report, umask 277: every directory made 0700"
(umask 000; stream | PHX_STATE_DIR=$S/z phx-report >/dev/null 2>&1)
is "$(cd "$S/z/$ID" && stat -c '%a %n' * | tr '\n' ' ')" \
	"600 report.json 600 stream.ndjson " "report, umask 000: files 0600"

# a state directory others may write in is refused, naming it and the fix
mkdir -m 777 "$S/open"
stream | PHX_STATE_DIR=$S/open phx-report >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 2 "777 state directory: exit 2"
like "$(cat "$T_TMP/err")" "state directory $S/open is writable by group or others \(mode 0777\): refused; fix with chmod 700 $S/open" \
	"777 state directory: one line, the directory and the fix"
is "$(ls -A "$S/open")" "" "777 state directory: nothing written in it"
mkdir -m 770 "$S/group"
stream | PHX_STATE_DIR=$S/group phx-report >/dev/null 2>"$T_TMP/err"
like "$?/$(cat "$T_TMP/err")" "^2/.*state directory $S/group is writable by group or others \(mode 0770\)" \
	"group-writable state directory: refused"

# the lock of a planted symlink in it is not created through
ln -s "$T_TMP/created" "$S/open/.lock.proj"
PHX_STATE_DIR=$S/open phx-deploy -p proj restart "$ID" </dev/null \
    >/dev/null 2>"$T_TMP/err"
like "$?/$(cat "$T_TMP/err")" "^2/.*$S/open is writable" \
	"deploy restart, 777 state directory: refused"
check "deploy restart: the planted lock symlink not followed" \
	test ! -e "$T_TMP/created"

# another user's
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	mkdir -m 700 "$S/theirs" && chown nobody "$S/theirs"
	stream | PHX_STATE_DIR=$S/theirs phx-report >/dev/null 2>"$T_TMP/err"
	like "$?/$(cat "$T_TMP/err")" "^2/.*state directory $S/theirs belongs to uid [0-9]+, not to uid 0: refused" \
		"state directory of another user: refused"
else
	skip "not root: cannot give a directory to another user"
fi

# ours through a symlink we made is fine
mkdir -m 700 "$S/real" && ln -s real "$S/link"
stream | PHX_STATE_DIR=$S/link phx-report >/dev/null 2>&1
check "state directory through our own symlink: used" \
	test -f "$S/real/$ID/stream.ndjson"

# a symlink planted at the temporary name of a file written is not followed
# (before: F.tmp.PID, opened O_CREAT|O_TRUNC; $BASHPID is the tool's pid
# once it is exec'd)
mkdir "$T_TMP/w" && echo mine >"$T_TMP/w/victim"
(ln -s "$T_TMP/w/victim" "$T_TMP/w/F.tmp.$BASHPID"
 exec phx-secscan --sarif "$T_TMP/w/F" </dev/null >/dev/null 2>&1)
is "$(head -c 20 "$T_TMP/w/victim")" mine "secscan --sarif: planted temporary not followed"
is "$(jq -r .version "$T_TMP/w/F" 2>&1)" 2.1.0 "secscan --sarif: the file written"
is "$(stat -c %a "$T_TMP/w/F")" 600 "secscan --sarif: mode 0600"

# closed standard descriptors: /dev/null takes their place
start=$(date +%s)
timeout 10 phx-probe -c /dev/null <&- >/dev/null 2>&1
st=$?
isnt_timeout=$([ "$st" -ne 124 ] && [ $(($(date +%s) - start)) -lt 5 ] && echo yes)
is "$st/$isnt_timeout" "0/yes" "probe with stdin closed: an empty stream, exits at once"
stream | timeout 10 phx-report --no-store >&- 2>"$T_TMP/err"
is "$?" 2 "report with stdout closed: runs, INCOMPLETE as with no verdict"
timeout 10 phx-secscan --sarif "$T_TMP/w/G" </dev/null >&- 2>&-
is "$?/$(jq -r .version "$T_TMP/w/G" 2>&1)" 0/2.1.0 \
	"secscan with stdout and stderr closed: exit 0, SARIF written"
