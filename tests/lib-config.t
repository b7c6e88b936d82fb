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

done_testing
