# tests/lib.sh: TAP helpers for the shell tests (sourced by tests/*.t).
# Tests run from the top of the tree; PHX_BIN names the tools' folder.
set -u
cd "$(dirname "$0")/.." || exit 1
TOP=$(pwd)
PHX_BIN=${PHX_BIN:-$TOP/tools}
PATH=$PHX_BIN:$PATH
export PATH TOP PHX_BIN
# hermetic, as git's test-lib: what a user set for real runs (ports,
# secrets, log format, libpq and proxy settings) must not change a test
for _v in $(compgen -e); do
	case $_v in
	PHX_BIN|PHX_UNIT|PHX_REGOLD|PHX_STALE_MINUTES|PHX_BROKEN_*) ;;   # the suite's own knobs
	PHX_*|PG*|COMPOSE_*|*_PASSWORD|*_TOKEN|*_API_KEY|*_SECRET|*_SECRET_KEY|\
	[Hh][Tt][Tt][Pp]*_[Pp][Rr][Oo][Xx][Yy]|[Aa][Ll][Ll]_[Pp][Rr][Oo][Xx][Yy]|\
	[Nn][Oo]_[Pp][Rr][Oo][Xx][Yy]|NO_COLOR|CURL_*|SSL_CERT_*)
		unset "$_v" ;;
	esac
done
unset _v
export PHX_LOG_FORMAT=text
# the bundled stack's n8n is the stand-in (fast, in memory) unless a test
# asks for the real one (tests/n8n-real.t, make check-n8n)
export PHX_N8N=standin
export CONTAINERS_CONF="$TOP/configs/podman/containers.conf"

T_N=0
T_FAILED=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/phx-test.XXXXXX")
T_CLEANUP=""
t_cleanup() {
	eval "$T_CLEANUP"
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

# at_exit CMD: run CMD at exit, also when a test fails
at_exit() { T_CLEANUP="$1; $T_CLEANUP"; }

plan() { echo "1..$1"; }
# diagnostics go to stderr, so prove shows them even when not verbose
diag() { printf '%s\n' "$@" | sed 's/^/# /' >&2; }

ok() {
	T_N=$((T_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $T_N - $2"
	else
		echo "not ok $T_N - $2"
		T_FAILED=$((T_FAILED + 1))
		return 1
	fi
}

# check NAME CMD...: ok when CMD succeeds
check() {
	local name=$1
	shift
	"$@"
	ok $? "$name"
}

# is GOT WANT NAME (returns 1 when it fails, for `is ... || diag ...`)
is() {
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "got:  $1" "want: $2"
		return 1
	fi
}

# like GOT REGEX NAME (grep -E)
like() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "got:  $1" "want match: $2"
		return 1
	fi
}

# unlike GOT REGEX NAME
unlike() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		ok 1 "$3"
		diag "got:  $1" "want no match: $2"
		return 1
	else
		ok 0 "$3"
	fi
}

# skip REASON: count a skipped test
skip() {
	T_N=$((T_N + 1))
	echo "ok $T_N # skip $1"
}

done_testing() {
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
}

# normalize: the parts of records that differ between runs blanked;
# lines that are not JSON objects are kept as they are
normalize() {
	jq -Rr '. as $line | try (fromjson | if type == "object" then
		(if has("ts") then .ts = "TS" else . end)
		| (if has("duration_ms") then .duration_ms = 0 else . end)
		| (if has("response_time_ms") then .response_time_ms = 0 else . end)
	else . end | tojson) catch $line'
}

# golden TOOL NAME [ARGS...]: tests/data/TOOL/NAME.in.ndjson through TOOL
# must give NAME.out.ndjson (normalized) and the exit status in NAME.status
golden() {
	local tool=$1 name=$2 dir status status_want
	shift 2
	dir=$TOP/tests/data/$tool
	status_want=$(cat "$dir/$name.status" 2>/dev/null || echo 0)
	"$tool" "$@" <"$dir/$name.in.ndjson" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err"
	status=$?
	normalize <"$T_TMP/$name.out" >"$T_TMP/$name.norm"
	if cmp -s "$T_TMP/$name.norm" "$dir/$name.out.ndjson" &&
	    [ "$status" = "$status_want" ]; then
		ok 0 "golden $tool $name"
	else
		ok 1 "golden $tool $name"
		diag "exit $status, want $status_want"
		diff -u "$dir/$name.out.ndjson" "$T_TMP/$name.norm" | head -40 |
		    sed 's/^/# /' >&2
		sed 's/^/# stderr: /' "$T_TMP/$name.err" | head -10 >&2
	fi
}

# closed_stdout CMD...: CMD's exit status when its stdout is a pipe whose
# reader is already gone (EPIPE on the first write, no timing involved)
closed_stdout() {
	python3 -c 'import os, subprocess, sys
r, w = os.pipe(); os.close(r)
sys.exit(subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.DEVNULL).returncode)' "$@"
	echo $?
}

. "$TOP/tests/ports.sh"

