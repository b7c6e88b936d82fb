/* JUnit XML: one testsuite a stage, one testcase a check, test or
 * finding */
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* XML 1.0 text: escaped; control characters, broken UTF-8 and the
 * non-characters U+FFFE and U+FFFF (no XML Char) as '?' */
static void
xml_add(struct phx_buf *b, const char *text)
{
	/* masked before it is escaped: an entity must not hide a secret */
	char *clean = phx_scrub(text ? text : "");
	const unsigned char *s = (const unsigned char *)clean;

	while (*s) {
		int n = utf8_seq((const char *)s);
		switch (*s) {
		case '&': phx_buf_addstr(b, "&amp;"); break;
		case '<': phx_buf_addstr(b, "&lt;"); break;
		case '>': phx_buf_addstr(b, "&gt;"); break;
		case '"': phx_buf_addstr(b, "&quot;"); break;
		case '\'': phx_buf_addstr(b, "&apos;"); break;
		case '\n': phx_buf_addstr(b, "&#10;"); break;
		case '\t': case '\r': phx_buf_add(b, s, 1); break;
		default:
			if (n == 0 || *s < 0x20 || (n == 3 && s[0] == 0xef &&
			    s[1] == 0xbf && s[2] >= 0xbe))
				phx_buf_addstr(b, "?");
			else
				phx_buf_add(b, s, (size_t)n);
		}
		s += n ? n : 1;
	}
	free(clean);
}

/* a testsuite is generated twice: to count (out NULL), then to write */
struct suite {
	const char *name;
	struct out *out;
	unsigned long tests, failures, errors, skipped;
	double time;
	int64_t start_ts;
};

/* a time of the schema's pattern: no sign */
static double
nonneg(double seconds)
{
	return seconds > 0 ? seconds : 0;
}

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
junit_deploy(const struct agg *agg, struct suite *s)
{
	char *msg, *name;

	if (!agg->dep.seen)
		return;
	msg = phx_asprintf("%s: %s", or(agg->dep.reason, "failed"),
	    or(agg->dep.message, ""));
	name = phx_asprintf("deployment %s", or(agg->dep.project, ""));
	junit_case(s, "deploy", name, agg->dep.duration_ms / 1000.0,
	    strcmp(agg->dep.status, "failed") == 0 ? "failure" : NULL,
	    agg->dep.reason, msg, NULL);
	free(name);
	free(msg);
}

static void
junit_checks(const struct agg *agg, struct suite *s)
{
	for (size_t i = 0; i < agg->nchecks; i++) {
		const struct check *c = &agg->checks[i];
		bool ok = phx_healthy(c->status);
		char *cls = phx_asprintf("probe.%s",
		    agg->services[c->svc].name);
		char *name = phx_asprintf("%s %s", c->kind, c->target);
		char *msg = phx_asprintf("%s: %s", or(c->reason, c->status),
		    or(c->message, ""));
		char *out = c->status_code ? phx_asprintf("%s after %d "
		    "attempt(s), status code %d", c->status, c->attempts,
		    c->status_code) : phx_asprintf("%s after %d attempt(s)",
		    c->status, c->attempts);
		/* let go under recovery: continue, shown as WARN findings are */
		bool let_go = !ok && continued(agg, "health",
		    agg->services[c->svc].name);
		junit_case(s, cls, name, c->response_ms / 1000.0,
		    ok ? NULL : let_go ? "skipped" : "failure",
		    let_go ? "continue" : c->reason, msg, out);
		free(cls);
		free(name);
		free(msg);
		free(out);
	}
}

static void
junit_tests(const struct agg *agg, struct suite *s)
{
	for (size_t i = 0; i < agg->ntests; i++) {
		const struct test *t = &agg->tests[i];
		enum phx_test st = phx_test_parse(t->status);
		const char *outcome = st == PHX_TEST_PASSED ? NULL :
		    st == PHX_TEST_SKIPPED ? "skipped" :
		    st == PHX_TEST_ERROR ? "error" : "failure";
		char *cls = phx_asprintf("functest.%s", or(t->suite, "tests"));
		char *key = test_key(t);
		bool let_go = phx_test_failed(t->status) &&
		    continued(agg, "functional", key);
		char *msg = phx_asprintf("%s%s%s%s", t->step ? "step " : "",
		    t->step ? t->step : "", t->step ? ": " : "",
		    or(t->message, or(t->reason, t->status)));
		junit_case(s, cls, t->name, t->duration_ms / 1000.0,
		    let_go ? "skipped" : outcome, let_go ? "continue" : t->reason,
		    msg, NULL);
		free(key);
		free(cls);
		free(msg);
	}
}

/* a WARN finding is no failure, but no pass either: CI shows it as
 * skipped, typed and titled WARN, so it is not lost among the passes */
static void
junit_findings(const struct agg *agg, struct suite *s, int fail_on)
{
	for (size_t i = 0; i < agg->nfindings; i++) {
		const struct finding *f = &agg->findings[i];
		bool warn = strcmp(f->status, "WARN") == 0;
		const char *outcome = strcmp(f->status, "FAIL") == 0 ? "failure" :
		    warn || strcmp(f->status, "SKIP") == 0 ? "skipped" : NULL;
		char *cls = phx_asprintf("secscan.%s", f->where);
		char *name = phx_asprintf("%s %s", f->id, or(f->title, ""));
		char *out = phx_asprintf("%s %s%s%s: %s%s%s%s%s", f->status,
		    f->severity, f->cis ? " CIS " : "", or(f->cis, ""),
		    or(f->message, ""), f->evidence ? "\nevidence: " : "",
		    or(f->evidence, ""), f->remediation ? "\nremediation: " : "",
		    or(f->remediation, ""));
		bool below = strcmp(f->status, "FAIL") == 0 &&
		    !finding_fails(f, fail_on);
		char *msg = phx_asprintf("%s%s%s: %s", warn ? "WARN " : "",
		    f->severity, below ? " (below the fail-on level)" : "",
		    or(f->message, or(f->title, "")));
		junit_case(s, cls, name, 0, outcome, warn ? "WARN" : f->severity,
		    msg, out);
		free(cls);
		free(name);
		free(out);
		free(msg);
	}
}

/* a stage that never finished, error records, a stream that was cut */
static void
junit_problems(const struct agg *agg, struct suite *s, int which,
    const struct result *r)
{
	for (size_t i = 0; i < agg->nphases; i++) {
		const struct phase *p = &agg->phases[i];
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
	for (size_t i = 0; i < agg->nrecord_errors; i++) {
		const char *e = agg->record_errors[i];
		if (phase_suite(e) == which)
			junit_case(s, "errors", e, 0, "error", "error", e, NULL);
	}
	if (which == S_STREAM && (agg->st.cut || agg->ninput_errors ||
	    agg->st.records == 0 || (r->unproven && !r->has_root))) {
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
junit_suite(const struct agg *agg, struct suite *s, int which,
    const struct result *r)
{
	switch (which) {
	case S_DEPLOY: junit_deploy(agg, s); break;
	case S_PROBE: junit_checks(agg, s); break;
	case S_FUNCTEST: junit_tests(agg, s); break;
	case S_SECSCAN: junit_findings(agg, s, r->fail_on); break;
	default: break;
	}
	junit_problems(agg, s, which, r);
}

void
junit_write(struct out *o, const struct agg *agg, const struct result *r)
{
	struct suite s[NSUITES] = {
		{ .name = "deploy" }, { .name = "probe" },
		{ .name = "functest" }, { .name = "secscan" },
		{ .name = "stream" },
	};
	unsigned long t = 0, f = 0, e = 0;
	char ts[32];

	for (int i = 0; i < NSUITES; i++) {
		junit_suite(agg, &s[i], i, r);
		t += s[i].tests;
		f += s[i].failures;
		e += s[i].errors;
	}
	phx_buf_addstr(&o->b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<testsuites name=\"");
	xml_add(&o->b, or(phx_deployment_id(), "phx"));
	/* junit-10.xsd, which Jenkins' xunit plugin checks against, allows
	 * no skipped count here: each testsuite has its own */
	phx_buf_printf(&o->b, "\" tests=\"%lu\" failures=\"%lu\" "
	    "errors=\"%lu\" time=\"%.3f\">\n", t, f, e,
	    nonneg(duration_seconds(agg)));
	for (int i = 0; i < NSUITES; i++) {
		if (!s[i].tests)
			continue;
		phx_ts_format(s[i].start_ts > 0 ? s[i].start_ts :
		    agg->min_ts >= 0 ? agg->min_ts : 0, ts);
		ts[19] = '\0';   /* JUnit's timestamp has no zone */
		phx_buf_printf(&o->b, "  <testsuite name=\"%s\" tests=\"%lu\" "
		    "failures=\"%lu\" errors=\"%lu\" skipped=\"%lu\" "
		    "time=\"%.3f\" timestamp=\"%s\">\n", s[i].name, s[i].tests,
		    s[i].failures, s[i].errors, s[i].skipped, nonneg(s[i].time),
		    ts);
		s[i].out = o;
		junit_suite(agg, &s[i], i, r);
		phx_buf_addstr(&o->b, "  </testsuite>\n");
	}
	phx_buf_addstr(&o->b, "</testsuites>\n");
}

