/* reading the stream */
#include <errno.h>
#include <poll.h>
#include <string.h>

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

/* waits for input, redrawing the progress line at least once a second */
static void
wait_input(const struct agg *agg, struct phx_reader *rd,
    struct progress *pg)
{
	struct pollfd pfd = { .fd = phx_reader_fd(rd), .events = POLLIN };

	if (poll(&pfd, 1, 500) < 0 && errno != EINTR)
		phx_edie(PHX_EXIT_ENV, "poll");
	progress_draw(pg, agg, false);
}

/* reads everything; in ndjson format passes each line on as it comes */
void
ingest(struct agg *agg, struct phx_reader *rd, const char *name,
    FILE *store, bool pass, struct progress *pg, int64_t *phase_started)
{
	struct phx_input in;
	unsigned long last_long = 0;
	bool first = true;

	progress_own_stderr(pg, agg);
	for (;;) {
		enum phx_rd kind = phx_reader_next(rd, &in);
		if (kind == PHX_RD_AGAIN) {
			wait_input(agg, rd, pg);
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

