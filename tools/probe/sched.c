/* phx-probe's scheduling: the queue of checks to run, at most
 * concurrency attempts at a time; retries after a backoff (or, in wait
 * mode, a doubling delay); the verdict of a check. */
#include <math.h>
#include <string.h>

#include "probe.h"

#define WAIT_FIRST_MS 100     /* first delay in wait mode, doubling to interval */
#define MIN_ATTEMPT_MS 1000   /* the least time an attempt is started with */

static struct check *queue, *queue_tail;   /* due now, waiting for a slot */
static int running;

void
queue_push(struct check *c)
{
	c->state = S_QUEUED;
	c->next = NULL;
	if (queue_tail)
		queue_tail->next = c;
	else
		queue = c;
	queue_tail = c;
}

static void
waiting_insert(struct check *c, int64_t due)
{
	struct check **pp = &probe.waiting;

	c->state = S_WAITING;
	c->due = due;
	while (*pp && (*pp)->due <= due)
		pp = &(*pp)->next;
	c->next = *pp;
	*pp = c;
}

void
list_remove(struct check **head, struct check *c, bool polled)
{
	for (struct check **pp = head; *pp;
	    pp = polled ? &(*pp)->pnext : &(*pp)->next)
		if (*pp == c) {
			*pp = polled ? c->pnext : c->next;
			return;
		}
}

void
verdict(struct check *c, bool healthy)
{
	struct service *s = c->svc;

	c->state = S_DONE;
	c->healthy = healthy;
	c->duration_ms = phx_now_ms() - c->started;
	easy_release(c);
	phx_buf_free(&c->out);
	memset(&c->out, 0, sizeof c->out);
	/* an early service's verdict waits for its record */
	if (++s->ndone == s->nchecks && !s->early)
		service_emit(s);
}

/* the delay before attempt n+1; NaN or beyond the cap is the cap */
static int64_t
next_delay(const struct check *c)
{
	double d = probe.wait ? WAIT_FIRST_MS * pow(2, c->attempts - 1) :
	    (double)c->set.binit * pow(c->set.mult, c->attempts - 1);
	int64_t cap = probe.wait ? c->set.interval : c->set.bmax;

	return d < (double)cap ? (int64_t)d : cap;
}

/* whether an attempt starting at `at` has the time it needs before the
 * deadline: its whole timeout, or MIN_ATTEMPT_MS; a check's first
 * attempt takes whatever time there is */
static bool
time_for_attempt(const struct check *c, int64_t at)
{
	if (!probe.deadline_at || c->confirming)
		return true;
	if (!c->attempts)
		return at < probe.deadline_at;
	return probe.deadline_at - at >= min64(c->set.timeout, MIN_ATTEMPT_MS);
}

/* a timeout of an attempt that had less than its timeout: the deadline's
 * doing, not the service's */
static bool
cut_by_deadline(const struct check *c, bool ok)
{
	return !ok && c->reason && strcmp(c->reason, "timeout") == 0 &&
	    probe.deadline_at && c->attempt_deadline >= probe.deadline_at &&
	    c->attempt_deadline - c->attempt_started < c->set.timeout;
}

/* no more attempts: the last finished one gives the verdict */
static void
end_with_last(struct check *c, const char *why)
{
	phx_log(PHX_DEBUG, "%s: %s attempt %d: %s: %s; %s", c->svc->name,
	    kind_names[c->kind], c->attempts, c->reason ? c->reason : "-",
	    c->message ? c->message : "", why);
	if (c->kept.valid) {
		result_restore(c);
		verdict(c, c->kept.ok);
		return;
	}
	if (c->attempts)
		set_message(c, "timeout", "%s (cut short by the deadline)",
		    c->message);
	else
		set_message(c, "timeout", "deadline reached before the check "
		    "could start");
	verdict(c, false);
}

/* a check that waits, unattempted, for a sibling to pass (nudge) or the
 * deadline */
void
check_hold(struct check *c)
{
	waiting_insert(c, probe.deadline_at ? probe.deadline_at :
	    phx_now_ms() + MAX_MS);
}

/* one check of a service passed: its other checks waiting out a backoff
 * (a healthcheck behind the port it checks) are tried now, not up to an
 * interval later */
static void
nudge_siblings(const struct check *c, int64_t now)
{
	for (size_t k = 0; k < c->svc->nchecks; k++) {
		struct check *o = c->svc->checks[k];
		if (o == c || o->state != S_WAITING || o->due <= now)
			continue;
		list_remove(&probe.waiting, o, false);
		waiting_insert(o, now);
	}
}

/* the attempt is over: healthy, or retry, or give up */
void
attempt_over(struct check *c, bool ok)
{
	int64_t now = phx_now_ms(), delay;
	bool final;

	if (c->state == S_RUNNING)
		running--;
	cJSON_Delete(c->json);
	c->json = NULL;
	c->json_tried = false;
	if (cut_by_deadline(c, ok)) {
		end_with_last(c, "cut short by the deadline");
		return;
	}
	final = ok || c->confirming || (!probe.wait &&
	    c->attempts >= c->set.retries);
	/* kept for a later attempt that the deadline may cut short; after
	 * a verdict only wait mode's confirm pass makes one */
	if (!final || (probe.wait && !c->confirming))
		result_keep(c, ok);
	if (ok && probe.wait && !c->confirming)
		nudge_siblings(c, now);
	if (final) {
		verdict(c, ok);
		return;
	}
	delay = next_delay(c);
	if (!time_for_attempt(c, now + delay)) {
		end_with_last(c, "no time for another attempt");
		return;
	}
	phx_log(PHX_DEBUG, "%s: %s attempt %d: %s: %s; next in %lld ms",
	    c->svc->name, kind_names[c->kind], c->attempts, c->reason,
	    c->message, (long long)delay);
	waiting_insert(c, now + delay);
}

void
attempt_failed(struct check *c, const char *reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_message(c, reason, fmt, ap);
	va_end(ap);
	attempt_over(c, false);
}

/* judges a response: expected status, then the conditions */
void
judge(struct check *c)
{
	const char *bad;
	bool status_ok = c->kind != K_HTTP || c->status_in_conds;

	for (size_t i = 0; !status_ok && i < c->set.nexpected; i++)
		status_ok = c->status_code == c->set.expected[i];
	bad = eval_conditions(c);
	if (!c->nconds) {
		cJSON_Delete(c->cond_results);
		c->cond_results = NULL;
	}
	if (!status_ok) {
		struct phx_buf want = { 0 };
		for (size_t i = 0; i < c->set.nexpected; i++)
			phx_buf_printf(&want, "%s%ld", i ? " or " : "",
			    c->set.expected[i]);
		attempt_failed(c, "status", "HTTP status %ld, expected %s",
		    c->status_code, phx_buf_str(&want));
		phx_buf_free(&want);
	} else if (bad)
		attempt_failed(c, "condition", "condition failed: %s", bad);
	else
		attempt_over(c, true);
}

int64_t
attempt_budget(const struct check *c, int64_t now)
{
	int64_t t = c->set.timeout;

	if (probe.deadline_at && !c->confirming)
		t = min64(t, probe.deadline_at - now);
	return t < 1 ? 1 : t;
}

static void
attempt_start(struct check *c, int64_t now)
{
	c->state = S_RUNNING;
	c->attempts++;
	c->attempt_started = now;
	c->attempt_deadline = now + attempt_budget(c, now);
	c->reason = NULL;
	running++;
	switch (c->kind) {
	case K_HTTP:
	case K_TCP:
		http_start(c, now);
		break;
	case K_PG:
		pg_start(c);
		break;
	case K_HC:
		hc_start(c);
		break;
	}
}

void
start_due(int64_t now)
{
	while (probe.waiting && probe.waiting->due <= now) {
		struct check *c = probe.waiting;
		probe.waiting = c->next;
		queue_push(c);
	}
	while (queue && running < probe.concurrency) {
		struct check *c = queue;
		if (!(queue = c->next))
			queue_tail = NULL;
		if (time_for_attempt(c, now))
			attempt_start(c, now);
		else
			end_with_last(c, "no time for another attempt");
	}
}

/* the check stops where it is, with no verdict: the caller gives one */
void
check_cancel(struct check *c)
{
	struct check **pp;

	switch (c->state) {
	case S_WAITING:
		list_remove(&probe.waiting, c, false);
		break;
	case S_QUEUED:
		for (pp = &queue; *pp && *pp != c; pp = &(*pp)->next)
			;
		if (*pp)
			*pp = c->next;
		for (queue_tail = queue; queue_tail && queue_tail->next;
		    queue_tail = queue_tail->next)
			;
		break;
	case S_RUNNING:
		running--;
		if (c->http.easy)
			curl_multi_remove_handle(probe.multi, c->http.easy);
		if (c->kind == K_PG)
			pg_close(c);
		if (c->kind == K_HC)
			hc_kill(c);
		cJSON_Delete(c->json);
		c->json = NULL;
		c->json_tried = false;
		break;
	default:
		break;
	}
	c->next = NULL;
}

/* attempts of postgres and healthcheck checks that ran out of time */
void
expire_polled(int64_t now)
{
	struct check *c = probe.polled, *next;

	for (; c; c = next) {
		next = c->pnext;
		if (c->kind == K_HC && c->hc.pipefd < 0) {
			hc_reap(c);
			continue;
		}
		if (now < c->attempt_deadline)
			continue;
		c->response_ms = now - c->attempt_started;
		if (c->kind == K_PG)
			pg_close(c);
		else
			hc_kill(c);
		attempt_failed(c, "timeout", "no answer within %lld ms",
		    (long long)(now - c->attempt_started));
	}
}

/* the least time between a healthy record and its confirm attempt: the
 * container watch reports a death as it happens, so waiting longer for
 * the service that turned healthy last only delays the verdict */
#define CONFIRM_GAP_MS 100

/* when the confirm attempts of s start: CONFIRM_GAP_MS (or an interval,
 * when shorter) after its healthy record and, when its container may
 * restart, probe.min_uptime after its last start; or now; -1 when a
 * check would have no time before the deadline */
static int64_t
confirm_due(const struct service *s, int64_t now)
{
	int64_t due = now, hold = watch_hold_until(s);

	if (hold > due)
		due = hold;

	for (size_t k = 0; k < s->nchecks; k++) {
		int64_t at = s->healthy_at +
		    min64(s->checks[k]->set.interval, CONFIRM_GAP_MS);
		if (at > due)
			due = at;
	}
	for (size_t k = 0; k < s->nchecks; k++)
		if (!time_for_attempt(s->checks[k], due))
			return -1;
	return due;
}

/* a declared healthcheck is not run again when the service has a check
 * of its own: a podman exec costs half a second, its endpoints tell
 * whether it still answers, and the watch reports its container */
static bool
skip_in_confirm(const struct service *s, const struct check *c)
{
	if (c->kind != K_HC)
		return false;
	for (size_t k = 0; k < s->nchecks; k++)
		if (s->checks[k]->kind != K_HC)
			return true;
	return false;
}

/* wait mode, once every verdict is in and the stream has ended: one more
 * attempt for each check of each healthy service, so that a service that
 * stopped answering since its healthy record is not left healthy.  It is
 * never skipped: past the deadline (another service used it up) it is
 * due at once and has the check's own timeout.  Returns whether there is
 * any */
bool
confirm_start(int64_t now)
{
	bool any = false;

	probe.confirmed = true;
	for (size_t i = 0; i < probe.nsvcs; i++) {
		struct service *s = probe.svcs[i];
		int64_t due;
		if (!s->healthy)
			continue;
		if ((due = confirm_due(s, now)) < 0)
			due = now;
		s->confirming = any = true;
		s->ndone = 0;
		probe.pending++;
		for (size_t k = 0; k < s->nchecks; k++) {
			if (skip_in_confirm(s, s->checks[k])) {
				s->ndone++;
				continue;
			}
			s->checks[k]->confirming = true;
			waiting_insert(s->checks[k], due);
		}
	}
	return any;
}
