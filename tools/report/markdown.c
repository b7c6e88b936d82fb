/* GitHub's job summary (Markdown: verdict, services, tests, findings)
 * and workflow commands that annotate the compose file line of each
 * service that failed */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report.h"

/* one line, masked, nothing GitHub renders as markup or a cell's end */
static void
md_text(struct phx_buf *b, const char *s)
{
	char *clean = shown(s ? s : "");

	for (const char *p = clean; *p; p++)
		if (strchr("|<>&`*[]\\", *p))
			phx_buf_printf(b, "&#%d;", (unsigned char)*p);
		else
			phx_buf_add(b, p, 1);
	free(clean);
}

static void
md_cell(struct phx_buf *b, const char *s)
{
	phx_buf_addstr(b, "| ");
	md_text(b, s);
	phx_buf_addstr(b, " ");
}

static void
md_row(struct out *o, int n, const char *const *cells)
{
	for (int i = 0; i < n; i++)
		md_cell(&o->b, cells[i]);
	phx_buf_addstr(&o->b, "|\n");
	out_mark(o);
}

static void
md_services(struct out *o, const struct agg *agg)
{
	static const char *const head[] = { "service", "status", "check", "why" };
	unsigned char *st = service_states(agg);
	const struct check **prim = primary_checks(agg);

	phx_buf_addstr(&o->b, "\n### Services\n\n");
	md_row(o, 4, head);
	phx_buf_addstr(&o->b, "|---|---|---|---|\n");
	for (size_t i = 0; i < agg->nservices; i++) {
		const char *why = NULL;
		for (size_t k = 0; k < agg->nchecks && !why; k++)
			if (agg->checks[k].svc == i &&
			    strcmp(agg->checks[k].status, "healthy") != 0)
				why = or(agg->checks[k].message,
				    agg->checks[k].reason);
		const char *cells[] = { agg->services[i].name,
		    svc_state_name(st[i]), prim[i] ? prim[i]->target : "",
		    or(why, "") };
		md_row(o, 4, cells);
	}
	free(st);
	free(prim);
}

static void
md_tests(struct out *o, const struct agg *agg)
{
	static const char *const head[] = { "test", "status", "seconds",
	    "message" };

	phx_buf_addstr(&o->b, "\n### Tests\n\n");
	md_row(o, 4, head);
	phx_buf_addstr(&o->b, "|---|---|--:|---|\n");
	for (size_t i = 0; i < agg->ntests; i++) {
		const struct test *t = &agg->tests[i];
		char *key = test_key(t), secs[32];
		snprintf(secs, sizeof secs, "%.2f", t->duration_ms / 1000.0);
		const char *cells[] = { key, t->status, secs, or(t->message, "") };
		md_row(o, 4, cells);
		free(key);
	}
}

/* findings that did not pass; the passed ones are only counted */
static void
md_findings(struct out *o, const struct agg *agg)
{
	static const char *const head[] = { "rule", "severity", "status",
	    "where", "title" };
	unsigned long passed = 0;

	phx_buf_addstr(&o->b, "\n### Security findings\n\n");
	md_row(o, 5, head);
	phx_buf_addstr(&o->b, "|---|---|---|---|---|\n");
	for (size_t i = 0; i < agg->nfindings; i++) {
		const struct finding *f = &agg->findings[i];
		if (strcmp(f->status, "PASS") == 0) {
			passed++;
			continue;
		}
		const char *cells[] = { f->id, f->severity, f->status,
		    or(f->where, ""), or(f->title, "") };
		md_row(o, 5, cells);
	}
	phx_buf_printf(&o->b, "\n%lu passed.\n", passed);
}

static void
md_recoveries(struct out *o, const struct agg *agg)
{
	static const char *const head[] = { "recovery", "subject", "outcome",
	    "why" };

	if (!agg->nrecoveries)
		return;
	phx_buf_addstr(&o->b, "\n### Recovery\n\n");
	md_row(o, 4, head);
	phx_buf_addstr(&o->b, "|---|---|---|---|\n");
	for (size_t i = 0; i < agg->nrecoveries; i++) {
		const struct recovery *v = &agg->recoveries[i];
		char *what = phx_asprintf("%s %s", v->category, v->action);
		const char *cells[] = { what, v->subject, or(v->outcome, ""),
		    or(v->why, "") };
		md_row(o, 4, cells);
		free(what);
	}
}

void
markdown_write(struct out *o, const struct agg *agg, const struct result *r)
{
	static const char *const mark[] = { ":white_check_mark:", ":x:",
	    ":warning:" };

	phx_buf_printf(&o->b, "## %s phx deployment validation: %s",
	    mark[r->verdict], verdict_names[r->verdict]);
	if (r->recovered)
		phx_buf_printf(&o->b, " (recovered %lu)", r->recovered);
	phx_buf_addstr(&o->b, "\n\n");
	phx_buf_addstr(&o->b, "Deployment ");
	md_text(&o->b, or(phx_deployment_id(), "(none)"));
	phx_buf_printf(&o->b, ", %.1f s\n", duration_seconds(agg));
	for (size_t i = 0; i < r->nerrors; i++) {
		phx_buf_addstr(&o->b, i ? "\n- " : "\n**Why**\n\n- ");
		md_text(&o->b, r->errors[i]);
	}
	for (size_t i = 0; i < r->nwarnings; i++) {
		phx_buf_addstr(&o->b, i ? "\n- " : "\n**Warnings** (recovery: "
		    "continue)\n\n- ");
		md_text(&o->b, r->warnings[i]);
	}
	phx_buf_addstr(&o->b, "\n");
	out_mark(o);
	md_recoveries(o, agg);
	md_services(o, agg);
	md_tests(o, agg);
	md_findings(o, agg);
	out_mark(o);
}

/* a workflow command's value: %, CR, LF (and in a property : and ,)
 * percent-encoded, as the runner decodes them */
static void
gh_escape(struct phx_buf *b, const char *s, bool property)
{
	char *clean = phx_scrub(s ? s : "");

	for (const char *p = clean; *p; p++)
		if (strchr("%\r\n", *p) || (property && strchr(":,", *p)))
			phx_buf_printf(b, "%%%02X", (unsigned char)*p);
		else
			phx_buf_add(b, p, 1);
	free(clean);
}

static void
gh_error(struct out *o, const char *file, int line, const char *title,
    const char *msg)
{
	phx_buf_addstr(&o->b, "::error ");
	if (file && line > 0) {
		phx_buf_addstr(&o->b, "file=");
		gh_escape(&o->b, file, true);
		phx_buf_printf(&o->b, ",line=%d,", line);
	}
	phx_buf_addstr(&o->b, "title=");
	gh_escape(&o->b, title, true);
	phx_buf_addstr(&o->b, "::");
	gh_escape(&o->b, msg, false);
	phx_buf_addstr(&o->b, "\n");
	out_mark(o);
}

/* ::error file=compose.yaml,line=N:: for each unhealthy service, at its
 * key in the compose file the stream names; one more for each failed
 * test, and the root cause */
void
annotations_write(struct out *o, const struct agg *agg,
    const struct result *r)
{
	const char *file = agg->dep.compose_file;
	unsigned char *st = service_states(agg);
	struct stat sb;
	size_t len;
	/* the stream names the file: only a regular one of a sane size */
	char *data = file && stat(file, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    sb.st_size < (1 << 20) ? phx_read_file(file, &len) : NULL;
	cJSON *lines = data ? phx_compose_lines(data, len) : NULL;

	for (size_t i = 0; i < agg->nservices; i++) {
		const char *name = agg->services[i].name, *why = "unhealthy";
		char *title;
		if (st[i] != SVC_UNHEALTHY)
			continue;
		for (size_t k = 0; k < agg->nchecks; k++)
			if (agg->checks[k].svc == i &&
			    strcmp(agg->checks[k].status, "healthy") != 0) {
				why = or(agg->checks[k].message, why);
				break;
			}
		title = phx_asprintf("service %s unhealthy", name);
		gh_error(o, file, (int)phx_jint(lines, name, 0, 0, INT_MAX), title, why);
		free(title);
	}
	for (size_t i = 0; i < agg->ntests; i++)
		if (test_failed(&agg->tests[i])) {
			char *key = test_key(&agg->tests[i]);
			gh_error(o, NULL, 0, key, or(agg->tests[i].message,
			    agg->tests[i].status));
			free(key);
		}
	if (r->verdict != SUCCESS && r->nerrors)
		gh_error(o, NULL, 0, verdict_names[r->verdict], r->errors[0]);
	cJSON_Delete(lines);
	free(data);
	free(st);
}
