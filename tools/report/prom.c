/* Prometheus text format, for node_exporter's textfile collector */
#include <string.h>
#include <stdlib.h>

#include "report.h"

static void
prom_head(struct phx_buf *b, const char *name, const char *help)
{
	phx_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* a label value is UTF-8 (promtool and node_exporter reject the whole
 * file otherwise): a byte that is not becomes U+FFFD; backslash, quote
 * and newline escaped as the text format says */
static void
prom_label(struct phx_buf *b, const char *name, const char *value, bool first)
{
	/* masked before it is escaped */
	char *clean = phx_scrub(value ? value : "");

	phx_buf_printf(b, "%s%s=\"", first ? "{" : ",", name);
	for (const char *p = clean; *p;) {
		int n = utf8_seq(p);

		if (*p == '\\' || *p == '"')
			phx_buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			phx_buf_addstr(b, "\\n");
		else if (!n)
			phx_buf_addstr(b, "\xef\xbf\xbd");
		else
			phx_buf_add(b, p, (size_t)n);
		p += n ? n : 1;
	}
	phx_buf_addstr(b, "\"");
	free(clean);
}

static void
prom_value(struct out *o, double v)
{
	phx_buf_printf(&o->b, "} %.9g\n", v);
	out_mark(o);
}

static void
prom_deployment(struct out *o, const struct agg *agg,
    const struct result *r)
{
	struct phx_buf *b = &o->b;
	prom_head(b, "phx_deployment_info", "The deployment this file "
	    "describes (always 1).");
	phx_buf_addstr(b, "phx_deployment_info");
	prom_label(b, "deployment_id", or(phx_deployment_id(), ""), true);
	prom_value(o, 1);
	prom_head(b, "phx_deployment_status", "1 for the verdict of the run "
	    "(SUCCESS, FAILED, INCOMPLETE), 0 for the others.");
	for (int i = SUCCESS; i <= INCOMPLETE; i++) {
		phx_buf_addstr(b, "phx_deployment_status");
		prom_label(b, "status", verdict_names[i], true);
		prom_value(o, r->verdict == (enum verdict)i);
	}
	prom_head(b, "phx_deployment_duration_seconds", "Time from the first "
	    "to the last record of the run.");
	phx_buf_printf(b, "phx_deployment_duration_seconds %.3f\n",
	    duration_seconds(agg));
	prom_head(b, "phx_deployment_start_time_seconds", "When the run "
	    "started, in seconds since the epoch.");
	phx_buf_printf(b, "phx_deployment_start_time_seconds %.3f\n",
	    agg->min_ts >= 0 ? agg->min_ts / 1000.0 : 0);
}

static void
prom_services(struct out *o, const struct agg *agg)
{
	struct phx_buf *b = &o->b;
	unsigned char *st = service_states(agg);
	const struct check **prim = primary_checks(agg);

	prom_head(b, "phx_service_up", "1 when every health check of the "
	    "service passed, 0 when one failed.");
	for (size_t i = 0; i < agg->nservices; i++) {
		if (st[i] == SVC_UNKNOWN)
			continue;
		phx_buf_addstr(b, "phx_service_up");
		prom_label(b, "service", agg->services[i].name, true);
		prom_value(o, st[i] == SVC_HEALTHY);
	}
	prom_head(b, "phx_service_response_time_seconds", "Response time of "
	    "the service's main health check.");
	for (size_t i = 0; i < agg->nservices; i++) {
		if (!prim[i] || prim[i]->response_ms < 0)
			continue;
		phx_buf_addstr(b, "phx_service_response_time_seconds");
		prom_label(b, "service", agg->services[i].name, true);
		prom_value(o, prim[i]->response_ms / 1000.0);
	}
	prom_head(b, "phx_health_check_up", "1 when the health check passed.");
	for (size_t i = 0; i < agg->nchecks; i++) {
		const struct check *c = &agg->checks[i];
		phx_buf_addstr(b, "phx_health_check_up");
		prom_label(b, "service", agg->services[c->svc].name, true);
		prom_label(b, "check", c->kind, false);
		prom_label(b, "target", c->target, false);
		prom_value(o, phx_healthy(c->status));
	}
	free(st);
	free(prim);
}

/* the names blackbox_exporter's dashboards already graph, one series
 * per health check: instance is the check's target */
static void
prom_blackbox(struct out *o, const struct agg *agg)
{
	static const char *names[] = { "probe_success", "probe_duration_seconds",
	    "probe_http_status_code" };
	static const char *help[] = { "1 when the health check passed "
	    "(blackbox_exporter's name).", "How long the health check's last "
	    "attempt took (blackbox_exporter's name).", "HTTP status code of "
	    "the health check's response (blackbox_exporter's name)." };
	struct phx_buf *b = &o->b;

	for (int k = 0; k < 3; k++) {
		prom_head(b, names[k], help[k]);
		for (size_t i = 0; i < agg->nchecks; i++) {
			const struct check *c = &agg->checks[i];
			double v = k == 0 ? strcmp(c->status, "healthy") == 0 :
			    k == 1 ? c->response_ms / 1000.0 : c->status_code;
			if ((k == 1 && c->response_ms < 0) ||
			    (k == 2 && strcmp(c->kind, "http") != 0))
				continue;
			phx_buf_addstr(b, names[k]);
			prom_label(b, "instance", c->target, true);
			prom_label(b, "service", agg->services[c->svc].name, false);
			prom_value(o, v);
		}
	}
}

static void
prom_tests(struct out *o, const struct agg *agg)
{
	struct phx_buf *b = &o->b;
	unsigned long n[PHX_TEST_N + 1] = { 0 };   /* the last: unknown */

	prom_head(b, "phx_functional_test_passed", "1 when the functional "
	    "test passed, 0 when it failed or could not run.");
	for (size_t i = 0; i < agg->ntests; i++) {
		const struct test *t = &agg->tests[i];
		enum phx_test st = phx_test_parse(t->status);
		n[st]++;
		if (st == PHX_TEST_SKIPPED)
			continue;
		phx_buf_addstr(b, "phx_functional_test_passed");
		prom_label(b, "suite", t->suite, true);
		prom_label(b, "test", t->name, false);
		prom_value(o, st == PHX_TEST_PASSED);
	}
	prom_head(b, "phx_functional_test_duration_seconds", "How long the "
	    "functional test took.");
	for (size_t i = 0; i < agg->ntests; i++) {
		const struct test *t = &agg->tests[i];
		phx_buf_addstr(b, "phx_functional_test_duration_seconds");
		prom_label(b, "suite", t->suite, true);
		prom_label(b, "test", t->name, false);
		prom_value(o, t->duration_ms / 1000.0);
	}
	prom_head(b, "phx_functional_tests", "Functional tests by status.");
	for (int k = 0; k < PHX_TEST_N; k++) {
		phx_buf_addstr(b, "phx_functional_tests");
		prom_label(b, "status", phx_test_names[k], true);
		prom_value(o, (double)n[k]);
	}
}

static void
prom_findings(struct out *o, const struct agg *agg)
{
	struct phx_buf *b = &o->b;
	unsigned long n[5][5] = { { 0 } };

	for (size_t i = 0; i < agg->nfindings; i++) {
		int s = phx_status_parse(agg->findings[i].status);
		if (s < PHX_STATUS_N)
			n[s][phx_sev_parse(agg->findings[i].severity)]++;
	}
	prom_head(b, "phx_security_findings", "Security checks by status and "
	    "severity.");
	for (int s = 0; s < PHX_STATUS_N; s++)
		for (int v = PHX_SEV_LOW; v < PHX_SEV_N; v++) {
			phx_buf_addstr(b, "phx_security_findings");
			prom_label(b, "status", phx_status_names[s], true);
			prom_label(b, "severity", phx_sev_names[v], false);
			prom_value(o, (double)n[s][v]);
		}
}

static void
prom_containers(struct out *o, const struct agg *agg)
{
	struct phx_buf *b = &o->b;
	unsigned long running = 0;

	for (size_t i = 0; i < agg->ncontainers; i++)
		running += is_running(&agg->containers[i]);
	prom_head(b, "phx_containers", "Containers seen in the run.");
	phx_buf_printf(b, "phx_containers %zu\n", agg->ncontainers);
	prom_head(b, "phx_containers_running", "Containers whose last known "
	    "state is running.");
	phx_buf_printf(b, "phx_containers_running %lu\n", running);
	prom_head(b, "phx_container_memory_bytes", "Last memory use of the "
	    "container.");
	for (size_t i = 0; i < agg->ncontainers; i++) {
		if (agg->containers[i].mem < 0)
			continue;
		phx_buf_addstr(b, "phx_container_memory_bytes");
		prom_label(b, "container", agg->containers[i].name, true);
		prom_value(o, agg->containers[i].mem);
	}
	prom_head(b, "phx_container_cpu_ratio", "Last CPU use of the container "
	    "(1 = one core).");
	for (size_t i = 0; i < agg->ncontainers; i++) {
		if (agg->containers[i].cpu < 0)
			continue;
		phx_buf_addstr(b, "phx_container_cpu_ratio");
		prom_label(b, "container", agg->containers[i].name, true);
		prom_value(o, agg->containers[i].cpu / 100.0);
	}
}

/* only in a run where the recovery policy acted */
static void
prom_recoveries(struct out *o, const struct agg *agg)
{
	static const char *const outcomes[] = { "recovered", "continued",
	    "failed" };

	if (!agg->nrecoveries)
		return;
	prom_head(&o->b, "phx_recoveries", "Recovery actions of the run, by "
	    "outcome.");
	for (size_t i = 0; i < sizeof outcomes / sizeof *outcomes; i++) {
		phx_buf_addstr(&o->b, "phx_recoveries");
		prom_label(&o->b, "outcome", outcomes[i], true);
		prom_value(o, (double)recoveries_with(agg, outcomes[i]));
	}
}

void
prometheus_write(struct out *o, const struct agg *agg,
    const struct result *r)
{
	prom_deployment(o, agg, r);
	prom_services(o, agg);
	prom_blackbox(o, agg);
	prom_tests(o, agg);
	prom_findings(o, agg);
	prom_containers(o, agg);
	prom_recoveries(o, agg);
	prom_head(&o->b, "phx_report_records", "Records read, by what became "
	    "of them.");
	phx_buf_printf(&o->b, "phx_report_records{kind=\"read\"} %lu\n"
	    "phx_report_records{kind=\"unknown_type\"} %lu\n"
	    "phx_report_records{kind=\"invalid\"} %lu\n"
	    "phx_report_records{kind=\"duplicate\"} %lu\n"
	    "phx_report_records{kind=\"out_of_order\"} %lu\n", agg->st.records,
	    agg->st.unknown, agg->st.invalid + agg->st.long_lines,
	    agg->st.duplicates, agg->st.out_of_order);
}

