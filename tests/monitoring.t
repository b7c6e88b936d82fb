#!/bin/bash
# The alert rules and the dashboard only use metrics phx-report writes,
# and the rules are valid Prometheus rules.
. "$(dirname "$0")/lib.sh"
MON=$TOP/configs/monitoring

out=$(promtool check rules "$MON/phx-alerts.yml" 2>&1)
ok $? "promtool check rules configs/monitoring/phx-alerts.yml"
diag "$out"

check "the dashboard is valid JSON" jq -e '.panels | length > 0' "$MON/grafana-dashboard.json"

# every metric the rules or the dashboard use is one phx-report writes
phx-report --metrics "$T_TMP/all.prom" -f json \
    <"$TOP/tests/data/phx-report/functest-failure.in.ndjson" >/dev/null 2>&1
check "phx-report wrote metrics to compare against" test -s "$T_TMP/all.prom"
written=$(grep -o '^phx_[a-z_]*' "$T_TMP/all.prom" | sort -u)
used=$( { grep -o 'phx_[a-z_]*' "$MON/phx-alerts.yml";
    jq -r '.panels[].targets[].expr' "$MON/grafana-dashboard.json" |
    grep -o 'phx_[a-z_]*'; } | sort -u)
missing=$(comm -13 <(echo "$written") <(echo "$used"))
is "$missing" "" "rules and dashboard use only metrics phx-report writes"

# the rules fire on a failed run: promtool's unit tests
cat >"$T_TMP/rules-test.yml" <<EOT
rule_files: [$MON/phx-alerts.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'phx_deployment_status{status="FAILED"}'
        values: '1x10'
      - series: 'phx_service_up{service="n8n"}'
        values: '0x10'
      - series: 'phx_security_findings{status="FAIL",severity="CRITICAL"}'
        values: '2x10'
    alert_rule_test:
      - eval_time: 2m
        alertname: PhxDeploymentFailed
        exp_alerts:
          - exp_labels: {severity: critical, status: FAILED}
            exp_annotations:
              summary: "Deployment validation failed on "
              description: "The last phx run ended FAILED. Open its report.json (see phx_deployment_info for the deployment id)."

      - eval_time: 2m
        alertname: PhxServiceUnhealthy
        exp_alerts:
          - exp_labels: {severity: critical, service: n8n}
            exp_annotations:
              summary: "Service n8n is unhealthy"
              description: "At least one health check of n8n failed in the last phx run."

      - eval_time: 2m
        alertname: PhxCriticalFindings
        exp_alerts:
          - exp_labels: {severity: critical, status: FAIL}
            exp_annotations:
              summary: "Critical security findings in the deployment"
              description: "phx-secscan reported 2 failed CRITICAL checks."

EOT
out=$(promtool test rules "$T_TMP/rules-test.yml" 2>&1)
st=$?
ok $st "alert rules fire on a failed run (promtool test rules)"
[ $st -eq 0 ] || diag "$out"

done_testing
