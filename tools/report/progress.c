/* live progress on a terminal */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "report.h"

void
progress_clear(struct progress *p)
{
	if (p->on && p->drawn) {
		fputs("\r\033[K", stderr);
		p->drawn = 0;
	}
}

/* every line written to stderr while the line is drawn: the reader's
 * warnings and the stages' log records (phx_log_relay) go above it */
static struct progress *owner;
static const struct agg *owner_agg;

static void
around_log_line(bool before)
{
	if (before)
		progress_clear(owner);
	else
		progress_draw(owner, owner_agg, true);
}

void
progress_own_stderr(struct progress *p, const struct agg *agg)
{
	owner = p;
	owner_agg = agg;
	phx_log_guard(p && p->on ? around_log_line : NULL);
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

void
progress_draw(struct progress *p, const struct agg *agg, bool force)
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
	for (size_t i = 0; i < agg->nphases; i++)
		if (agg->phases[i].starts > agg->phases[i].ends &&
		    (!cur || upstream_of(&agg->phases[i], cur)))
			cur = &agg->phases[i];
	st = service_states(agg);
	for (size_t i = 0; i < agg->nservices; i++) {
		healthy += st[i] == SVC_HEALTHY;
		checked += st[i] != SVC_UNKNOWN;
	}
	free(st);
	for (size_t i = 0; i < agg->ntests; i++) {
		passed += phx_test_parse(agg->tests[i].status) == PHX_TEST_PASSED;
		failed += test_failed(&agg->tests[i]);
	}
	for (size_t i = 0; i < agg->nfindings; i++)
		bad += strcmp(agg->findings[i].status, "FAIL") == 0;
	snprintf(line, sizeof line, "%s: %llds  %s%s  services %lu healthy "
	    "%lu unhealthy of %zu  tests %lu passed %lu failed  findings %lu "
	    "FAIL  %lu records", phx_progname,
	    (long long)((now - p->t0) / 1000), cur ? cur->name : "waiting",
	    cur ? " running" : "", healthy, checked - healthy, agg->nservices,
	    passed, failed, bad, agg->st.records);
	clean = shown(line);
	if ((int)strlen(clean) >= term_width())
		clean[term_width() - 1] = '\0';
	fprintf(stderr, "\r\033[K%s", clean);
	fflush(stderr);
	free(clean);
	p->drawn = now;
}

/* what stays on screen: a stage ended, a check failed; in a log (no
 * terminal) also each stage's start and each service's verdict, so a
 * CI log never goes silent while a stage works */
static char *
note_text(const cJSON *rec, const char *type, bool all)
{
	const char *status = phx_jstr(rec, "status"), *event;

	if (strcmp(type, "phase") == 0) {
		event = phx_jstr(rec, "event");
		if (same_str(event, "end") && status)
			return phx_asprintf("%s ended %s in %.1f s", or(phx_jstr(rec,
			    "phase"), "?"), status,
			    phx_jnum(rec, "duration_ms", 0) / 1000);
		if (all && same_str(event, "start"))
			return phx_asprintf("%s started", or(phx_jstr(rec,
			    "phase"), "?"));
		return NULL;
	}
	if (!status)
		return NULL;
	if (strcmp(type, "health") == 0 && (all ||
	    strcmp(status, "healthy") != 0))
		return phx_asprintf("%s %s%s%s", or(phx_jstr(rec, "service"),
		    "?"), status, strcmp(status, "healthy") ? ": " : "",
		    strcmp(status, "healthy") ? or(phx_jstr(rec, "message"),
		    or(phx_jstr(rec, "reason"), "")) : "");
	if (strcmp(type, "test") == 0 && (strcmp(status, "failed") == 0 ||
	    strcmp(status, "error") == 0))
		return phx_asprintf("test %s %s: %s", or(phx_jstr(rec, "name"),
		    "?"), status, or(phx_jstr(rec, "message"), ""));
	return NULL;
}

void
progress_note(struct progress *p, const struct agg *agg, const cJSON *rec,
    const char *type)
{
	char *line, *clean;

	if (!p->on && !p->lines)
		return;
	if (!(line = note_text(rec, type, p->lines)))
		return;
	progress_clear(p);
	clean = shown(line);
	fprintf(stderr, "%s: %s\n", phx_progname, clean);
	fflush(stderr);
	free(clean);
	free(line);
	progress_draw(p, agg, true);
}
