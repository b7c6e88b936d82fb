#!/bin/bash
# Configuration errors: one line naming file:line:column, exit status 2.
. "$(dirname "$0")/lib.sh"
UNIT=${PHX_UNIT:-$TOP/tests/unit/phx-unit}

cfg() { "$UNIT" config "$@" 2>"$T_TMP/err"; }
err() { cat "$T_TMP/err"; }

printf 'deployment:\n  timeout: 30s\n  tiemout: 4\n' >"$T_TMP/unknown.yaml"
cfg "$T_TMP/unknown.yaml" >/dev/null
is $? 2 "unknown key: exit 2"
is "$(err)" "phx-unit: error: $T_TMP/unknown.yaml:3:3: unknown key \"tiemout\" in deployment" \
    "unknown key: names file:line:column and the key"

printf 'services:\n  core:\n    retries: many\n' >"$T_TMP/type.yaml"
cfg "$T_TMP/type.yaml" >/dev/null
is $? 2 "wrong type: exit 2"
is "$(err)" "phx-unit: error: $T_TMP/type.yaml:3:14: services.core.retries: expected an integer, got \"many\"" \
    "wrong type: names the field and the value"

printf 'services:\n  core:\n    timeout: soon\n' >"$T_TMP/dur.yaml"
cfg "$T_TMP/dur.yaml" >/dev/null
like "$(err)" 'dur.yaml:3:14: services.core.timeout: expected a duration' \
    "bad duration: names the field"

printf 'services: [\n' >"$T_TMP/syntax.yaml"
cfg "$T_TMP/syntax.yaml" >/dev/null
is $? 2 "invalid YAML: exit 2"
like "$(err)" "^phx-unit: error: $T_TMP/syntax.yaml:2:1: invalid YAML: " \
    "invalid YAML: names file:line:column"

printf 'deployment:\n  retries: 1\n  retries: 2\n' >"$T_TMP/dup.yaml"
cfg "$T_TMP/dup.yaml" >/dev/null
like "$(err)" 'dup.yaml:3:3: duplicate key "retries" in deployment' "duplicate key"

cfg "$T_TMP/missing.yaml" >/dev/null
is $? 2 "missing file: exit 2"
is "$(err)" "phx-unit: error: $T_TMP/missing.yaml: No such file or directory" \
    "missing file: names it"

PHX_DEPLOYMENT_RETRIES=lots cfg >/dev/null
is "$(err)" 'phx-unit: error: PHX_DEPLOYMENT_RETRIES: expected an integer, got "lots"' \
    "bad environment value: names the variable"

# the hierarchy: defaults < file < environment
printf 'deployment:\n  timeout: 1m\n  retries: 7\n' >"$T_TMP/over.yaml"
out=$(PHX_DEPLOYMENT_RETRIES=9 cfg "$T_TMP/over.yaml")
is "$(echo "$out" | jq -c '[.deployment.timeout, .deployment.retries, .deployment.cleanup_on_failure]')" \
    '[60000,9,true]' "defaults < file < environment"

out=$(cfg)
is "$(echo "$out" | jq -c '[.probe.timeout, .probe.retries, .probe.backoff, .probe.expected_status, .deployment.timeout, .deployment.retries]')" \
    '[30000,5,{"initial":1000,"max":30000,"multiplier":2},[200],300000,3]' \
    "defaults are the seed's data models"

out=$(PHX_PORT_CORE=18080 cfg)
is "$(echo "$out" | jq -r '.services["phoenix-core"].url')" \
    'http://localhost:18080/health' '${VAR:-default} expands from the environment'

# include: files a file builds on, overridden by it
printf 'include: [over.yaml]\ndeployment:\n  retries: 4\n' >"$T_TMP/inc.yaml"
out=$(cfg "$T_TMP/inc.yaml")
is "$(echo "$out" | jq -c '[.deployment.timeout, .deployment.retries]')" '[60000,4]' \
    "include: the including file wins over what it includes"
printf 'include: [nope.yaml]\n' >"$T_TMP/inc-missing.yaml"
cfg "$T_TMP/inc-missing.yaml" >/dev/null
is "$(err)" "phx-unit: error: $T_TMP/inc-missing.yaml: include $T_TMP/nope.yaml: No such file or directory" \
    "include: a missing file names the includer"
out=$(cfg configs/deployment-validation/production.yaml)
is "$(echo "$out" | jq -c '[(.services | length), (.tests.suites | length), .security.fail_on]')" \
    '[5,3,"MEDIUM"]' "production.yaml: the bundled services, tests and rules, judged harder"

# a secret in a config file never reaches the output
printf 'services:\n  db:\n    type: postgres\n    password: Sup3rS3cret!\n' >"$T_TMP/secret.yaml"
out=$(cfg "$T_TMP/secret.yaml")
unlike "$out" 'Sup3rS3cret' "a configured password is masked in everything written"

# variables expand as in compose files: one expander for both
cat >"$T_TMP/vars.yaml" <<'EOF'
services:
  core:
    url: http://${PHXT_HOST}:${PHXT_UNSET-9999}/$PHXT_PATH?a=$$b&e=${PHXT_EMPTY-x}
EOF
out=$(PHXT_HOST=h PHXT_PATH=health PHXT_EMPTY= cfg "$T_TMP/vars.yaml")
is "$(echo "$out" | jq -r .services.core.url)" 'http://h:9999/health?a=$b&e=' \
    'services.yaml expands ${X-d}, $X, $$ and set-but-empty like compose files'
printf 'services:\n  core:\n    url: "${PHXT_UNSET:?set PHXT_UNSET}"\n' >"$T_TMP/req.yaml"
cfg "$T_TMP/req.yaml" >/dev/null
is "$? $(err)" "2 phx-unit: error: $T_TMP/req.yaml:3:10: PHXT_UNSET: set PHXT_UNSET" \
    '${X:?msg} unset: exit 2 naming file:line:column'

# merge keys in configuration files too
printf 'services:\n  a: &base {type: tcp, port: 5432}\n  b: {<<: *base, port: 6543}\n' >"$T_TMP/merge.yaml"
out=$(cfg "$T_TMP/merge.yaml")
is "$(echo "$out" | jq -c .services.b)" '{"port":6543,"type":"tcp"}' 'merge keys: <<: *anchor'

# limits: exit 2 at once, naming file:line:column and the limit
# quick NAME REGEX CMD...
quick() {
	local name=$1 re=$2 start ms st
	shift 2
	start=$(date +%s%N)
	timeout 20 "$@" </dev/null >/dev/null 2>"$T_TMP/err"
	st=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	is "$st" 2 "$name: exit 2"
	like "$(err)" "$re" "$name: names file:line:column and the limit"
	ok $((ms >= 5000)) "$name: within 5 s ($ms ms)"
}
printf 'tests:\n  suites:\n    s:\n      args: &a [*a]\n' >"$T_TMP/self.yaml"
quick "alias inside its own node" "self.yaml:4:17: alias \\*a is inside the node it names" \
    "$UNIT" config "$T_TMP/self.yaml"
{
	printf 'tests:\n  suites:\n    s:\n      args:\n        a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n'
	for i in 1 2 3 4 5 6 7; do
		printf '        a%d: &a%d [*a%d' $i $i $((i - 1))
		for _ in 1 2 3 4 5 6 7 8 9; do printf ', *a%d' $((i - 1)); done
		printf ']\n'
	done
} >"$T_TMP/laughs.yaml"
quick "billion laughs" "laughs.yaml:9:[0-9]*: alias \\*a3: more than 100000 nodes with it \\(the limit\\)" \
    "$UNIT" config "$T_TMP/laughs.yaml"
{ printf 'tests:\n  suites:\n    s:\n      args: '; head -c 100000 /dev/zero | tr '\0' '['; echo; } >"$T_TMP/deep.yaml"
quick "100000 [" "deep.yaml:4:73: nested more than 64 deep \\(the limit\\)" \
    "$UNIT" config "$T_TMP/deep.yaml"
{ printf 'tests:\n  suites:\n    s:\n      args: ['; yes 1, | head -n 150000 | tr -d '\n'; echo '1]'; } >"$T_TMP/wide.yaml"
quick "150000 nodes" "wide.yaml:4:[0-9]*: more than 100000 nodes \\(the limit\\)" \
    "$UNIT" config "$T_TMP/wide.yaml"
{ printf 'services:\n  web:\n    image: x\n    ports: ['; yes '"1-65535",' | head -n 200 | tr -d '\n'; echo '"1-65535"]'; } >"$T_TMP/ranges.yaml"
quick "200 port ranges" "ranges.yaml:4:12: service \"web\": more than 4096 published ports in the file \\(the limit\\)" \
    phx-secscan -f "$T_TMP/ranges.yaml"

# numbers from outside: range-checked before any cast, errors naming the field
printf 'services:\n  web:\n    image: x\n    ports: -1e999\n' >"$T_TMP/inf.yaml"
phx-secscan -f "$T_TMP/inf.yaml" </dev/null >/dev/null 2>"$T_TMP/err"
is "$? $(err)" "2 phx-secscan: error: $T_TMP/inf.yaml:4:12: service \"web\": bad port \"-1e999\"" \
    "ports: -1e999: a bad port, as written"
printf 'services:\n  web:\n    image: x\n    ports: [{target: 80, published: 1.0e+300}]\n' >"$T_TMP/huge.yaml"
phx-secscan -f "$T_TMP/huge.yaml" </dev/null >/dev/null 2>"$T_TMP/err"
is "$? $(err)" "2 phx-secscan: error: $T_TMP/huge.yaml:4:12: service \"web\": bad port {\"target\":80,\"published\":1e+300}" \
    "published: 1.0e+300: a bad port"
printf 'probe:\n  timeout: nan\n' >"$T_TMP/nan.yaml"
cfg "$T_TMP/nan.yaml" >/dev/null
is "$? $(err)" "2 phx-unit: error: $T_TMP/nan.yaml:2:12: probe.timeout: expected a duration (30, 1.5s, 500ms, 2m), got \"nan\"" \
    "timeout: nan: not a duration"
printf 'services:\n  core:\n    port: 99999999999\n' >"$T_TMP/big.yaml"
cfg "$T_TMP/big.yaml" >/dev/null
is "$? $(err)" "2 phx-unit: error: $T_TMP/big.yaml:3:11: services.core.port: 99999999999 is out of range (-2147483648 to 2147483647)" \
    "port: 99999999999: out of range"

# an error quotes at most 32 escaped bytes of the token, never a line of
# some other file: include: [/etc/shadow] named no key of its own
H='$6$Salt5678$HashHashHashHashHashHashHash'
printf 'root:%s:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n' "$H" >"$T_TMP/shadow"
printf 'include: [%s]\n' "$T_TMP/shadow" >"$T_TMP/inc.yaml"
phx-probe -n -c "$T_TMP/inc.yaml" </dev/null >/dev/null 2>"$T_TMP/err"
is "$? $(err)" "2 phx-probe: error: $T_TMP/shadow:1:1: not a phx configuration file (no known key)" \
    "include: [shadow]: said without its content"
printf 'root:%s:1:\nroot:%s:1:\n' "$H" "$H" >"$T_TMP/shadow2"
printf 'include: [%s]\n' "$T_TMP/shadow2" >"$T_TMP/inc2.yaml"
phx-probe -n -c "$T_TMP/inc2.yaml" </dev/null >/dev/null 2>"$T_TMP/err"
is "$? $(err)" "2 phx-probe: error: $T_TMP/shadow2:2:1: duplicate key" \
    "include: a duplicate key of another file is not quoted"
printf 'deployment:\n  %s: 1\n' "$(printf 'k%.0s' $(seq 40))" >"$T_TMP/long.yaml"
cfg "$T_TMP/long.yaml" >/dev/null
is "$? $(err)" "2 phx-unit: error: $T_TMP/long.yaml:2:3: unknown key \"$(printf 'k%.0s' $(seq 32))...\" in deployment" \
    "a long unknown key: 32 bytes of it"
printf 'probe:\n  retries: "a\\tb\\"c\\\\d\\u00e9"\n' >"$T_TMP/esc.yaml"
cfg "$T_TMP/esc.yaml" >/dev/null
is "$? $(err)" '2 phx-unit: error: '"$T_TMP"'/esc.yaml:2:12: probe.retries: expected an integer, got "a\x09b\x22c\x5cd\xc3\xa9"' \
    "a bad value: escaped"
# one table of defaults: every key a tool or lib reads (through
# phx_cfg_str/num/int/bool, or named in full, as probe's key lists) is in the
# bare default configuration, with the type it is read as
keys=$(perl -0777 -ne '
	$src = $_;
	$opt{$1} = 1 while $src =~ /phx_cfg_opt_str\(\s*[^,()]+,\s*"([^"]+)"/g;
	while ($src =~ /phx_cfg_(str|num|int|bool)\(\s*[^,()]+,\s*"([^"]+)"/g) {
		print $1 eq "int" ? "num" : $1, ":$2\n"; $typed{$2} = 1 }
	while ($src =~ /"((?:deployment|probe|tests|security)(?:\.[a-z_]+)+)"/g) {
		print "any:$1\n" unless $typed{$1} || $opt{$1} ||
		    $1 =~ /\.(?:h|yaml)$/ }
' tools/*/*.c lib/*.c | sort -u)
mkdir "$T_TMP/empty"
PHX_CONFIG_DIR=$T_TMP/empty "$UNIT" cfgkeys $keys >/dev/null 2>"$T_TMP/err"
is "$? $(err)" "0 " "every configuration key read ($(echo "$keys" | wc -l)) is in the defaults table"
check "the key list finds the accessors' keys" grep -qx 'num:deployment.timeout' <<<"$keys"
check "the key list finds probe's defaults" grep -qx 'any:probe.interval' <<<"$keys"
PHX_CONFIG_DIR=$T_TMP/empty "$UNIT" cfgkeys num:deployment.nosuch >/dev/null 2>"$T_TMP/err"
is "$? $(err)" "3 phx-unit: error: internal error: configuration key deployment.nosuch is not in the defaults" \
    "a key not in the defaults: an internal error naming it"
PHX_CONFIG_DIR=$T_TMP/empty "$UNIT" cfgkeys str:deployment.timeout >/dev/null 2>"$T_TMP/err"
is "$?" 3 "a key read as the wrong type: an internal error"

done_testing
