/* phx-functest: a test's outcome (the first failure wins) and its record */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "functest.h"

static pthread_mutex_t emit_lock = PTHREAD_MUTEX_INITIALIZER;

/* invalid UTF-8 and NULs become '?', so records stay valid JSON text */
void
sanitize_utf8(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 :
		    (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
		int i;
		for (i = 1; n > 0 && i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				break;
		if (n < 0 || (n > 0 && i <= n)) {
			*p++ = '?';
			continue;
		}
		p += n + 1;
	}
}

char *
snippet(const struct phx_buf *b)
{
	char *s = phx_asprintf("%.*s%s", (int)(b->len < SNIPPET ? b->len : SNIPPET),
	    b->data ? b->data : "", b->len > SNIPPET ? "..." : "");

	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	sanitize_utf8(s);
	return s;
}

static void
voutcome(struct test_run *r, enum phx_test status, const char *step,
    const char *reason, const char *fmt, va_list ap)
{
	if (r->status != PHX_TEST_PASSED)
		return;   /* the first failure is the one reported */
	r->status = status;
	r->step = step;
	r->reason = reason;
	/* later calls (a clean-up's) must not put their status beside this
	 * failure's message */
	r->http_status = r->last_status;
	vsnprintf(r->message, sizeof r->message, fmt, ap);
}

void
outcome(struct test_run *r, enum phx_test status, const char *step,
    const char *reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	voutcome(r, status, step, reason, fmt, ap);
	va_end(ap);
}

/* a check failed */
void
fail(struct test_run *r, const char *step, const char *reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	voutcome(r, PHX_TEST_FAILED, step, reason, fmt, ap);
	va_end(ap);
}

/* the test could not be run */
void
cannot_run(struct test_run *r, const char *step, const char *reason,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	voutcome(r, PHX_TEST_ERROR, step, reason, fmt, ap);
	va_end(ap);
}

bool
passed(const struct test_run *r)
{
	return r->status == PHX_TEST_PASSED;
}

/* the failure does not fail the run (recovery.functional: continue):
 * a record says so, after the test's own */
static void
emit_continue(const struct test_run *r)
{
	cJSON *rec = phx_recovery_record("functional", "continue", NULL,
	    *r->message ? r->message : phx_test_names[r->status]);

	cJSON_AddStringToObject(rec, "suite", r->t->suite->name);
	cJSON_AddStringToObject(rec, "test", r->t->name);
	cJSON_AddStringToObject(rec, "outcome", "continued");
	functest.continued++;
	phx_emit(rec);
}

void
emit_result(struct test_run *r)
{
	cJSON *rec = phx_record_new("test");

	cJSON_AddStringToObject(rec, "suite", r->t->suite->name);
	cJSON_AddStringToObject(rec, "name", r->t->name);
	phx_add_ref(rec, "status", phx_test_names[r->status]);
	cJSON_AddNumberToObject(rec, "duration_ms",
	    (double)(phx_now_ms() - r->started));
	if (r->step)
		cJSON_AddStringToObject(rec, "step", r->step);
	if (r->http_status && !passed(r))
		cJSON_AddNumberToObject(rec, "http_status", (double)r->http_status);
	if (r->has_exit)
		cJSON_AddNumberToObject(rec, "exit_code", r->exit_code);
	if (r->reason)
		cJSON_AddStringToObject(rec, "reason", r->reason);
	if (r->t->suite->upstream_reason)
		cJSON_AddStringToObject(rec, "upstream_reason",
		    r->t->suite->upstream_reason);
	if (*r->message)
		cJSON_AddStringToObject(rec, "message", r->message);
	if (r->output)
		cJSON_AddStringToObject(rec, "output", r->output);
	if (r->errout)
		cJSON_AddStringToObject(rec, "stderr", r->errout);
	pthread_mutex_lock(&emit_lock);
	functest.counts[r->status]++;
	phx_emit(rec);
	if (r->t->suite->go_on && phx_test_failed(phx_test_names[r->status]))
		emit_continue(r);
	pthread_mutex_unlock(&emit_lock);
	if (passed(r))
		phx_log(PHX_DEBUG, "%s/%s: passed", r->t->suite->name, r->t->name);
	/* with a phx-report downstream it says the failure, from the record */
	else if (!phx_log_streamed())
		phx_log(PHX_INFO, "%s/%s: %s%s%s: %s", r->t->suite->name,
		    r->t->name, phx_test_names[r->status], r->step ? " at " : "",
		    r->step ? r->step : "", r->message);
}
