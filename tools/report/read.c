/* reading the stream */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

static void
input_error(struct agg *agg, const char *name, unsigned long lineno,
    const char *what)
{
	add_bounded(agg->input_errors, &agg->ninput_errors, NULL,
	    phx_asprintf("%s:%lu: %s", name, lineno, what));
}

static void
take_line(struct agg *agg, enum phx_rd kind, const struct phx_input *in,
    const char *name, unsigned long *last_long)
{
	agg->st.cut = !in->newline;
	if (kind == PHX_RD_LONG && *last_long == in->lineno)
		return;     /* the rest of an over-long line */
	agg->st.lines++;
	switch (kind) {
	case PHX_RD_RECORD:
		fold(agg, in->json, in->type);
		break;
	case PHX_RD_FOREIGN:
		agg->st.foreign++;
		break;
	case PHX_RD_INVALID:
		agg->st.invalid++;
		input_error(agg, name, in->lineno, in->json ?
		    "not a JSON object" : "not valid JSON");
		break;
	case PHX_RD_LONG:
		agg->st.long_lines++;
		*last_long = in->lineno;
		input_error(agg, name, in->lineno, "line too long");
		break;
	default:
		break;
	}
}

/* a signal stops the reading, but the stages upstream got it too (one
 * process group) and wind down saying why, phx-deploy first: what they
 * write in this moment is still read, so the report has their cause */
#define SIGNAL_GRACE_MS 2000

static bool
still_reading(int64_t *until)
{
	if (!phx_signal)
		return true;
	if (!*until)
		*until = phx_now_ms() + SIGNAL_GRACE_MS;
	return phx_now_ms() < *until;
}

/* waits for input or a signal, redrawing the progress line at least
 * once a second */
static void
wait_input(const struct agg *agg, struct phx_reader *rd,
    struct progress *pg, int64_t until)
{
	struct pollfd pfd[2] = {
		{ .fd = phx_reader_fd(rd), .events = POLLIN },
		{ .fd = phx_signal_fd(), .events = POLLIN },
	};
	int ms = 500;
	char drain[16];

	if (until && until - phx_now_ms() < ms)
		ms = until > phx_now_ms() ? (int)(until - phx_now_ms()) : 0;
	if (poll(pfd, 2, ms) < 0 && errno != EINTR)
		phx_edie(PHX_EXIT_ENV, "poll");
	if (pfd[1].revents & POLLIN)
		while (read(pfd[1].fd, drain, sizeof drain) > 0)
			;
	progress_draw(pg, agg, false);
}

/* reads everything, or until a signal (phx_signal); in ndjson format
 * passes each line on as it comes */
void
ingest(struct agg *agg, struct phx_reader *rd, const char *name,
    FILE *store, bool pass, struct progress *pg, int64_t *phase_started)
{
	struct phx_input in;
	unsigned long last_long = 0;
	int64_t until = 0;
	bool first = true;

	progress_own_stderr(pg, agg);
	while (still_reading(&until)) {
		enum phx_rd kind = phx_reader_next(rd, &in);
		if (kind == PHX_RD_AGAIN) {
			wait_input(agg, rd, pg, until);
			continue;
		}
		/* the first line names the deployment our own records carry */
		if (first && pass)
			*phase_started = phx_phase_start("report");
		first = false;
		if (kind == PHX_RD_EOF)
			break;
		if (store)
			store_line(store, &in);
		if (pass)
			phx_pass(&in);
		take_line(agg, kind, &in, name, &last_long);
		if (kind == PHX_RD_RECORD && pg->relay &&
		    strcmp(in.type, "log") == 0)
			phx_log_relay(in.json);
		else if (kind == PHX_RD_RECORD)
			progress_note(pg, agg, in.json, in.type);
		progress_draw(pg, agg, false);
	}
	progress_own_stderr(NULL, NULL);
	progress_clear(pg);
}

