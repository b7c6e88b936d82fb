/* the console summary */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

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

/* a piece of a line that shows what records said: formatted, then
 * escaped as a whole (out.c: add_shown), so that nothing a record holds
 * reaches the terminal raw; the line's own newline and colours are
 * added outside it */
static void __attribute__((format(printf, 2, 3)))
seg(struct phx_buf *b, const char *fmt, ...)
{
	va_list ap, again;
	char *s;
	int n;

	va_start(ap, fmt);
	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		phx_die(PHX_EXIT_ENV, "text summary: cannot format");
	s = phx_malloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, again);
	va_end(again);
	add_shown(b, s);
	free(s);
}

/* word padded to width, coloured when the style says so */
static void
status_word(struct phx_buf *b, const struct style *sty, const char *word,
    int width)
{
	size_t start;
	int pad;

	phx_buf_addstr(b, paint(sty, word));
	start = b->len;
	add_shown(b, word);
	pad = width - (int)(b->len - start);
	phx_buf_printf(b, "%s%*s", sty->off, pad > 0 ? pad : 0, "");
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
	int d = phx_status_parse(x->status) - phx_status_parse(y->status);

	if (d == 0)
		d = phx_sev_parse(y->severity) - phx_sev_parse(x->severity);
	return d ? d : strcmp(x->id, y->id);
}

/* findings grouped by check and status, worst first */
static struct group *
finding_groups(const struct agg *agg, size_t *n)
{
	struct group *g = phx_calloc(agg->nfindings + 1, sizeof *g);
	struct table t = { 0 };
	char key[MAX_KEY];
	size_t k;

	*n = 0;
	for (size_t i = 0; i < agg->nfindings; i++) {
		const struct finding *f = &agg->findings[i];
		snprintf(key, sizeof key, "%s\x1f%s", f->id, f->status);
		if (!table_get(&t, key, &k)) {
			k = (*n)++;
			table_put(&t, key, k);
			g[k].id = f->id;
			g[k].status = f->status;
			g[k].severity = f->severity;
			g[k].title = or(f->title, or(f->message, ""));
		}
		if (phx_sev_parse(f->severity) > phx_sev_parse(g[k].severity))
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
name_width(const struct agg *agg)
{
	int w = 8;

	for (size_t i = 0; i < agg->nservices; i++)
		if ((int)strlen(agg->services[i].name) > w)
			w = (int)strlen(agg->services[i].name);
	for (size_t i = 0; i < agg->ntests; i++) {
		int n = (int)(strlen(agg->tests[i].suite) +
		    strlen(agg->tests[i].name) + 1);
		if (n > w)
			w = n;
	}
	return w > 40 ? 40 : w;
}

static void
text_services(struct out *o, const struct agg *agg, const struct result *r,
    const struct style *sty, int w)
{
	struct phx_buf *b = &o->b;
	unsigned char *st = service_states(agg);
	const struct check **prim = primary_checks(agg);

	for (size_t i = 0; i < agg->nservices; i++) {
		const struct check *c = prim[i];
		seg(b, "service  %-*s  ", w, agg->services[i].name);
		status_word(b, sty, svc_state_name(st[i]), 10);
		if (c && c->response_ms >= 0 && st[i] == SVC_HEALTHY)
			phx_buf_printf(b, "%6.0f ms  ", c->response_ms);
		else
			phx_buf_printf(b, "%9s  ", "");
		seg(b, "%s", c ? c->target : "(not checked)");
		/* the first failing check says why */
		for (size_t k = 0; k < agg->nchecks; k++) {
			const struct check *f = &agg->checks[k];
			if (f->svc == i && !phx_healthy(f->status)) {
				seg(b, "  %s %s: %s%s", f->kind,
				    or(f->reason, "?"), or(f->message, ""),
				    r->has_root ? UPSTREAM : "");
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
text_tests(struct out *o, const struct agg *agg, const struct result *r,
    const struct style *sty, int w)
{
	struct phx_buf *b = &o->b;
	for (size_t i = 0; i < agg->ntests; i++) {
		const struct test *t = &agg->tests[i];
		char *key = test_key(t);
		seg(b, "test     %-*s  ", w, key);
		free(key);
		status_word(b, sty, t->status, 10);
		phx_buf_printf(b, "%7.2f s", t->duration_ms / 1000.0);
		/* skipped for the root cause: a pointer, not its words again */
		if (r->has_root && same_str(t->reason, "upstream"))
			phx_buf_printf(b, " %s", UPSTREAM);
		else if (phx_test_parse(t->status) != PHX_TEST_PASSED) {
			if (t->step)
				seg(b, "  step %s", t->step);
			if (t->reason || t->message)
				seg(b, "  %s: %s", or(t->reason, "?"),
				    or(t->message, ""));
			if (r->has_root)
				phx_buf_addstr(b, UPSTREAM);
		}
		phx_buf_addstr(b, "\n");
		out_mark(o);
	}
}

static void
text_findings(struct out *o, const struct agg *agg,
    const struct style *sty, bool all)
{
	struct phx_buf *b = &o->b;
	size_t n;
	struct group *g = finding_groups(agg, &n);

	for (size_t i = 0; i < n; i++) {
		if (all || strcmp(g[i].status, "PASS") != 0) {
			seg(b, "finding  %-12s ", g[i].id);
			status_word(b, sty, g[i].status, 5);
			seg(b, "%-9s %s (%lu: %s)", g[i].severity, g[i].title,
			    g[i].count, phx_buf_str(&g[i].where));
			phx_buf_addstr(b, "\n");
			out_mark(o);
		}
		phx_buf_free(&g[i].where);
	}
	free(g);
}

/* what the recovery policy did, each action with its outcome */
static void
text_recoveries(struct out *o, const struct agg *agg, const struct style *sty)
{
	struct phx_buf *b = &o->b;

	for (size_t i = 0; i < agg->nrecoveries; i++) {
		const struct recovery *v = &agg->recoveries[i];
		seg(b, "recovery %s %s %s%s  ", v->category, v->action, v->subject,
		    v->critical ? " (critical)" : "");
		status_word(b, sty, or(v->outcome, "unknown"), 10);
		seg(b, "%s", or(v->why, ""));
		phx_buf_addstr(b, "\n");
		out_mark(o);
	}
}

/* after the verdict, what it passed with: never silently */
static void
text_verdict_note(struct phx_buf *b, const struct result *r)
{
	unsigned long nw = r->nwarnings + r->more_warnings;

	if (r->recovered && nw)
		phx_buf_printf(b, " (recovered %lu, %lu warning%s)", r->recovered,
		    nw, nw == 1 ? "" : "s");
	else if (r->recovered)
		phx_buf_printf(b, " (recovered %lu)", r->recovered);
	else if (nw)
		phx_buf_printf(b, " (%lu warning%s)", nw, nw == 1 ? "" : "s");
}

static void
text_totals(const struct agg *agg, struct phx_buf *b)
{
	unsigned char *st = service_states(agg);
	unsigned long healthy = 0, passed = 0, running = 0, done = 0, fst[6] = { 0 };

	for (size_t i = 0; i < agg->nservices; i++)
		healthy += st[i] == SVC_HEALTHY;
	for (size_t i = 0; i < agg->ntests; i++)
		passed += phx_test_parse(agg->tests[i].status) == PHX_TEST_PASSED;
	for (size_t i = 0; i < agg->ncontainers; i++) {
		running += is_running(&agg->containers[i]);
		done += is_completed(&agg->containers[i]);
	}
	for (size_t i = 0; i < agg->nfindings; i++)
		fst[phx_status_parse(agg->findings[i].status)]++;
	phx_buf_printf(b, "totals   services %lu/%zu healthy, tests %lu/%zu "
	    "passed, containers %lu/%zu running", healthy, agg->nservices,
	    passed, agg->ntests, running, agg->ncontainers - done);
	if (done)
		phx_buf_printf(b, " (and %lu one-shot completed)", done);
	phx_buf_printf(b, ", findings %lu FAIL %lu WARN %lu PASS %lu other, "
	    "records %lu", fst[0], fst[1], fst[4], fst[2] + fst[3],
	    agg->st.records);
	if (agg->st.unknown)
		phx_buf_printf(b, " (%lu of unknown type, ignored)",
		    agg->st.unknown);
	phx_buf_addstr(b, "\n");
	free(st);
}

static void
text_write(struct out *o, const struct agg *agg, const struct result *r,
    const struct style *sty, bool verbose)
{
	struct phx_buf *b = &o->b;
	int w = name_width(agg);

	phx_buf_printf(b, "%sdeployment ", sty->bold);
	seg(b, "%s", or(phx_deployment_id(), "(none)"));
	phx_buf_printf(b, "%s  %.1f s\n", sty->off, duration_seconds(agg));
	text_services(o, agg, r, sty, w);
	text_tests(o, agg, r, sty, w);
	text_findings(o, agg, sty, verbose);
	text_recoveries(o, agg, sty);
	text_totals(agg, b);
	for (size_t i = 0; i < r->nerrors; i++) {
		seg(b, "reason   %s", r->errors[i]);
		phx_buf_addstr(b, "\n");
	}
	if (r->more_errors)
		phx_buf_printf(b, "reason   %lu more\n", r->more_errors);
	for (size_t i = 0; i < r->nwarnings; i++) {
		seg(b, "warning  %s", r->warnings[i]);
		phx_buf_addstr(b, "\n");
	}
	if (r->more_warnings)
		phx_buf_printf(b, "warning  %lu more\n", r->more_warnings);
	phx_buf_addstr(b, "verdict  ");
	status_word(b, sty, verdict_names[r->verdict], 0);
	text_verdict_note(b, r);
	phx_buf_addstr(b, "\n");
	if (r->report_path) {
		seg(b, "report   %s", r->report_path);
		phx_buf_addstr(b, "\n");
	}
}

/* colours only for a terminal that wants them */
void
text_print(const struct agg *agg, const struct result *r, bool verbose)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	bool color = isatty(STDOUT_FILENO) && !(nc && *nc) &&
	    !(term && strcmp(term, "dumb") == 0);
	struct style plain = { "", "", "", "", "" };
	struct style ansi = { "\033[32m", "\033[31;1m", "\033[33m", "\033[1m",
	    "\033[0m" };
	struct out out = { 0 };

	out_stdout(&out);
	text_write(&out, agg, r, color ? &ansi : &plain, verbose);
	out_close(&out);
}

