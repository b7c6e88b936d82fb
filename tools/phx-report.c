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
#define MAX_SERVICES   256
#define MAX_CHECKS     1024
#define MAX_TESTS      4096
#define MAX_FINDINGS   4096
#define MAX_CONTAINERS 512
#define MAX_PHASES     64
#define MAX_PORTS      256
#define MAX_ERRORS     100
#define MAX_TYPES      16
#define MAX_NAME       128     /* longest name kept */
#define MAX_TEXT       256     /* longest message, URL or title kept */
#define MAX_KEY        (2 * MAX_NAME + MAX_TEXT + 3)
#define MAX_LINE       (256 * 1024)   /* longer lines: input error */

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
clipn(const char *s, size_t max)
{
	size_t n;
	char *d;

	if (!s)
		return NULL;
	n = strnlen(s, max);
	d = phx_malloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* names and messages are kept short: a list of thousands must stay small */
static char *clip(const char *s) { return clipn(s, MAX_NAME); }
static char *clip_text(const char *s) { return clipn(s, MAX_TEXT); }

static void
set_str(char **dst, const char *src)
{
	if (!src)
		return;
	if (*dst && strncmp(*dst, src, MAX_NAME) == 0)
		return;
	free(*dst);
	*dst = clip(src);
}

static void
set_text(char **dst, const char *src)
{
	free(*dst);
	*dst = clip_text(src);
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
	char key[MAX_NAME + 1];
	struct service *s;

	snprintf(key, sizeof key, "%s", name);
	s = entry(&A.services_t, (void **)&A.services, &A.nservices,
	    MAX_SERVICES, sizeof *s, key, &created);
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
	/* keys from the parts as kept, so long names cannot collide */
	snprintf(key, sizeof key, "%.*s\x1f%.*s\x1f%.*s", (int)MAX_NAME,
	    name, (int)MAX_NAME, or(phx_jstr(rec, "check"), ""),
	    (int)MAX_TEXT, or(phx_jstr(rec, "target"), ""));
	c = entry(&A.checks_t, (void **)&A.checks, &A.nchecks, MAX_CHECKS,
	    sizeof *c, key, &created);
	if (!c)
		return;
	if (created) {
		c->svc = svc;
		c->ts = -1;
		c->kind = clip(or(phx_jstr(rec, "check"), "check"));
		c->target = clip_text(or(phx_jstr(rec, "target"), ""));
	}
	status = or(phx_jstr(rec, "status"), "unknown");
	if (!newer(ts, &c->ts, same_str(c->status, status)))
		return;
	set_str(&c->status, status);
	free(c->reason);
	c->reason = clip(phx_jstr(rec, "reason"));
	set_text(&c->message, phx_jstr(rec, "message"));
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
	snprintf(key, sizeof key, "%.*s\x1f%.*s", (int)MAX_NAME, suite,
	    (int)MAX_NAME, name);
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
	t->step = clip(phx_jstr(rec, "step"));
	t->reason = clip(phx_jstr(rec, "reason"));
	set_text(&t->message, phx_jstr(rec, "message"));
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
	snprintf(key, sizeof key, "%.*s\x1f%.*s", (int)MAX_NAME, id,
	    (int)MAX_NAME, where);
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
	set_text(&f->title, phx_jstr(rec, "title"));
	set_str(&f->category, phx_jstr(rec, "category"));
	free(f->evidence);
	set_text(&f->message, phx_jstr(rec, "message"));
	set_text(&f->remediation, phx_jstr(rec, "remediation"));
	f->evidence = evidence_text(cJSON_GetObjectItemCaseSensitive(rec,
	    "evidence"));
}

static void
on_container(const cJSON *rec, int64_t ts)
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
	c = entry(&A.containers_t, (void **)&A.containers, &A.ncontainers,
	    MAX_CONTAINERS, sizeof *c, key, &created);
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
	char key[MAX_NAME + 1];
	struct phase *p;
	bool created, end;

	if (!name || !event)
		return;
	snprintf(key, sizeof key, "%s", name);
	p = entry(&A.phases_t, (void **)&A.phases, &A.nphases, MAX_PHASES,
	    sizeof *p, key, &created);
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
	d->reason = clip(phx_jstr(rec, "reason"));
	set_text(&d->message, phx_jstr(rec, "message"));
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

	if (strlen(s) > 2 * MAX_TEXT)
		s[2 * MAX_TEXT] = '\0';
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

/* ---- outputs: written a piece at a time, never whole in memory ---- */

/* text goes to up to three places (files are written to a temporary
 * name and renamed when complete); each piece is redacted on its way
 * out and ends at an entry boundary, so no secret is ever split */
struct out {
	struct phx_buf b;
	FILE *f[3];
	char *tmp[3], *path[3];
	int n;
	bool failed[3];
};

static void
out_flush(struct out *o)
{
	size_t len;
	char *clean;

	if (!o->b.len)
		return;
	clean = phx_redact_mem(o->b.data, o->b.len, &len);
	if (!clean)
		len = o->b.len;
	for (int i = 0; i < o->n; i++)
		if (!o->failed[i] &&
		    fwrite(clean ? clean : o->b.data, 1, len, o->f[i]) != len)
			o->failed[i] = true;
	free(clean);
	o->b.len = 0;
}

/* an entry ended: pass what is buffered on once there is enough */
static void
out_mark(struct out *o)
{
	if (o->b.len >= 32768)
		out_flush(o);
}

static bool
out_file(struct out *o, const char *path, mode_t mode)
{
	char *tmp = phx_asprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	FILE *f = fd >= 0 && fchmod(fd, mode) == 0 ? fdopen(fd, "w") : NULL;

	if (!f) {
		phx_log(PHX_ERROR, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		free(tmp);
		return false;
	}
	o->f[o->n] = f;
	o->tmp[o->n] = tmp;
	o->path[o->n++] = phx_strdup(path);
	return true;
}

static void
out_stdout(struct out *o)
{
	o->f[o->n] = stdout;
	o->tmp[o->n] = NULL;
	o->path[o->n++] = NULL;
}

/* completes every file; false when one could not be written */
static bool
out_close(struct out *o)
{
	bool ok = true;

	out_flush(o);
	for (int i = 0; i < o->n; i++) {
		if (!o->path[i]) {
			fflush(stdout);
			continue;
		}
		if (fclose(o->f[i]) == EOF || o->failed[i] ||
		    rename(o->tmp[i], o->path[i]) < 0) {
			phx_log(PHX_ERROR, "%s: %s", o->path[i], strerror(errno));
			unlink(o->tmp[i]);
			ok = false;
		}
		free(o->tmp[i]);
		free(o->path[i]);
	}
	phx_buf_free(&o->b);
	return ok;
}

/* a cJSON value printed and consumed */
static void
out_json(struct out *o, cJSON *v)
{
	char *s = cJSON_PrintUnformatted(v);

	cJSON_Delete(v);
	if (!s)
		phx_die(PHX_EXIT_ENV, "out of memory");
	phx_buf_addstr(&o->b, s);
	free(s);
}

/* an object printed without its closing brace, so members can follow */
static void
out_json_open(struct out *o, cJSON *v)
{
	out_json(o, v);
	if (o->b.len && o->b.data[o->b.len - 1] == '}')
		o->b.len--;
}

/* "key":value as a member of an open object, one a line */
static void
out_member(struct out *o, const char *key, cJSON *v, bool *first)
{
	phx_buf_addstr(&o->b, *first ? "\n" : ",\n");
	*first = false;
	out_json(o, cJSON_CreateString(key));
	phx_buf_addstr(&o->b, ":");
	out_json(o, v);
	out_mark(o);
}

/* check indices grouped by service: order[start[s] .. start[s + 1]) */
static size_t *
checks_by_service(size_t **startp)
{
	size_t *start = phx_calloc(A.nservices + 2, sizeof *start);
	size_t *order = phx_calloc(A.nchecks + 1, sizeof *order);
	size_t *fill;

	for (size_t i = 0; i < A.nchecks; i++)
		start[A.checks[i].svc + 1]++;
	for (size_t s = 0; s < A.nservices; s++)
		start[s + 1] += start[s];
	fill = phx_calloc(A.nservices + 1, sizeof *fill);
	for (size_t i = 0; i < A.nchecks; i++) {
		size_t s = A.checks[i].svc;
		order[start[s] + fill[s]++] = i;
	}
	free(fill);
	*startp = start;
	return order;
}

static void
services_write(struct out *o)
{
	unsigned char *st = service_states();
	const struct check **prim = primary_checks();
	size_t *start, *order = checks_by_service(&start);
	bool first = true;

	for (size_t i = 0; i < A.nservices; i++) {
		const struct service *s = &A.services[i];
		cJSON *v = cJSON_CreateObject(), *checks;
		cJSON_AddStringToObject(v, "status", svc_state_names[st[i]]);
		if (prim[i]) {
			add_num(v, "response_time_ms", prim[i]->response_ms);
			cJSON_AddStringToObject(v, "health_check_url",
			    prim[i]->target);
		}
		add_str(v, "container", s->container);
		add_str(v, "image", s->image);
		checks = cJSON_AddArrayToObject(v, "checks");
		for (size_t k = start[i]; k < start[i + 1]; k++)
			cJSON_AddItemToArray(checks, check_json(&A.checks[order[k]]));
		out_member(o, s->name, v, &first);
	}
	free(start);
	free(order);
	free(st);
	free(prim);
}

static char *
test_key(const struct test *t)
{
	return *t->suite ? phx_asprintf("%s/%s", t->suite, t->name)
	    : phx_strdup(t->name);
}

static void
tests_write(struct out *o)
{
	bool first = true;

	for (size_t i = 0; i < A.ntests; i++) {
		const struct test *t = &A.tests[i];
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

static bool
is_running(const struct container *c)
{
	return c->state && strcmp(c->state, "running") == 0;
}

static cJSON *
container_json(const struct container *c)
{
	cJSON *v = cJSON_CreateObject();

	add_str(v, "service", c->service);
	add_str(v, "state", c->state);
	add_str(v, "health", c->health);
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
containers_write(struct out *o)
{
	cJSON *head = cJSON_CreateObject(), *use = cJSON_CreateObject();
	double cpu = 0, mem = 0, lim = 0, pids = 0;
	int running = 0;
	bool first = true;

	for (size_t i = 0; i < A.ncontainers; i++) {
		const struct container *c = &A.containers[i];
		running += is_running(c);
		cpu += c->cpu > 0 ? c->cpu : 0;
		mem += c->mem > 0 ? c->mem : 0;
		lim += c->mem_limit > 0 ? c->mem_limit : 0;
		pids += c->pids > 0 ? c->pids : 0;
	}
	cJSON_AddNumberToObject(head, "total_containers", (double)A.ncontainers);
	cJSON_AddNumberToObject(head, "running_containers", running);
	cJSON_AddNumberToObject(use, "cpu_percent", cpu);
	cJSON_AddNumberToObject(use, "mem_bytes", mem);
	cJSON_AddNumberToObject(use, "mem_limit_bytes", lim);
	cJSON_AddNumberToObject(use, "pids", pids);
	out_json_open(o, head);
	phx_buf_addstr(&o->b, ",\"resource_usage\":");
	out_json_open(o, use);
	phx_buf_addstr(&o->b, ",\"containers\":{");
	for (size_t i = 0; i < A.ncontainers; i++)
		out_member(o, A.containers[i].name,
		    container_json(&A.containers[i]), &first);
	phx_buf_addstr(&o->b, "}}}");
}

/* the group a finding speaks to: its category, else phx-secscan's stable
 * check id, else its CIS id */
static const char *
finding_group(const struct finding *f)
{
	static const struct { const char *id, *group; } map[] = {
		{ "PHX-SEC-001", "rootless" }, { "PHX-SEC-002", "rootless" },
		{ "PHX-SEC-003", "rootless" }, { "4.1", "rootless" },
		{ "5.31", "rootless" },
		{ "PHX-SEC-010", "network" }, { "PHX-SEC-030", "network" },
		{ "PHX-SEC-031", "network" }, { "PHX-SEC-032", "network" },
		{ "5.10", "network" },
		{ "PHX-SEC-040", "ports" }, { "PHX-SEC-041", "ports" },
		{ "5.8", "ports" }, { "5.14", "ports" },
	};

	if (f->category)
		return f->category;
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (strcmp(f->id, map[i].id) == 0 ||
		    (f->cis && strcmp(f->cis, map[i].id) == 0))
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

static const char *status_names[] = { "FAIL", "WARN", "SKIP", "INFO", "PASS" };
static const char *severity_names[] = { "LOW", "MEDIUM", "HIGH", "CRITICAL" };

static cJSON *
finding_json(const struct finding *f)
{
	cJSON *v = cJSON_CreateObject();

	cJSON_AddStringToObject(v, "id", f->id);
	add_str(v, "cis", f->cis);
	cJSON_AddStringToObject(v, "service", f->where);
	cJSON_AddStringToObject(v, "status", f->status);
	cJSON_AddStringToObject(v, "severity", f->severity);
	add_str(v, "category", finding_group(f));
	add_str(v, "title", f->title);
	add_str(v, "message", f->message);
	if (f->evidence)
		cJSON_AddItemToObject(v, "evidence", cJSON_Parse(f->evidence));
	add_str(v, "remediation", f->remediation);
	return v;
}

static void
security_write(struct out *o, const struct result *r)
{
	cJSON *s = cJSON_CreateObject(), *by_status, *by_sev;
	unsigned long st[6] = { 0 }, sev[5] = { 0 };

	for (size_t i = 0; i < A.nfindings; i++) {
		const struct finding *f = &A.findings[i];
		st[status_rank(f->status)]++;
		if (strcmp(f->status, "FAIL") == 0)
			sev[severity_rank(f->severity)]++;
	}
	cJSON_AddItemToObject(s, "rootless_containers", group_verdict("rootless"));
	cJSON_AddItemToObject(s, "network_isolation", group_verdict("network"));
	cJSON_AddItemToObject(s, "exposed_ports", ports_json());
	cJSON_AddStringToObject(s, "fail_on", r->fail_on ?
	    severity_names[r->fail_on - 1] : "NONE");
	by_status = cJSON_AddObjectToObject(s, "counts");
	for (int i = 0; i < 5; i++)
		cJSON_AddNumberToObject(by_status, status_names[i], (double)st[i]);
	by_sev = cJSON_AddObjectToObject(s, "failed_by_severity");
	for (int i = 0; i < 4; i++)
		cJSON_AddNumberToObject(by_sev, severity_names[i],
		    (double)sev[i + 1]);
	out_json_open(o, s);
	phx_buf_addstr(&o->b, ",\"findings\":[");
	for (size_t i = 0; i < A.nfindings; i++) {
		phx_buf_addstr(&o->b, i ? ",\n" : "\n");
		out_json(o, finding_json(&A.findings[i]));
		out_mark(o);
	}
	phx_buf_addstr(&o->b, "]}");
}

static cJSON *
phases_json(void)
{
	cJSON *all = cJSON_CreateObject();

	for (size_t i = 0; i < A.nphases; i++) {
		const struct phase *p = &A.phases[i];
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
stream_json(void)
{
	cJSON *v = cJSON_CreateObject(), *types;

	cJSON_AddNumberToObject(v, "lines", (double)A.st.lines);
	cJSON_AddNumberToObject(v, "records", (double)A.st.records);
	cJSON_AddNumberToObject(v, "unknown_records", (double)A.st.unknown);
	types = cJSON_AddObjectToObject(v, "unknown_types");
	for (int i = 0; i < MAX_TYPES && A.st.type_names[i]; i++)
		cJSON_AddNumberToObject(types, A.st.type_names[i],
		    (double)A.st.type_counts[i]);
	cJSON_AddNumberToObject(v, "foreign_lines", (double)A.st.foreign);
	cJSON_AddNumberToObject(v, "invalid_lines",
	    (double)(A.st.invalid + A.st.long_lines));
	cJSON_AddNumberToObject(v, "duplicates", (double)A.st.duplicates);
	cJSON_AddNumberToObject(v, "out_of_order", (double)A.st.out_of_order);
	cJSON_AddNumberToObject(v, "superseded", (double)A.st.stale);
	cJSON_AddNumberToObject(v, "other_deployments", (double)A.st.other_ids);
	cJSON_AddNumberToObject(v, "not_kept", (double)A.st.dropped);
	cJSON_AddBoolToObject(v, "cut", A.st.cut);
	return v;
}

static cJSON *
deployment_json(void)
{
	cJSON *v = cJSON_CreateObject();

	add_str(v, "status", A.dep.status);
	add_str(v, "project", A.dep.project);
	add_str(v, "compose_file", A.dep.compose_file);
	if (A.dep.attempts)
		cJSON_AddNumberToObject(v, "attempt", A.dep.attempt);
	if (A.dep.attempts)
		cJSON_AddNumberToObject(v, "attempts", A.dep.attempts);
	if (A.dep.duration_ms > 0)
		cJSON_AddNumberToObject(v, "duration_ms", A.dep.duration_ms);
	add_str(v, "reason", A.dep.reason);
	add_str(v, "message", A.dep.message);
	return v;
}

static double
duration_seconds(void)
{
	return A.min_ts >= 0 ? (double)(A.max_ts - A.min_ts) / 1000.0 : 0;
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

static cJSON *
report_head(const struct result *r)
{
	cJSON *v = cJSON_CreateObject();
	const char *id = phx_deployment_id();
	char ts[32];

	if (id)
		cJSON_AddStringToObject(v, "deployment_id", id);
	else
		cJSON_AddNullToObject(v, "deployment_id");
	if (A.min_ts >= 0) {
		phx_ts_format(A.min_ts, ts);
		cJSON_AddStringToObject(v, "timestamp", ts);
	} else
		cJSON_AddNullToObject(v, "timestamp");
	cJSON_AddNumberToObject(v, "duration_seconds", duration_seconds());
	cJSON_AddStringToObject(v, "status", verdict_names[r->verdict]);
	cJSON_AddNumberToObject(v, "exit_status", verdict_exit[r->verdict]);
	if (A.dep.seen)
		cJSON_AddItemToObject(v, "deployment", deployment_json());
	return v;
}

/* the JSON report, one service, test, container or finding a line */
static void
report_write(struct out *o, const struct result *r)
{
	out_json_open(o, report_head(r));
	phx_buf_addstr(&o->b, ",\n\"services\":{");
	services_write(o);
	phx_buf_addstr(&o->b, "},\n\"functional_tests\":{");
	tests_write(o);
	phx_buf_addstr(&o->b, "},\n\"container_metrics\":");
	containers_write(o);
	phx_buf_addstr(&o->b, ",\n\"security_validation\":");
	security_write(o, r);
	phx_buf_addstr(&o->b, ",\n\"phases\":");
	out_json(o, phases_json());
	phx_buf_addstr(&o->b, ",\n\"stream\":");
	out_json(o, stream_json());
	phx_buf_addstr(&o->b, ",\n\"errors\":");
	out_json(o, errors_json(r));
	phx_buf_addstr(&o->b, "}\n");
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
text_services(struct out *o, const struct style *sty, int w)
{
	struct phx_buf *b = &o->b;
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
		out_mark(o);
	}
	free(st);
	free(prim);
}

static void
text_tests(struct out *o, const struct style *sty, int w)
{
	struct phx_buf *b = &o->b;
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
		out_mark(o);
	}
}

static void
text_findings(struct out *o, const struct style *sty, bool all)
{
	struct phx_buf *b = &o->b;
	size_t n;
	struct group *g = finding_groups(&n);

	for (size_t i = 0; i < n; i++) {
		if (all || strcmp(g[i].status, "PASS") != 0) {
			phx_buf_printf(b, "finding  %-12s ", g[i].id);
			status_word(b, sty, g[i].status, 5);
			phx_buf_printf(b, "%-9s %s (%lu: %s)\n", g[i].severity,
			    g[i].title, g[i].count, phx_buf_str(&g[i].where));
			out_mark(o);
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

static void
text_write(struct out *o, const struct result *r, const struct style *sty,
    bool verbose)
{
	struct phx_buf *b = &o->b;
	int w = name_width();

	phx_buf_printf(b, "%sdeployment %s%s  %.1f s\n", sty->bold,
	    or(phx_deployment_id(), "(none)"), sty->off, duration_seconds());
	text_services(o, sty, w);
	text_tests(o, sty, w);
	text_findings(o, sty, verbose);
	text_totals(b);
	for (size_t i = 0; i < r->nerrors; i++)
		phx_buf_printf(b, "reason   %s\n", r->errors[i]);
	if (r->more_errors)
		phx_buf_printf(b, "reason   %lu more\n", r->more_errors);
	phx_buf_addstr(b, "verdict  ");
	status_word(b, sty, verdict_names[r->verdict], 0);
	phx_buf_addstr(b, "\n");
	if (r->report_path)
		phx_buf_printf(b, "report   %s\n", r->report_path);
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

/* a testsuite is generated twice: to count (out NULL), then to write */
struct suite {
	const char *name;
	struct out *out;
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
	struct phx_buf *b;

	if (!s->out) {
		s->tests++;
		s->failures += outcome && strcmp(outcome, "failure") == 0;
		s->errors += outcome && strcmp(outcome, "error") == 0;
		s->skipped += outcome && strcmp(outcome, "skipped") == 0;
		return;
	}
	b = &s->out->b;
	phx_buf_addstr(b, "    <testcase classname=\"");
	xml_add(b, classname);
	phx_buf_addstr(b, "\" name=\"");
	xml_add(b, name);
	phx_buf_printf(b, "\" time=\"%.3f\"", seconds > 0 ? seconds : 0);
	if (!outcome && !out) {
		phx_buf_addstr(b, "/>\n");
		out_mark(s->out);
		return;
	}
	phx_buf_addstr(b, ">\n");
	if (outcome) {
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
	out_mark(s->out);
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
junit_problems(struct suite *s, int which, const struct result *r)
{
	for (size_t i = 0; i < A.nphases; i++) {
		const struct phase *p = &A.phases[i];
		char *name;
		if (phase_suite(p->name) != which)
			continue;
		if (p->starts <= p->ends) {
			if (!s->out)
				s->time += p->duration_ms / 1000.0;
		} else {
			name = phx_asprintf("phase %s completed", p->name);
			junit_case(s, s->name, name, 0, "error", "incomplete",
			    "started and never ended: the stage crashed or "
			    "was stopped", NULL);
			free(name);
		}
		if (p->start_ts >= 0 && (s->start_ts <= 0 ||
		    p->start_ts < s->start_ts))
			s->start_ts = p->start_ts;
	}
	for (size_t i = 0; i < A.nrecord_errors; i++) {
		const char *e = A.record_errors[i];
		if (phase_suite(e) == which)
			junit_case(s, "errors", e, 0, "error", "error", e, NULL);
	}
	if (which == S_STREAM && (A.st.cut || A.ninput_errors ||
	    A.st.records == 0)) {
		struct phx_buf m = { 0 };
		for (size_t i = 0; i < r->nerrors; i++)
			if (strncmp(r->errors[i], "phase ", 6) != 0)
				phx_buf_printf(&m, "%s%s", m.len ? "; " : "",
				    r->errors[i]);
		junit_case(s, "stream", "stream complete", 0, "error",
		    "incomplete", phx_buf_str(&m), NULL);
		phx_buf_free(&m);
	}
}

static void
junit_suite(struct suite *s, int which, const struct result *r)
{
	switch (which) {
	case S_DEPLOY: junit_deploy(s); break;
	case S_PROBE: junit_checks(s); break;
	case S_FUNCTEST: junit_tests(s); break;
	case S_SECSCAN: junit_findings(s, r->fail_on); break;
	default: break;
	}
	junit_problems(s, which, r);
}

static void
junit_write(struct out *o, const struct result *r)
{
	struct suite s[NSUITES] = {
		{ .name = "deploy" }, { .name = "probe" },
		{ .name = "functest" }, { .name = "secscan" },
		{ .name = "stream" },
	};
	unsigned long t = 0, f = 0, e = 0, k = 0;
	char ts[32];

	for (int i = 0; i < NSUITES; i++) {
		junit_suite(&s[i], i, r);
		t += s[i].tests;
		f += s[i].failures;
		e += s[i].errors;
		k += s[i].skipped;
	}
	phx_buf_addstr(&o->b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<testsuites name=\"");
	xml_add(&o->b, or(phx_deployment_id(), "phx"));
	phx_buf_printf(&o->b, "\" tests=\"%lu\" failures=\"%lu\" "
	    "errors=\"%lu\" skipped=\"%lu\" time=\"%.3f\">\n", t, f, e, k,
	    duration_seconds());
	for (int i = 0; i < NSUITES; i++) {
		if (!s[i].tests)
			continue;
		phx_ts_format(s[i].start_ts > 0 ? s[i].start_ts :
		    A.min_ts >= 0 ? A.min_ts : 0, ts);
		ts[19] = '\0';   /* JUnit's timestamp has no zone */
		phx_buf_printf(&o->b, "  <testsuite name=\"%s\" tests=\"%lu\" "
		    "failures=\"%lu\" errors=\"%lu\" skipped=\"%lu\" "
		    "time=\"%.3f\" timestamp=\"%s\">\n", s[i].name, s[i].tests,
		    s[i].failures, s[i].errors, s[i].skipped, s[i].time, ts);
		s[i].out = o;
		junit_suite(&s[i], i, r);
		phx_buf_addstr(&o->b, "  </testsuite>\n");
	}
	phx_buf_addstr(&o->b, "</testsuites>\n");
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
prom_value(struct out *o, double v)
{
	phx_buf_printf(&o->b, "} %.9g\n", v);
	out_mark(o);
}

static void
prom_deployment(struct out *o, const struct result *r)
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
	    duration_seconds());
	prom_head(b, "phx_deployment_start_time_seconds", "When the run "
	    "started, in seconds since the epoch.");
	phx_buf_printf(b, "phx_deployment_start_time_seconds %.3f\n",
	    A.min_ts >= 0 ? A.min_ts / 1000.0 : 0);
}

static void
prom_services(struct out *o)
{
	struct phx_buf *b = &o->b;
	unsigned char *st = service_states();
	const struct check **prim = primary_checks();

	prom_head(b, "phx_service_up", "1 when every health check of the "
	    "service passed, 0 when one failed.");
	for (size_t i = 0; i < A.nservices; i++) {
		if (st[i] == SVC_UNKNOWN)
			continue;
		phx_buf_addstr(b, "phx_service_up");
		prom_label(b, "service", A.services[i].name, true);
		prom_value(o, st[i] == SVC_HEALTHY);
	}
	prom_head(b, "phx_service_response_time_seconds", "Response time of "
	    "the service's main health check.");
	for (size_t i = 0; i < A.nservices; i++) {
		if (!prim[i] || prim[i]->response_ms < 0)
			continue;
		phx_buf_addstr(b, "phx_service_response_time_seconds");
		prom_label(b, "service", A.services[i].name, true);
		prom_value(o, prim[i]->response_ms / 1000.0);
	}
	prom_head(b, "phx_health_check_up", "1 when the health check passed.");
	for (size_t i = 0; i < A.nchecks; i++) {
		const struct check *c = &A.checks[i];
		phx_buf_addstr(b, "phx_health_check_up");
		prom_label(b, "service", A.services[c->svc].name, true);
		prom_label(b, "check", c->kind, false);
		prom_label(b, "target", c->target, false);
		prom_value(o, strcmp(c->status, "healthy") == 0);
	}
	free(st);
	free(prim);
}

static void
prom_tests(struct out *o)
{
	struct phx_buf *b = &o->b;
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
		prom_value(o, strcmp(t->status, "passed") == 0);
	}
	prom_head(b, "phx_functional_test_duration_seconds", "How long the "
	    "functional test took.");
	for (size_t i = 0; i < A.ntests; i++) {
		const struct test *t = &A.tests[i];
		phx_buf_addstr(b, "phx_functional_test_duration_seconds");
		prom_label(b, "suite", t->suite, true);
		prom_label(b, "test", t->name, false);
		prom_value(o, t->duration_ms / 1000.0);
	}
	prom_head(b, "phx_functional_tests", "Functional tests by status.");
	for (int k = 0; k < 4; k++) {
		phx_buf_addstr(b, "phx_functional_tests");
		prom_label(b, "status", states[k], true);
		prom_value(o, (double)n[k]);
	}
}

static void
prom_findings(struct out *o)
{
	struct phx_buf *b = &o->b;
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
			prom_value(o, (double)n[s][v]);
		}
}

static void
prom_containers(struct out *o)
{
	struct phx_buf *b = &o->b;
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
		prom_value(o, A.containers[i].mem);
	}
	prom_head(b, "phx_container_cpu_ratio", "Last CPU use of the container "
	    "(1 = one core).");
	for (size_t i = 0; i < A.ncontainers; i++) {
		if (A.containers[i].cpu < 0)
			continue;
		phx_buf_addstr(b, "phx_container_cpu_ratio");
		prom_label(b, "container", A.containers[i].name, true);
		prom_value(o, A.containers[i].cpu / 100.0);
	}
}

static void
prometheus_write(struct out *o, const struct result *r)
{
	prom_deployment(o, r);
	prom_services(o);
	prom_tests(o);
	prom_findings(o);
	prom_containers(o);
	prom_head(&o->b, "phx_report_records", "Records read, by what became "
	    "of them.");
	phx_buf_printf(&o->b, "phx_report_records{kind=\"read\"} %lu\n"
	    "phx_report_records{kind=\"unknown_type\"} %lu\n"
	    "phx_report_records{kind=\"invalid\"} %lu\n"
	    "phx_report_records{kind=\"duplicate\"} %lu\n"
	    "phx_report_records{kind=\"out_of_order\"} %lu\n", A.st.records,
	    A.st.unknown, A.st.invalid + A.st.long_lines, A.st.duplicates,
	    A.st.out_of_order);
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


/* pipeline order of the stages phx knows; others by when they started */
static int
stage_rank(const struct phase *p)
{
	static const char *order[] = { "deploy", "rollback", "probe",
	    "functest", "secscan", "down", "report" };

	for (size_t i = 0; i < sizeof order / sizeof *order; i++)
		if (strcmp(p->name, order[i]) == 0)
			return (int)i;
	return -1;
}

static bool
upstream_of(const struct phase *a, const struct phase *b)
{
	int ra = stage_rank(a), rb = stage_rank(b);

	if (ra >= 0 && rb >= 0)
		return ra < rb;
	return a->start_ts < b->start_ts;
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
	/* in a pipeline every stage starts at once; the one doing the work
	 * is the most upstream still open, the later ones wait on it */
	for (size_t i = 0; i < A.nphases; i++)
		if (A.phases[i].starts > A.phases[i].ends &&
		    (!cur || upstream_of(&A.phases[i], cur)))
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
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
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

/* the JSON report (state directory, -o, -f json), JUnit, metrics */
static bool
write_outputs(const struct opts *o, const struct result *r)
{
	mode_t mask = umask(0);
	struct out rep = { 0 }, junit = { 0 }, prom = { 0 };
	bool ok = true;

	umask(mask);
	if (o->store && r->report_path)
		ok &= out_file(&rep, r->report_path, 0600);
	if (o->output)
		ok &= out_file(&rep, o->output, 0600);
	if (o->format == F_JSON)
		out_stdout(&rep);
	if (o->junit)
		ok &= out_file(&junit, o->junit, 0600);
	if (o->format == F_JUNIT)
		out_stdout(&junit);
	/* node_exporter reads the textfile as another user; it holds no secret */
	if (o->metrics)
		ok &= out_file(&prom, o->metrics, 0644 & ~mask);
	if (o->format == F_PROMETHEUS)
		out_stdout(&prom);
	if (rep.n)
		report_write(&rep, r);
	ok &= out_close(&rep);
	if (junit.n)
		junit_write(&junit, r);
	ok &= out_close(&junit);
	if (prom.n)
		prometheus_write(&prom, r);
	ok &= out_close(&prom);
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
	struct out out = { 0 };

	out_stdout(&out);
	text_write(&out, r, color ? &ansi : &plain, o->verbose);
	out_close(&out);
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
	rd = phx_reader_new(fd, name, MAX_LINE);
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
