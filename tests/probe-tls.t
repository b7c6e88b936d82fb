#!/bin/bash
# phx-probe against a self-signed TLS server (openssl s_server -www)
. "$(dirname "$0")/lib.sh"

cd "$T_TMP" || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem \
    -days 10 -subj /CN=localhost >/dev/null 2>&1
cd "$TOP" || exit 1
PORT=$(free_port)
openssl s_server -www -accept "$PORT" -cert "$T_TMP/cert.pem" \
    -key "$T_TMP/key.pem" -quiet >/dev/null 2>&1 </dev/null &
at_exit "kill $! 2>/dev/null"
wait_port "$PORT" || { echo "Bail out! openssl s_server did not start"; exit 1; }
U=https://localhost:$PORT/

field() { jq -r "select(.type == \"health\") | $1" "$T_TMP/out"; }

phx-probe -n -r 1 "s=$U" >"$T_TMP/out" 2>"$T_TMP/err"
is $? 1 "self-signed: fails by default"
is "$(field '[.status, .reason] | join(" ")')" "unhealthy tls" "self-signed: reason tls"
like "$(field .message)" "self-signed certificate" "self-signed: message says why"
is "$(field .tls.verified)" false "self-signed: not verified"

phx-probe -n -r 1 --insecure "s=$U" >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "--insecure: passes"
is "$(field .tls.insecure)" true "--insecure: recorded in the record"
is "$(field .tls.verified)" false "--insecure: still says the chain did not verify"
like "$(field .tls.version)" '^TLSv1\.[23]$' "TLS version reported"
# 10 days: 9 whole days left
is "$(field .tls.days_to_expiry)" 9 "days to expiry reported"
want=$(date -u -d "$(openssl x509 -in "$T_TMP/cert.pem" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%S)
is "$(field .tls.not_after | cut -c1-19)" "$want" "not_after is the certificate's"

# verification against the right CA passes without --insecure
printf '%s\n' '{"v":1,"type":"service","deployment_id":null,"ts":"2026-11-27T00:00:00.000Z","source":"t","service":"ca","checks":[{"kind":"http","target":"'"$U"'","retries":1,"ca_file":"'"$T_TMP/cert.pem"'","conditions":["[CERTIFICATE_EXPIRATION] > 48h","[CERTIFICATE_EXPIRATION] < 30d"]}]}' |
    phx-probe >"$T_TMP/out" 2>"$T_TMP/err"
is $? 0 "ca_file: verifies, expiry conditions hold"
is "$(field .tls.verified)" true "ca_file: verified true"

printf '%s\n' '{"v":1,"type":"service","deployment_id":null,"ts":"2026-11-27T00:00:00.000Z","source":"t","service":"ca","checks":[{"kind":"http","target":"'"$U"'","retries":1,"insecure":true,"conditions":["[CERTIFICATE_EXPIRATION] > 30d"]}]}' |
    phx-probe >"$T_TMP/out" 2>"$T_TMP/err"
is $? 1 "expiry condition: fails for a certificate that expires sooner"
is "$(field .reason)" condition "expiry condition: reason condition"

done_testing
