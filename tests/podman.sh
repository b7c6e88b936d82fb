# tests/podman.sh: Podman helpers for the shell tests.  Source it (after
# tests/lib.sh, or on its own from the top of the tree); POSIX sh.
#
#   phx_need_images              build the local images that are missing
#   phx_images_or_bail           the same, and a failed build is a TAP Bail out!
#   phx_nothing_left NAME        true when project NAME has nothing left
#   phx_test_project [LABEL]     a unique compose project name, phxt_[LABEL_]PID_RAND
#   (free_port [N] and wait_port are in tests/ports.sh)
#   podman_cleanup_project NAME  remove every container, pod, network and
#                                volume of compose project NAME; status 1
#                                (and the leftovers on stderr) if any remain
#   phx_cleanup_stale [MINUTES]  the same for phxt_* objects older than
#                                MINUTES (default $PHX_STALE_MINUTES or 30):
#                                what killed test runs left behind
#
# Projects are found by the label podman-compose puts on everything it
# creates (io.podman.compose.project); podman-compose 1.0.3's own `down`
# leaves the network, and its volumes unless given -v.
# shellcheck shell=sh

PHX_TOP=${TOP:-$(pwd)}
CONTAINERS_CONF=$PHX_TOP/configs/podman/containers.conf
export CONTAINERS_CONF
PHX_PROJECT_LABEL=io.podman.compose.project
PHX_STALE_MINUTES=${PHX_STALE_MINUTES:-30}

phx_need_images() {
	sh "$PHX_TOP/infra/podman/images/build" >&2
}

# phx_images_or_bail: tests that need the images build them when missing
# and never skip; a build that fails stops the whole run (TAP Bail out!)
phx_images_or_bail() {
	for _img in phx-httpd phx-node phx-postgres phx-n8n:standin; do
		podman image exists "localhost/$_img" || {
			phx_need_images || { echo "Bail out! make images failed"; exit 1; }
			return 0
		}
	done
}

# phx_stack_env NAME: the bundled stack on free ports of its own and with
# secrets made up for this run (NAME marks them); SECRETS, their
# alternation, is what no output may hold
phx_stack_env() {
	read -r PHX_PORT_CORE PHX_PORT_NCA PHX_PORT_N8N PHX_PORT_WINDMILL PHX_PORT_DB <<EOF
$(free_port 5 | tr '\n' ' ')
EOF
	export PHX_PORT_CORE PHX_PORT_NCA PHX_PORT_N8N PHX_PORT_WINDMILL PHX_PORT_DB
	export REVENUE_DB_PASSWORD="$1-$$-Db-Secr3t" N8N_API_KEY="n8n_api_$1$$K3y" \
	    WINDMILL_TOKEN="$1-$$-Wm-T0ken"
	# shellcheck disable=SC2034  # the sourcing test reads it
	SECRETS="$REVENUE_DB_PASSWORD|$N8N_API_KEY|$WINDMILL_TOKEN"
}

# phx_nothing_left NAME: true when compose project NAME left nothing
phx_nothing_left() {
	[ -z "$(_phx_project_objects "$1")" ]
}

phx_test_project() {
	_tag=$(printf '%s' "${1:-}" | tr -c 'a-zA-Z0-9' '_')
	printf 'phxt_%s%s_%s\n' "${_tag:+${_tag}_}" "$$" "$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
}

# _phx_project_objects NAME: "kind id" lines for what the project still has
_phx_project_objects() {
	_f="label=$PHX_PROJECT_LABEL=$1"
	podman ps -a -q --filter "$_f" | sed 's/^/container /'
	podman pod ls -q --filter "$_f" | sed 's/^/pod /'
	podman network ls -q --filter "$_f" | sed 's/^/network /'
	podman volume ls -q --filter "$_f" | sed 's/^/volume /'
}

# phx_left NAME: how many objects of project NAME are left: containers,
# pods, networks and volumes by label, and the podman secrets and volumes
# by name (--engine kube makes NAME-phx-secrets and NAME-POD-EMPTYDIR)
phx_left() {
	{ _phx_project_objects "$1"; podman secret ls --format '{{.Name}}' | grep "^$1-"
	  podman volume ls --format '{{.Name}}' | grep "^$1-"; } | sort -u | wc -l
}

podman_cleanup_project() {
	[ -n "${1:-}" ] || { echo "podman_cleanup_project: no project name" >&2; return 2; }
	_f="label=$PHX_PROJECT_LABEL=$1"
	for _id in $(podman ps -a -q --filter "$_f"); do
		podman rm -f -t 0 "$_id" >/dev/null 2>&1
	done
	for _id in $(podman pod ls -q --filter "$_f"); do
		podman pod rm -f "$_id" >/dev/null 2>&1
	done
	for _id in $(podman network ls -q --filter "$_f"); do
		podman network rm -f "$_id" >/dev/null 2>&1
	done
	for _id in $(podman volume ls -q --filter "$_f"); do
		podman volume rm -f "$_id" >/dev/null 2>&1
	done
	_left=$(_phx_project_objects "$1")
	if [ -n "$_left" ]; then
		printf 'podman_cleanup_project %s: still there: %s\n' "$1" "$_left" | tr '\n' ' ' >&2
		echo >&2
		return 1
	fi
}

# Objects named phxt_* or labelled with a phxt_* project, created more than
# MINUTES ago, are removed one by one (a network still in use by a younger
# container stays).  Running tests are younger than that.
phx_cleanup_stale() {
	_before=$(($(date +%s) - ${1:-$PHX_STALE_MINUTES} * 60))
	_L="{{index .Labels \"$PHX_PROJECT_LABEL\"}}"
	_old() { awk -v t="$_before" '($1 ~ /^phxt_/ || $3 ~ /^phxt_/) && $2 < t { print $1 }'; }
	for _id in $(podman ps -a --format "{{.Names}} {{.Created.Unix}} $_L" | _old); do
		podman rm -f -t 0 "$_id" >/dev/null 2>&1
	done
	for _id in $(podman pod ls --format json | jq -r '.[] |
	    [.Name, (.Created | sub("\\.[0-9]+"; "") | sub("Z$|[+-][0-9:]+$"; "Z") | fromdate),
	     (.Labels["'"$PHX_PROJECT_LABEL"'"] // "")] | join(" ")' 2>/dev/null | _old); do
		podman pod rm -f "$_id" >/dev/null 2>&1
	done
	_nets=$(podman network ls -q)
	if [ -n "$_nets" ]; then
		# shellcheck disable=SC2086 # one network name per word
		for _id in $(podman network inspect --format "{{.Name}} {{.Created.Unix}} $_L" $_nets | _old); do
			podman network rm "$_id" >/dev/null 2>&1
		done
	fi
	for _id in $(podman volume ls --format "{{.Name}} {{.CreatedAt.Unix}} $_L" | _old); do
		podman volume rm "$_id" >/dev/null 2>&1
	done
	return 0
}
