/* the verdict: what kept the run from being seen whole, what failed */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

const char *const verdict_names[3] = { "SUCCESS", "FAILED", "INCOMPLETE" };
const int verdict_exit[3] = { PHX_EXIT_OK, PHX_EXIT_FAIL, PHX_EXIT_USAGE };

/* a test skipped because something before it failed is not a failure */
bool
test_failed(const struct test *t)
{
	return phx_test_failed(t->status) && !same_str(t->reason, "upstream");
}

bool
finding_fails(const struct finding *f, enum phx_sev fail_on)
{
	return phx_finding_fails(phx_status_parse(f->status),
	    phx_sev_parse(f->severity), fail_on);
}

static void
add_verror(struct result *r, const char *suffix, const char *fmt, va_list ap)
{
	char *s;

	if (r->nerrors >= MAX_ERRORS) {
		r->more_errors++;
		return;
	}
	if (vasprintf(&s, fmt, ap) < 0)
		phx_die(PHX_EXIT_ENV, "out of memory");
	if (*suffix) {
		char *t = phx_asprintf("%s%s", s, suffix);
		free(s);
		s = t;
	}
	r->errors = phx_reallocarray(r->errors, r->nerrors + 1,
	    sizeof *r->errors);
	r->errors[r->nerrors++] = s;
}

static void
add_error(struct result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void
add_warning(struct result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void
add_effect(struct result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
add_error(struct result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_verror(r, "", fmt, ap);
	va_end(ap);
}

/* a failure the recovery policy let go: said, but it fails nothing */
static void
add_warning(struct result *r, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (r->nwarnings >= MAX_ERRORS) {
		r->more_warnings++;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		phx_die(PHX_EXIT_ENV, "out of memory");
	va_end(ap);
	r->warnings = phx_reallocarray(r->warnings, r->nwarnings + 1,
	    sizeof *r->warnings);
	r->warnings[r->nwarnings++] = s;
}

/* a reason that may follow from the root cause: it points there */
static void
add_effect(struct result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_verror(r, r->has_root ? UPSTREAM : "", fmt, ap);
	va_end(ap);
}

static size_t
nreasons(const struct result *r)
{
	return r->nerrors + r->more_errors;
}

static const struct phase *
find_phase(const struct agg *agg, const char *name)
{
	size_t i;

	return table_get(&agg->phases_t, name, &i) ? &agg->phases[i] : NULL;
}

static const char *signal_name(int sig);

/* a run cut short by a signal ends as the other stages do: 128+N */
int
result_exit(const struct result *r)
{
	return r->interrupted ? 128 + r->interrupted : verdict_exit[r->verdict];
}

/* what kept the run from being seen whole */
static void
judge_incomplete(const struct agg *agg, struct result *r)
{
	const struct phase *probe = find_phase(agg, "probe");
	unsigned char *st;

	if (r->interrupted)
		add_error(r, "interrupted by signal %d (%s) while reading the "
		    "stream", r->interrupted, signal_name(r->interrupted));
	/* judged by the defaults: the configuration may have judged otherwise */
	if (r->config_error && r->has_root &&
	    same_str(r->config_error, agg->deploy_error.message))
		add_effect(r, "phx-report could not read its configuration either");
	else if (r->config_error)
		add_error(r, "phx-report: configuration: %s", r->config_error);
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
			add_effect(r, "service %s: no health verdict although "
			    "the probe ran", agg->services[i].name);
	free(st);
}

static bool
deploy_failed(const struct agg *agg)
{
	const struct phase *p = find_phase(agg, "deploy");

	if (agg->dep.seen && strcmp(agg->dep.status, "failed") == 0)
		return true;
	if (p && p->ends > 0 && strcmp(p->status, "ok") != 0)
		return true;
	return agg->deploy_error.text && !(agg->dep.seen &&
	    strcmp(agg->dep.status, "running") == 0);
}

/* the one cause a failed deployment has, said first: phx-deploy's
 * earliest error record, else its failed deployment, else its phase */
static void
judge_root(const struct agg *agg, struct result *r)
{
	const struct first_error *e = &agg->deploy_error;
	const struct phase *p = find_phase(agg, "deploy");
	static const char head[] = "root cause: phx-deploy ended in error: ";

	if (!deploy_failed(agg))
		return;
	if (e->text && e->service && !strstr(e->message, e->service))
		add_error(r, "%sservice %s: %s", head, e->service, e->message);
	else if (e->text)
		add_error(r, "%s%s", head, e->message);
	else if (agg->dep.seen && strcmp(agg->dep.status, "failed") == 0)
		add_error(r, "%sdeployment failed: %s: %s", head,
		    or(agg->dep.reason, "unknown"),
		    or(agg->dep.message, "no message"));
	else
		add_error(r, "%sphase deploy ended with status %s", head,
		    p->status);
	r->has_root = true;
}

/* a run passes only when it shows that what was expected was checked:
 * a deployment or a probe by health checks, else tests (findings alone
 * prove nothing: a scan runs even when every stage before it died) */
static void
judge_proof(const struct agg *agg, struct result *r)
{
	bool deployed = agg->dep.seen || find_phase(agg, "deploy");
	size_t checked = agg->nchecks;

	if (r->allow_empty || agg->st.records == 0)
		return;
	for (size_t i = 0; i < agg->ntests; i++)
		checked += phx_test_parse(agg->tests[i].status) != PHX_TEST_SKIPPED &&
		    !same_str(agg->tests[i].reason, "upstream");
	if ((deployed || find_phase(agg, "probe")) && agg->nchecks == 0)
		add_effect(r, "no services were checked%s", deployed &&
		    agg->nservices == 0 ? ": the deployment reported none" : "");
	else if (checked == 0)
		add_effect(r, "nothing was checked: no health check and no "
		    "test in the stream");
}

static const char *
signal_name(int sig)
{
	static const struct { int sig; const char *name; } names[] = {
		{ 1, "SIGHUP" }, { 2, "SIGINT" }, { 3, "SIGQUIT" },
		{ 6, "SIGABRT" }, { 9, "SIGKILL" }, { 11, "SIGSEGV" },
		{ 13, "SIGPIPE" }, { 15, "SIGTERM" },
	};

	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (names[i].sig == sig)
			return names[i].name;
	return "a signal";
}

/* what a container's exit code means, for people */
static void
explain_exit(struct phx_buf *b, const struct container *c)
{
	int code = c->exit_code;

	if (code < 0)
		return;
	phx_buf_printf(b, " with code %d", code);
	if (code == 137) {
		phx_buf_addstr(b, ": killed by SIGKILL, often the OOM killer");
		if (c->mem_limit >= 1048576)
			phx_buf_printf(b, " (memory limit %.0f MiB)",
			    c->mem_limit / 1048576);
		else if (c->mem_limit > 0)
			phx_buf_printf(b, " (memory limit %.0f bytes)",
			    c->mem_limit);
	} else if (code > 128 && code < 160)
		phx_buf_printf(b, ": killed by %s (signal %d)",
		    signal_name(code - 128), code - 128);
	else if (code == 126)
		phx_buf_addstr(b, ": its command could not be run");
	else if (code == 127)
		phx_buf_addstr(b, ": its command was not found");
	else if (code == 0)
		phx_buf_addstr(b, ": its main process ended");
}

/* how a container that is not running ended up so */
static void
describe_state(struct phx_buf *b, const struct container *c,
    const char *state)
{
	if (strcmp(state, "exited") == 0 || strcmp(state, "stopped") == 0) {
		phx_buf_addstr(b, state);
		explain_exit(b, c);
	} else if (strcmp(state, "missing") == 0)
		phx_buf_addstr(b, "is missing");
	else if (strcmp(state, "created") == 0)
		phx_buf_addstr(b, "was created and never started");
	else {
		phx_buf_printf(b, "is %s, not running,", state);
		explain_exit(b, c);
	}
}

/* a container that is not running at the end (and was not taken down
 * on purpose), or that restarted */
static void
judge_container(const struct agg *agg, const struct container *c,
    struct result *r)
{
	const char *state = or(c->state, "unknown");
	bool fine = is_running(c) || is_completed(c) || strcmp(state, "removed") == 0 ||
	    strcmp(state, "removing") == 0;
	struct phx_buf b = { 0 };

	if (fine && c->restarts <= 0)
		return;
	if (!fine)
		describe_state(&b, c, state);
	if (c->restarts > 0)
		phx_buf_printf(&b, "%srestarted %d time%s", b.len ? "; " : "",
		    c->restarts, c->restarts == 1 ? "" : "s");
	if (continued(agg, "health", c->service))
		add_warning(r, "service %s: container %s %s (recovery: continue)",
		    c->service, c->name, phx_buf_str(&b));
	else
		add_effect(r, "service %s: container %s %s", or(c->service, "?"),
		    c->name, phx_buf_str(&b));
	phx_buf_free(&b);
}

static void
judge_checks(const struct agg *agg, struct result *r)
{
	for (size_t i = 0; i < agg->ncontainers; i++)
		judge_container(agg, &agg->containers[i], r);
	for (size_t i = 0; i < agg->nchecks; i++) {
		const struct check *c = &agg->checks[i];
		if (phx_healthy(c->status))
			continue;
		if (continued(agg, "health", agg->services[c->svc].name))
			add_warning(r, "service %s: %s check %s %s: %s: %s "
			    "(recovery: continue)", agg->services[c->svc].name,
			    c->kind, c->target, c->status, or(c->reason, "unknown"),
			    or(c->message, "no message"));
		else
			add_effect(r, "service %s: %s check %s %s: %s: %s",
		    agg->services[c->svc].name, c->kind, c->target, c->status,
		    or(c->reason, "unknown"), or(c->message, "no message"));
	}
	for (size_t i = 0; i < agg->ntests; i++) {
		const struct test *t = &agg->tests[i];
		char *key, *msg;
		if (!test_failed(t))
			continue;
		key = test_key(t);
		msg = phx_asprintf("test %s %s%s%s: %s: %s", key, t->status,
		    t->step ? " at step " : "", or(t->step, ""),
		    or(t->reason, "unknown"), or(t->message, "no message"));
		if (continued(agg, "functional", key))
			add_warning(r, "%s (recovery: continue)", msg);
		else
			add_effect(r, "%s", msg);
		free(key);
		free(msg);
	}
	for (size_t i = 0; i < agg->nfindings; i++) {
		const struct finding *f = &agg->findings[i];
		if (!finding_fails(f, r->fail_on))
			continue;
		add_error(r, "finding %s on %s: FAIL %s: %s", f->id, f->where,
		    f->severity, or(f->message, or(f->title, "no message")));
	}
}

/* another stage's error record that says the root cause again (every
 * stage given the same broken configuration): its phase points there */
static bool
repeats_root(const struct agg *agg, const char *e)
{
	const char *m = agg->deploy_error.message;
	size_t el = strlen(e), ml = m ? strlen(m) : 0;

	return m && el > ml + 2 && strncmp(e + el - ml - 2, ": ", 2) == 0 &&
	    strcmp(e + el - ml, m) == 0;
}

/* what failed; with a root cause, the deployment's own failure is said
 * once (as the root) and what followed points to it */
static void
judge_failed(const struct agg *agg, struct result *r)
{
	if (!r->has_root && agg->dep.seen &&
	    strcmp(agg->dep.status, "failed") == 0)
		add_error(r, "deployment failed: %s: %s",
		    or(agg->dep.reason, "unknown"),
		    or(agg->dep.message, "no message"));
	for (size_t i = 0; i < agg->nphases; i++) {
		const struct phase *p = &agg->phases[i];
		if (p->ends == 0 || strcmp(p->status, "ok") == 0)
			continue;
		if (!r->has_root)
			add_error(r, "phase %s (%s) ended with status %s",
			    p->name, or(p->source, "?"), p->status);
		else if (strcmp(p->name, "deploy") != 0)
			add_effect(r, "phase %s (%s) ended with status %s",
			    p->name, or(p->source, "?"), p->status);
	}
	judge_checks(agg, r);
	for (size_t i = 0; i < agg->nrecord_errors; i++) {
		const char *e = agg->record_errors[i];
		if (r->has_root && (same_str(e, agg->deploy_error.text) ||
		    repeats_root(agg, e)))
			continue;
		if (strncmp(e, "phx-deploy: ", 12) == 0)
			add_error(r, "%s", e);
		else
			add_effect(r, "%s", e);
	}
	if (agg->more_record_errors)
		add_error(r, "%lu more error records", agg->more_record_errors);
}

/* what the run itself needed to pass: a deployment rollback brought
 * back an earlier deployment, not this one, and recovers nothing of it */
static unsigned long
recovered_in_run(const struct agg *agg)
{
	unsigned long n = recoveries_with(agg, "recovered");

	for (size_t i = 0; i < agg->nrecoveries; i++)
		n -= same_str(agg->recoveries[i].category, "deployment") &&
		    same_str(agg->recoveries[i].outcome, "recovered");
	return n;
}

/* INCOMPLETE when the stream is not whole, FAILED when something failed,
 * INCOMPLETE again when nothing shows that the run checked anything */
void
judge(const struct agg *agg, struct result *r)
{
	size_t n, incomplete, failed, unproven;

	r->recovered = recovered_in_run(agg);
	judge_root(agg, r);
	n = nreasons(r);
	judge_incomplete(agg, r);
	incomplete = nreasons(r) - n;
	n = nreasons(r);
	judge_failed(agg, r);
	failed = nreasons(r) - n + r->has_root;
	n = nreasons(r);
	judge_proof(agg, r);
	unproven = nreasons(r) - n;
	r->unproven = unproven > 0;
	if (incomplete > 0)
		r->verdict = INCOMPLETE;
	else if (failed > 0)
		r->verdict = FAILED;
	else if (unproven > 0)
		r->verdict = INCOMPLETE;
	else
		r->verdict = SUCCESS;
}

void
result_free(struct result *r)
{
	for (size_t i = 0; i < r->nerrors; i++)
		free(r->errors[i]);
	free(r->errors);
	for (size_t i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	free(r->report_path);
	free(r->config_error);
}

/* the verdict record, in ndjson format, and the end of the report phase */
void
emit_verdict(const struct result *r, int64_t started)
{
	cJSON *rec = phx_record_new("verdict"), *errs;
	static const char *phase_status[] = { "ok", "failed", "error" };

	cJSON_AddStringToObject(rec, "status", verdict_names[r->verdict]);
	cJSON_AddNumberToObject(rec, "exit_status", result_exit(r));
	errs = cJSON_AddArrayToObject(rec, "errors");
	for (size_t i = 0; i < r->nerrors; i++)
		cJSON_AddItemToArray(errs, cJSON_CreateString(r->errors[i]));
	if (r->recovered)
		cJSON_AddNumberToObject(rec, "recovered", (double)r->recovered);
	if (r->nwarnings) {
		errs = cJSON_AddArrayToObject(rec, "warnings");
		for (size_t i = 0; i < r->nwarnings; i++)
			cJSON_AddItemToArray(errs,
			    cJSON_CreateString(r->warnings[i]));
	}
	if (r->report_path)
		cJSON_AddStringToObject(rec, "report", r->report_path);
	phx_emit(rec);
	phx_phase_end("report", started, phase_status[r->verdict], NULL);
}

