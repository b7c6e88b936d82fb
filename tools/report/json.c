/* the JSON report, one service, test, container or finding a line */
#include <stdlib.h>
#include <string.h>

#include "report.h"

static void
add_num(cJSON *o, const char *key, double v)
{
	if (v >= 0)
		cJSON_AddNumberToObject(o, key, v);
}

static void
add_str(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, key, v);
}

/* an object of the string fields given as key, value pairs up to a NULL
 * key; a NULL value is left out */
static cJSON *
fields_json(const char *const *kv)
{
	cJSON *o = cJSON_CreateObject();

	for (; *kv; kv += 2)
		add_str(o, kv[0], kv[1]);
	return o;
}

static cJSON *
check_json(const struct check *c)
{
	cJSON *o = fields_json((const char *const[]){ "check", c->kind,
	    "target", c->target, "status", c->status, NULL });

	if (c->attempts)
		cJSON_AddNumberToObject(o, "attempts", c->attempts);
	add_num(o, "response_time_ms", c->response_ms);
	if (c->status_code)
		cJSON_AddNumberToObject(o, "status_code", c->status_code);
	add_str(o, "reason", c->reason);
	add_str(o, "message", c->message);
	return o;
}

/* check indices grouped by service: order[start[s] .. start[s + 1]) */
static size_t *
checks_by_service(const struct agg *agg, size_t **startp)
{
	size_t *start = phx_calloc(agg->nservices + 2, sizeof *start);
	size_t *order = phx_calloc(agg->nchecks + 1, sizeof *order);
	size_t *fill;

	for (size_t i = 0; i < agg->nchecks; i++)
		start[agg->checks[i].svc + 1]++;
	for (size_t s = 0; s < agg->nservices; s++)
		start[s + 1] += start[s];
	fill = phx_calloc(agg->nservices + 1, sizeof *fill);
	for (size_t i = 0; i < agg->nchecks; i++) {
		size_t s = agg->checks[i].svc;
		order[start[s] + fill[s]++] = i;
	}
	free(fill);
	*startp = start;
	return order;
}

static void
services_write(struct out *o, const struct agg *agg)
{
	unsigned char *st = service_states(agg);
	const struct check **prim = primary_checks(agg);
	size_t *start, *order = checks_by_service(agg, &start);
	bool first = true;

	for (size_t i = 0; i < agg->nservices; i++) {
		const struct service *s = &agg->services[i];
		cJSON *v = cJSON_CreateObject(), *checks;
		cJSON_AddStringToObject(v, "status", svc_state_name(st[i]));
		if (prim[i]) {
			add_num(v, "response_time_ms", prim[i]->response_ms);
			cJSON_AddStringToObject(v, "health_check_url",
			    prim[i]->target);
		}
		add_str(v, "container", s->container);
		add_str(v, "image", s->image);
		checks = cJSON_AddArrayToObject(v, "checks");
		for (size_t k = start[i]; k < start[i + 1]; k++)
			cJSON_AddItemToArray(checks,
			    check_json(&agg->checks[order[k]]));
		out_member(o, s->name, v, &first);
	}
	free(start);
	free(order);
	free(st);
	free(prim);
}

static void
tests_write(struct out *o, const struct agg *agg)
{
	bool first = true;

	for (size_t i = 0; i < agg->ntests; i++) {
		const struct test *t = &agg->tests[i];
		char *key = test_key(t);
		cJSON *v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "status", t->status);
		cJSON_AddNumberToObject(v, "duration_ms", t->duration_ms);
		if (*t->suite)
			cJSON_AddStringToObject(v, "suite", t->suite);
		cJSON_AddStringToObject(v, "name", t->name);
		add_str(v, "step", t->step);
		if (t->http_status)
			cJSON_AddNumberToObject(v, "http_status", t->http_status);
		if (t->exit_code >= 0)
			cJSON_AddNumberToObject(v, "exit_code", t->exit_code);
		add_str(v, "reason", t->reason);
		add_str(v, "message", t->message);
		out_member(o, key, v, &first);
		free(key);
	}
}

static cJSON *
container_json(const struct container *c)
{
	cJSON *v = fields_json((const char *const[]){ "service", c->service,
	    "state", c->state, "health", c->health, NULL });

	add_num(v, "cpu_percent", c->cpu);
	add_num(v, "mem_bytes", c->mem);
	add_num(v, "mem_limit_bytes", c->mem_limit);
	add_num(v, "pids", c->pids);
	add_num(v, "max_cpu_percent", c->max_cpu);
	add_num(v, "max_mem_bytes", c->max_mem);
	cJSON_AddNumberToObject(v, "restarts", c->restarts);
	add_num(v, "exit_code", c->exit_code);
	return v;
}

static void
containers_write(struct out *o, const struct agg *agg)
{
	cJSON *head = cJSON_CreateObject(), *use = cJSON_CreateObject();
	double cpu = 0, mem = 0, lim = 0, pids = 0;
	int running = 0, done = 0;
	bool first = true;

	for (size_t i = 0; i < agg->ncontainers; i++) {
		const struct container *c = &agg->containers[i];
		running += is_running(c);
		done += is_completed(c);
		cpu += c->cpu > 0 ? c->cpu : 0;
		mem += c->mem > 0 ? c->mem : 0;
		lim += c->mem_limit > 0 ? c->mem_limit : 0;
		pids += c->pids > 0 ? c->pids : 0;
	}
	cJSON_AddNumberToObject(head, "total_containers",
	    (double)agg->ncontainers);
	cJSON_AddNumberToObject(head, "running_containers", running);
	if (done)
		cJSON_AddNumberToObject(head, "completed_containers", done);
	cJSON_AddNumberToObject(use, "cpu_percent", cpu);
	cJSON_AddNumberToObject(use, "mem_bytes", mem);
	cJSON_AddNumberToObject(use, "mem_limit_bytes", lim);
	cJSON_AddNumberToObject(use, "pids", pids);
	out_json_open(o, head);
	phx_buf_addstr(&o->b, ",\"resource_usage\":");
	out_json_open(o, use);
	phx_buf_addstr(&o->b, ",\"containers\":{");
	for (size_t i = 0; i < agg->ncontainers; i++)
		out_member(o, agg->containers[i].name,
		    container_json(&agg->containers[i]), &first);
	phx_buf_addstr(&o->b, "}}}");
}

/* the group a finding speaks to: its category, else (records from before
 * phx-secscan wrote one) the group of its id */
static const char *
finding_group(const struct finding *f)
{
	return f->category ? f->category : phx_finding_group(f->id, f->cis);
}

/* true when every finding of the group passed, false when one failed,
 * null when there was none */
static cJSON *
group_verdict(const struct agg *agg, const char *group)
{
	int seen = 0, bad = 0;

	for (size_t i = 0; i < agg->nfindings; i++) {
		const struct finding *f = &agg->findings[i];
		const char *g = finding_group(f);
		if (!g || strcmp(g, group) != 0 || strcmp(f->status, "SKIP") == 0)
			continue;
		seen++;
		bad += strcmp(f->status, "FAIL") == 0 ||
		    strcmp(f->status, "WARN") == 0;
	}
	return seen ? cJSON_CreateBool(!bad) : cJSON_CreateNull();
}

static cJSON *
ports_json(const struct agg *agg)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < agg->nports; i++) {
		const struct port *p = &agg->ports[i];
		cJSON *v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "service", p->service);
		cJSON_AddStringToObject(v, "host_ip", p->host_ip);
		cJSON_AddNumberToObject(v, "host_port", p->host_port);
		if (p->container_port)
			cJSON_AddNumberToObject(v, "container_port",
			    p->container_port);
		cJSON_AddStringToObject(v, "protocol", p->protocol);
		/* Podman's empty host IP means every interface */
		cJSON_AddBoolToObject(v, "all_interfaces", !*p->host_ip ||
		    strcmp(p->host_ip, "0.0.0.0") == 0 ||
		    strcmp(p->host_ip, "::") == 0);
		cJSON_AddItemToArray(a, v);
	}
	return a;
}

static cJSON *
finding_json(const struct finding *f)
{
	cJSON *v = fields_json((const char *const[]){ "id", f->id,
	    "cis", f->cis, "service", f->where, "status", f->status,
	    "severity", f->severity, "category", finding_group(f),
	    "title", f->title, "message", f->message, NULL });

	if (f->evidence)
		cJSON_AddItemToObject(v, "evidence", cJSON_Parse(f->evidence));
	add_str(v, "remediation", f->remediation);
	return v;
}

static void
security_write(struct out *o, const struct agg *agg, const struct result *r)
{
	cJSON *s = cJSON_CreateObject(), *by_status, *by_sev;
	unsigned long st[6] = { 0 }, sev[5] = { 0 };

	for (size_t i = 0; i < agg->nfindings; i++) {
		const struct finding *f = &agg->findings[i];
		st[phx_status_parse(f->status)]++;
		if (strcmp(f->status, "FAIL") == 0)
			sev[phx_sev_parse(f->severity)]++;
	}
	cJSON_AddItemToObject(s, "rootless_containers",
	    group_verdict(agg, "rootless"));
	cJSON_AddItemToObject(s, "network_isolation",
	    group_verdict(agg, "network"));
	cJSON_AddItemToObject(s, "exposed_ports", ports_json(agg));
	cJSON_AddStringToObject(s, "fail_on", phx_sev_names[r->fail_on]);
	by_status = cJSON_AddObjectToObject(s, "counts");
	for (int i = 0; i < PHX_STATUS_N; i++)
		cJSON_AddNumberToObject(by_status, phx_status_names[i],
		    (double)st[i]);
	by_sev = cJSON_AddObjectToObject(s, "failed_by_severity");
	for (int i = PHX_SEV_LOW; i < PHX_SEV_N; i++)
		cJSON_AddNumberToObject(by_sev, phx_sev_names[i], (double)sev[i]);
	out_json_open(o, s);
	phx_buf_addstr(&o->b, ",\"findings\":[");
	for (size_t i = 0; i < agg->nfindings; i++) {
		phx_buf_addstr(&o->b, i ? ",\n" : "\n");
		out_json(o, finding_json(&agg->findings[i]));
		out_mark(o);
	}
	phx_buf_addstr(&o->b, "]}");
}

static cJSON *
phases_json(const struct agg *agg)
{
	cJSON *all = cJSON_CreateObject();

	for (size_t i = 0; i < agg->nphases; i++) {
		const struct phase *p = &agg->phases[i];
		cJSON *v = cJSON_AddObjectToObject(all, p->name);
		add_str(v, "source", p->source);
		cJSON_AddStringToObject(v, "status", p->ends >= p->starts &&
		    p->ends ? p->status : "running");
		if (p->ends)
			cJSON_AddNumberToObject(v, "duration_ms", p->duration_ms);
	}
	return all;
}

static cJSON *
stream_json(const struct agg *agg)
{
	cJSON *v = cJSON_CreateObject(), *types;

	cJSON_AddNumberToObject(v, "lines", (double)agg->st.lines);
	cJSON_AddNumberToObject(v, "records", (double)agg->st.records);
	cJSON_AddNumberToObject(v, "unknown_records", (double)agg->st.unknown);
	types = cJSON_AddObjectToObject(v, "unknown_types");
	for (int i = 0; i < MAX_TYPES && agg->st.type_names[i]; i++)
		cJSON_AddNumberToObject(types, agg->st.type_names[i],
		    (double)agg->st.type_counts[i]);
	cJSON_AddNumberToObject(v, "foreign_lines", (double)agg->st.foreign);
	cJSON_AddNumberToObject(v, "invalid_lines",
	    (double)(agg->st.invalid + agg->st.long_lines));
	cJSON_AddNumberToObject(v, "duplicates", (double)agg->st.duplicates);
	cJSON_AddNumberToObject(v, "out_of_order",
	    (double)agg->st.out_of_order);
	cJSON_AddNumberToObject(v, "superseded", (double)agg->st.stale);
	cJSON_AddNumberToObject(v, "other_deployments",
	    (double)agg->st.other_ids);
	cJSON_AddNumberToObject(v, "not_kept", (double)agg->st.dropped);
	cJSON_AddBoolToObject(v, "cut", agg->st.cut);
	return v;
}

static cJSON *
deployment_json(const struct agg *agg)
{
	cJSON *v = cJSON_CreateObject();

	add_str(v, "status", agg->dep.status);
	add_str(v, "project", agg->dep.project);
	add_str(v, "compose_file", agg->dep.compose_file);
	if (agg->dep.attempts)
		cJSON_AddNumberToObject(v, "attempt", agg->dep.attempt);
	if (agg->dep.attempts)
		cJSON_AddNumberToObject(v, "attempts", agg->dep.attempts);
	if (agg->dep.duration_ms > 0)
		cJSON_AddNumberToObject(v, "duration_ms", agg->dep.duration_ms);
	add_str(v, "reason", agg->dep.reason);
	add_str(v, "message", agg->dep.message);
	return v;
}

static cJSON *
errors_json(const struct result *r)
{
	cJSON *errs = cJSON_CreateArray();

	for (size_t i = 0; i < r->nerrors; i++)
		cJSON_AddItemToArray(errs, cJSON_CreateString(r->errors[i]));
	if (r->more_errors) {
		char *s = phx_asprintf("%lu more", r->more_errors);
		cJSON_AddItemToArray(errs, cJSON_CreateString(s));
		free(s);
	}
	return errs;
}

/* the recovery policy's actions and what came of them */
static cJSON *
recovery_json(const struct agg *agg, const struct result *r)
{
	cJSON *v = cJSON_CreateObject(), *arr, *w;

	cJSON_AddNumberToObject(v, "recovered", (double)r->recovered);
	cJSON_AddNumberToObject(v, "continued",
	    (double)recoveries_with(agg, "continued"));
	cJSON_AddNumberToObject(v, "failed", (double)recoveries_with(agg, "failed"));
	arr = cJSON_AddArrayToObject(v, "actions");
	for (size_t i = 0; i < agg->nrecoveries; i++) {
		const struct recovery *e = &agg->recoveries[i];
		cJSON *a = cJSON_CreateObject();
		add_str(a, "category", e->category);
		add_str(a, "action", e->action);
		add_str(a, "subject", e->subject);
		add_str(a, "container", e->container);
		if (e->critical)
			cJSON_AddBoolToObject(a, "critical", true);
		add_str(a, "why", e->why);
		add_str(a, "outcome", e->outcome);
		cJSON_AddItemToArray(arr, a);
	}
	w = cJSON_AddArrayToObject(v, "warnings");
	for (size_t i = 0; i < r->nwarnings; i++)
		cJSON_AddItemToArray(w, cJSON_CreateString(r->warnings[i]));
	return v;
}

static cJSON *
report_head(const struct agg *agg, const struct result *r)
{
	cJSON *v = cJSON_CreateObject();
	const char *id = phx_deployment_id();
	char ts[32];

	if (id)
		cJSON_AddStringToObject(v, "deployment_id", id);
	else
		cJSON_AddNullToObject(v, "deployment_id");
	if (agg->min_ts >= 0) {
		phx_ts_format(agg->min_ts, ts);
		cJSON_AddStringToObject(v, "timestamp", ts);
	} else
		cJSON_AddNullToObject(v, "timestamp");
	cJSON_AddNumberToObject(v, "duration_seconds", duration_seconds(agg));
	cJSON_AddStringToObject(v, "status", verdict_names[r->verdict]);
	cJSON_AddNumberToObject(v, "exit_status", result_exit(r));
	if (agg->dep.seen)
		cJSON_AddItemToObject(v, "deployment", deployment_json(agg));
	return v;
}

void
report_write(struct out *o, const struct agg *agg, const struct result *r)
{
	out_json_open(o, report_head(agg, r));
	phx_buf_addstr(&o->b, ",\n\"services\":{");
	services_write(o, agg);
	phx_buf_addstr(&o->b, "},\n\"functional_tests\":{");
	tests_write(o, agg);
	phx_buf_addstr(&o->b, "},\n\"container_metrics\":");
	containers_write(o, agg);
	phx_buf_addstr(&o->b, ",\n\"security_validation\":");
	security_write(o, agg, r);
	phx_buf_addstr(&o->b, ",\n\"phases\":");
	out_json(o, phases_json(agg));
	phx_buf_addstr(&o->b, ",\n\"stream\":");
	out_json(o, stream_json(agg));
	if (agg->nrecoveries || r->nwarnings) {   /* only when there is any */
		phx_buf_addstr(&o->b, ",\n\"recovery\":");
		out_json(o, recovery_json(agg, r));
	}
	phx_buf_addstr(&o->b, ",\n\"errors\":");
	out_json(o, errors_json(r));
	phx_buf_addstr(&o->b, "}\n");
}

