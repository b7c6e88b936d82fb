/* standard input: records of earlier stages pass through */
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

static struct phx_reader *input;
static bool input_done;

void
input_open(void)
{
	if (!(input = phx_stream_open(PHX_STDIN_AUTO)))
		input_done = true;
}

/* the first line, read before anything is emitted: it may carry the
 * stream's deployment id; returns a copy of the line or NULL */
char *
input_first(bool *newline, char **stream_id)
{
	struct phx_input in;
	enum phx_rd rd;

	*stream_id = NULL;
	if (input_done)
		return NULL;
	rd = phx_reader_next(input, &in);
	if (rd == PHX_RD_EOF) {
		input_done = true;
		return NULL;
	}
	if (rd == PHX_RD_RECORD && phx_jstr(in.json, "deployment_id"))
		*stream_id = phx_strdup(phx_jstr(in.json, "deployment_id"));
	*newline = in.newline;
	return phx_asprintf("%.*s", (int)in.len, in.line);
}

void
pass_copy(char *line, bool newline)
{
	struct phx_input in = { 0 };

	if (!line)
		return;
	in.line = line;
	in.len = strlen(line);
	in.newline = newline;
	phx_pass(&in);
	free(line);
}

/* passes on the rest of standard input (this stage owns none of it) */
void
input_drain(void)
{
	struct phx_input in;
	enum phx_rd rd;

	if (input_done)
		return;
	while ((rd = phx_reader_next(input, &in)) != PHX_RD_EOF)
		if (rd != PHX_RD_AGAIN)
			phx_pass(&in);
	input_done = true;
}

void
input_close(void)
{
	if (input)
		phx_reader_free(input);
}
