/* the verdict: what kept the run from being seen whole, what failed */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

const char *const verdict_names[3] = { "SUCCESS", "FAILED", "INCOMPLETE" };
const int verdict_exit[3] = { PHX_EXIT_OK, PHX_EXIT_FAIL, PHX_EXIT_USAGE };

bool
test_failed(const struct test *t)
{
	return strcmp(t->status, "failed") == 0 || strcmp(t->status, "error") == 0;
}

bool
finding_fails(const struct finding *f, enum phx_sev fail_on)
{
	return phx_finding_fails(phx_status_parse(f->status),
	    phx_sev_parse(f->severity), fail_on);
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
	r->errors = phx_reallocarray(r->errors, r->nerrors + 1,
	    sizeof *r->errors);
	r->errors[r->nerrors++] = s;
}

static const struct phase *
find_phase(const struct agg *agg, const char *name)
{
	size_t i;

	return table_get(&agg->phases_t, name, &i) ? &agg->phases[i] : NULL;
}

/* what kept the run from being seen whole */
static void
judge_incomplete(const struct agg *agg, struct result *r)
{
	const struct phase *probe = find_phase(agg, "probe");
	unsigned char *st;

	if (agg->st.lines == 0)
		add_error(r, "empty stream: no record was read");
	else if (agg->st.records == 0)
		add_error(r, "no phx record in the stream");
	for (size_t i = 0; i < agg->ninput_errors; i++)
		add_error(r, "%s", agg->input_errors[i]);
	if (agg->st.cut)
		add_error(r, "stream cut: the last line has no newline");
	for (size_t i = 0; i < agg->nphases; i++) {
		const struct phase *p = &agg->phases[i];
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
	st = service_states(agg);
	for (size_t i = 0; i < agg->nservices; i++)
		if (agg->services[i].has_checks && st[i] == SVC_UNKNOWN)
			add_error(r, "service %s: no health verdict although "
			    "the probe ran", agg->services[i].name);
	free(st);
}

static void
judge_checks(const struct agg *agg, struct result *r)
{
	for (size_t i = 0; i < agg->nchecks; i++) {
		const struct check *c = &agg->checks[i];
		if (strcmp(c->status, "healthy") == 0)
			continue;
		add_error(r, "service %s: %s check %s %s: %s: %s",
		    agg->services[c->svc].name, c->kind, c->target, c->status,
		    or(c->reason, "unknown"), or(c->message, "no message"));
	}
	for (size_t i = 0; i < agg->ntests; i++) {
		const struct test *t = &agg->tests[i];
		if (!test_failed(t))
			continue;
		add_error(r, "test %s%s%s %s%s%s: %s: %s", t->suite,
		    *t->suite ? "/" : "", t->name, t->status,
		    t->step ? " at step " : "", or(t->step, ""),
		    or(t->reason, "unknown"), or(t->message, "no message"));
	}
	for (size_t i = 0; i < agg->nfindings; i++) {
		const struct finding *f = &agg->findings[i];
		if (!finding_fails(f, r->fail_on))
			continue;
		add_error(r, "finding %s on %s: FAIL %s: %s", f->id, f->where,
		    f->severity, or(f->message, or(f->title, "no message")));
	}
}

/* what failed */
static void
judge_failed(const struct agg *agg, struct result *r)
{
	if (agg->dep.seen && strcmp(agg->dep.status, "failed") == 0)
		add_error(r, "deployment failed: %s: %s",
		    or(agg->dep.reason, "unknown"),
		    or(agg->dep.message, "no message"));
	for (size_t i = 0; i < agg->nphases; i++) {
		const struct phase *p = &agg->phases[i];
		if (p->ends > 0 && strcmp(p->status, "ok") != 0)
			add_error(r, "phase %s (%s) ended with status %s", p->name,
			    or(p->source, "?"), p->status);
	}
	judge_checks(agg, r);
	for (size_t i = 0; i < agg->nrecord_errors; i++)
		add_error(r, "%s", agg->record_errors[i]);
	if (agg->more_record_errors)
		add_error(r, "%lu more error records", agg->more_record_errors);
}

void
judge(const struct agg *agg, struct result *r)
{
	size_t n;

	judge_incomplete(agg, r);
	n = r->nerrors + r->more_errors;
	judge_failed(agg, r);
	if (n > 0)
		r->verdict = INCOMPLETE;
	else if (r->nerrors + r->more_errors > 0)
		r->verdict = FAILED;
	else
		r->verdict = SUCCESS;
}

void
result_free(struct result *r)
{
	for (size_t i = 0; i < r->nerrors; i++)
		free(r->errors[i]);
	free(r->errors);
	free(r->report_path);
}

/* the verdict record, in ndjson format, and the end of the report phase */
void
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

