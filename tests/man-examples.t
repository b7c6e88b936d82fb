#!/bin/bash
# Every example in the man pages' EXAMPLES, as a reader sees it (mandoc
# -Tascii), run as written (tests/man-examples.sh): a quote lost to the
# roff source, an option that changed, a jq program that no longer fits
# the records fail here as they would for the reader.  What runs without
# Podman runs here, against loopback stand-ins (busybox httpd), saved
# streams, a stored run and a stand-in podman for phx-secscan; what
# deploys is run by tests/man-examples-stack.t (under the Podman lock).
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/ports.sh"
. "$TOP/tests/man-examples.sh"

read -r CORE NCA N8N <<EOF
$(free_port 3 | tr '\n' ' ')
EOF
examples_extract
examples_stage "$CORE" "$NCA" "$N8N"
for port in "$CORE" "$NCA" "$N8N"; do
	busybox httpd -f -p "127.0.0.1:$port" -h "$EX/top/www" &
	at_exit "kill $! 2>/dev/null"
	wait_port "$port" || { echo "Bail out! busybox httpd did not start"; exit 1; }
done

# phx-secscan -p phoenix-hydra: a stand-in podman whose project holds one
# container (tests/data/phx-secscan/podman answers for it)
cat >"$EX/podman" <<EOF
#!/bin/sh
if [ "\$1" = ps ]; then
	echo '[{"Id":"0123456789ab0123456789ab0123456789ab0123456789ab0123456789ab0123","Names":["phoenix-hydra_phoenix-core_1"],"Labels":{"com.docker.compose.service":"phoenix-core","com.docker.compose.project":"phoenix-hydra","io.podman.compose.project":"phoenix-hydra"}}]'
	exit 0
fi
exec "$TOP/tests/data/phx-secscan/podman/podman" "\$@"
EOF
chmod +x "$EX/podman"

# phx.7's ad hoc example names localhost:8080 and :5432: stand-ins there
# when those ports are free
adhoc=''
if python3 -c '
import socket, sys
for p in (8080, 5432):
    s = socket.socket(); s.bind(("0.0.0.0", p)); s.close()' 2>/dev/null; then
	busybox httpd -f -p 127.0.0.1:8080 -h "$EX/top/www" &
	at_exit "kill $! 2>/dev/null"
	busybox httpd -f -p 127.0.0.1:5432 -h "$EX/top/www" &
	at_exit "kill $! 2>/dev/null"
	wait_port 8080 && wait_port 5432 && adhoc=yes
fi

out() { cat "$1.out"; }
stack=0
blocks=$(find "$EX/blocks" -type f | wc -l)
for f in "$EX"/blocks/*; do
	name=${f##*/}
	first=$(head -1 "$f")
	what="$name: $first"
	case $first in
	# --- what deploys: tests/man-examples-stack.t ---
	'export CONTAINERS_CONF='* | 'phx-deploy up |'* | \
	'phx-deploy -f stack.yaml'* | 'phx-deploy rollback '* | \
	'phx-deploy restart '* | 'phx-deploy down '* | make | \
	'pipelines/validate'* | 'phx-validate -c '* | 'PHX_PROJECT=blue '* | \
	'phx-validate --no-functest'*)
		stack=$((stack + 1)) ;;
	# --- here ---
	'PHX_PORT_CORE=18080 phx-deploy -n up'*)
		example_ok "$f" "$what" 0 &&
		    like "$(out "$f")" '"host_port":18080' "$name: the dry run moves the port" ;;
	'jq '*)
		example_ok "$f" "$what" 0 &&
		    check "$name: it finds what it says" test -s "$f.out" ;;
	'phx-functest --test-suite '* | 'phx-probe -n -s '* | \
	'phx-probe --services '* | 'phx-validate --services '* | \
	'phx-validate --test-suite '*)
		example_ok "$f" "$what" 0 ;;
	'phx-functest | jq '* | 'phx-probe -n | jq '*)
		example_ok "$f" "$what" 0 ;;
	'PGPASSWORD=... phx-probe -n '*)
		# example.org needs the network: unhealthy (dns) without it
		example_ok "$f" "$what" 0 1 &&
		    is "$(jq -r 'select(.type == "health") | .service' "$f.out" | sort | tr '\n' ' ')" \
		    "db tcp://127.0.0.1:6379 web " "$name: three targets, two named" ;;
	'tests:')
		# a configuration fragment: phx-functest takes it (Windmill is
		# not there: the test fails, exit 1; a bad file would be 2)
		cp "$f" "$EX/top/windmill.yaml"
		printf 'WINDMILL_TOKEN=x phx-functest -c windmill.yaml -s gitops </dev/null\n' >"$f.sh"
		example_ok "$f.sh" "$what (phx-functest -c it)" 1 &&
		    is "$(jq -r 'select(.type == "test") | .suite' "$f.sh.out")" gitops \
		    "$name: its suite runs" ;;
	'services:')
		cp "$f" "$EX/top/conditions.yaml"
		printf 'phx-probe -n -d 3s -c conditions.yaml\n' >"$f.sh"
		example_ok "$f.sh" "$what (phx-probe -c it)" 0 1 &&
		    is "$(jq -r 'select(.type == "health") | .service' "$f.sh.out")" phoenix-core \
		    "$name: its service is checked" ;;
	'{"v":1,'*)
		# records folded to fit the page: one a line again
		awk 'NR > 1 && !/^ / { print "" } { sub(/^ /, ""); printf "%s", $0 } END { print "" }' \
		    "$f" >"$f.ndjson"
		check "$what: each record is JSON" sh -c 'jq -e . "$1" >/dev/null' _ "$f.ndjson"
		is "$(phx-report -n -f json "$f.ndjson" 2>/dev/null | jq -c '.stream | [.invalid_lines, .unknown_records, .records]')" \
		    "[0,0,$(wc -l <"$f.ndjson")]" "$name: phx-report reads every one as a record" ;;
	'phx-report run.ndjson')
		example_ok "$f" "$what" 0 1 &&
		    check "$name: junit.xml parses" xmllint --noout "$EX/top/junit.xml" ;;
	'phx-probe -n -c services.yaml |'*)
		example_ok "$f" "$what" 0 &&
		    is "$(jq -r .status "$f.out")" SUCCESS "$name: the verdict record" ;;
	'phx-secscan -p phoenix-hydra '*)
		echo "PHX_DEPLOYMENT_PODMAN=$EX/podman" >"$f.sh"
		echo "export PHX_DEPLOYMENT_PODMAN" >>"$f.sh"
		cat "$f" >>"$f.sh"
		example_ok "$f.sh" "$what (stand-in podman)" 0 1 ;;
	'phx-secscan -t www.example.org:443'*)
		# needs the network: without it the target cannot be reached
		example_ok "$f" "$what" 0 1 ;;
	'kubectl '*)
		skip "$what: needs a Kubernetes cluster (tests/incluster-job.t runs the Job's pod in Podman)" ;;
	'phx-validate --deployment-id '* | 'phx-report --deployment-id '*)
		# the stored run has an unhealthy service
		example_ok "$f" "$what" 1 ;;
	'phx-probe -w --deadline 60s http://localhost:8080/health'*)
		if [ -n "$adhoc" ]; then
			example_ok "$f" "$what" 0
		else
			skip "$what: port 8080 or 5432 is taken here"
		fi ;;
	*)
		ok 1 "$what: an example this test does not know: give it a row"
		diag "$(cat "$f")" ;;
	esac
done
check "every page's examples were found ($blocks)" test "$blocks" -ge 40
check "and some deploy (tests/man-examples-stack.t runs them)" test "$stack" -ge 10
done_testing
