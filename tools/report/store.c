/* storing the stream.  Its name is known only once the stream has ended
 * (the deployment's id), so it is written through lib/wfile.c to
 * STATE/.stream.PID (a fresh temporary beside it, nothing planted
 * followed), which is then renamed under the id.  The state directory is
 * ours alone (phx_state_prepare), so nothing can be swapped in between. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "report.h"

static char stream_name[4096];      /* STATE/.stream.PID */
static struct phx_wfile *stream;    /* the one store_open hands out */

/* a signal once reading is over ends us at once: no partial file is
 * left (the stored stream, once renamed, is kept) */
void
store_cleanup(void)
{
	phx_wfile_unlink_all();
	if (stream_name[0])
		unlink(stream_name);
}

FILE *
store_open(void)
{
	phx_mkdirs(phx_state_dir());
	snprintf(stream_name, sizeof stream_name, "%s/.stream.%ld",
	    phx_state_dir(), (long)getpid());
	if (!(stream = phx_wfile_open(stream_name, 0600)))
		phx_edie(PHX_EXIT_ENV, "%s", stream_name);
	return phx_wfile_fp(stream);
}

/* the end of an over-long line, held back until the next chunk shows
 * whether a secret runs on into it (as phx_pass does for stdout) */
static struct phx_redact_stream long_line;

static void
store_chunk(FILE *f, const char *s, size_t len, bool final)
{
	struct phx_buf b = { 0 };

	phx_redact_chunk(&long_line, s, len, final, &b);
	fwrite(b.data ? b.data : "", 1, b.len, f);
	phx_buf_free(&b);
}

/* an over-long line that ended without a newline (at end of input) */
static void
store_finish(FILE *f)
{
	if (phx_redact_pending(&long_line))
		store_chunk(f, "", 0, true);
}

void
store_line(FILE *f, const struct phx_input *in)
{
	size_t rlen;
	char *clean;

	if (!in->continued)
		store_finish(f);
	if (in->chunk) {
		store_chunk(f, in->line, in->len, in->newline);
	} else {
		clean = phx_redact_mem(in->line, in->len, &rlen);
		fwrite(clean ? clean : in->line, 1, clean ? rlen : in->len, f);
		free(clean);
	}
	if (in->newline)
		putc('\n', f);
}
/* the id the run is stored under: the stream's, else a new one (an
 * invalid one is an input error) */
void
settle_id(struct agg *agg, bool store)
{
	const char *id = phx_deployment_id();
	char *claimed;

	if (id && !phx_valid_deployment_id(id)) {
		/* masked before it is cut: no prefix of a secret shows */
		char *clean = phx_scrub(id);
		char *e = phx_asprintf("deployment id \"%.64s\" is not valid",
		    clean);
		free(clean);
		add_bounded(agg->input_errors, &agg->ninput_errors, NULL, e);
		phx_set_deployment_id(NULL);
		unsetenv("PHX_DEPLOYMENT_ID");
		id = NULL;
	}
	if (id || !store)
		return;
	claimed = phx_claim_deployment_id();
	phx_set_deployment_id(claimed);
	free(claimed);
}

void
store_close(FILE *f, const char *id)
{
	char *dir = phx_deployment_path(id, NULL);
	char *path = phx_deployment_path(id, "stream.ndjson");

	store_finish(f);
	phx_mkdirs(dir);
	if (!phx_wfile_commit(stream))
		phx_edie(PHX_EXIT_ENV, "%s", stream_name);
	stream = NULL;
	if (rename(stream_name, path) < 0) {
		int saved = errno;

		unlink(stream_name);
		errno = saved;
		phx_edie(PHX_EXIT_ENV, "%s", path);
	}
	stream_name[0] = '\0';
	free(path);
	free(dir);
}
