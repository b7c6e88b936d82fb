# tests/man-examples.sh: every example of every man page, as a reader
# sees it (mandoc -Tascii), run; sourced by tests/man-examples.t (what
# runs without Podman) and tests/man-examples-stack.t (what deploys).
#
# An example is a block of the EXAMPLES section (an indented display, or
# .Dl lines one after another).  examples_extract writes each to
# $EX/blocks/PAGE.N; the test names it by its first line and says, in a
# table of patterns, how it runs (example_kind), so a new example that
# no row matches fails the test until it is given one.
#
# The examples run as written, in $EX/top, a clone's top as a reader has
# it: configs/deployment-validation there is a stand-in configuration
# (PHX_CONFIG_DIR too): three services phoenix-core, nca-toolkit and n8n
# on loopback, a command suite automation-scripts that passes, the real
# security rules; saved streams run.ndjson and up.ndjson; a stored run
# deploy_20261127_162318 in .phx; ./my-scanner (cat).
# shellcheck shell=bash

EX=$T_TMP/examples
mkdir -p "$EX/blocks" "$EX/top" "$EX/bin"

# examples_extract: every page's EXAMPLES blocks, the common indent removed
examples_extract() {
	local page name
	for page in "$TOP"/man/*.[1-9]; do
		name=${page##*/}
		MANWIDTH=1000 mandoc -Tascii -O width=1000 "$page" | col -bx |
		    awk -v dir="$EX/blocks" -v page="$name" '
			/^EXAMPLES/ { on = 1; next }
			/^[A-Z][A-Z ]+$/ { on = 0 }
			!on { next }
			/^           / {
				if (!inside) { n++; inside = 1 }
				print substr($0, 12) >(dir "/" page "." n)
				next
			}
			{ inside = 0 }'
	done
}

# examples_stage: the clone's top where the examples run, and their
# environment; ports for phoenix-core, nca-toolkit and n8n in $1 $2 $3
examples_stage() {
	local top=$EX/top conf=$EX/top/configs/deployment-validation
	mkdir -p "$conf" "$top/www"
	ln -s "$TOP/configs/podman" "$top/configs/podman"
	ln -s "$TOP/pipelines" "$top/pipelines"
	ln -s "$TOP/infra" "$top/infra"
	ln -s "$TOP/pipelines/validate" "$EX/bin/phx-validate"
	cp "$TOP/configs/deployment-validation/security.yaml" \
	    "$TOP/configs/deployment-validation/production.yaml" "$conf/"
	echo '{"status":"UP","checks":[{"name":"db"}]}' >"$top/www/health"
	echo ok >"$top/www/index.html"
	cat >"$conf/services.yaml" <<EOF
deployment:
  compose_file: $EX/stack/compose.yaml
  project: \${PHX_PROJECT:-phxt_examples}
  timeout: 60s
  retries: 1
probe:
  deadline: 30s
  timeout: 2s
  retries: 2
  backoff: { initial: 100ms, max: 500ms }
services:
  phoenix-core:
    url: http://localhost:\${PHX_PORT_CORE:-$1}/health
    conditions: ["[BODY].status == UP"]
  nca-toolkit:
    url: http://localhost:\${PHX_PORT_NCA:-$2}/
  n8n:
    url: http://localhost:\${PHX_PORT_N8N:-$3}/
EOF
	cat >"$conf/tests.yaml" <<'EOF'
tests:
  suites:
    automation-scripts:
      type: command
      tests:
        - name: revenue-tracking
          command: [sh, -c, 'echo "{\"total_usd\": 1}"']
          expect_stdout: 'total_usd'
EOF
	# the stand-in stack: the bundled images, three web services (n8n
	# for the restart example); ports from the
	# environment as in the bundled compose file
	mkdir -p "$EX/stack"
	cat >"$EX/stack/compose.yaml" <<EOF
x-hardening: &hardening
  image: localhost/phx-httpd
  user: "10001:10001"
  init: true
  read_only: true
  cap_drop: [ALL]
  security_opt: ["no-new-privileges:true"]
  tmpfs: [/tmp]
  mem_limit: 32m
  cpus: 0.25
services:
  phoenix-core:
    <<: *hardening
    environment: [PORT=8080]
    ports: ["127.0.0.1:\${PHX_PORT_CORE:-$1}:8080"]
    volumes: ["$TOP/infra/podman/www/phoenix-core:/www:ro"]
  nca-toolkit:
    <<: *hardening
    environment: [PORT=8081]
    ports: ["127.0.0.1:\${PHX_PORT_NCA:-$2}:8081"]
    volumes: ["$TOP/infra/podman/www/nca-toolkit:/www:ro"]
  n8n:
    <<: *hardening
    environment: [PORT=5678]
    ports: ["127.0.0.1:\${PHX_PORT_N8N:-$3}:5678"]
    volumes: ["$TOP/infra/podman/www/nca-toolkit:/www:ro"]
EOF
	cp "$EX/stack/compose.yaml" "$top/stack.yaml"
	cp "$conf/services.yaml" "$top/services.yaml"
	printf '#!/bin/sh\nexec cat\n' >"$top/my-scanner"
	chmod +x "$top/my-scanner"
	cp "$TOP/tests/data/phx-report/unhealthy.in.ndjson" "$top/run.ndjson"
	cp "$TOP/tests/data/phx-report/deploy-failed.in.ndjson" "$top/up.ndjson"
	export PHX_CONFIG_DIR=$conf PATH=$EX/bin:$PATH
	# the stored run the examples name
	(cd "$top" && phx-report <run.ndjson >/dev/null 2>&1)
}

# example_run FILE [SECONDS]: runs the block in the clone's top with bash;
# its stdout and stderr in FILE.out, FILE.err; returns its status.
# make is the tree's own (built already: nothing to do).
example_run() {
	(
		cd "$EX/top" || exit 99
		make() { command make -s -C "$TOP" "$@" >/dev/null; }
		export -f make
		exec timeout "${2:-120}" bash "$1" </dev/null
	) >"$1.out" 2>"$1.err"
}

# example_ok FILE DESCRIPTION [STATUS...]: runs it, ok when the status
# is one of STATUS (default 0 and 1: a verdict, not a usage, shell or
# environment error) and stderr has no shell, jq or usage complaint
example_ok() {
	local f=$1 what=$2 st want
	shift 2
	example_run "$f"
	st=$?
	want=" ${*:-0 1} "
	case $want in
	*" $st "*) ;;
	*) ok 1 "$what: exit $st, not one of$want"
		diag "$(cat "$f")" "$(tail -5 "$f.err")"
		return 1 ;;
	esac
	if grep -Eq 'command not found|syntax error|jq: error|^usage:|No such file' "$f.err"; then
		ok 1 "$what"
		diag "$(cat "$f")" "$(grep -E 'command not found|syntax error|jq: error|^usage:|No such file' "$f.err")"
		return 1
	fi
	ok 0 "$what"
}
