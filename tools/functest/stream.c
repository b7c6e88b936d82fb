/* phx-functest: the stream, passed on; its health verdicts decide which
 * suites are skipped */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "functest.h"

struct health {
	char *service, *check, *status, *reason, *message, *source;
	struct health *next;
};

static struct health *healths;

static char *
dup_or_null(const char *s)
{
	return s ? phx_strdup(s) : NULL;
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
	for (h = healths; h; h = h->next)
		if (strcmp(h->service, service) == 0 && strcmp(h->check, check) == 0)
			break;
	if (!h) {
		h = phx_calloc(1, sizeof *h);
		h->service = phx_strdup(service);
		h->check = phx_strdup(check);
		h->next = healths;
		healths = h;
	}
	free(h->status);
	free(h->reason);
	free(h->message);
	free(h->source);
	h->status = phx_strdup(phx_jstr(rec, "status"));
	h->reason = dup_or_null(phx_jstr(rec, "reason"));
	h->message = dup_or_null(phx_jstr(rec, "message"));
	h->source = dup_or_null(phx_jstr(rec, "source"));
}

void
apply_health(void)
{
	for (size_t i = 0; i < functest.nsuites; i++) {
		struct suite *s = &functest.suites[i];
		if (!s->service || s->skip_reason)
			continue;
		for (struct health *h = healths; h; h = h->next) {
			if (strcmp(h->service, s->service) != 0 ||
			    strcmp(h->status, "healthy") == 0)
				continue;
			s->skip_reason = "unhealthy";
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

static bool
have_stream(void)
{
	struct stat st;

	return fstat(STDIN_FILENO, &st) == 0 && !isatty(STDIN_FILENO);
}

static void
handle_line(struct phx_input *in, enum phx_rd rd)
{
	if (rd == PHX_RD_RECORD && strcmp(in->type, "health") == 0)
		remember_health(in->json);
	phx_pass(in);
}

/* passes the stream on; returns the phase start time */
int64_t
read_stream(void)
{
	struct phx_reader *rd;
	struct phx_input in;
	enum phx_rd r;
	int64_t started;

	if (!have_stream())
		return phx_phase_start("functest");
	rd = phx_reader_new(STDIN_FILENO, "stdin", 0);
	r = phx_reader_next(rd, &in);
	started = phx_phase_start("functest");
	for (; r != PHX_RD_EOF; r = phx_reader_next(rd, &in))
		handle_line(&in, r);
	phx_reader_free(rd);
	return started;
}

void
free_healths(void)
{
	while (healths) {
		struct health *h = healths->next;
		free(healths->service);
		free(healths->check);
		free(healths->status);
		free(healths->reason);
		free(healths->message);
		free(healths->source);
		free(healths);
		healths = h;
	}
}
