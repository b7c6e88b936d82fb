#!/bin/bash
# make install PREFIX=... after make all: the installed tools find the
# configs installed with them, from any directory, with no override; the
# compose stack, containers.conf and the monitoring files go with them.
. "$(dirname "$0")/lib.sh"

b=$T_TMP/build x=$T_TMP/prefix
make -s -j2 -C "$TOP" BUILD="$b" all >"$T_TMP/make.log" 2>&1
is "$?" 0 "make all (the default PREFIX)"
make -s -j2 -C "$TOP" BUILD="$b" PREFIX="$x" install >>"$T_TMP/make.log" 2>&1
is "$?" 0 "make install PREFIX=$x"
d=$x/share/phx
for f in bin/phx-probe bin/phx-validate share/man/man1/phx-probe.1 \
    share/phx/configs/deployment-validation/services.yaml \
    share/phx/configs/podman/containers.conf \
    share/phx/configs/monitoring/phx-alerts.yml \
    share/phx/infra/podman/compose.yaml \
    share/phx/infra/podman/sql/revenue-init.sql; do
	check "installed: $f" test -f "$x/$f"
done
like "$(grep compose_file "$d/configs/deployment-validation/services.yaml")" \
    "compose_file: $d/infra/podman/compose.yaml" \
    "the installed config names the installed stack"

mkdir "$T_TMP/elsewhere"
cd "$T_TMP/elsewhere" || exit 1
unset PHX_CONFIG_DIR
"$x/bin/phx-probe" -n -a -r 1 -t 1s >"$T_TMP/out" 2>"$T_TMP/err"
st=$?
check "the installed phx-probe -n -a runs its configured checks (exit $st)" \
    test "$st" -le 1
is "$(jq -r 'select(.type == "health") | .service' "$T_TMP/out" | sort | tr '\n' ' ')" \
    "n8n nca-toolkit phoenix-core revenue-db windmill " \
    "a health record for each configured service"
PHX_DEPLOYMENT_PODMAN=/nonexistent "$x/bin/phx-secscan" </dev/null \
    >/dev/null 2>"$T_TMP/err"
unlike "$(cat "$T_TMP/err")" 'compose.yaml: No such file' \
    "the installed phx-secscan finds the installed compose file"
cd "$TOP" || exit 1
make -s -C "$TOP" BUILD="$b" PREFIX="$x" uninstall >/dev/null 2>&1
check "make uninstall removes share/phx" test ! -e "$d"
done_testing
