/* TAP version 13: one test point a service, functional test and
 * finding, for a TAP consumer (prove, a CI's TAP reporter) */
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* a description on one line, masked, with no '#' to start a directive */
static void
tap_text(struct phx_buf *b, const char *s)
{
	char *clean = shown(s ? s : "");

	for (const char *p = clean; *p; p++)
		if (*p == '#')
			phx_buf_addstr(b, "\\#");
		else
			phx_buf_add(b, p, 1);
	free(clean);
}

/* ok / not ok N - WHAT NAME [# SKIP why]; a failure's why as a comment */
static void
tap_point(struct out *o, unsigned long *n, bool ok, const char *what,
    const char *name, const char *skip, const char *why)
{
	struct phx_buf *b = &o->b;

	phx_buf_printf(b, "%sok %lu - %s ", ok ? "" : "not ", ++*n, what);
	tap_text(b, name);
	if (skip) {
		phx_buf_addstr(b, " # SKIP ");
		tap_text(b, skip);
	}
	phx_buf_addstr(b, "\n");
	if (!ok && why) {
		phx_buf_addstr(b, "# ");
		tap_text(b, why);
		phx_buf_addstr(b, "\n");
	}
	out_mark(o);
}

static const char *
check_why(const struct agg *agg, size_t svc)
{
	for (size_t k = 0; k < agg->nchecks; k++)
		if (agg->checks[k].svc == svc &&
		    strcmp(agg->checks[k].status, "healthy") != 0)
			return or(agg->checks[k].message, agg->checks[k].reason);
	return NULL;
}

void
tap_write(struct out *o, const struct agg *agg, const struct result *r)
{
	unsigned char *st = service_states(agg);
	unsigned long n = 0;

	phx_buf_printf(&o->b, "TAP version 13\n1..%zu\n",
	    agg->nservices + agg->ntests + agg->nfindings);
	for (size_t i = 0; i < agg->nservices; i++)
		tap_point(o, &n, st[i] != SVC_UNHEALTHY, "service",
		    agg->services[i].name, st[i] == SVC_UNKNOWN ?
		    "not checked" : NULL, check_why(agg, i));
	for (size_t i = 0; i < agg->ntests; i++) {
		const struct test *t = &agg->tests[i];
		char *key = test_key(t);
		tap_point(o, &n, !test_failed(t), "test", key,
		    strcmp(t->status, "skipped") == 0 ? or(t->message,
		    "skipped") : NULL, or(t->message, t->reason));
		free(key);
	}
	for (size_t i = 0; i < agg->nfindings; i++) {
		const struct finding *f = &agg->findings[i];
		char *name = phx_asprintf("%s %s %s", f->id, f->severity,
		    or(f->where, ""));
		tap_point(o, &n, !finding_fails(f, r->fail_on), "finding", name,
		    strcmp(f->status, "SKIP") == 0 ? or(f->message, "skipped") :
		    NULL, or(f->title, f->message));
		free(name);
	}
	phx_buf_printf(&o->b, "# verdict %s\n", verdict_names[r->verdict]);
	for (size_t i = 0; i < r->nerrors; i++) {
		phx_buf_addstr(&o->b, "# ");
		tap_text(&o->b, r->errors[i]);
		phx_buf_addstr(&o->b, "\n");
	}
	out_mark(o);
	free(st);
}
