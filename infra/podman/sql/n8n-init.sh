# The real n8n's own user and database in revenue-db (service n8n; not the
# revenue data).  Run once, on the first start of an empty data volume, by
# the image's entrypoint (sh, with PGHOST, PGUSER and PGDATABASE set).
# N8N_DB_PASSWORD unset or empty (the stand-in needs no database): nothing.
# The password goes to psql as a variable on stdin, never on a command line.
set -eu
if [ -z "${N8N_DB_PASSWORD:-}" ]; then
	echo "n8n-init.sh: N8N_DB_PASSWORD unset: no n8n database" >&2
	exit 0
fi
psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 --dbname=postgres <<SQL
\set pw '$(printf '%s' "$N8N_DB_PASSWORD" | sed "s/'/''/g")'
CREATE ROLE n8n LOGIN PASSWORD :'pw';
CREATE DATABASE n8n OWNER n8n;
SQL
