/* storing the stream (written to a temporary name, renamed under the
 * deployment's id once the id is settled) */
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "report.h"

static char tmp_stream[4096];       /* removed on a signal */

static void
on_signal(int sig)
{
	if (tmp_stream[0])
		unlink(tmp_stream);
	signal(sig, SIG_DFL);
	raise(sig);
}

FILE *
store_open(void)
{
	int fd;
	FILE *f;

	phx_mkdirs(phx_state_dir());
	snprintf(tmp_stream, sizeof tmp_stream, "%s/.stream.%ld.tmp",
	    phx_state_dir(), (long)getpid());
	fd = open(tmp_stream, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w")))
		phx_edie(PHX_EXIT_ENV, "%s", tmp_stream);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	return f;
}

void
store_line(FILE *f, const struct phx_input *in)
{
	size_t rlen;
	char *clean = phx_redact_mem(in->line, in->len, &rlen);

	fwrite(clean ? clean : in->line, 1, clean ? rlen : in->len, f);
	if (in->newline)
		putc('\n', f);
	free(clean);
}

/* the id the run is stored under: the stream's, else a new one (an
 * invalid one is an input error) */
void
settle_id(struct agg *agg, bool store)
{
	const char *id = phx_deployment_id();
	char *claimed;

	if (id && !phx_valid_deployment_id(id)) {
		char *e = phx_asprintf("deployment id \"%.64s\" is not valid", id);
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
	char *dir, *path;

	if (fclose(f) == EOF)
		phx_edie(PHX_EXIT_ENV, "%s", tmp_stream);
	dir = phx_deployment_path(id, NULL);
	phx_mkdirs(dir);
	path = phx_deployment_path(id, "stream.ndjson");
	if (rename(tmp_stream, path) < 0)
		phx_edie(PHX_EXIT_ENV, "%s", path);
	tmp_stream[0] = '\0';
	free(path);
	free(dir);
}

