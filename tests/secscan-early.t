#!/bin/bash
# phx-secscan in a pipeline scans as soon as phx-deploy's phase ends ok
# (every container is known then), while the checks and tests upstream
# still run, not after the stream ends; a deploy that failed is not
# scanned, as before.  Podman is a stand-in script: its answers are given.
. "$(dirname "$0")/lib.sh"

cat >"$T_TMP/podman" <<'SH'
#!/bin/sh
echo "$1 $2" >>"${0%/*}/podman.calls"
case "$1 $2" in
"info --format") echo '{"host":{"security":{"rootless":true,"capabilities":"CAP_CHOWN"}}}' ;;
"container inspect") echo '[{"Id":"0123456789ab0123456789ab0123456789ab0123456789ab0123456789abcdef","Name":"p1_web_1","Config":{"User":"10001","Labels":{"io.podman.compose.project":"p1","com.docker.compose.service":"web"}},"HostConfig":{"ReadonlyRootfs":true,"CapDrop":["ALL"]},"NetworkSettings":{"Networks":{"p1_net":{},"p1_back":{}}},"State":{"Status":"running"}}]' ;;
"network inspect") echo '[{"name":"p1_net","internal":false},{"name":"p1_back","internal":true}]' ;;
*) echo '[]' ;;
esac
SH
chmod +x "$T_TMP/podman"
ID=deploy_20261127_120000
CID=0123456789ab0123456789ab0123456789ab0123456789ab0123456789abcdef
rec() { printf '{"v":1,"type":"%s","deployment_id":"%s","ts":"2026-11-27T12:00:00.000Z",%s}\n' "$1" "$ID" "$2"; }
stream() {   # deploy's phase status
	rec deployment '"source":"phx-deploy","status":"running","project":"p1"'
	rec service "\"source\":\"phx-deploy\",\"service\":\"web\",\"container_id\":\"$CID\""
	rec phase "\"source\":\"phx-deploy\",\"phase\":\"deploy\",\"event\":\"end\",\"status\":\"$1\""
	sleep 1.5
	rec health '"source":"phx-probe","service":"web","status":"healthy"'
}
stream ok | PHX_DEPLOYMENT_PODMAN="$T_TMP/podman" phx-secscan --scanner none >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 0 "exit 0 (the stand-in's FAIL findings are below fail_on)"
first_finding=$(grep -n '"type":"finding"' "$T_TMP/out" | head -1 | cut -d: -f1)
health=$(grep -n '"type":"health"' "$T_TMP/out" | cut -d: -f1)
ok $(( first_finding > 0 && first_finding < health ? 0 : 1 )) \
    "the findings come before the later health record: scanned mid-stream"
is "$(jq -r 'select(.type == "phase" and .event == "end" and .source == "phx-secscan") | .counts.containers' "$T_TMP/out")" 1 \
    "one container scanned, once"
is "$(grep -c '^container inspect' "$T_TMP/podman.calls")" 1 "one batched inspect"
is "$(grep -c '^network inspect' "$T_TMP/podman.calls")" 1 "one network inspect for both networks"
like "$(jq -r 'select(.id == "PHX-SEC-032") | .message' "$T_TMP/out")" 'p1_back \(internal\)' \
    "the batched network inspect is what the checks read"

rm -f "$T_TMP/podman.calls"
stream failed | PHX_DEPLOYMENT_PODMAN="$T_TMP/podman" phx-secscan --scanner none >"$T_TMP/out" 2>"$T_TMP/err"
is "$(jq -r 'select(.type == "finding") | .reason' "$T_TMP/out")" upstream \
    "a deploy phase that failed: one SKIP pointing upstream, no scan"
is "$(grep -c '^container inspect' "$T_TMP/podman.calls" 2>/dev/null)" 0 "and no container inspected"
done_testing
