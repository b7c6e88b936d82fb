#!/bin/bash
# phx-deploy masks the secrets of the compose project itself: values in
# its .env, its env_files and its environment: entries under names that
# look secret, though phx's own environment never held them.  podman-compose
# prints each container's -e NAME=VALUE and podman inspect lists Env, so
# both reach logs/ unless masked.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/podman.sh"

phx_images_or_bail

export PHX_STATE_DIR=$T_TMP/state PHX_DEPLOYMENT_RETRIES=0
P=$(phx_test_project secrets)
at_exit "podman_cleanup_project $P"
unset N8N_API_KEY REVENUE_DB_PASSWORD WEBHOOK_TOKEN

DOTENV='n8n-Dotenv-Key-7f3a9c21'
ENVFILE='revenue-EnvFile-Pw-55e1b0'
INLINE='webhook-Inline-Tok-9d2c44'
mkdir "$T_TMP/proj"
printf 'N8N_API_KEY=%s\n' "$DOTENV" >"$T_TMP/proj/.env"
printf 'REVENUE_DB_PASSWORD="%s"\n' "$ENVFILE" >"$T_TMP/proj/db.env"
cat >"$T_TMP/proj/compose.yaml" <<YAML
services:
  ghost:
    image: localhost/phx-httpd
    entrypoint: ["/bin/sh", "-c", "exit 3"]
    environment:
      - N8N_API_KEY=\${N8N_API_KEY}
  web:
    image: localhost/phx-httpd
    init: true
    env_file: db.env
    environment:
      N8N_API_KEY: \${N8N_API_KEY}
      WEBHOOK_TOKEN: $INLINE
YAML

phx-deploy -f "$T_TMP/proj/compose.yaml" -p "$P" up </dev/null >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 1 "a service that exits fails the deployment (podman-compose ran)"
S=$(ls -d "$PHX_STATE_DIR"/deploy_* | tail -1)
check "podman-compose's output kept" test -s "$S/logs/attempt-1/podman-compose.log"
check "the web container's inspect JSON kept" test -s "$S/logs/attempt-1/${P}_web_1.inspect.json"
check "podman-compose was handed the secrets (the test means something)" \
	grep -q 'N8N_API_KEY=' "$S/logs/attempt-1/podman-compose.log"
check "inspect JSON lists the container's environment" \
	grep -q 'WEBHOOK_TOKEN=' "$S/logs/attempt-1/${P}_web_1.inspect.json"
for v in "$DOTENV" "$ENVFILE" "$INLINE"; do
	hits=$(grep -rlF -e "$v" -e "${v:0:12}" "$S" "$T_TMP/out" "$T_TMP/err" |
	    grep -v '/compose\.yaml$' || true)
	is "$hits" "" "no trace of ${v%%-*}'s secret in the state, records or stderr"
done

done_testing
