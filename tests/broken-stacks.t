#!/bin/bash
# Broken stacks through the whole pipeline: pipelines/validate --down on
# copies of the bundled stack (infra/podman, the bundled configs), each
# broken one way.  For every case: the exit status, the verdict, the
# failing service named with its cause, nothing of the project left
# (containers, pods, networks, volumes), the logs kept, and no secret in
# any output, log, report or state file.  Cases that fail at the same
# stage share a deploy:
#   probe  a health endpoint that answers 500 (nca-toolkit), a wrong body
#          (phoenix-core), a wrong database password (revenue-db), a
#          healthcheck that says unhealthy while the port answers
#          (windmill), a service that flaps (answers, then 503 three
#          seconds after its first answer), a slow start inside the
#          probe's deadline and one beyond it
#   start  a container that exits at once, a crash loop, an OOM kill
#   port, image, syntax  the deterministic deploy errors: a host port
#          held by another process, a missing image, a compose file that
#          is not YAML; each FAILED (syntax: INCOMPLETE, phx-deploy's exit
#          2, with the root cause named) without a retry, within seconds
#   SIGINT and SIGTERM to the pipeline's process group mid-deploy, the
#          two validations at once (each cleans up only its own)
# PHX_BROKEN_TABLE=FILE appends one line per case to FILE (case, exit,
# verdict, reason, seconds, leftovers): tests/broken-table.sh prints it.
# PHX_BROKEN_KEEP=DIR keeps a copy of everything the runs wrote there.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail

export PHX_STATE_DIR=$T_TMP/state
export REVENUE_DB_PASSWORD="brk-$$-Db-Secr3t" N8N_API_KEY="n8n_api_brk$$K3y" \
    WINDMILL_TOKEN="brk-$$-Wm-T0ken"
SECRETS=("$REVENUE_DB_PASSWORD" "$N8N_API_KEY" "$WINDMILL_TOKEN")
TABLE=${PHX_BROKEN_TABLE:-$T_TMP/table}
CONF=$TOP/configs/deployment-validation
[ -z "${PHX_BROKEN_KEEP:-}" ] || at_exit "rm -rf $PHX_BROKEN_KEEP; cp -r $T_TMP $PHX_BROKEN_KEEP"

# stack NAME [EXTRA...]: a copy of the bundled stack in $T_TMP/NAME, ports
# of its own (PHX_PORT_* and, for each EXTRA service, PHXT_PORT_EXTRA, in
# NAME/env), its compose file edited by the Python on stdin (c: the file,
# s: its services, d: the copy's folder, httpd(name, script): a service
# like phoenix-core whose /bin/sh script runs instead of httpd), and
# NAME/phx.yaml: the bundled configuration with that compose file, one
# deploy attempt, and what NAME/conf.yaml adds
stack() {
	local name=$1 d=$T_TMP/$1 v
	shift
	mkdir -p "$d"
	cp -r "$TOP/infra/podman" "$d/stack"
	for v; do
		set -- "$@" "PHXT_PORT_$(printf %s "$v" | tr 'a-z-' 'A-Z_')"
		shift
	done
	set -- PHX_PORT_CORE PHX_PORT_NCA PHX_PORT_N8N PHX_PORT_WINDMILL PHX_PORT_DB "$@"
	paste -d= <(printf '%s\n' "$@") <(free_port $#) | sed 's/^/export /' >"$d/env"
	python3 -c '
import sys, yaml
d = sys.argv[1]
f = d + "/stack/compose.yaml"
c = yaml.safe_load(open(f))
s = c["services"]
def httpd(name, script):
    v = dict(s["phoenix-core"], volumes=["./www/%s:/www:ro" % name],
        ports=["127.0.0.1:${PHXT_PORT_%s}:8080" % name.upper().replace("-", "_")],
        entrypoint=["/bin/sh", "-c", script])
    v.pop("healthcheck", None)
    s[name] = v
    import os; os.makedirs(d + "/stack/www/" + name, exist_ok=True)
    open(d + "/stack/www/" + name + "/health", "w").write("ok\n")
'"$(cat)"'
yaml.safe_dump(c, open(f, "w"), sort_keys=False)
' "$d" || return 1
	{
		printf 'include: [%s/services.yaml, %s/tests.yaml, %s/security.yaml]\n' "$CONF" "$CONF" "$CONF"
		printf 'deployment:\n  compose_file: %s/stack/compose.yaml\n  retries: 1\n' "$d"
		cat "$d/conf.yaml" 2>/dev/null
	} >"$d/phx.yaml"
}

# cgi DIR STATUS BODY: a CGI index at DIR that answers STATUS and BODY
cgi() {
	mkdir -p "$1/cgi-bin"
	rm -f "$1/index.html"
	printf '#!/bin/sh\nprintf "Status: %s\\r\\nContent-Type: text/plain\\r\\n\\r\\n%s\\n"\n' "$2" "$3" \
	    >"$1/cgi-bin/index.cgi"
	chmod 755 "$1/cgi-bin/index.cgi"
}

# validate NAME [ARGS...]: pipelines/validate --down --volumes on stack NAME under a
# project of its own, in the background; wait_validate NAME then sets
# st, secs, out (the output folder) and id (the deployment's)
declare -A PID T0 PROJECT
validate() {
	local name=$1 d=$T_TMP/$1
	shift
	PROJECT[$name]=$(phx_test_project "$name")
	at_exit "podman_cleanup_project ${PROJECT[$name]} >/dev/null 2>&1"
	T0[$name]=$(date +%s%N)
	# a process group of its own, as a pipeline run from a shell: the
	# signal cases signal all of it, as ^C does
	( . "$d/env"; PHX_PROJECT=${PROJECT[$name]} exec setsid pipelines/validate \
	    -c "$d/phx.yaml" --down --volumes -o "$d/out" "$@" ) >"$d/stdout" 2>"$d/stderr" &
	PID[$name]=$!
}
wait_validate() {
	local name=$1 d=$T_TMP/$1
	wait "${PID[$name]}"
	st=$?
	secs=$(( ($(date +%s%N) - ${T0[$name]}) / 100000000 ))
	secs=$((secs / 10)).$((secs % 10))
	out=$d/out
	id=$(jq -r '.deployment_id // empty' "$out/report.json" 2>/dev/null)
	# a run interrupted before the report: the id phx-deploy claimed
	[ -n "$id" ] || id=$(sed -n 's/.*taking \(deploy_[0-9_]*\) down.*/\1/p' "$d/stderr" | head -1)
}

# the verdict the run ended with: the report's, unless a stage's status
# overrode it (pipelines/validate says so)
verdict() {
	local v
	v=$(sed -n 's/.*verdict \([A-Z]*\).*: a stage.s status overrides.*/\1/p' "$T_TMP/$1/stderr" | tail -1)
	[ -n "$v" ] || v=$(jq -r '.status // empty' "$T_TMP/$1/out/report.json" 2>/dev/null)
	echo "${v:-none}"
}

# the report's reasons, one a line, then what phx-deploy kept in its
# state: a run interrupted mid-deploy, its record dies with the stages
# between it and phx-report, which ^C stops too
# (a recovery that did not help names the fault it acted on: a restarted
# container's later checks may only say "refused")
reasons() {
	jq -r '.errors[]?, (.recovery.actions[]? |
	    "service \(.subject): \(.action) (\(.outcome)): \(.why)")' \
	    "$T_TMP/$1/out/report.json" 2>/dev/null
	[ -z "$id" ] || jq -r '.message // empty' "$PHX_STATE_DIR/$id/state.json" 2>/dev/null
}

# outcome CASE NAME WANT-EXIT WANT-VERDICT REASON-REGEX: the case's row,
# and its checks
outcome() {
	local case=$1 name=$2 reason
	reason=$(reasons "$name" | grep -E -m1 -- "$5")
	is "$st" "$3" "$case: exit $3"
	is "$(verdict "$name")" "$4" "$case: verdict $4"
	like "$reason" "$5" "$case: the reason names it"
	[ -n "$reason" ] || diag "$(reasons "$name" | head -8)" "$(tail -5 "$T_TMP/$name/stderr")"
	# shorter for the table: the project's prefix off container names
	reason=$(printf '%s' "$reason" | sed -e "s/${PROJECT[$name]}_//g" \
	    -e 's/phx-deploy ended in error: //' -e "s|$T_TMP/||g")
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$case" "$st" "$(verdict "$name")" \
	    "${reason:0:150}" "$secs" "$(_phx_project_objects "${PROJECT[$name]}" | wc -l)" >>"$TABLE"
}

# clean NAME: nothing of the project left, no secret anywhere the run wrote
clean() {
	local name=$1 f
	check "$name: nothing of project ${PROJECT[$name]} left" phx_nothing_left "${PROJECT[$name]}"
	f=$(grep -rlF "${SECRETS[@]/#/-e}" "$T_TMP/$name/stdout" "$T_TMP/$name/stderr" \
	    "$T_TMP/$name/out" ${id:+"$PHX_STATE_DIR/$id"} 2>/dev/null)
	is "$f" "" "$name: no secret in any output, log, report or state file"
}

# logs NAME SERVICE: the service's container log kept in the state directory
logs() {
	check "$1: the logs of $2 are kept" \
	    sh -c "find '$PHX_STATE_DIR/$id/logs' -name '*$2*' -size +0 2>/dev/null | grep -q ."
}

# --- deterministic deploy errors: no retry, FAILED within seconds ---
stack port <<'PY'
PY
( . "$T_TMP/port/env"; exec python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
time.sleep(120)' "$PHX_PORT_NCA" ) &
holder=$!
at_exit "kill $holder 2>/dev/null"
( . "$T_TMP/port/env"; wait_port "$PHX_PORT_NCA" ) || diag "the port holder did not start"
validate port
wait_validate port
kill "$holder"
outcome "port held by another process" port 1 FAILED "root cause: .*port .*in use"
check "port: said within 20 s" test "${secs%.*}" -lt 20
clean port

stack image <<'PY'
s["windmill"]["image"] = "localhost/phx-does-not-exist:1"
PY
validate image
wait_validate image
outcome "missing image" image 1 FAILED "root cause: .*windmill.*phx-does-not-exist"
check "image: said within 20 s" test "${secs%.*}" -lt 20
clean image

stack syntax <<'PY'
PY
printf 'services:\n  broken: [unclosed\n' >>"$T_TMP/syntax/stack/compose.yaml"
validate syntax
wait_validate syntax
outcome "compose syntax error" syntax 2 INCOMPLETE "root cause: .*compose.yaml:[0-9]+:[0-9]+: "
check "syntax: said within 20 s" test "${secs%.*}" -lt 20
like "$(cat "$T_TMP/syntax/stderr")" "no deployment was created" "syntax: nothing to take down, and said"
clean syntax

# --- containers that fail while they start, three validations at once ---
stack exits <<'PY'
s["phoenix-core"]["entrypoint"] = ["/bin/sh", "-c",
    "echo booting; echo 'config: /etc/app.conf not found' >&2; exit 7"]
del s["n8n"], s["windmill"], s["revenue-db"], c["volumes"]
PY
stack crash <<'PY'
s["nca-toolkit"]["restart"] = "always"
s["nca-toolkit"]["entrypoint"] = ["/bin/sh", "-c", "echo up; /bin/phx-httpd & sleep 2; exit 1"]
del s["n8n"], s["windmill"], s["revenue-db"], c["volumes"]
PY
stack oom <<'PY'
s["nca-toolkit"].update(mem_limit="6m",
    entrypoint=["/bin/sh", "-c", "x=0123456789; while :; do x=$$x$$x; done"])
del s["n8n"], s["windmill"], s["revenue-db"], c["volumes"]
PY
validate exits
validate crash
validate oom
wait_validate exits
outcome "container exits at once" exits 1 FAILED "phoenix-core.*exited with code 7"
logs exits phoenix-core
like "$(cat "$PHX_STATE_DIR/$id"/logs/*/*phoenix-core*.log 2>/dev/null)" "app.conf not found" \
    "exits: the container's own words are in its kept log"
clean exits
wait_validate crash
outcome "crash loop (restart: always)" crash 1 FAILED "nca-toolkit.*(restart|exited)"
logs crash nca-toolkit
clean crash
wait_validate oom
outcome "OOM kill (6 MiB limit)" oom 1 FAILED "nca-toolkit.*(137|SIGKILL).*memory limit"
logs oom nca-toolkit
clean oom
# the three at once: no run's output names another run's project
n=0
for a in exits crash oom; do
	for b in exits crash oom; do
		[ "$a" = "$b" ] || ! grep -rqF "${PROJECT[$b]}" "$T_TMP/$a/out" \
		    "$T_TMP/$a/stdout" "$T_TMP/$a/stderr" || n=$((n + 1))
	done
done
is "$n" 0 "three validations at once: none names another's project"
printf '%s\t%s\t%s\t%s\t%s\t%s\n' "three validations at once (the 3 above)" "1 1 1" \
    "FAILED x3" "each names and removes only its own project" "$secs" \
    "$(for x in exits crash oom; do _phx_project_objects "${PROJECT[$x]}"; done | wc -l)" >>"$TABLE"

# --- the probe's cases, in one stack ---
mkdir -p "$T_TMP/probe"
cat >"$T_TMP/probe/conf.yaml" <<'EOT'
probe:
  deadline: 15s
  timeout: 3s
  backoff: { initial: 500ms, max: 2s }
services:
  flap:
    url: http://localhost:${PHXT_PORT_FLAP}/
  slow-ok:
    url: http://localhost:${PHXT_PORT_SLOW_OK}/health
  slow-late:
    url: http://localhost:${PHXT_PORT_SLOW_LATE}/health
EOT
stack probe flap slow-ok slow-late <<'PY'
open(d + "/stack/www/phoenix-core/health", "w").write('{"status":"DOWN"}\n')
s["windmill"]["healthcheck"]["test"] = ["CMD", "false"]
db = s["revenue-db"]
db["entrypoint"] = [a.replace('"$$REVENUE_DB_PASSWORD"', '"$${REVENUE_DB_PASSWORD}-not-it"')
    for a in db["entrypoint"]]
httpd("flap", "exec /bin/phx-httpd")
httpd("slow-ok", "sleep 6; exec /bin/phx-httpd")
httpd("slow-late", "sleep 600; exec /bin/phx-httpd")
PY
cgi "$T_TMP/probe/stack/www/nca-toolkit" "500 Internal Server Error" boom
# answers 200 for three seconds from its first answer, then 503
mkdir -p "$T_TMP/probe/stack/www/flap/cgi-bin"
cat >"$T_TMP/probe/stack/www/flap/cgi-bin/index.cgi" <<'CGI'
#!/bin/sh
f=/tmp/flap-first
[ -e $f ] || date +%s >$f
if [ $(($(date +%s) - $(cat $f))) -lt 3 ]; then s="200 OK"; else s="503 Service Unavailable"; fi
printf 'Status: %s\r\nContent-Type: text/plain\r\n\r\n%s\n' "$s" "$s"
CGI
chmod 755 "$T_TMP/probe/stack/www/flap/cgi-bin/index.cgi"
validate probe
wait_validate probe
outcome "health endpoint answers 500" probe 1 FAILED "nca-toolkit: .*500"
outcome "health endpoint, wrong body" probe 1 FAILED "phoenix-core: .*condition failed"
outcome "wrong database password" probe 1 FAILED "revenue-db: .*password authentication failed"
outcome "healthcheck unhealthy, port answers" probe 1 FAILED "windmill: .*(healthcheck reports unhealthy|healthcheck run [^ ]*: unhealthy)"
outcome "service flaps (503 after 3 s)" probe 1 FAILED "flap: .*503"
outcome "slow start beyond the deadline" probe 1 FAILED "slow-late: .*(refused|timeout|deadline)"
is "$(jq -r '.services["slow-ok"].status' "$out/report.json")" healthy \
    "slow start inside the deadline: healthy"
printf '%s\t%s\t%s\t%s\t%s\t%s\n' "slow start inside the deadline" "$st" "$(verdict probe)" \
    "slow-ok: $(jq -r '.services["slow-ok"].status' "$out/report.json") (the run fails for the others)" \
    "$secs" "$(_phx_project_objects "${PROJECT[probe]}" | wc -l)" >>"$TABLE"
is "$(jq -r '.services.n8n.status' "$out/report.json")" healthy "probe: the service left alone is healthy"
logs probe nca-toolkit
clean probe

# --- SIGINT and SIGTERM mid-deploy, to two validations at once ---
stack sigint </dev/null
stack sigterm </dev/null
validate sigint
validate sigterm
for name in sigint sigterm; do
	i=0
	while [ -z "$(podman ps -aq --filter "label=io.podman.compose.project=${PROJECT[$name]}")" ] &&
	    [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -"${name#sig}" -- -"${PID[$name]}"
done
wait_validate sigint
outcome "SIGINT mid-deploy (with SIGTERM's at once)" sigint 130 INCOMPLETE "interrupted by signal 2 during up"
like "$(cat "$T_TMP/sigint/stderr")" "the deploy stage was killed by signal 2" "sigint: each stage's status kept"
check "sigint: the logs of what had started are kept" test -n "$(ls "$PHX_STATE_DIR/$id/logs/interrupted" 2>/dev/null)"
like "$(jq -r '.errors[]' "$T_TMP/sigint/out/report.json" 2>/dev/null)" \
    'interrupted by signal 2 \(SIGINT\) while reading the stream' \
    "sigint: phx-report still wrote its report"
clean sigint
wait_validate sigterm
outcome "SIGTERM mid-deploy (with SIGINT's at once)" sigterm 143 INCOMPLETE "interrupted by signal 15 during up"
check "sigterm: the logs of what had started are kept" test -n "$(ls "$PHX_STATE_DIR/$id/logs/interrupted" 2>/dev/null)"
check "sigterm: the report and JUnit are written" test -s "$T_TMP/sigterm/out/report.json" -a -s "$T_TMP/sigterm/out/junit.xml"
clean sigterm

done_testing
