/* phx-functest: the stream, passed on; its health verdicts decide which
 * suites are skipped */
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "functest.h"

struct health {
	char *service, *check, *status, *reason, *message, *source;
	struct health *next;   /* the same service's, newest first */
};

/* tsearch trees: every (service, check) and, per service, its newest
 * verdict heading the list of its others; a stream of many distinct
 * services stays O(n log n) */
static void *by_check, *by_service;

/* the deployment as the stream tells it: its last record's status (an
 * attempt that is retried is failed too, so only the last counts), and
 * the deploy phase's end */
static struct {
	char *status, *reason, *message;
	bool phase_failed;
} deployment;

static int
cmp_service(const void *a, const void *b)
{
	return strcmp(((const struct health *)a)->service,
	    ((const struct health *)b)->service);
}

static int
cmp_check(const void *a, const void *b)
{
	int c = cmp_service(a, b);

	return c ? c : strcmp(((const struct health *)a)->check,
	    ((const struct health *)b)->check);
}

static char *
dup_or_null(const char *s)
{
	return s ? phx_strdup(s) : NULL;
}

/* the (service, check) entry, made when new */
static struct health *
health_slot(const char *service, const char *check)
{
	struct health key = { .service = (char *)service, .check = (char *)check };
	struct health **found = tfind(&key, &by_check, cmp_check), *h, **head;

	if (found)
		return *found;
	h = phx_calloc(1, sizeof *h);
	h->service = phx_strdup(service);
	h->check = phx_strdup(check);
	if (!tsearch(h, &by_check, cmp_check) ||
	    !(head = tsearch(h, &by_service, cmp_service)))
		phx_die(PHX_EXIT_ENV, "out of memory");
	if (*head != h) {   /* the service had others: h heads them now */
		h->next = *head;
		*head = h;
	}
	return h;
}

/* the latest verdict per service and check */
static void
remember_health(const cJSON *rec)
{
	const char *service = phx_jstr(rec, "service");
	const char *check = phx_jstr(rec, "check") ? phx_jstr(rec, "check") : "";
	struct health *h;

	if (!service || !phx_jstr(rec, "status"))
		return;
	h = health_slot(service, check);
	free(h->status);
	free(h->reason);
	free(h->message);
	free(h->source);
	h->status = phx_strdup(phx_jstr(rec, "status"));
	h->reason = dup_or_null(phx_jstr(rec, "reason"));
	h->message = dup_or_null(phx_jstr(rec, "message"));
	h->source = dup_or_null(phx_jstr(rec, "source"));
}

static struct health *
service_healths(const char *service)
{
	struct health key = { .service = (char *)service };
	struct health **head = tfind(&key, &by_service, cmp_service);

	return head ? *head : NULL;
}

static void
remember_deployment(const cJSON *rec, const char *type)
{
	const char *st = phx_jstr(rec, "status");

	if (!st)
		return;
	if (strcmp(type, "phase") == 0) {
		if (phx_jstr(rec, "phase") && strcmp(phx_jstr(rec, "phase"),
		    "deploy") == 0 && phx_jstr(rec, "event") &&
		    strcmp(phx_jstr(rec, "event"), "end") == 0)
			deployment.phase_failed = strcmp(st, "ok") != 0;
		return;
	}
	free(deployment.status);
	free(deployment.reason);
	free(deployment.message);
	deployment.status = phx_strdup(st);
	deployment.reason = dup_or_null(phx_jstr(rec, "reason"));
	deployment.message = dup_or_null(phx_jstr(rec, "message"));
}

/* the stack never came up: a test would only fail against nothing, and
 * say again what the deployment said; each is skipped, pointing there */
static bool
skip_upstream(void)
{
	bool failed = deployment.status && strcmp(deployment.status, "failed") == 0;
	char *why;

	if (!failed && !deployment.phase_failed)
		return false;
	why = failed && deployment.reason ? phx_asprintf(" (%s%s%s)",
	    deployment.reason, deployment.message ? ": " : "",
	    deployment.message ? deployment.message : "") : phx_strdup("");
	for (size_t i = 0; i < functest.nsuites; i++) {
		struct suite *s = &functest.suites[i];
		if (s->skip_reason && strcmp(s->skip_reason, "disabled") == 0)
			continue;
		free(s->skip_message);
		s->skip_reason = "upstream";
		s->upstream_reason = failed ? deployment.reason : NULL;
		s->skip_message = phx_asprintf("not run: the deployment failed "
		    "upstream%s", why);
	}
	free(why);
	return true;
}

void
apply_health(void)
{
	if (skip_upstream())
		return;
	for (size_t i = 0; i < functest.nsuites; i++) {
		struct suite *s = &functest.suites[i];
		if (!s->service || s->skip_reason)
			continue;
		for (struct health *h = service_healths(s->service); h;
		    h = h->next) {
			if (phx_healthy(h->status))
				continue;
			s->skip_reason = phx_health_names[PHX_UNHEALTHY];
			s->upstream_reason = h->reason;
			s->skip_message = phx_asprintf("%s was reported %s upstream "
			    "(%s%s%s%s%s)", s->service, h->status,
			    h->source ? h->source : "unknown source",
			    h->reason ? ": " : "", h->reason ? h->reason : "",
			    h->message ? ": " : "", h->message ? h->message : "");
			break;
		}
	}
}

static void
see_line(const struct phx_input *in, enum phx_rd rd)
{
	if (rd == PHX_RD_RECORD && strcmp(in->type, "health") == 0)
		remember_health(in->json);
	else if (rd == PHX_RD_RECORD && (strcmp(in->type, "deployment") == 0 ||
	    strcmp(in->type, "phase") == 0))
		remember_deployment(in->json, in->type);
}

/* passes the stream on; returns the phase start time */
int64_t
read_stream(void)
{
	return phx_stream_pass("functest", PHX_STDIN_AUTO, see_line);
}

static void
health_free(void *p)
{
	struct health *h = p;

	free(h->service);
	free(h->check);
	free(h->status);
	free(h->reason);
	free(h->message);
	free(h->source);
	free(h);
}

static void
no_free(void *p)
{
	(void)p;
}

void
free_healths(void)
{
	tdestroy(by_service, no_free);
	tdestroy(by_check, health_free);
	by_service = by_check = NULL;
	free(deployment.status);
	free(deployment.reason);
	free(deployment.message);
	memset(&deployment, 0, sizeof deployment);
}
