#!/bin/bash
# phx-secscan on the bundled stack (infra/podman/compose.yaml), brought up
# under a project of its own: no FAIL, and exactly the WARNs accepted in
# the README (rootful engine, shared user namespace, Podman's default PIDs
# limit because podman-compose 1.0.3 ignores pids_limit).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/podman.sh
. "$(dirname "$0")/podman.sh"

COMPOSE=infra/podman/compose.yaml
phx_images_or_bail
project=$(phx_test_project secscan)
# shellcheck disable=SC2046 # five port numbers
set -- $(free_port 5)
export PHX_PORT_CORE=$1 PHX_PORT_NCA=$2 PHX_PORT_N8N=$3 PHX_PORT_WINDMILL=$4 PHX_PORT_DB=$5
export REVENUE_DB_PASSWORD=pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export N8N_API_KEY=k-$$ WINDMILL_TOKEN=t-$$
at_exit "podman_cleanup_project $project >/dev/null 2>&1"

t0=$(date +%s)
podman-compose -p "$project" -f "$COMPOSE" up -d >"$T_TMP/up.log" 2>&1
diag "podman-compose up -d: $(( $(date +%s) - t0 )) s"
n=$(podman ps -q --filter "label=io.podman.compose.project=$project" | wc -l)
is "$n" 5 "five containers of the bundled stack"

t0=$(date +%s)
phx-secscan -p "$project" -f "$COMPOSE" --sarif "$T_TMP/s.sarif" </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 0 "exit 0"
diag "phx-secscan: $(( $(date +%s) - t0 )) s"
is "$(jq -r 'select(.type == "phase" and .event == "end") | .counts | "\(.containers) \(.fail)"' "$T_TMP/out")" \
	"5 0" "five containers scanned, no FAIL"
is "$(jq -r 'select(.type == "finding" and .status == "WARN") | .id + " " + (.service // "-")' "$T_TMP/out" | sort | tr '\n' ,)" \
	"PHX-SEC-001 -,PHX-SEC-003 n8n,PHX-SEC-003 nca-toolkit,PHX-SEC-003 phoenix-core,PHX-SEC-003 revenue-db,PHX-SEC-003 windmill,PHX-SEC-052 n8n,PHX-SEC-052 nca-toolkit,PHX-SEC-052 phoenix-core,PHX-SEC-052 revenue-db,PHX-SEC-052 windmill," \
	"exactly the accepted WARNs"
is "$(jq -r 'select(.type == "finding" and .status == "PASS" and .id == "PHX-SEC-030") | .message' "$T_TMP/out" | sort -u)" \
	"attached only to its declared networks: ${project}_phoenix" "every service only on the declared network"
is "$(jq -r 'select(.type == "finding" and .id == "PHX-SEC-002" and .service == "revenue-db") | .message' "$T_TMP/out")" \
	"runs as uid 100 (postgres)" "named user postgres resolved from the image"
is "$(jq -r 'select(.type == "finding" and .id == "PHX-SEC-040") | .status' "$T_TMP/out" | sort | uniq -c | tr -s ' ')" \
	" 5 PASS" "every published port on loopback"
is "$(jq -r 'select(.type == "finding" and .category != null) | .category + " " + .id' "$T_TMP/out" | sort -u | tr '\n' ,)" \
	"network PHX-SEC-010,network PHX-SEC-030,network PHX-SEC-031,network PHX-SEC-032,ports PHX-SEC-040,ports PHX-SEC-041,rootless PHX-SEC-001,rootless PHX-SEC-002,rootless PHX-SEC-003," \
	"findings carry their group as category"
is "$(jq '[.runs[0].results[] | select(.level == "error")] | length' "$T_TMP/s.sarif")" 0 "SARIF: no error"
check "secrets appear in no output" \
	bash -c "! grep -qF -e '$REVENUE_DB_PASSWORD' -e '$N8N_API_KEY' '$T_TMP/out' '$T_TMP/err' '$T_TMP/s.sarif'"

done_testing
