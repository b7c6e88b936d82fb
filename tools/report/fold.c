/* folding records into the aggregates: one entry per service, check,
 * test, finding, container and phase, the latest record winning */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static int64_t
record_ts(const cJSON *rec)
{
	return phx_ts_parse(phx_jstr(rec, "ts"));
}

/* finds or makes the entry for key in an array of n items of size sz;
 * returns NULL when the array is full (the record is counted, not kept) */
static void *
entry(struct agg *agg, struct table *t, void **items, size_t *n, size_t max,
    size_t sz, const char *key, bool *created)
{
	size_t i;

	*created = false;
	if (table_get(t, key, &i))
		return (char *)*items + i * sz;
	if (*n >= max) {
		agg->st.dropped++;
		return NULL;
	}
	if ((*n & (*n - 1)) == 0 || *n == 0)   /* grow at powers of two */
		*items = phx_reallocarray(*items, *n ? *n * 2 : 8, sz);
	memset((char *)*items + *n * sz, 0, sz);
	table_put(t, key, *n);
	*created = true;
	return (char *)*items + (*n)++ * sz;
}

/* true when a record stamped ts should replace the one kept (stamped
 * *have): later records win, an older one arriving late does not */
static bool
newer(struct agg *agg, int64_t ts, int64_t *have, bool same)
{
	if (ts >= 0 && *have >= 0 && ts < *have) {
		agg->st.stale++;
		return false;
	}
	if (ts == *have && same) {
		agg->st.duplicates++;
		return false;
	}
	*have = ts;
	return true;
}

static struct service *
service_entry(struct agg *agg, const char *name, size_t *idx)
{
	bool created;
	char key[MAX_NAME + 1];
	struct service *s;

	snprintf(key, sizeof key, "%s", name);
	s = entry(agg, &agg->services_t, (void **)&agg->services,
	    &agg->nservices, MAX_SERVICES, sizeof *s, key, &created);
	if (!s)
		return NULL;
	if (created) {
		s->name = clip(name);
		s->ts = -1;
	}
	if (idx)
		*idx = (size_t)(s - agg->services);
	return s;
}

static void
add_ports(struct agg *agg, const char *service, const cJSON *ports)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, ports) {
		int hp = (int)phx_jint(p, "host_port", 0, INT_MIN, INT_MAX);
		bool dup = false;

		if (hp <= 0)
			continue;
		for (size_t i = 0; i < agg->nports && !dup; i++)
			dup = agg->ports[i].host_port == hp &&
			    strcmp(agg->ports[i].service, service) == 0;
		if (dup)
			continue;
		if (agg->nports >= MAX_PORTS) {
			agg->st.dropped++;
			return;
		}
		agg->ports[agg->nports++] = (struct port){
			.service = clip(service),
			.host_ip = clip(or(phx_jstr(p, "host_ip"), "")),
			.protocol = clip(or(phx_jstr(p, "protocol"), "tcp")),
			.host_port = hp,
			.container_port = (int)phx_jint(p, "container_port", 0, INT_MIN, INT_MAX),
		};
	}
}

static void
on_service(struct agg *agg, const cJSON *rec, int64_t ts)
{
	const char *name = phx_jstr(rec, "service");
	struct service *s;

	if (!name || !(s = service_entry(agg, name, NULL)))
		return;
	if (!newer(agg, ts, &s->ts, false))
		return;
	set_str(&s->image, phx_jstr(rec, "image"));
	set_str(&s->container, or(phx_jstr(rec, "container_name"),
	    phx_jstr(rec, "container_id")));
	s->has_checks = cJSON_GetArraySize(
	    cJSON_GetObjectItemCaseSensitive(rec, "checks")) > 0;
	add_ports(agg, name, cJSON_GetObjectItemCaseSensitive(rec, "ports"));
}

static void
on_health(struct agg *agg, const cJSON *rec, int64_t ts)
{
	const char *name = phx_jstr(rec, "service"), *status;
	char key[MAX_KEY];
	struct check *c;
	size_t svc;
	bool created;

	if (!name || !service_entry(agg, name, &svc))
		return;
	/* keys from the parts as kept, so long names cannot collide */
	snprintf(key, sizeof key, "%.*s\x1f%.*s\x1f%.*s", (int)MAX_NAME,
	    name, (int)MAX_NAME, or(phx_jstr(rec, "check"), ""),
	    (int)MAX_TEXT, or(phx_jstr(rec, "target"), ""));
	c = entry(agg, &agg->checks_t, (void **)&agg->checks, &agg->nchecks,
	    MAX_CHECKS, sizeof *c, key, &created);
	if (!c)
		return;
	if (created) {
		c->svc = svc;
		c->ts = -1;
		c->kind = clip(or(phx_jstr(rec, "check"), "check"));
		c->target = clip_text(or(phx_jstr(rec, "target"), ""));
	}
	status = or(phx_jstr(rec, "status"), "unknown");
	if (!newer(agg, ts, &c->ts, same_str(c->status, status)))
		return;
	set_str(&c->status, status);
	free(c->reason);
	c->reason = clip(phx_jstr(rec, "reason"));
	set_text(&c->message, phx_jstr(rec, "message"));
	c->response_ms = phx_jnum(rec, "response_time_ms", -1);
	c->attempts = (int)phx_jint(rec, "attempts", 0, INT_MIN, INT_MAX);
	c->status_code = (int)phx_jint(rec, "status_code", 0, INT_MIN, INT_MAX);
}

static void
on_test(struct agg *agg, const cJSON *rec, int64_t ts)
{
	const char *suite = or(phx_jstr(rec, "suite"), ""), *status;
	const char *name = phx_jstr(rec, "name");
	char key[MAX_KEY];
	struct test *t;
	bool created;

	if (!name)
		return;
	snprintf(key, sizeof key, "%.*s\x1f%.*s", (int)MAX_NAME, suite,
	    (int)MAX_NAME, name);
	t = entry(agg, &agg->tests_t, (void **)&agg->tests, &agg->ntests,
	    MAX_TESTS, sizeof *t, key, &created);
	if (!t)
		return;
	if (created) {
		t->suite = clip(suite);
		t->name = clip(name);
		t->ts = -1;
	}
	status = or(phx_jstr(rec, "status"), "unknown");
	if (!newer(agg, ts, &t->ts, same_str(t->status, status)))
		return;
	set_str(&t->status, status);
	free(t->step);
	free(t->reason);
	t->step = clip(phx_jstr(rec, "step"));
	t->reason = clip(phx_jstr(rec, "reason"));
	set_text(&t->message, phx_jstr(rec, "message"));
	t->duration_ms = phx_jnum(rec, "duration_ms", 0);
	t->http_status = (int)phx_jint(rec, "http_status", 0, INT_MIN, INT_MAX);
	t->exit_code = (int)phx_jint(rec, "exit_code", -1, INT_MIN, INT_MAX);
}

/* kept only when short enough to be kept whole */
static char *
evidence_text(const cJSON *ev)
{
	char *s = ev ? cJSON_PrintUnformatted(ev) : NULL;

	if (s && strlen(s) > MAX_TEXT) {
		free(s);
		return NULL;
	}
	return s;
}

static void
on_finding(struct agg *agg, const cJSON *rec, int64_t ts)
{
	const char *id = phx_jstr(rec, "id"), *status;
	const char *target = or(phx_jstr(rec, "target"), "");
	const char *where = or(phx_jstr(rec, "service"),
	    or(phx_jstr(rec, "container"), or(target, "engine")));
	char key[MAX_KEY];
	struct finding *f;
	bool created;

	if (!id)
		return;
	/* one service may have several TLS endpoints, each its own finding */
	snprintf(key, sizeof key, "%.*s\x1f%.*s\x1f%.*s", (int)MAX_NAME, id,
	    (int)MAX_NAME, where, (int)MAX_NAME, target);
	f = entry(agg, &agg->findings_t, (void **)&agg->findings,
	    &agg->nfindings, MAX_FINDINGS, sizeof *f, key, &created);
	if (!f)
		return;
	if (created) {
		f->id = clip(id);
		f->where = clip(where);
		f->ts = -1;
	}
	status = or(phx_jstr(rec, "status"), "INFO");
	if (!newer(agg, ts, &f->ts, same_str(f->status, status)))
		return;
	set_str(&f->status, status);
	set_str(&f->severity, or(phx_jstr(rec, "severity"), "LOW"));
	set_str(&f->cis, phx_jstr(rec, "cis"));
	set_text(&f->title, phx_jstr(rec, "title"));
	set_str(&f->category, phx_jstr(rec, "category"));
	free(f->evidence);
	set_text(&f->message, phx_jstr(rec, "message"));
	set_text(&f->remediation, phx_jstr(rec, "remediation"));
	f->evidence = evidence_text(cJSON_GetObjectItemCaseSensitive(rec,
	    "evidence"));
}

static void
on_container(struct agg *agg, const cJSON *rec, int64_t ts)
{
	const char *name = or(phx_jstr(rec, "name"),
	    or(phx_jstr(rec, "container_id"), phx_jstr(rec, "service")));
	char key[MAX_NAME + 1];
	struct container *c;
	bool created;
	double v;

	if (!name)
		return;
	snprintf(key, sizeof key, "%s", name);
	c = entry(agg, &agg->containers_t, (void **)&agg->containers,
	    &agg->ncontainers, MAX_CONTAINERS, sizeof *c, key, &created);
	if (!c)
		return;
	if (created) {
		c->name = clip(name);
		c->ts = -1;
		c->cpu = c->mem = c->mem_limit = c->pids = -1;
		c->max_cpu = c->max_mem = -1;
		c->exit_code = -1;
	}
	/* peaks count every sample, even one that arrives late */
	if ((v = phx_jnum(rec, "cpu_percent", -1)) > c->max_cpu)
		c->max_cpu = v;
	if ((v = phx_jnum(rec, "mem_bytes", -1)) > c->max_mem)
		c->max_mem = v;
	if (!newer(agg, ts, &c->ts, false))
		return;
	set_str(&c->service, phx_jstr(rec, "service"));
	set_str(&c->state, phx_jstr(rec, "state"));
	set_str(&c->health, phx_jstr(rec, "health"));
	c->cpu = phx_jnum(rec, "cpu_percent", c->cpu);
	c->mem = phx_jnum(rec, "mem_bytes", c->mem);
	c->mem_limit = phx_jnum(rec, "mem_limit_bytes", c->mem_limit);
	c->pids = phx_jnum(rec, "pids", c->pids);
	c->restarts = (int)phx_jint(rec, "restarts", c->restarts, INT_MIN, INT_MAX);
	c->exit_code = (int)phx_jint(rec, "exit_code", -1, INT_MIN, INT_MAX);
}

static void
on_phase(struct agg *agg, const cJSON *rec, int64_t ts)
{
	const char *name = phx_jstr(rec, "phase"), *event = phx_jstr(rec, "event");
	char key[MAX_NAME + 1];
	struct phase *p;
	bool created, end;

	if (!name || !event)
		return;
	snprintf(key, sizeof key, "%s", name);
	p = entry(agg, &agg->phases_t, (void **)&agg->phases, &agg->nphases,
	    MAX_PHASES, sizeof *p, key, &created);
	if (!p)
		return;
	if (created) {
		p->name = clip(name);
		p->start_ts = p->end_ts = -1;
	}
	set_str(&p->source, phx_jstr(rec, "source"));
	end = strcmp(event, "end") == 0;
	if (!end && strcmp(event, "start") != 0)
		return;
	/* the same start or end twice is one event seen twice */
	if (ts >= 0 && ts == (end ? p->end_ts : p->start_ts)) {
		agg->st.duplicates++;
		return;
	}
	if (!end) {
		p->starts++;
		p->start_ts = ts;
		return;
	}
	p->ends++;
	p->end_ts = ts;
	set_str(&p->status, or(phx_jstr(rec, "status"), "ok"));
	p->duration_ms = phx_jnum(rec, "duration_ms", 0);
}

static void
on_deployment(struct agg *agg, const cJSON *rec, int64_t ts)
{
	struct deployment *d = &agg->dep;
	const char *status = or(phx_jstr(rec, "status"), "unknown");

	if (!d->seen)
		d->ts = -1;
	d->seen = true;
	if (!newer(agg, ts, &d->ts, same_str(d->status, status)))
		return;
	set_str(&d->status, status);
	set_str(&d->project, phx_jstr(rec, "project"));
	set_str(&d->compose_file, phx_jstr(rec, "compose_file"));
	free(d->reason);
	d->reason = clip(phx_jstr(rec, "reason"));
	set_text(&d->message, phx_jstr(rec, "message"));
	d->attempt = (int)phx_jint(rec, "attempt", d->attempt, INT_MIN, INT_MAX);
	d->attempts = (int)phx_jint(rec, "attempts", d->attempts, INT_MIN, INT_MAX);
	d->duration_ms = phx_jnum(rec, "duration_ms", d->duration_ms);
}

/* the subject of a recovery: its service, its test as suite/name, or
 * for a deployment rollback the deployment it brought back */
static char *
recovery_subject(const cJSON *rec)
{
	const char *svc = phx_jstr(rec, "service"), *test = phx_jstr(rec, "test");
	const char *suite = or(phx_jstr(rec, "suite"), "");

	if (!svc && !test && phx_jstr(rec, "to"))
		return phx_asprintf("to %s", phx_jstr(rec, "to"));
	if (svc || !test)
		return phx_strdup(or(svc, ""));
	return *suite ? phx_asprintf("%s/%s", suite, test) : phx_strdup(test);
}

static void
on_recovery(struct agg *agg, const cJSON *rec, int64_t ts)
{
	const char *action = or(phx_jstr(rec, "action"), "?");
	const char *cat = or(phx_jstr(rec, "category"), "?");
	char key[MAX_KEY], *subject = recovery_subject(rec);
	struct recovery *v;
	bool created;

	snprintf(key, sizeof key, "%.*s\x1f%.*s\x1f%.*s", (int)MAX_NAME, cat,
	    (int)MAX_NAME, subject, (int)MAX_NAME, action);
	v = entry(agg, &agg->recoveries_t, (void **)&agg->recoveries,
	    &agg->nrecoveries, MAX_RECOVERIES, sizeof *v, key, &created);
	if (v && created) {
		v->category = clip(cat);
		v->action = clip(action);
		v->subject = clip(subject);
		v->ts = -1;
	}
	free(subject);
	if (!v || !newer(agg, ts, &v->ts, false))
		return;
	set_str(&v->outcome, or(phx_jstr(rec, "outcome"), "unknown"));
	set_str(&v->container, phx_jstr(rec, "container"));
	set_text(&v->why, phx_jstr(rec, "why"));
	v->critical = phx_jbool(rec, "critical", false);
}

/* phx-deploy's earliest error is where a failed run began */
static void
keep_deploy_error(struct agg *agg, const cJSON *rec, int64_t ts,
    const char *text)
{
	struct first_error *e = &agg->deploy_error;

	if (!same_str(phx_jstr(rec, "source"), "phx-deploy"))
		return;
	if (e->text && (ts < 0 || e->ts < 0 || ts >= e->ts))
		return;
	free(e->text);
	e->text = phx_strdup(text);
	set_text(&e->message, or(phx_jstr(rec, "message"),
	    or(phx_jstr(rec, "reason"), "error")));
	free(e->service);
	e->service = clip(phx_jstr(rec, "service"));
	e->ts = ts;
}

static void
on_error(struct agg *agg, const cJSON *rec, int64_t ts)
{
	const char *svc = phx_jstr(rec, "service");
	char *s = clip_masked(phx_asprintf("%s: %s%s%s: %s",
	    or(phx_jstr(rec, "source"), "?"), svc ? svc : "", svc ? ": " : "",
	    or(phx_jstr(rec, "reason"), "error"),
	    or(phx_jstr(rec, "message"), "(no message)")), 2 * MAX_TEXT);

	if (strlen(s) > 2 * MAX_TEXT)
		s[2 * MAX_TEXT] = '\0';
	keep_deploy_error(agg, rec, ts, s);
	add_bounded(agg->record_errors, &agg->nrecord_errors,
	    &agg->more_record_errors, s);
}

static void
count_unknown(struct agg *agg, const char *type)
{
	agg->st.unknown++;
	for (int i = 0; i < MAX_TYPES; i++) {
		if (!agg->st.type_names[i]) {
			agg->st.type_names[i] = clip(type);
			agg->st.type_counts[i] = 1;
			return;
		}
		if (strcmp(agg->st.type_names[i], type) == 0) {
			agg->st.type_counts[i]++;
			return;
		}
	}
}

/* folds one v1 record into the aggregates */
void
fold(struct agg *agg, const cJSON *rec, const char *type)
{
	const char *id = phx_jstr(rec, "deployment_id");
	const char *mine = phx_deployment_id();
	int64_t ts = record_ts(rec);

	agg->st.records++;
	if (id && mine && strcmp(id, mine) != 0) {
		agg->st.other_ids++;
		return;
	}
	if (ts >= 0) {
		if (agg->max_ts >= 0 && ts < agg->max_ts)
			agg->st.out_of_order++;
		if (agg->min_ts < 0 || ts < agg->min_ts)
			agg->min_ts = ts;
		if (ts > agg->max_ts)
			agg->max_ts = ts;
	}
	if (strcmp(type, "health") == 0)
		on_health(agg, rec, ts);
	else if (strcmp(type, "container") == 0)
		on_container(agg, rec, ts);
	else if (strcmp(type, "test") == 0)
		on_test(agg, rec, ts);
	else if (strcmp(type, "finding") == 0)
		on_finding(agg, rec, ts);
	else if (strcmp(type, "phase") == 0)
		on_phase(agg, rec, ts);
	else if (strcmp(type, "service") == 0)
		on_service(agg, rec, ts);
	else if (strcmp(type, "deployment") == 0)
		on_deployment(agg, rec, ts);
	else if (strcmp(type, "error") == 0)
		on_error(agg, rec, ts);
	else if (strcmp(type, "recovery") == 0)
		on_recovery(agg, rec, ts);
	/* an earlier report's verdict; the stages' diagnostics */
	else if (strcmp(type, "verdict") != 0 && strcmp(type, "log") != 0)
		count_unknown(agg, type);
}
