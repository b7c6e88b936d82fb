#!/bin/bash
# phx-probe against a real PostgreSQL 15 started in $T_TMP
. "$(dirname "$0")/lib.sh"

PGBIN=/usr/lib/postgresql/15/bin
PW='Pr0be-s3cret-4711'
WRONG='wr0ng-Pa55-0815'
PORT=$(free_port)
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
mkdir -p "$T_TMP/pg"
printf '%s\n' "$PW" >"$T_TMP/pg/pw"
[ "$(id -u)" = 0 ] && chown -R postgres "$T_TMP" && chmod 755 "$T_TMP"
as_pg "$PGBIN/initdb -D $T_TMP/pg/data -U phoenix --pwfile=$T_TMP/pg/pw -A scram-sha-256" >/dev/null 2>&1 ||
    { echo "Bail out! initdb failed"; exit 1; }
as_pg "$PGBIN/pg_ctl -D $T_TMP/pg/data -l $T_TMP/pg/log -w -o '-p $PORT -k $T_TMP/pg -c listen_addresses=127.0.0.1' start" >/dev/null 2>&1 ||
    { echo "Bail out! postgres did not start"; exit 1; }
at_exit "as_pg '$PGBIN/pg_ctl -D $T_TMP/pg/data -m immediate stop' >/dev/null 2>&1"

field() { jq -r "select(.type == \"health\") | $1" "$T_TMP/out"; }
rec() {
	printf '{"v":1,"type":"service","deployment_id":"deploy_20261127_120000","ts":"2026-11-27T12:00:00.000Z","source":"phx-deploy","service":"revenue-db","checks":[{"kind":"postgres","target":"127.0.0.1:%s","dbname":"postgres","user":"phoenix","password_env":"REVENUE_DB_PASSWORD","retries":%s,"backoff_initial_ms":50%s}]}\n' \
	    "$PORT" "$1" "${2:-}"
}

rec 1 ',"conditions":["[BODY] == 1"]' | REVENUE_DB_PASSWORD=$PW phx-probe >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "right password: exit 0"
is "$(field .status)" healthy "right password: healthy (connected and queried)"
is "$(field .target)" "postgresql://phoenix@127.0.0.1:$PORT/postgres" "target names no password"

rec 2 | REVENUE_DB_PASSWORD=$WRONG phx-probe -v >"$T_TMP/out" 2>"$T_TMP/err"
is $? 1 "wrong password: exit 1"
is "$(field '[.status, .reason, .attempts] | join(" ")')" "unhealthy auth 2" "wrong password: reason auth"
like "$(field .message)" "password authentication failed" "wrong password: message"
! grep -q -e "$WRONG" -e "$PW" "$T_TMP/out" "$T_TMP/err"
ok $? "wrong password: the password is nowhere in stdout or stderr"

# a DSN on the command line, password from PGPASSWORD; and one with the
# password inside it, which must be masked
PGPASSWORD=$WRONG phx-probe -n -r 1 -v "postgresql://phoenix@127.0.0.1:$PORT/postgres" \
    "postgresql://phoenix:$WRONG@127.0.0.1:$PORT/postgres" >"$T_TMP/out" 2>"$T_TMP/err"
is $? 1 "DSNs with a wrong password: exit 1"
is "$(field .reason | sort -u)" auth "DSNs: reason auth"
! grep -q -e "$WRONG" "$T_TMP/out" "$T_TMP/err"
ok $? "DSNs: the password is nowhere in stdout or stderr"
like "$(field .target | sort | tr '\n' ' ')" 'postgresql://phoenix:\*\*\*@127' "DSN target masked"

PGPASSWORD=$PW phx-probe -n -r 1 "db=postgresql://phoenix@127.0.0.1:$PORT/postgres" >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "DSN with PGPASSWORD: healthy"

# nothing listening
CLOSED=$(free_port)
printf '{"v":1,"type":"service","deployment_id":null,"ts":"2026-11-27T12:00:00.000Z","source":"t","service":"db","checks":[{"kind":"postgres","target":"127.0.0.1:%s","user":"phoenix","retries":1}]}\n' "$CLOSED" |
    phx-probe >"$T_TMP/out" 2>"$T_TMP/err"
is "$(field .reason)" refused "closed port: reason refused"

# ad hoc from config, password from the environment variable it names
cat >"$T_TMP/db.yaml" <<YAML
services:
  revenue-db:
    type: postgres
    host: 127.0.0.1
    port: $PORT
    dbname: postgres
    user: phoenix
    password_env: REVENUE_DB_PASSWORD
    retries: 1
YAML
REVENUE_DB_PASSWORD=$PW phx-probe -n -c "$T_TMP/db.yaml" >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "ad hoc config service: healthy"
is "$(field .service)" revenue-db "ad hoc config service: named after its entry"

done_testing
