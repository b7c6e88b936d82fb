#!/bin/bash
# The man pages' examples that deploy (tests/man-examples.t runs the rest),
# run as written on a cheap stand-in stack (tests/man-examples.sh: three
# phx-httpd containers, hardened as the bundled ones) under this test's
# own project.  The examples that name the deployment
# deploy_20261127_162318 are run with the id of a deployment this test
# made, and the node_exporter folder is one of the test's: the only
# changes made to an example.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"
. "$TOP/tests/ports.sh"
. "$TOP/tests/man-examples.sh"

phx_images_or_bail
read -r CORE NCA N8N <<EOF
$(free_port 3 | tr '\n' ' ')
EOF
PHX_PROJECT=$(phx_test_project ex)
export PHX_PROJECT
for p in "$PHX_PROJECT" demo blue green; do
	at_exit "podman_cleanup_project $p >/dev/null 2>&1"
done
examples_extract
examples_stage "$CORE" "$NCA" "$N8N"

# the deploying examples, in an order where each finds what it needs
order='export CONTAINERS_CONF=
phx-deploy up |
pipelines/validate
phx-validate -c 
make
PHX_PROJECT=blue 
phx-validate --no-functest
phx-deploy -f stack.yaml
phx-deploy restart 
phx-deploy rollback 
phx-deploy down '
n=0
while IFS= read -r prefix; do
	for f in "$EX"/blocks/*; do
		case $f in *.out | *.err | *.sh) continue ;; esac
		first=$(head -1 "$f")
		case $first in "$prefix"*) ;; *) continue ;; esac
		n=$((n + 1))
		name=${f##*/}
		what="$name: $first"
		case $prefix in
		'phx-deploy restart ')
			# its project is up: the first example left it running
			example_ok "$f" "$what" 0 &&
			    like "$(cat "$f.out")" '"service":"n8n"' "$name: n8n's container records" ;;
		'phx-deploy rollback ' | 'phx-deploy down ')
			# the two latest deployments of the project: the one
			# rolled back and the one before it, which succeeded
			ids=$(cd "$EX/top" && for s in .phx/deploy_*/state.json; do
				jq -r --arg p "$PHX_PROJECT" 'select(.project == $p) | .deployment_id // empty' "$s" 2>/dev/null
			done | sort | tail -1)
			sed "s/deploy_20261127_162318/${ids:-none}/g" "$f" >"$f.sh"
			example_ok "$f.sh" "$what (as $ids)" 0 ;;
		'phx-deploy -f stack.yaml')
			example_ok "$f" "$what" 0 &&
			    check "$name: the demo project is gone" phx_nothing_left demo ;;
		'PHX_PROJECT=blue ')
			example_ok "$f" "$what" 0
			is "$(grep -Ec '^verdict +SUCCESS' "$f.out")" 2 "$name: both runs succeed"
			check "$name: blue and green are gone" sh -c \
			    '. "$TOP/tests/podman.sh"; phx_nothing_left blue && phx_nothing_left green' ;;
		*)
			# node_exporter's textfile folder is the system's: here, ours
			mkdir -p "$EX/node_exporter"
			sed "s|/var/lib/node_exporter/|$EX/node_exporter/|g" "$f" >"$f.sh"
			example_ok "$f.sh" "$what" 0 &&
			    like "$(cat "$f.sh.out")" 'verdict +SUCCESS' "$name: the summary says SUCCESS" ;;
		esac
	done
done <<EOF
$order
EOF
check "the deploying examples were found ($n)" test "$n" -ge 15
done_testing
