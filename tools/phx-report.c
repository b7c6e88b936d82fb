/* phx-report: the last stage.  Reads the whole record stream, keeps one
 * aggregate per service, check, test, finding and container (never the
 * records themselves, so memory stays flat however long the stream),
 * and turns them into the verdict, the JSON report, a console summary,
 * JUnit XML and Prometheus metrics.  The raw stream is stored beside the
 * report so any format can be rendered again later. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phx.h"

/* every list is bounded: past these, entries are counted, not kept */
#define MAX_SERVICES   512
#define MAX_CHECKS     2048
#define MAX_TESTS      8192
#define MAX_FINDINGS   8192
#define MAX_CONTAINERS 1024
#define MAX_PHASES     64
#define MAX_PORTS      256
#define MAX_ERRORS     100
#define MAX_TYPES      16
#define MAX_TEXT       512     /* longest message kept */
#define MAX_KEY        768

enum verdict { SUCCESS, FAILED, INCOMPLETE };
static const char *verdict_names[] = { "SUCCESS", "FAILED", "INCOMPLETE" };
static const int verdict_exit[] = { PHX_EXIT_OK, PHX_EXIT_FAIL, PHX_EXIT_USAGE };

enum format { F_TEXT, F_JSON, F_JUNIT, F_PROMETHEUS, F_NDJSON };
static const char *format_names[] = { "text", "json", "junit", "prometheus",
    "ndjson", NULL };

/* string -> index, open addressing; the index points into a typed array */
struct table {
	char **keys;
	size_t *idx;
	size_t nslots, count;
};

struct service {
	char *name, *image, *container;
	bool has_checks;              /* its service record listed checks */
	int64_t ts;
};

struct port {
	char *service, *host_ip, *protocol;
	int host_port, container_port;
};

struct check {
	size_t svc;
	char *kind, *target, *status, *reason, *message;
	double response_ms;
	int attempts, status_code;
	int64_t ts;
};

struct test {
	char *suite, *name, *status, *step, *reason, *message;
	double duration_ms;
	int http_status, exit_code;
	int64_t ts;
};

struct finding {
	char *id, *cis, *where, *status, *severity, *title, *message, *category;
	char *remediation, *evidence;   /* evidence: compact JSON, clipped */
	int64_t ts;
};

struct container {
	char *name, *service, *state, *health;
	double cpu, mem, mem_limit, pids, max_cpu, max_mem;
	int restarts, exit_code;
	int64_t ts;
};

struct phase {
	char *name, *source, *status;
	int starts, ends;
	double duration_ms;
	int64_t start_ts, end_ts;
};

struct deployment {
	char *status, *project, *compose_file, *reason, *message;
	int attempt, attempts;
	double duration_ms;
	int64_t ts;
	bool seen;
};

/* what the stream itself looked like */
struct stream_stats {
	unsigned long lines, records, foreign, invalid, long_lines;
	unsigned long unknown, duplicates, out_of_order, stale, other_ids;
	unsigned long dropped;        /* entries past a MAX_* bound */
	bool cut;                     /* the last line had no newline */
	char *type_names[MAX_TYPES];
	unsigned long type_counts[MAX_TYPES];
};

struct agg {
	struct table services_t, checks_t, tests_t, findings_t, containers_t,
	    phases_t;
	struct service *services;
	struct check *checks;
	struct test *tests;
	struct finding *findings;
	struct container *containers;
	struct phase *phases;
	size_t nservices, nchecks, ntests, nfindings, ncontainers, nphases;
	struct port ports[MAX_PORTS];
	size_t nports;
	struct deployment dep;
	char *input_errors[MAX_ERRORS];   /* invalid lines, in order */
	size_t ninput_errors;
	char *record_errors[MAX_ERRORS];  /* error records, deduplicated */
	size_t nrecord_errors;
	unsigned long more_record_errors;
	int64_t min_ts, max_ts;
	struct stream_stats st;
};

/* the result, derived once the stream has ended */
struct result {
	enum verdict verdict;
	char **errors;
	size_t nerrors;
	unsigned long more_errors;
	char *report_path;
	int fail_on;                  /* severity rank; 0: never */
};

struct opts {
	enum format format;
	const char *output, *junit, *metrics, *input, *id;
	bool store, progress, color, verbose;
	const char *fail_on;
};

static struct agg A;
static char tmp_stream[4096];       /* removed on a signal */

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-hnqvV] [-c config] [-f text|json|junit|prometheus|ndjson] "
	    "[-o file] [--junit file] [--metrics file] [--fail-on severity] "
	    "[--deployment-id id | file]\n", phx_progname);
}

/* ---- small helpers ---- */

static char *
clip(const char *s)
{
	size_t n;
	char *d;

	if (!s)
		return NULL;
	n = strnlen(s, MAX_TEXT);
	d = phx_malloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static void
set_str(char **dst, const char *src)
{
	if (!src)
		return;
	if (*dst && strncmp(*dst, src, MAX_TEXT) == 0)
		return;
	free(*dst);
	*dst = clip(src);
}

static const char *
or(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

static int
severity_rank(const char *s)
{
	static const char *names[] = { "LOW", "MEDIUM", "HIGH", "CRITICAL" };

	for (int i = 0; s && i < 4; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i + 1;
	return 0;
}

static int
status_rank(const char *s)
{
	static const char *names[] = { "FAIL", "WARN", "SKIP", "INFO", "PASS" };

	for (int i = 0; s && i < 5; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return 5;
}

static int64_t
record_ts(const cJSON *rec)
{
	return phx_ts_parse(phx_jstr(rec, "ts"));
}

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void table_put(struct table *t, const char *key, size_t idx);

static void
table_grow(struct table *t)
{
	struct table old = *t;

	t->nslots = old.nslots ? old.nslots * 2 : 64;
	t->keys = phx_calloc(t->nslots, sizeof *t->keys);
	t->idx = phx_calloc(t->nslots, sizeof *t->idx);
	t->count = 0;
	for (size_t i = 0; i < old.nslots; i++)
		if (old.keys[i]) {
			table_put(t, old.keys[i], old.idx[i]);
			free(old.keys[i]);
		}
	free(old.keys);
	free(old.idx);
}

static size_t
table_slot(const struct table *t, const char *key)
{
	size_t i = hash(key) & (t->nslots - 1);

	while (t->keys[i] && strcmp(t->keys[i], key) != 0)
		i = (i + 1) & (t->nslots - 1);
	return i;
}

static bool
table_get(const struct table *t, const char *key, size_t *idx)
{
	size_t i;

	if (!t->nslots)
		return false;
	i = table_slot(t, key);
	if (!t->keys[i])
		return false;
	*idx = t->idx[i];
	return true;
}

static void
table_put(struct table *t, const char *key, size_t idx)
{
	size_t i;

	if ((t->count + 1) * 2 > t->nslots)
		table_grow(t);
	i = table_slot(t, key);
	if (!t->keys[i]) {
		t->keys[i] = phx_strdup(key);
		t->count++;
	}
	t->idx[i] = idx;
}

static void
table_free(struct table *t)
{
	for (size_t i = 0; i < t->nslots; i++)
		free(t->keys[i]);
	free(t->keys);
	free(t->idx);
}

/* finds or makes the entry for key in an array of n items of size sz;
 * returns NULL when the array is full (the record is counted, not kept) */
static void *
entry(struct table *t, void **items, size_t *n, size_t max, size_t sz,
    const char *key, bool *created)
{
	size_t i;

	*created = false;
	if (table_get(t, key, &i))
		return (char *)*items + i * sz;
	if (*n >= max) {
		A.st.dropped++;
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
newer(int64_t ts, int64_t *have, bool same)
{
	if (ts >= 0 && *have >= 0 && ts < *have) {
		A.st.stale++;
		return false;
	}
	if (ts == *have && same) {
		A.st.duplicates++;
		return false;
	}
	*have = ts;
	return true;
}

static bool
same_str(const char *a, const char *b)
{
	return a && b ? strncmp(a, b, MAX_TEXT) == 0 : a == b;
}

/* ---- folding records into the aggregates ---- */

static struct service *
service_entry(const char *name, size_t *idx)
{
	bool created;
	struct service *s = entry(&A.services_t, (void **)&A.services,
	    &A.nservices, MAX_SERVICES, sizeof *s, name, &created);

	if (!s)
		return NULL;
	if (created) {
		s->name = clip(name);
		s->ts = -1;
	}
	if (idx)
		*idx = (size_t)(s - A.services);
	return s;
}

static void
add_ports(const char *service, const cJSON *ports)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, ports) {
		int hp = (int)phx_jnum(p, "host_port", 0);
		bool dup = false;

		if (hp <= 0)
			continue;
		for (size_t i = 0; i < A.nports && !dup; i++)
			dup = A.ports[i].host_port == hp &&
			    strcmp(A.ports[i].service, service) == 0;
		if (dup)
			continue;
		if (A.nports >= MAX_PORTS) {
			A.st.dropped++;
			return;
		}
		A.ports[A.nports++] = (struct port){
			.service = clip(service),
			.host_ip = clip(or(phx_jstr(p, "host_ip"), "")),
			.protocol = clip(or(phx_jstr(p, "protocol"), "tcp")),
			.host_port = hp,
			.container_port = (int)phx_jnum(p, "container_port", 0),
		};
	}
}

static void
on_service(const cJSON *rec, int64_t ts)
{
	const char *name = phx_jstr(rec, "service");
	struct service *s;

	if (!name || !(s = service_entry(name, NULL)))
		return;
	if (!newer(ts, &s->ts, false))
		return;
	set_str(&s->image, phx_jstr(rec, "image"));
	set_str(&s->container, or(phx_jstr(rec, "container_name"),
	    phx_jstr(rec, "container_id")));
	s->has_checks = cJSON_GetArraySize(
	    cJSON_GetObjectItemCaseSensitive(rec, "checks")) > 0;
	add_ports(name, cJSON_GetObjectItemCaseSensitive(rec, "ports"));
}

static void
on_health(const cJSON *rec, int64_t ts)
{
	const char *name = phx_jstr(rec, "service"), *status;
	char key[MAX_KEY];
	struct check *c;
	size_t svc;
	bool created;

	if (!name || !service_entry(name, &svc))
		return;
	snprintf(key, sizeof key, "%s\x1f%s\x1f%s", name,
	    or(phx_jstr(rec, "check"), ""), or(phx_jstr(rec, "target"), ""));
	c = entry(&A.checks_t, (void **)&A.checks, &A.nchecks, MAX_CHECKS,
	    sizeof *c, key, &created);
	if (!c)
		return;
	if (created) {
		c->svc = svc;
		c->ts = -1;
		c->kind = clip(or(phx_jstr(rec, "check"), "check"));
		c->target = clip(or(phx_jstr(rec, "target"), ""));
	}
	status = or(phx_jstr(rec, "status"), "unknown");
	if (!newer(ts, &c->ts, same_str(c->status, status)))
		return;
	set_str(&c->status, status);
	free(c->reason);
	free(c->message);
	c->reason = clip(phx_jstr(rec, "reason"));
	c->message = clip(phx_jstr(rec, "message"));
	c->response_ms = phx_jnum(rec, "response_time_ms", -1);
	c->attempts = (int)phx_jnum(rec, "attempts", 0);
	c->status_code = (int)phx_jnum(rec, "status_code", 0);
}

static void
on_test(const cJSON *rec, int64_t ts)
{
	const char *suite = or(phx_jstr(rec, "suite"), ""), *status;
	const char *name = phx_jstr(rec, "name");
	char key[MAX_KEY];
	struct test *t;
	bool created;

	if (!name)
		return;
	snprintf(key, sizeof key, "%s\x1f%s", suite, name);
	t = entry(&A.tests_t, (void **)&A.tests, &A.ntests, MAX_TESTS,
	    sizeof *t, key, &created);
	if (!t)
		return;
	if (created) {
		t->suite = clip(suite);
		t->name = clip(name);
		t->ts = -1;
	}
	status = or(phx_jstr(rec, "status"), "unknown");
	if (!newer(ts, &t->ts, same_str(t->status, status)))
		return;
	set_str(&t->status, status);
	free(t->step);
	free(t->reason);
	free(t->message);
	t->step = clip(phx_jstr(rec, "step"));
	t->reason = clip(phx_jstr(rec, "reason"));
	t->message = clip(phx_jstr(rec, "message"));
	t->duration_ms = phx_jnum(rec, "duration_ms", 0);
	t->http_status = (int)phx_jnum(rec, "http_status", 0);
	t->exit_code = (int)phx_jnum(rec, "exit_code", -1);
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
on_finding(const cJSON *rec, int64_t ts)
{
	const char *id = phx_jstr(rec, "id"), *status;
	const char *where = or(phx_jstr(rec, "service"),
	    or(phx_jstr(rec, "container"), "engine"));
	char key[MAX_KEY];
	struct finding *f;
	bool created;

	if (!id)
		return;
	snprintf(key, sizeof key, "%s\x1f%s", id, where);
	f = entry(&A.findings_t, (void **)&A.findings, &A.nfindings,
	    MAX_FINDINGS, sizeof *f, key, &created);
	if (!f)
		return;
	if (created) {
		f->id = clip(id);
		f->where = clip(where);
		f->ts = -1;
	}
	status = or(phx_jstr(rec, "status"), "INFO");
	if (!newer(ts, &f->ts, same_str(f->status, status)))
		return;
	set_str(&f->status, status);
	set_str(&f->severity, or(phx_jstr(rec, "severity"), "LOW"));
	set_str(&f->cis, phx_jstr(rec, "cis"));
	set_str(&f->title, phx_jstr(rec, "title"));
	set_str(&f->category, phx_jstr(rec, "category"));
	free(f->message);
	free(f->remediation);
	free(f->evidence);
	f->message = clip(phx_jstr(rec, "message"));
	f->remediation = clip(phx_jstr(rec, "remediation"));
	f->evidence = evidence_text(cJSON_GetObjectItemCaseSensitive(rec,
	    "evidence"));
}

static void
on_container(const cJSON *rec, int64_t ts)
{
	const char *name = or(phx_jstr(rec, "name"),
	    or(phx_jstr(rec, "container_id"), phx_jstr(rec, "service")));
	struct container *c;
	bool created;
	double v;

	if (!name)
		return;
	c = entry(&A.containers_t, (void **)&A.containers, &A.ncontainers,
	    MAX_CONTAINERS, sizeof *c, name, &created);
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
	if (!newer(ts, &c->ts, false))
		return;
	set_str(&c->service, phx_jstr(rec, "service"));
	set_str(&c->state, phx_jstr(rec, "state"));
	set_str(&c->health, phx_jstr(rec, "health"));
	c->cpu = phx_jnum(rec, "cpu_percent", c->cpu);
	c->mem = phx_jnum(rec, "mem_bytes", c->mem);
	c->mem_limit = phx_jnum(rec, "mem_limit_bytes", c->mem_limit);
	c->pids = phx_jnum(rec, "pids", c->pids);
	c->restarts = (int)phx_jnum(rec, "restarts", c->restarts);
	c->exit_code = (int)phx_jnum(rec, "exit_code", -1);
}

static void
on_phase(const cJSON *rec, int64_t ts)
{
	const char *name = phx_jstr(rec, "phase"), *event = phx_jstr(rec, "event");
	struct phase *p;
	bool created, end;

	if (!name || !event)
		return;
	p = entry(&A.phases_t, (void **)&A.phases, &A.nphases, MAX_PHASES,
	    sizeof *p, name, &created);
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
		A.st.duplicates++;
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
on_deployment(const cJSON *rec, int64_t ts)
{
	struct deployment *d = &A.dep;
	const char *status = or(phx_jstr(rec, "status"), "unknown");

	if (!d->seen)
		d->ts = -1;
	d->seen = true;
	if (!newer(ts, &d->ts, same_str(d->status, status)))
		return;
	set_str(&d->status, status);
	set_str(&d->project, phx_jstr(rec, "project"));
	set_str(&d->compose_file, phx_jstr(rec, "compose_file"));
	free(d->reason);
	free(d->message);
	d->reason = clip(phx_jstr(rec, "reason"));
	d->message = clip(phx_jstr(rec, "message"));
	d->attempt = (int)phx_jnum(rec, "attempt", d->attempt);
	d->attempts = (int)phx_jnum(rec, "attempts", d->attempts);
	d->duration_ms = phx_jnum(rec, "duration_ms", d->duration_ms);
}

static void
add_bounded(char **list, size_t *n, unsigned long *more, char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(list[i], s) == 0) {
			free(s);
			return;
		}
	if (*n < MAX_ERRORS)
		list[(*n)++] = s;
	else {
		free(s);
		if (more)
			(*more)++;
	}
}

static void
on_error(const cJSON *rec)
{
	const char *svc = phx_jstr(rec, "service");
	char *s = phx_asprintf("%s: %s%s%s: %s",
	    or(phx_jstr(rec, "source"), "?"), svc ? svc : "", svc ? ": " : "",
	    or(phx_jstr(rec, "reason"), "error"),
	    or(phx_jstr(rec, "message"), "(no message)"));

	if (strlen(s) > MAX_TEXT)
		s[MAX_TEXT] = '\0';
	add_bounded(A.record_errors, &A.nrecord_errors, &A.more_record_errors, s);
}

static void
count_unknown(const char *type)
{
	A.st.unknown++;
	for (int i = 0; i < MAX_TYPES; i++) {
		if (!A.st.type_names[i]) {
			A.st.type_names[i] = clip(type);
			A.st.type_counts[i] = 1;
			return;
		}
		if (strcmp(A.st.type_names[i], type) == 0) {
			A.st.type_counts[i]++;
			return;
		}
	}
}

/* folds one v1 record into the aggregates */
static void
fold(const cJSON *rec, const char *type)
{
	const char *id = phx_jstr(rec, "deployment_id");
	const char *mine = phx_deployment_id();
	int64_t ts = record_ts(rec);

	A.st.records++;
	if (id && mine && strcmp(id, mine) != 0) {
		A.st.other_ids++;
		return;
	}
	if (ts >= 0) {
		if (A.max_ts >= 0 && ts < A.max_ts)
			A.st.out_of_order++;
		if (A.min_ts < 0 || ts < A.min_ts)
			A.min_ts = ts;
		if (ts > A.max_ts)
			A.max_ts = ts;
	}
	if (strcmp(type, "health") == 0)
		on_health(rec, ts);
	else if (strcmp(type, "container") == 0)
		on_container(rec, ts);
	else if (strcmp(type, "test") == 0)
		on_test(rec, ts);
	else if (strcmp(type, "finding") == 0)
		on_finding(rec, ts);
	else if (strcmp(type, "phase") == 0)
		on_phase(rec, ts);
	else if (strcmp(type, "service") == 0)
		on_service(rec, ts);
	else if (strcmp(type, "deployment") == 0)
		on_deployment(rec, ts);
	else if (strcmp(type, "error") == 0)
		on_error(rec);
	else if (strcmp(type, "verdict") != 0)   /* an earlier report's */
		count_unknown(type);
}

/* ---- the verdict ---- */

enum { SVC_UNKNOWN, SVC_HEALTHY, SVC_UNHEALTHY };

/* each service's state from its checks; caller frees */
static unsigned char *
service_states(void)
{
	unsigned char *st = phx_calloc(A.nservices + 1, 1);

	for (size_t i = 0; i < A.nchecks; i++) {
		const struct check *c = &A.checks[i];
		if (strcmp(c->status, "healthy") != 0)
			st[c->svc] = SVC_UNHEALTHY;
		else if (st[c->svc] == SVC_UNKNOWN)
			st[c->svc] = SVC_HEALTHY;
	}
	return st;
}

static bool
test_failed(const struct test *t)
{
	return strcmp(t->status, "failed") == 0 || strcmp(t->status, "error") == 0;
}

static bool
finding_fails(const struct finding *f, int fail_on)
{
	return strcmp(f->status, "FAIL") == 0 && fail_on > 0 &&
	    severity_rank(f->severity) >= fail_on;
}

static void
add_error(struct result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
add_error(struct result *r, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (r->nerrors >= MAX_ERRORS) {
		r->more_errors++;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		phx_die(PHX_EXIT_ENV, "out of memory");
	va_end(ap);
	r->errors = phx_reallocarray(r->errors, r->nerrors + 1, sizeof *r->errors);
	r->errors[r->nerrors++] = s;
}

static const struct phase *
find_phase(const char *name)
{
	size_t i;

	return table_get(&A.phases_t, name, &i) ? &A.phases[i] : NULL;
}

/* what kept the run from being seen whole */
static void
judge_incomplete(struct result *r)
{
	const struct phase *probe = find_phase("probe");
	unsigned char *st;

	if (A.st.lines == 0)
		add_error(r, "empty stream: no record was read");
	else if (A.st.records == 0)
		add_error(r, "no phx record in the stream");
	for (size_t i = 0; i < A.ninput_errors; i++)
		add_error(r, "%s", A.input_errors[i]);
	if (A.st.cut)
		add_error(r, "stream cut: the last line has no newline");
	for (size_t i = 0; i < A.nphases; i++) {
		const struct phase *p = &A.phases[i];
		if (p->starts > p->ends)
			add_error(r, "phase %s (%s) started and never ended: "
			    "the stage crashed or was stopped", p->name,
			    or(p->source, "?"));
		else if (p->ends > p->starts)
			add_error(r, "phase %s (%s) ended without a start: "
			    "the beginning of the stream is missing", p->name,
			    or(p->source, "?"));
	}
	if (!probe || probe->ends == 0)
		return;
	st = service_states();
	for (size_t i = 0; i < A.nservices; i++)
		if (A.services[i].has_checks && st[i] == SVC_UNKNOWN)
			add_error(r, "service %s: no health verdict although "
			    "the probe ran", A.services[i].name);
	free(st);
}

static void
judge_checks(struct result *r)
{
	for (size_t i = 0; i < A.nchecks; i++) {
		const struct check *c = &A.checks[i];
		if (strcmp(c->status, "healthy") == 0)
			continue;
		add_error(r, "service %s: %s check %s %s: %s: %s",
		    A.services[c->svc].name, c->kind, c->target, c->status,
		    or(c->reason, "unknown"), or(c->message, "no message"));
	}
	for (size_t i = 0; i < A.ntests; i++) {
		const struct test *t = &A.tests[i];
		if (!test_failed(t))
			continue;
		add_error(r, "test %s%s%s %s%s%s: %s: %s", t->suite,
		    *t->suite ? "/" : "", t->name, t->status,
		    t->step ? " at step " : "", or(t->step, ""),
		    or(t->reason, "unknown"), or(t->message, "no message"));
	}
	for (size_t i = 0; i < A.nfindings; i++) {
		const struct finding *f = &A.findings[i];
		if (!finding_fails(f, r->fail_on))
			continue;
		add_error(r, "finding %s on %s: FAIL %s: %s", f->id, f->where,
		    f->severity, or(f->message, or(f->title, "no message")));
	}
}

/* what failed */
static void
judge_failed(struct result *r)
{
	if (A.dep.seen && strcmp(A.dep.status, "failed") == 0)
		add_error(r, "deployment failed: %s: %s",
		    or(A.dep.reason, "unknown"), or(A.dep.message, "no message"));
	for (size_t i = 0; i < A.nphases; i++) {
		const struct phase *p = &A.phases[i];
		if (p->ends > 0 && strcmp(p->status, "ok") != 0)
			add_error(r, "phase %s (%s) ended with status %s", p->name,
			    or(p->source, "?"), p->status);
	}
	judge_checks(r);
	for (size_t i = 0; i < A.nrecord_errors; i++)
		add_error(r, "%s", A.record_errors[i]);
	if (A.more_record_errors)
		add_error(r, "%lu more error records", A.more_record_errors);
}

static void
judge(struct result *r)
{
	size_t n;

	judge_incomplete(r);
	n = r->nerrors + r->more_errors;
	judge_failed(r);
	if (n > 0)
		r->verdict = INCOMPLETE;
	else if (r->nerrors + r->more_errors > 0)
		r->verdict = FAILED;
	else
		r->verdict = SUCCESS;
}

static void
result_free(struct result *r)
{
	for (size_t i = 0; i < r->nerrors; i++)
		free(r->errors[i]);
	free(r->errors);
	free(r->report_path);
}

/* ---- the JSON report ---- */

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

static cJSON *
check_json(const struct check *c)
{
	cJSON *o = cJSON_CreateObject();

	add_str(o, "check", c->kind);
	add_str(o, "target", c->target);
	add_str(o, "status", c->status);
	if (c->attempts)
		cJSON_AddNumberToObject(o, "attempts", c->attempts);
	add_num(o, "response_time_ms", c->response_ms);
	if (c->status_code)
		cJSON_AddNumberToObject(o, "status_code", c->status_code);
	add_str(o, "reason", c->reason);
	add_str(o, "message", c->message);
	return o;
}

/* the check that speaks for a service: its first HTTP check, else its first */
static const struct check **
primary_checks(void)
{
	const struct check **p = phx_calloc(A.nservices + 1, sizeof *p);

	for (size_t i = 0; i < A.nchecks; i++) {
		const struct check *c = &A.checks[i];
		if (!p[c->svc] || (strcmp(c->kind, "http") == 0 &&
		    strcmp(p[c->svc]->kind, "http") != 0))
			p[c->svc] = c;
	}
	return p;
}

static const char *svc_state_names[] = { "unknown", "healthy", "unhealthy" };

static cJSON *
services_json(void)
{
	cJSON *all = cJSON_CreateObject();
	cJSON **objs = phx_calloc(A.nservices + 1, sizeof *objs);
	unsigned char *st = service_states();
	const struct check **prim = primary_checks();

	for (size_t i = 0; i < A.nservices; i++) {
		const struct service *s = &A.services[i];
		cJSON *o = cJSON_AddObjectToObject(all, s->name);
		cJSON_AddStringToObject(o, "status", svc_state_names[st[i]]);
		if (prim[i]) {
			add_num(o, "response_time_ms", prim[i]->response_ms);
			cJSON_AddStringToObject(o, "health_check_url",
			    prim[i]->target);
		}
		add_str(o, "container", s->container);
		add_str(o, "image", s->image);
		objs[i] = cJSON_AddArrayToObject(o, "checks");
	}
	for (size_t i = 0; i < A.nchecks; i++)
		cJSON_AddItemToArray(objs[A.checks[i].svc],
		    check_json(&A.checks[i]));
	free(objs);
	free(st);
	free(prim);
	return all;
}

static char *
test_key(const struct test *t)
{
	return *t->suite ? phx_asprintf("%s/%s", t->suite, t->name)
	    : phx_strdup(t->name);
}

static cJSON *
tests_json(void)
{
	cJSON *all = cJSON_CreateObject();

	for (size_t i = 0; i < A.ntests; i++) {
		const struct test *t = &A.tests[i];
		char *key = test_key(t);
		cJSON *o = cJSON_AddObjectToObject(all, key);
		free(key);
		cJSON_AddStringToObject(o, "status", t->status);
		cJSON_AddNumberToObject(o, "duration_ms", t->duration_ms);
		if (*t->suite)
			cJSON_AddStringToObject(o, "suite", t->suite);
		cJSON_AddStringToObject(o, "name", t->name);
		add_str(o, "step", t->step);
		if (t->http_status)
			cJSON_AddNumberToObject(o, "http_status", t->http_status);
		if (t->exit_code >= 0)
			cJSON_AddNumberToObject(o, "exit_code", t->exit_code);
		add_str(o, "reason", t->reason);
		add_str(o, "message", t->message);
	}
	return all;
}

static bool
is_running(const struct container *c)
{
	return c->state && strcmp(c->state, "running") == 0;
}

static cJSON *
containers_json(void)
{
	cJSON *m = cJSON_CreateObject(), *use, *each;
	double cpu = 0, mem = 0, lim = 0, pids = 0;
	int running = 0;

	cJSON_AddNumberToObject(m, "total_containers", (double)A.ncontainers);
	use = cJSON_CreateObject();
	each = cJSON_CreateObject();
	for (size_t i = 0; i < A.ncontainers; i++) {
		const struct container *c = &A.containers[i];
		cJSON *o = cJSON_AddObjectToObject(each, c->name);
		running += is_running(c);
		cpu += c->cpu > 0 ? c->cpu : 0;
		mem += c->mem > 0 ? c->mem : 0;
		lim += c->mem_limit > 0 ? c->mem_limit : 0;
		pids += c->pids > 0 ? c->pids : 0;
		add_str(o, "service", c->service);
		add_str(o, "state", c->state);
		add_str(o, "health", c->health);
		add_num(o, "cpu_percent", c->cpu);
		add_num(o, "mem_bytes", c->mem);
		add_num(o, "mem_limit_bytes", c->mem_limit);
		add_num(o, "pids", c->pids);
		add_num(o, "max_cpu_percent", c->max_cpu);
		add_num(o, "max_mem_bytes", c->max_mem);
		cJSON_AddNumberToObject(o, "restarts", c->restarts);
		add_num(o, "exit_code", c->exit_code);
	}
	cJSON_AddNumberToObject(m, "running_containers", running);
	cJSON_AddNumberToObject(use, "cpu_percent", cpu);
	cJSON_AddNumberToObject(use, "mem_bytes", mem);
	cJSON_AddNumberToObject(use, "mem_limit_bytes", lim);
	cJSON_AddNumberToObject(use, "pids", pids);
	cJSON_AddItemToObject(use, "containers", each);
	cJSON_AddItemToObject(m, "resource_usage", use);
	return m;
}

/* the group a finding speaks to, from its category or its CIS id */
static const char *
finding_group(const struct finding *f)
{
	static const struct { const char *cis, *group; } map[] = {
		{ "4.1", "rootless" }, { "5.31", "rootless" },
		{ "5.10", "network" }, { "5.8", "ports" }, { "5.14", "ports" },
	};

	if (f->category)
		return f->category;
	for (size_t i = 0; f->cis && i < sizeof map / sizeof *map; i++)
		if (strcmp(f->cis, map[i].cis) == 0)
			return map[i].group;
	return NULL;
}

/* true when every finding of the group passed, false when one failed,
 * null when there was none */
static cJSON *
group_verdict(const char *group)
{
	int seen = 0, bad = 0;

	for (size_t i = 0; i < A.nfindings; i++) {
		const struct finding *f = &A.findings[i];
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
ports_json(void)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < A.nports; i++) {
		const struct port *p = &A.ports[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "service", p->service);
		cJSON_AddStringToObject(o, "host_ip", p->host_ip);
		cJSON_AddNumberToObject(o, "host_port", p->host_port);
		if (p->container_port)
			cJSON_AddNumberToObject(o, "container_port",
			    p->container_port);
		cJSON_AddStringToObject(o, "protocol", p->protocol);
		/* Podman's empty host IP means every interface */
		cJSON_AddBoolToObject(o, "all_interfaces", !*p->host_ip ||
		    strcmp(p->host_ip, "0.0.0.0") == 0 ||
		    strcmp(p->host_ip, "::") == 0);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static const char *status_names[] = { "FAIL", "WARN", "SKIP", "INFO", "PASS" };
static const char *severity_names[] = { "LOW", "MEDIUM", "HIGH", "CRITICAL" };

static cJSON *
security_json(const struct result *r)
{
	cJSON *s = cJSON_CreateObject(), *by_status, *by_sev, *list;
	unsigned long st[6] = { 0 }, sev[5] = { 0 };

	cJSON_AddItemToObject(s, "rootless_containers", group_verdict("rootless"));
	cJSON_AddItemToObject(s, "network_isolation", group_verdict("network"));
	cJSON_AddItemToObject(s, "exposed_ports", ports_json());
	cJSON_AddStringToObject(s, "fail_on", r->fail_on ?
	    severity_names[r->fail_on - 1] : "NONE");
	list = cJSON_CreateArray();
	for (size_t i = 0; i < A.nfindings; i++) {
		const struct finding *f = &A.findings[i];
		cJSON *o = cJSON_CreateObject();
		st[status_rank(f->status)]++;
		if (strcmp(f->status, "FAIL") == 0)
			sev[severity_rank(f->severity)]++;
		cJSON_AddStringToObject(o, "id", f->id);
		add_str(o, "cis", f->cis);
		cJSON_AddStringToObject(o, "service", f->where);
		cJSON_AddStringToObject(o, "status", f->status);
		cJSON_AddStringToObject(o, "severity", f->severity);
		add_str(o, "category", finding_group(f));
		add_str(o, "title", f->title);
		add_str(o, "message", f->message);
		if (f->evidence)
			cJSON_AddItemToObject(o, "evidence",
			    cJSON_Parse(f->evidence));
		add_str(o, "remediation", f->remediation);
		cJSON_AddItemToArray(list, o);
	}
	by_status = cJSON_AddObjectToObject(s, "counts");
	for (int i = 0; i < 5; i++)
		cJSON_AddNumberToObject(by_status, status_names[i], (double)st[i]);
	by_sev = cJSON_AddObjectToObject(s, "failed_by_severity");
	for (int i = 0; i < 4; i++)
		cJSON_AddNumberToObject(by_sev, severity_names[i],
		    (double)sev[i + 1]);
	cJSON_AddItemToObject(s, "findings", list);
	return s;
}

static cJSON *
phases_json(void)
{
	cJSON *all = cJSON_CreateObject();

	for (size_t i = 0; i < A.nphases; i++) {
		const struct phase *p = &A.phases[i];
		cJSON *o = cJSON_AddObjectToObject(all, p->name);
		add_str(o, "source", p->source);
		cJSON_AddStringToObject(o, "status", p->ends >= p->starts &&
		    p->ends ? p->status : "running");
		if (p->ends)
			cJSON_AddNumberToObject(o, "duration_ms", p->duration_ms);
	}
	return all;
}

static cJSON *
stream_json(void)
{
	cJSON *o = cJSON_CreateObject(), *types;

	cJSON_AddNumberToObject(o, "lines", (double)A.st.lines);
	cJSON_AddNumberToObject(o, "records", (double)A.st.records);
	cJSON_AddNumberToObject(o, "unknown_records", (double)A.st.unknown);
	types = cJSON_AddObjectToObject(o, "unknown_types");
	for (int i = 0; i < MAX_TYPES && A.st.type_names[i]; i++)
		cJSON_AddNumberToObject(types, A.st.type_names[i],
		    (double)A.st.type_counts[i]);
	cJSON_AddNumberToObject(o, "foreign_lines", (double)A.st.foreign);
	cJSON_AddNumberToObject(o, "invalid_lines",
	    (double)(A.st.invalid + A.st.long_lines));
	cJSON_AddNumberToObject(o, "duplicates", (double)A.st.duplicates);
	cJSON_AddNumberToObject(o, "out_of_order", (double)A.st.out_of_order);
	cJSON_AddNumberToObject(o, "superseded", (double)A.st.stale);
	cJSON_AddNumberToObject(o, "other_deployments", (double)A.st.other_ids);
	cJSON_AddNumberToObject(o, "not_kept", (double)A.st.dropped);
	cJSON_AddBoolToObject(o, "cut", A.st.cut);
	return o;
}

static cJSON *
deployment_json(void)
{
	cJSON *o = cJSON_CreateObject();

	add_str(o, "status", A.dep.status);
	add_str(o, "project", A.dep.project);
	add_str(o, "compose_file", A.dep.compose_file);
	if (A.dep.attempts)
		cJSON_AddNumberToObject(o, "attempt", A.dep.attempt);
	if (A.dep.attempts)
		cJSON_AddNumberToObject(o, "attempts", A.dep.attempts);
	if (A.dep.duration_ms > 0)
		cJSON_AddNumberToObject(o, "duration_ms", A.dep.duration_ms);
	add_str(o, "reason", A.dep.reason);
	add_str(o, "message", A.dep.message);
	return o;
}

static double
duration_seconds(void)
{
	return A.min_ts >= 0 ? (double)(A.max_ts - A.min_ts) / 1000.0 : 0;
}

static cJSON *
report_json(const struct result *r)
{
	cJSON *o = cJSON_CreateObject(), *errs;
	const char *id = phx_deployment_id();
	char ts[32];

	if (id)
		cJSON_AddStringToObject(o, "deployment_id", id);
	else
		cJSON_AddNullToObject(o, "deployment_id");
	if (A.min_ts >= 0) {
		phx_ts_format(A.min_ts, ts);
		cJSON_AddStringToObject(o, "timestamp", ts);
	} else
		cJSON_AddNullToObject(o, "timestamp");
	cJSON_AddNumberToObject(o, "duration_seconds", duration_seconds());
	cJSON_AddStringToObject(o, "status", verdict_names[r->verdict]);
	cJSON_AddNumberToObject(o, "exit_status", verdict_exit[r->verdict]);
	if (A.dep.seen)
		cJSON_AddItemToObject(o, "deployment", deployment_json());
	cJSON_AddItemToObject(o, "services", services_json());
	cJSON_AddItemToObject(o, "functional_tests", tests_json());
	cJSON_AddItemToObject(o, "container_metrics", containers_json());
	cJSON_AddItemToObject(o, "security_validation", security_json(r));
	cJSON_AddItemToObject(o, "phases", phases_json());
	cJSON_AddItemToObject(o, "stream", stream_json());
	errs = cJSON_AddArrayToObject(o, "errors");
	for (size_t i = 0; i < r->nerrors; i++)
		cJSON_AddItemToArray(errs, cJSON_CreateString(r->errors[i]));
	if (r->more_errors) {
		char *s = phx_asprintf("%lu more", r->more_errors);
		cJSON_AddItemToArray(errs, cJSON_CreateString(s));
		free(s);
	}
	return o;
}

/* ---- the console summary ---- */

struct style {
	const char *good, *bad, *warn, *bold, *off;
};

static const char *
paint(const struct style *sty, const char *word)
{
	static const char *good[] = { "healthy", "passed", "PASS", "SUCCESS",
	    "running", "ok" };
	static const char *bad[] = { "unhealthy", "failed", "error", "FAIL",
	    "FAILED" };

	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		if (strcmp(word, good[i]) == 0)
			return sty->good;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (strcmp(word, bad[i]) == 0)
			return sty->bad;
	return sty->warn;
}

/* word padded to width, coloured when the style says so */
static void
status_word(struct phx_buf *b, const struct style *sty, const char *word,
    int width)
{
	int pad = width - (int)strlen(word);

	phx_buf_printf(b, "%s%s%s%*s", paint(sty, word), word, sty->off,
	    pad > 0 ? pad : 0, "");
}

struct group {
	const char *id, *status, *severity, *title;
	unsigned long count;
	struct phx_buf where;
};

static int
group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int d = status_rank(x->status) - status_rank(y->status);

	if (d == 0)
		d = severity_rank(y->severity) - severity_rank(x->severity);
	return d ? d : strcmp(x->id, y->id);
}

/* findings grouped by check and status, worst first */
static struct group *
finding_groups(size_t *n)
{
	struct group *g = phx_calloc(A.nfindings + 1, sizeof *g);
	struct table t = { 0 };
	char key[MAX_KEY];
	size_t k;

	*n = 0;
	for (size_t i = 0; i < A.nfindings; i++) {
		const struct finding *f = &A.findings[i];
		snprintf(key, sizeof key, "%s\x1f%s", f->id, f->status);
		if (!table_get(&t, key, &k)) {
			k = (*n)++;
			table_put(&t, key, k);
			g[k].id = f->id;
			g[k].status = f->status;
			g[k].severity = f->severity;
			g[k].title = or(f->title, or(f->message, ""));
		}
		if (severity_rank(f->severity) > severity_rank(g[k].severity))
			g[k].severity = f->severity;
		if (g[k].count++ < 4)
			phx_buf_printf(&g[k].where, "%s%s",
			    g[k].count > 1 ? ", " : "", f->where);
		else if (g[k].count == 5)
			phx_buf_addstr(&g[k].where, ", ...");
	}
	table_free(&t);
	qsort(g, *n, sizeof *g, group_cmp);
	return g;
}

static int
name_width(void)
{
	int w = 8;

	for (size_t i = 0; i < A.nservices; i++)
		if ((int)strlen(A.services[i].name) > w)
			w = (int)strlen(A.services[i].name);
	for (size_t i = 0; i < A.ntests; i++) {
		int n = (int)(strlen(A.tests[i].suite) + strlen(A.tests[i].name) + 1);
		if (n > w)
			w = n;
	}
	return w > 40 ? 40 : w;
}

static void
text_services(struct phx_buf *b, const struct style *sty, int w)
{
	unsigned char *st = service_states();
	const struct check **prim = primary_checks();

	for (size_t i = 0; i < A.nservices; i++) {
		const struct check *c = prim[i];
		phx_buf_printf(b, "service  %-*s  ", w, A.services[i].name);
		status_word(b, sty, svc_state_names[st[i]], 10);
		if (c && c->response_ms >= 0 && st[i] == SVC_HEALTHY)
			phx_buf_printf(b, "%6.0f ms  ", c->response_ms);
		else
			phx_buf_printf(b, "%9s  ", "");
		phx_buf_addstr(b, c ? c->target : "(not checked)");
		/* the first failing check says why */
		for (size_t k = 0; k < A.nchecks; k++) {
			const struct check *f = &A.checks[k];
			if (f->svc == i && strcmp(f->status, "healthy") != 0) {
				phx_buf_printf(b, "  %s %s: %s", f->kind,
				    or(f->reason, "?"), or(f->message, ""));
				break;
			}
		}
		phx_buf_addstr(b, "\n");
	}
	free(st);
	free(prim);
}

static void
text_tests(struct phx_buf *b, const struct style *sty, int w)
{
	for (size_t i = 0; i < A.ntests; i++) {
		const struct test *t = &A.tests[i];
		char *key = test_key(t);
		phx_buf_printf(b, "test     %-*s  ", w, key);
		free(key);
		status_word(b, sty, t->status, 10);
		phx_buf_printf(b, "%7.2f s", t->duration_ms / 1000.0);
		if (strcmp(t->status, "passed") != 0) {
			if (t->step)
				phx_buf_printf(b, "  step %s", t->step);
			if (t->reason || t->message)
				phx_buf_printf(b, "  %s: %s", or(t->reason, "?"),
				    or(t->message, ""));
		}
		phx_buf_addstr(b, "\n");
	}
}

static void
text_findings(struct phx_buf *b, const struct style *sty, bool all)
{
	size_t n;
	struct group *g = finding_groups(&n);

	for (size_t i = 0; i < n; i++) {
		if (all || strcmp(g[i].status, "PASS") != 0) {
			phx_buf_printf(b, "finding  %-12s ", g[i].id);
			status_word(b, sty, g[i].status, 5);
			phx_buf_printf(b, "%-9s %s (%lu: %s)\n", g[i].severity,
			    g[i].title, g[i].count, phx_buf_str(&g[i].where));
		}
		phx_buf_free(&g[i].where);
	}
	free(g);
}

static void
text_totals(struct phx_buf *b)
{
	unsigned char *st = service_states();
	unsigned long healthy = 0, passed = 0, running = 0, fst[6] = { 0 };

	for (size_t i = 0; i < A.nservices; i++)
		healthy += st[i] == SVC_HEALTHY;
	for (size_t i = 0; i < A.ntests; i++)
		passed += strcmp(A.tests[i].status, "passed") == 0;
	for (size_t i = 0; i < A.ncontainers; i++)
		running += is_running(&A.containers[i]);
	for (size_t i = 0; i < A.nfindings; i++)
		fst[status_rank(A.findings[i].status)]++;
	phx_buf_printf(b, "totals   services %lu/%zu healthy, tests %lu/%zu "
	    "passed, containers %lu/%zu running, findings %lu FAIL %lu WARN "
	    "%lu PASS %lu other, records %lu", healthy, A.nservices, passed,
	    A.ntests, running, A.ncontainers, fst[0], fst[1], fst[4],
	    fst[2] + fst[3], A.st.records);
	if (A.st.unknown)
		phx_buf_printf(b, " (%lu of unknown type, ignored)", A.st.unknown);
	phx_buf_addstr(b, "\n");
	free(st);
}

static char *
text_summary(const struct result *r, const struct style *sty, bool verbose)
{
	struct phx_buf b = { 0 };
	int w = name_width();

	phx_buf_printf(&b, "%sdeployment %s%s  %.1f s\n", sty->bold,
	    or(phx_deployment_id(), "(none)"), sty->off, duration_seconds());
	text_services(&b, sty, w);
	text_tests(&b, sty, w);
	text_findings(&b, sty, verbose);
	text_totals(&b);
	for (size_t i = 0; i < r->nerrors; i++)
		phx_buf_printf(&b, "reason   %s\n", r->errors[i]);
	if (r->more_errors)
		phx_buf_printf(&b, "reason   %lu more\n", r->more_errors);
	phx_buf_addstr(&b, "verdict  ");
	status_word(&b, sty, verdict_names[r->verdict], 0);
	phx_buf_addstr(&b, "\n");
	if (r->report_path)
		phx_buf_printf(&b, "report   %s\n", r->report_path);
	phx_buf_str(&b);
	return b.data;
}

/* ---- JUnit XML ---- */

/* bytes of a valid UTF-8 sequence at s, 0 when invalid */
static int
utf8_len(const unsigned char *s)
{
	int n = s[0] < 0x80 ? 1 : (s[0] >> 5) == 6 ? 2 : (s[0] >> 4) == 14 ? 3 :
	    (s[0] >> 3) == 30 ? 4 : 0;

	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* XML 1.0 text: escaped, control characters and broken UTF-8 as '?' */
static void
xml_add(struct phx_buf *b, const char *text)
{
	const unsigned char *s = (const unsigned char *)(text ? text : "");

	while (*s) {
		int n = utf8_len(s);
		switch (*s) {
		case '&': phx_buf_addstr(b, "&amp;"); break;
		case '<': phx_buf_addstr(b, "&lt;"); break;
		case '>': phx_buf_addstr(b, "&gt;"); break;
		case '"': phx_buf_addstr(b, "&quot;"); break;
		case '\'': phx_buf_addstr(b, "&apos;"); break;
		case '\n': phx_buf_addstr(b, "&#10;"); break;
		case '\t': case '\r': phx_buf_add(b, s, 1); break;
		default:
			if (n == 0 || *s < 0x20)
				phx_buf_addstr(b, "?");
			else
				phx_buf_add(b, s, (size_t)n);
		}
		s += n ? n : 1;
	}
}

struct suite {
	const char *name;
	struct phx_buf cases;
	unsigned long tests, failures, errors, skipped;
	double time;
	int64_t start_ts;
};

enum { S_DEPLOY, S_PROBE, S_FUNCTEST, S_SECSCAN, S_STREAM, NSUITES };

/* outcome: NULL passed, else "failure", "error" or "skipped"; GitLab
 * shows the element's text, other readers its message: give both */
static void
junit_case(struct suite *s, const char *classname, const char *name,
    double seconds, const char *outcome, const char *type, const char *msg,
    const char *out)
{
	struct phx_buf *b = &s->cases;

	s->tests++;
	phx_buf_addstr(b, "    <testcase classname=\"");
	xml_add(b, classname);
	phx_buf_addstr(b, "\" name=\"");
	xml_add(b, name);
	phx_buf_printf(b, "\" time=\"%.3f\"", seconds > 0 ? seconds : 0);
	if (!outcome && !out) {
		phx_buf_addstr(b, "/>\n");
		return;
	}
	phx_buf_addstr(b, ">\n");
	if (outcome) {
		s->failures += strcmp(outcome, "failure") == 0;
		s->errors += strcmp(outcome, "error") == 0;
		s->skipped += strcmp(outcome, "skipped") == 0;
		phx_buf_printf(b, "      <%s", outcome);
		if (type) {
			phx_buf_addstr(b, " type=\"");
			xml_add(b, type);
			phx_buf_addstr(b, "\"");
		}
		phx_buf_addstr(b, " message=\"");
		xml_add(b, msg);
		phx_buf_addstr(b, "\">");
		xml_add(b, msg);
		if (out) {
			phx_buf_addstr(b, "&#10;");
			xml_add(b, out);
		}
		phx_buf_printf(b, "</%s>\n", outcome);
	} else {
		phx_buf_addstr(b, "      <system-out>");
		xml_add(b, out);
		phx_buf_addstr(b, "</system-out>\n");
	}
	phx_buf_addstr(b, "    </testcase>\n");
}

static int
phase_suite(const char *phase)
{
	static const struct { const char *name; int suite; } map[] = {
		{ "deploy", S_DEPLOY }, { "down", S_DEPLOY },
		{ "rollback", S_DEPLOY }, { "probe", S_PROBE },
		{ "functest", S_FUNCTEST }, { "secscan", S_SECSCAN },
		{ "phx-deploy", S_DEPLOY }, { "phx-probe", S_PROBE },
		{ "phx-functest", S_FUNCTEST }, { "phx-secscan", S_SECSCAN },
	};

	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (strncmp(phase, map[i].name, strlen(map[i].name)) == 0)
			return map[i].suite;
	return S_STREAM;
}

static void
junit_deploy(struct suite *s)
{
	char *msg, *name;

	if (!A.dep.seen)
		return;
	msg = phx_asprintf("%s: %s", or(A.dep.reason, "failed"),
	    or(A.dep.message, ""));
	name = phx_asprintf("deployment %s", or(A.dep.project, ""));
	junit_case(s, "deploy", name, A.dep.duration_ms / 1000.0,
	    strcmp(A.dep.status, "failed") == 0 ? "failure" : NULL,
	    A.dep.reason, msg, NULL);
	free(name);
	free(msg);
}

static void
junit_checks(struct suite *s)
{
	for (size_t i = 0; i < A.nchecks; i++) {
		const struct check *c = &A.checks[i];
		bool ok = strcmp(c->status, "healthy") == 0;
		char *cls = phx_asprintf("probe.%s", A.services[c->svc].name);
		char *name = phx_asprintf("%s %s", c->kind, c->target);
		char *msg = phx_asprintf("%s: %s", or(c->reason, c->status),
		    or(c->message, ""));
		char *out = c->status_code ? phx_asprintf("%s after %d "
		    "attempt(s), status code %d", c->status, c->attempts,
		    c->status_code) : phx_asprintf("%s after %d attempt(s)",
		    c->status, c->attempts);
		junit_case(s, cls, name, c->response_ms / 1000.0,
		    ok ? NULL : "failure", c->reason, msg, out);
		free(cls);
		free(name);
		free(msg);
		free(out);
	}
}

static void
junit_tests(struct suite *s)
{
	for (size_t i = 0; i < A.ntests; i++) {
		const struct test *t = &A.tests[i];
		const char *outcome = strcmp(t->status, "passed") == 0 ? NULL :
		    strcmp(t->status, "skipped") == 0 ? "skipped" :
		    strcmp(t->status, "error") == 0 ? "error" : "failure";
		char *cls = phx_asprintf("functest.%s", or(t->suite, "tests"));
		char *msg = phx_asprintf("%s%s%s%s", t->step ? "step " : "",
		    t->step ? t->step : "", t->step ? ": " : "",
		    or(t->message, or(t->reason, t->status)));
		junit_case(s, cls, t->name, t->duration_ms / 1000.0, outcome,
		    t->reason, msg, NULL);
		free(cls);
		free(msg);
	}
}

static void
junit_findings(struct suite *s, int fail_on)
{
	for (size_t i = 0; i < A.nfindings; i++) {
		const struct finding *f = &A.findings[i];
		const char *outcome = strcmp(f->status, "FAIL") == 0 ? "failure" :
		    strcmp(f->status, "SKIP") == 0 ? "skipped" : NULL;
		char *cls = phx_asprintf("secscan.%s", f->where);
		char *name = phx_asprintf("%s %s", f->id, or(f->title, ""));
		char *out = phx_asprintf("%s %s%s%s: %s%s%s%s%s", f->status,
		    f->severity, f->cis ? " CIS " : "", or(f->cis, ""),
		    or(f->message, ""), f->evidence ? "\nevidence: " : "",
		    or(f->evidence, ""), f->remediation ? "\nremediation: " : "",
		    or(f->remediation, ""));
		char *msg = phx_asprintf("%s%s: %s", f->severity,
		    finding_fails(f, fail_on) ? "" : " (below the fail-on level)",
		    or(f->message, or(f->title, "")));
		junit_case(s, cls, name, 0, outcome, f->severity, msg, out);
		free(cls);
		free(name);
		free(out);
		free(msg);
	}
}

/* a stage that never finished, error records, a stream that was cut */
static void
junit_problems(struct suite *suites, const struct result *r)
{
	for (size_t i = 0; i < A.nphases; i++) {
		const struct phase *p = &A.phases[i];
		struct suite *s = &suites[phase_suite(p->name)];
		char *name = phx_asprintf("phase %s completed", p->name);
		if (p->starts > p->ends)
			junit_case(s, s->name, name, 0, "error", "incomplete",
			    "started and never ended: the stage crashed or "
			    "was stopped", NULL);
		else
			s->time += p->duration_ms / 1000.0;
		if (p->start_ts >= 0 && (s->start_ts <= 0 ||
		    p->start_ts < s->start_ts))
			s->start_ts = p->start_ts;
		free(name);
	}
	for (size_t i = 0; i < A.nrecord_errors; i++) {
		const char *e = A.record_errors[i];
		junit_case(&suites[phase_suite(e)], "errors", e, 0, "error",
		    "error", e, NULL);
	}
	if (A.st.cut || A.ninput_errors || A.st.records == 0) {
		struct phx_buf m = { 0 };
		for (size_t i = 0; i < r->nerrors; i++)
			if (strncmp(r->errors[i], "phase ", 6) != 0)
				phx_buf_printf(&m, "%s%s", m.len ? "; " : "",
				    r->errors[i]);
		junit_case(&suites[S_STREAM], "stream", "stream complete", 0,
		    "error", "incomplete", phx_buf_str(&m), NULL);
		phx_buf_free(&m);
	}
}

static char *
junit_xml(const struct result *r)
{
	struct suite s[NSUITES] = {
		{ .name = "deploy" }, { .name = "probe" },
		{ .name = "functest" }, { .name = "secscan" },
		{ .name = "stream" },
	};
	struct phx_buf b = { 0 };
	unsigned long t = 0, f = 0, e = 0, k = 0;
	char ts[32];

	junit_deploy(&s[S_DEPLOY]);
	junit_checks(&s[S_PROBE]);
	junit_tests(&s[S_FUNCTEST]);
	junit_findings(&s[S_SECSCAN], r->fail_on);
	junit_problems(s, r);
	for (int i = 0; i < NSUITES; i++) {
		t += s[i].tests;
		f += s[i].failures;
		e += s[i].errors;
		k += s[i].skipped;
	}
	phx_buf_addstr(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<testsuites name=\"");
	xml_add(&b, or(phx_deployment_id(), "phx"));
	phx_buf_printf(&b, "\" tests=\"%lu\" failures=\"%lu\" errors=\"%lu\" "
	    "skipped=\"%lu\" time=\"%.3f\">\n", t, f, e, k, duration_seconds());
	for (int i = 0; i < NSUITES; i++) {
		if (!s[i].tests) {
			phx_buf_free(&s[i].cases);
			continue;
		}
		phx_ts_format(s[i].start_ts > 0 ? s[i].start_ts :
		    A.min_ts >= 0 ? A.min_ts : 0, ts);
		ts[19] = '\0';   /* JUnit's timestamp has no zone */
		phx_buf_printf(&b, "  <testsuite name=\"%s\" tests=\"%lu\" "
		    "failures=\"%lu\" errors=\"%lu\" skipped=\"%lu\" "
		    "time=\"%.3f\" timestamp=\"%s\">\n", s[i].name, s[i].tests,
		    s[i].failures, s[i].errors, s[i].skipped, s[i].time, ts);
		phx_buf_add(&b, s[i].cases.data, s[i].cases.len);
		phx_buf_addstr(&b, "  </testsuite>\n");
		phx_buf_free(&s[i].cases);
	}
	phx_buf_addstr(&b, "</testsuites>\n");
	phx_buf_str(&b);
	return b.data;
}

/* ---- Prometheus text format ---- */

static void
prom_head(struct phx_buf *b, const char *name, const char *help)
{
	phx_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void
prom_label(struct phx_buf *b, const char *name, const char *value, bool first)
{
	phx_buf_printf(b, "%s%s=\"", first ? "{" : ",", name);
	for (const char *p = value ? value : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			phx_buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			phx_buf_addstr(b, "\\n");
		else
			phx_buf_add(b, p, 1);
	}
	phx_buf_addstr(b, "\"");
}

static void
prom_value(struct phx_buf *b, double v)
{
	phx_buf_printf(b, "} %.9g\n", v);
}

static void
prom_deployment(struct phx_buf *b, const struct result *r)
{
	prom_head(b, "phx_deployment_info", "The deployment this file "
	    "describes (always 1).");
	phx_buf_addstr(b, "phx_deployment_info");
	prom_label(b, "deployment_id", or(phx_deployment_id(), ""), true);
	prom_value(b, 1);
	prom_head(b, "phx_deployment_status", "1 for the verdict of the run "
	    "(SUCCESS, FAILED, INCOMPLETE), 0 for the others.");
	for (int i = SUCCESS; i <= INCOMPLETE; i++) {
		phx_buf_addstr(b, "phx_deployment_status");
		prom_label(b, "status", verdict_names[i], true);
		prom_value(b, r->verdict == (enum verdict)i);
	}
	prom_head(b, "phx_deployment_duration_seconds", "Time from the first "
	    "to the last record of the run.");
	phx_buf_printf(b, "phx_deployment_duration_seconds %.3f\n",
	    duration_seconds());
	prom_head(b, "phx_deployment_start_time_seconds", "When the run "
	    "started, in seconds since the epoch.");
	phx_buf_printf(b, "phx_deployment_start_time_seconds %.3f\n",
	    A.min_ts >= 0 ? A.min_ts / 1000.0 : 0);
}

static void
prom_services(struct phx_buf *b)
{
	unsigned char *st = service_states();
	const struct check **prim = primary_checks();

	prom_head(b, "phx_service_up", "1 when every health check of the "
	    "service passed, 0 when one failed.");
	for (size_t i = 0; i < A.nservices; i++) {
		if (st[i] == SVC_UNKNOWN)
			continue;
		phx_buf_addstr(b, "phx_service_up");
		prom_label(b, "service", A.services[i].name, true);
		prom_value(b, st[i] == SVC_HEALTHY);
	}
	prom_head(b, "phx_service_response_time_seconds", "Response time of "
	    "the service's main health check.");
	for (size_t i = 0; i < A.nservices; i++) {
		if (!prim[i] || prim[i]->response_ms < 0)
			continue;
		phx_buf_addstr(b, "phx_service_response_time_seconds");
		prom_label(b, "service", A.services[i].name, true);
		prom_value(b, prim[i]->response_ms / 1000.0);
	}
	prom_head(b, "phx_health_check_up", "1 when the health check passed.");
	for (size_t i = 0; i < A.nchecks; i++) {
		const struct check *c = &A.checks[i];
		phx_buf_addstr(b, "phx_health_check_up");
		prom_label(b, "service", A.services[c->svc].name, true);
		prom_label(b, "check", c->kind, false);
		prom_label(b, "target", c->target, false);
		prom_value(b, strcmp(c->status, "healthy") == 0);
	}
	free(st);
	free(prim);
}

static void
prom_tests(struct phx_buf *b)
{
	static const char *states[] = { "passed", "failed", "skipped", "error" };
	unsigned long n[4] = { 0 };

	prom_head(b, "phx_functional_test_passed", "1 when the functional "
	    "test passed, 0 when it failed or could not run.");
	for (size_t i = 0; i < A.ntests; i++) {
		const struct test *t = &A.tests[i];
		for (int k = 0; k < 4; k++)
			n[k] += strcmp(t->status, states[k]) == 0;
		if (strcmp(t->status, "skipped") == 0)
			continue;
		phx_buf_addstr(b, "phx_functional_test_passed");
		prom_label(b, "suite", t->suite, true);
		prom_label(b, "test", t->name, false);
		prom_value(b, strcmp(t->status, "passed") == 0);
	}
	prom_head(b, "phx_functional_test_duration_seconds", "How long the "
	    "functional test took.");
	for (size_t i = 0; i < A.ntests; i++) {
		const struct test *t = &A.tests[i];
		phx_buf_addstr(b, "phx_functional_test_duration_seconds");
		prom_label(b, "suite", t->suite, true);
		prom_label(b, "test", t->name, false);
		prom_value(b, t->duration_ms / 1000.0);
	}
	prom_head(b, "phx_functional_tests", "Functional tests by status.");
	for (int k = 0; k < 4; k++) {
		phx_buf_addstr(b, "phx_functional_tests");
		prom_label(b, "status", states[k], true);
		prom_value(b, (double)n[k]);
	}
}

static void
prom_findings(struct phx_buf *b)
{
	unsigned long n[5][5] = { { 0 } };

	for (size_t i = 0; i < A.nfindings; i++) {
		int s = status_rank(A.findings[i].status);
		if (s < 5)
			n[s][severity_rank(A.findings[i].severity)]++;
	}
	prom_head(b, "phx_security_findings", "Security checks by status and "
	    "severity.");
	for (int s = 0; s < 5; s++)
		for (int v = 1; v <= 4; v++) {
			phx_buf_addstr(b, "phx_security_findings");
			prom_label(b, "status", status_names[s], true);
			prom_label(b, "severity", severity_names[v - 1], false);
			prom_value(b, (double)n[s][v]);
		}
}

static void
prom_containers(struct phx_buf *b)
{
	unsigned long running = 0;

	for (size_t i = 0; i < A.ncontainers; i++)
		running += is_running(&A.containers[i]);
	prom_head(b, "phx_containers", "Containers seen in the run.");
	phx_buf_printf(b, "phx_containers %zu\n", A.ncontainers);
	prom_head(b, "phx_containers_running", "Containers whose last known "
	    "state is running.");
	phx_buf_printf(b, "phx_containers_running %lu\n", running);
	prom_head(b, "phx_container_memory_bytes", "Last memory use of the "
	    "container.");
	for (size_t i = 0; i < A.ncontainers; i++) {
		if (A.containers[i].mem < 0)
			continue;
		phx_buf_addstr(b, "phx_container_memory_bytes");
		prom_label(b, "container", A.containers[i].name, true);
		prom_value(b, A.containers[i].mem);
	}
	prom_head(b, "phx_container_cpu_ratio", "Last CPU use of the container "
	    "(1 = one core).");
	for (size_t i = 0; i < A.ncontainers; i++) {
		if (A.containers[i].cpu < 0)
			continue;
		phx_buf_addstr(b, "phx_container_cpu_ratio");
		prom_label(b, "container", A.containers[i].name, true);
		prom_value(b, A.containers[i].cpu / 100.0);
	}
}

static char *
prometheus_text(const struct result *r)
{
	struct phx_buf b = { 0 };

	prom_deployment(&b, r);
	prom_services(&b);
	prom_tests(&b);
	prom_findings(&b);
	prom_containers(&b);
	prom_head(&b, "phx_report_records", "Records read, by what became of "
	    "them.");
	phx_buf_printf(&b, "phx_report_records{kind=\"read\"} %lu\n"
	    "phx_report_records{kind=\"unknown_type\"} %lu\n"
	    "phx_report_records{kind=\"invalid\"} %lu\n"
	    "phx_report_records{kind=\"duplicate\"} %lu\n"
	    "phx_report_records{kind=\"out_of_order\"} %lu\n", A.st.records,
	    A.st.unknown, A.st.invalid + A.st.long_lines, A.st.duplicates,
	    A.st.out_of_order);
	phx_buf_str(&b);
	return b.data;
}

/* ---- live progress on a terminal ---- */

struct progress {
	bool on;
	int64_t t0, drawn;
};

static void
progress_clear(struct progress *p)
{
	if (p->on && p->drawn) {
		fputs("\r\033[K", stderr);
		p->drawn = 0;
	}
}

static int
term_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col;
	return 80;
}

static void
progress_draw(struct progress *p, bool force)
{
	int64_t now = phx_now_ms();
	const struct phase *cur = NULL;
	unsigned char *st;
	unsigned long healthy = 0, checked = 0, passed = 0, failed = 0, bad = 0;
	char line[512], *clean;

	if (!p->on || (!force && now - p->drawn < 200))
		return;
	for (size_t i = 0; i < A.nphases; i++)
		if (A.phases[i].starts > A.phases[i].ends &&
		    (!cur || A.phases[i].start_ts >= cur->start_ts))
			cur = &A.phases[i];
	st = service_states();
	for (size_t i = 0; i < A.nservices; i++) {
		healthy += st[i] == SVC_HEALTHY;
		checked += st[i] != SVC_UNKNOWN;
	}
	free(st);
	for (size_t i = 0; i < A.ntests; i++) {
		passed += strcmp(A.tests[i].status, "passed") == 0;
		failed += test_failed(&A.tests[i]);
	}
	for (size_t i = 0; i < A.nfindings; i++)
		bad += strcmp(A.findings[i].status, "FAIL") == 0;
	snprintf(line, sizeof line, "%s: %llds  %s%s  services %lu healthy "
	    "%lu unhealthy of %zu  tests %lu passed %lu failed  findings %lu "
	    "FAIL  %lu records", phx_progname,
	    (long long)((now - p->t0) / 1000), cur ? cur->name : "waiting",
	    cur ? " running" : "", healthy, checked - healthy, A.nservices,
	    passed, failed, bad, A.st.records);
	clean = phx_redact(line);
	if ((int)strlen(clean) >= term_width())
		clean[term_width() - 1] = '\0';
	fprintf(stderr, "\r\033[K%s", clean);
	fflush(stderr);
	free(clean);
	p->drawn = now;
}

/* a line that stays: a stage ended, a check failed */
static void
progress_note(struct progress *p, const cJSON *rec, const char *type)
{
	const char *status = phx_jstr(rec, "status");
	char *line = NULL, *clean;

	if (!p->on || !status)
		return;
	if (strcmp(type, "phase") == 0 && same_str(phx_jstr(rec, "event"), "end"))
		line = phx_asprintf("%s ended %s in %.1f s", or(phx_jstr(rec,
		    "phase"), "?"), status, phx_jnum(rec, "duration_ms", 0) / 1000);
	else if (strcmp(type, "health") == 0 && strcmp(status, "healthy") != 0)
		line = phx_asprintf("%s %s: %s", or(phx_jstr(rec, "service"), "?"),
		    status, or(phx_jstr(rec, "message"), or(phx_jstr(rec,
		    "reason"), "")));
	else if (strcmp(type, "test") == 0 && (strcmp(status, "failed") == 0 ||
	    strcmp(status, "error") == 0))
		line = phx_asprintf("test %s %s: %s", or(phx_jstr(rec, "name"),
		    "?"), status, or(phx_jstr(rec, "message"), ""));
	if (!line)
		return;
	progress_clear(p);
	clean = phx_redact(line);
	fprintf(stderr, "%s: %s\n", phx_progname, clean);
	free(clean);
	free(line);
	progress_draw(p, true);
}

/* ---- storing the stream and the report ---- */

static void
on_signal(int sig)
{
	if (tmp_stream[0])
		unlink(tmp_stream);
	signal(sig, SIG_DFL);
	raise(sig);
}

static FILE *
store_open(void)
{
	int fd;
	FILE *f;

	phx_mkdirs(phx_state_dir());
	snprintf(tmp_stream, sizeof tmp_stream, "%s/.stream.%ld.tmp",
	    phx_state_dir(), (long)getpid());
	fd = open(tmp_stream, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w")))
		phx_edie(PHX_EXIT_ENV, "%s", tmp_stream);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	return f;
}

static void
store_line(FILE *f, const struct phx_input *in)
{
	size_t rlen;
	char *clean = phx_redact_mem(in->line, in->len, &rlen);

	fwrite(clean ? clean : in->line, 1, clean ? rlen : in->len, f);
	if (in->newline)
		putc('\n', f);
	free(clean);
}

/* the id the run is stored under: the stream's, else a new one */
static const char *
settle_id(bool store)
{
	const char *id = phx_deployment_id();
	char *claimed;

	if (id && !phx_valid_deployment_id(id)) {
		char *e = phx_asprintf("deployment id \"%.64s\" is not valid", id);
		add_bounded(A.input_errors, &A.ninput_errors, NULL, e);
		phx_set_deployment_id(NULL);
		unsetenv("PHX_DEPLOYMENT_ID");
		id = NULL;
	}
	if (id || !store)
		return id;
	claimed = phx_claim_deployment_id();
	phx_set_deployment_id(claimed);
	free(claimed);
	return phx_deployment_id();
}

static void
store_close(FILE *f, const char *id)
{
	char *dir, *path;

	if (fclose(f) == EOF)
		phx_edie(PHX_EXIT_ENV, "%s", tmp_stream);
	dir = phx_deployment_path(id, NULL);
	phx_mkdirs(dir);
	path = phx_deployment_path(id, "stream.ndjson");
	if (rename(tmp_stream, path) < 0)
		phx_edie(PHX_EXIT_ENV, "%s", path);
	tmp_stream[0] = '\0';
	free(path);
	free(dir);
}

/* written whole: temp file, then rename, so a reader never sees half */
static bool
write_out(const char *path, const char *text, mode_t mode)
{
	size_t len;
	char *clean = phx_redact_mem(text, strlen(text), &len);
	char *tmp = phx_asprintf("%s.tmp.%ld", path, (long)getpid());
	const char *p = clean ? clean : text;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	bool ok = fd >= 0 && fchmod(fd, mode) == 0;

	if (!clean)
		len = strlen(text);
	while (ok && len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		ok = n > 0;
		p += ok ? n : 0;
		len -= ok ? (size_t)n : 0;
	}
	if (fd >= 0 && close(fd) < 0)
		ok = false;
	if (ok && rename(tmp, path) < 0)
		ok = false;
	if (!ok) {
		phx_log(PHX_ERROR, "%s: %s", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	free(clean);
	return ok;
}

static bool
write_stdout(const char *text)
{
	size_t len;
	char *clean = phx_redact_mem(text, strlen(text), &len);

	fwrite(clean ? clean : text, 1, clean ? len : strlen(text), stdout);
	free(clean);
	return fflush(stdout) != EOF;
}

/* ---- reading the stream ---- */

static void
input_error(const char *name, unsigned long lineno, const char *what)
{
	add_bounded(A.input_errors, &A.ninput_errors, NULL,
	    phx_asprintf("%s:%lu: %s", name, lineno, what));
}

static void
take_line(enum phx_rd kind, const struct phx_input *in, const char *name,
    unsigned long *last_long)
{
	A.st.cut = !in->newline;
	if (kind == PHX_RD_LONG && *last_long == in->lineno)
		return;     /* the rest of an over-long line */
	A.st.lines++;
	switch (kind) {
	case PHX_RD_RECORD:
		fold(in->json, in->type);
		break;
	case PHX_RD_FOREIGN:
		A.st.foreign++;
		break;
	case PHX_RD_INVALID:
		A.st.invalid++;
		input_error(name, in->lineno, in->json ? "not a JSON object" :
		    "not valid JSON");
		break;
	case PHX_RD_LONG:
		A.st.long_lines++;
		*last_long = in->lineno;
		input_error(name, in->lineno, "line too long");
		break;
	default:
		break;
	}
}

/* waits for input, redrawing the progress line at least once a second */
static void
wait_input(struct phx_reader *rd, struct progress *pg)
{
	struct pollfd pfd = { .fd = phx_reader_fd(rd), .events = POLLIN };

	if (poll(&pfd, 1, 500) < 0 && errno != EINTR)
		phx_edie(PHX_EXIT_ENV, "poll");
	progress_draw(pg, false);
}

/* reads everything; in ndjson format passes each line on as it comes */
static void
ingest(struct phx_reader *rd, const char *name, FILE *store, bool pass,
    struct progress *pg, int64_t *phase_started)
{
	struct phx_input in;
	unsigned long last_long = 0;
	bool first = true;

	for (;;) {
		enum phx_rd kind = phx_reader_next(rd, &in);
		if (kind == PHX_RD_AGAIN) {
			wait_input(rd, pg);
			continue;
		}
		/* the first line names the deployment our own records carry */
		if (first && pass)
			*phase_started = phx_phase_start("report");
		first = false;
		if (kind == PHX_RD_EOF)
			break;
		if (store)
			store_line(store, &in);
		if (pass)
			phx_pass(&in);
		take_line(kind, &in, name, &last_long);
		if (kind == PHX_RD_RECORD)
			progress_note(pg, in.json, in.type);
		progress_draw(pg, false);
	}
	progress_clear(pg);
}

/* ---- options and main ---- */

static int
parse_format(const char *s)
{
	for (int i = 0; format_names[i]; i++)
		if (strcmp(s, format_names[i]) == 0)
			return i;
	phx_log(PHX_ERROR, "unknown format \"%s\" (text, json, junit, "
	    "prometheus, ndjson)", s);
	usage(stderr);
	phx_exit(PHX_EXIT_USAGE);
}

static int
parse_fail_on(const char *s)
{
	if (strcasecmp(s, "none") == 0 || strcasecmp(s, "never") == 0)
		return 0;
	if (severity_rank(s))
		return severity_rank(s);
	phx_log(PHX_ERROR, "--fail-on: unknown severity \"%s\" (LOW, MEDIUM, "
	    "HIGH, CRITICAL, NONE)", s);
	usage(stderr);
	phx_exit(PHX_EXIT_USAGE);
}

static void
parse_args(int argc, char **argv, struct opts *o, struct phx_config_opts *co)
{
	enum { O_JUNIT = 256, O_METRICS, O_FAIL_ON };
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "config", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "deployment-id", required_argument, NULL, 'd' },
		{ "no-store", no_argument, NULL, 'n' },
		{ "junit", required_argument, NULL, O_JUNIT },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "fail-on", required_argument, NULL, O_FAIL_ON },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "hVc:f:o:d:nqv", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); phx_exit(PHX_EXIT_OK);
		case 'V': phx_version();
		case 'c':
			co->files = phx_reallocarray(co->files, co->nfiles + 1,
			    sizeof *co->files);
			co->files[co->nfiles++] = optarg;
			break;
		case 'f': o->format = (enum format)parse_format(optarg); break;
		case 'o': o->output = optarg; break;
		case 'd': o->id = optarg; break;
		case 'n': o->store = false; break;
		case 'q': phx_log_quieter(); break;
		case 'v': phx_log_louder(); o->verbose = true; break;
		case O_JUNIT: o->junit = optarg; break;
		case O_METRICS: o->metrics = optarg; break;
		case O_FAIL_ON: o->fail_on = optarg; break;
		default: usage(stderr); phx_exit(PHX_EXIT_USAGE);
		}
	}
	if (argc - optind > 1 || (argc - optind == 1 && o->id)) {
		usage(stderr);
		phx_exit(PHX_EXIT_USAGE);
	}
	if (argc - optind == 1 && strcmp(argv[optind], "-") != 0)
		o->input = argv[optind];
}

/* the stream to read: a file, a stored run, or standard input */
static int
open_input(struct opts *o, char **name)
{
	int fd;

	if (o->id) {
		if (!phx_valid_deployment_id(o->id))
			phx_die(PHX_EXIT_USAGE, "%s: not a deployment id", o->id);
		phx_set_deployment_id(o->id);
		*name = phx_deployment_path(o->id, "stream.ndjson");
	} else if (o->input)
		*name = phx_strdup(o->input);
	else {
		if (isatty(STDIN_FILENO))
			phx_die(PHX_EXIT_USAGE, "no input: standard input is a "
			    "terminal (give a file or --deployment-id)");
		*name = phx_strdup("stdin");
		return STDIN_FILENO;
	}
	if ((fd = open(*name, O_RDONLY | O_CLOEXEC)) < 0)
		phx_edie(PHX_EXIT_USAGE, "%s", *name);
	return fd;
}

static bool
write_outputs(const struct opts *o, const struct result *r)
{
	mode_t mask = umask(0);
	bool ok = true;
	cJSON *rep = report_json(r);
	char *json = cJSON_Print(rep), *junit = NULL, *prom = NULL;

	umask(mask);
	cJSON_Delete(rep);
	if (!json)
		phx_die(PHX_EXIT_ENV, "out of memory");
	if (o->store && r->report_path)
		ok &= write_out(r->report_path, json, 0600);
	if (o->output)
		ok &= write_out(o->output, json, 0600);
	if (o->junit || o->format == F_JUNIT)
		junit = junit_xml(r);
	if (o->metrics || o->format == F_PROMETHEUS)
		prom = prometheus_text(r);
	if (o->junit)
		ok &= write_out(o->junit, junit, 0600);
	/* node_exporter reads the textfile as another user; it holds no secret */
	if (o->metrics)
		ok &= write_out(o->metrics, prom, 0644 & ~mask);
	if (o->format == F_JSON) {
		char *nl = phx_asprintf("%s\n", json);
		write_stdout(nl);
		free(nl);
	} else if (o->format == F_JUNIT)
		write_stdout(junit);
	else if (o->format == F_PROMETHEUS)
		write_stdout(prom);
	free(json);
	free(junit);
	free(prom);
	return ok;
}

static void
print_text(const struct opts *o, const struct result *r)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	bool color = isatty(STDOUT_FILENO) && !(nc && *nc) &&
	    !(term && strcmp(term, "dumb") == 0);
	struct style plain = { "", "", "", "", "" };
	struct style ansi = { "\033[32m", "\033[31;1m", "\033[33m", "\033[1m",
	    "\033[0m" };
	char *text = text_summary(r, color ? &ansi : &plain, o->verbose);

	write_stdout(text);
	free(text);
}

static void
emit_verdict(const struct result *r, int64_t started)
{
	cJSON *rec = phx_record_new("verdict"), *errs;
	static const char *phase_status[] = { "ok", "failed", "error" };

	cJSON_AddStringToObject(rec, "status", verdict_names[r->verdict]);
	cJSON_AddNumberToObject(rec, "exit_status", verdict_exit[r->verdict]);
	errs = cJSON_AddArrayToObject(rec, "errors");
	for (size_t i = 0; i < r->nerrors; i++)
		cJSON_AddItemToArray(errs, cJSON_CreateString(r->errors[i]));
	if (r->report_path)
		cJSON_AddStringToObject(rec, "report", r->report_path);
	phx_emit(rec);
	phx_phase_end("report", started, phase_status[r->verdict], NULL);
}

static void
agg_free(void)
{
	for (size_t i = 0; i < A.nservices; i++) {
		free(A.services[i].name);
		free(A.services[i].image);
		free(A.services[i].container);
	}
	for (size_t i = 0; i < A.nchecks; i++) {
		struct check *c = &A.checks[i];
		free(c->kind); free(c->target); free(c->status);
		free(c->reason); free(c->message);
	}
	for (size_t i = 0; i < A.ntests; i++) {
		struct test *t = &A.tests[i];
		free(t->suite); free(t->name); free(t->status); free(t->step);
		free(t->reason); free(t->message);
	}
	for (size_t i = 0; i < A.nfindings; i++) {
		struct finding *f = &A.findings[i];
		free(f->id); free(f->cis); free(f->where); free(f->status);
		free(f->severity); free(f->title); free(f->message);
		free(f->category); free(f->remediation); free(f->evidence);
	}
	for (size_t i = 0; i < A.ncontainers; i++) {
		struct container *c = &A.containers[i];
		free(c->name); free(c->service); free(c->state); free(c->health);
	}
	for (size_t i = 0; i < A.nphases; i++) {
		free(A.phases[i].name); free(A.phases[i].source);
		free(A.phases[i].status);
	}
	for (size_t i = 0; i < A.nports; i++) {
		free(A.ports[i].service); free(A.ports[i].host_ip);
		free(A.ports[i].protocol);
	}
	for (size_t i = 0; i < A.ninput_errors; i++)
		free(A.input_errors[i]);
	for (size_t i = 0; i < A.nrecord_errors; i++)
		free(A.record_errors[i]);
	for (int i = 0; i < MAX_TYPES; i++)
		free(A.st.type_names[i]);
	free(A.dep.status); free(A.dep.project); free(A.dep.compose_file);
	free(A.dep.reason); free(A.dep.message);
	table_free(&A.services_t); table_free(&A.checks_t);
	table_free(&A.tests_t); table_free(&A.findings_t);
	table_free(&A.containers_t); table_free(&A.phases_t);
	free(A.services); free(A.checks); free(A.tests); free(A.findings);
	free(A.containers); free(A.phases);
}

int
main(int argc, char **argv)
{
	struct opts o = { .format = F_TEXT, .store = true };
	struct phx_config_opts co = { 0 };
	struct result r = { 0 };
	struct progress pg = { 0 };
	struct phx_reader *rd;
	FILE *store = NULL;
	int64_t started = 0;
	char *name;
	cJSON *cfg;
	int fd, status;
	bool ok;

	phx_init(argv[0]);
	parse_args(argc, argv, &o, &co);
	cfg = phx_config_load(&co);
	phx_set_state_dir(phx_cfg_str(cfg, "deployment.state_dir", ".phx"));
	r.fail_on = parse_fail_on(o.fail_on ? o.fail_on :
	    phx_cfg_str(cfg, "security.fail_on", "HIGH"));
	cJSON_Delete(cfg);
	free(co.files);
	A.min_ts = A.max_ts = -1;

	fd = open_input(&o, &name);
	if (o.store && !o.id)
		store = store_open();
	pg.on = isatty(STDERR_FILENO) && phx_log_enabled(PHX_INFO);
	pg.t0 = phx_now_ms();
	rd = phx_reader_new(fd, name, 0);
	if (pg.on)
		phx_reader_nonblock(rd);
	ingest(rd, name, store, o.format == F_NDJSON, &pg, &started);
	phx_reader_free(rd);
	if (fd != STDIN_FILENO)
		close(fd);
	free(name);

	settle_id(o.store);
	if (store)
		store_close(store, phx_deployment_id());
	if (o.store)
		r.report_path = phx_deployment_path(phx_deployment_id(),
		    "report.json");
	else if (o.output)
		r.report_path = phx_strdup(o.output);
	judge(&r);
	ok = write_outputs(&o, &r);
	if (o.format == F_TEXT)
		print_text(&o, &r);
	else if (o.format == F_NDJSON)
		emit_verdict(&r, started);
	status = ok ? verdict_exit[r.verdict] : PHX_EXIT_ENV;
	result_free(&r);
	agg_free();
	phx_secrets_clear();
	phx_set_deployment_id(NULL);
	phx_set_state_dir(NULL);
	phx_exit(status);
}
