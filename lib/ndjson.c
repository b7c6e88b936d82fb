/* NDJSON input.  Lines are read with read(2) so the same reader works
 * blocking or inside an event loop; a line that is not a record is
 * reported and handed back for pass-through, never dropped.  A line
 * longer than maxline is handed back in chunks, unparsed. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phx.h"

#define READ_CHUNK 65536

struct phx_reader {
	int fd;
	char *name;
	size_t maxline;
	char *buf;
	size_t start, scan, end, cap;
	unsigned long lineno, invalid;
	bool eof, in_long, long_begun;
	cJSON *json;
};

/* PHX_MAX_LINE (bytes, or with a k/M suffix), else 1 MiB */
static size_t
maxline_from_env(void)
{
	const char *env = getenv("PHX_MAX_LINE");
	char *end;
	unsigned long long n;

	if (!env || !*env)
		return PHX_MAXLINE_DEFAULT;
	n = strtoull(env, &end, 10);
	if (*end == 'k' || *end == 'K')
		n *= 1024, end++;
	else if (*end == 'M')
		n *= 1024 * 1024, end++;
	if (*end || n < 64 || n > (1ULL << 31))
		phx_die(PHX_EXIT_USAGE, "PHX_MAX_LINE: expected a size from 64 "
		    "bytes to 2G, got \"%s\"", env);
	return (size_t)n;
}

struct phx_reader *
phx_reader_new(int fd, const char *name, size_t maxline)
{
	struct phx_reader *r = phx_calloc(1, sizeof *r);

	r->fd = fd;
	r->name = phx_strdup(name);
	r->maxline = maxline ? maxline : maxline_from_env();
	r->cap = (r->maxline < READ_CHUNK ? r->maxline : READ_CHUNK) + 1;
	r->buf = phx_malloc(r->cap);
	return r;
}

void
phx_reader_free(struct phx_reader *r)
{
	if (!r)
		return;
	cJSON_Delete(r->json);
	free(r->buf);
	free(r->name);
	free(r);
}

int phx_reader_fd(const struct phx_reader *r) { return r->fd; }
unsigned long phx_reader_invalid(const struct phx_reader *r) { return r->invalid; }

void
phx_reader_nonblock(struct phx_reader *r)
{
	int fl = fcntl(r->fd, F_GETFL);

	if (fl >= 0)
		fcntl(r->fd, F_SETFL, fl | O_NONBLOCK);
}

static enum phx_rd
classify(struct phx_reader *r, struct phx_input *in)
{
	size_t len = in->len;
	const cJSON *v, *type, *id;

	if (len && in->line[len - 1] == '\r')
		len--;
	if (len == 0)
		return PHX_RD_FOREIGN;
	r->json = cJSON_ParseWithLength(in->line, len);
	if (!r->json) {
		const char *at = cJSON_GetErrorPtr();
		size_t col = at && at >= in->line && at <= in->line + len ?
		    (size_t)(at - in->line) + 1 : 1;
		r->invalid++;
		phx_log(PHX_WARN, "%s:%lu:%zu: invalid JSON, passed through",
		    r->name, in->lineno, col);
		return PHX_RD_INVALID;
	}
	in->json = r->json;
	if (!cJSON_IsObject(r->json)) {
		r->invalid++;
		phx_log(PHX_WARN, "%s:%lu: not a JSON object, passed through",
		    r->name, in->lineno);
		return PHX_RD_INVALID;
	}
	v = cJSON_GetObjectItemCaseSensitive(r->json, "v");
	type = cJSON_GetObjectItemCaseSensitive(r->json, "type");
	if (!cJSON_IsNumber(v) || !cJSON_IsString(type))
		return PHX_RD_FOREIGN;
	if (v->valuedouble != PHX_RECORD_VERSION) {
		phx_log(PHX_DEBUG, "%s:%lu: record version %g, passed through",
		    r->name, in->lineno, v->valuedouble);
		return PHX_RD_FOREIGN;
	}
	in->type = type->valuestring;
	id = cJSON_GetObjectItemCaseSensitive(r->json, "deployment_id");
	if (!phx_deployment_id() && cJSON_IsString(id) && *id->valuestring)
		phx_set_deployment_id(id->valuestring);
	return PHX_RD_RECORD;
}

/* refills the buffer; returns false when nothing could be read now */
static bool
fill(struct phx_reader *r, bool *again)
{
	ssize_t n;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->scan -= r->start;
		r->start = 0;
	}
	if (r->cap - r->end < READ_CHUNK && r->cap < r->maxline + 2) {
		size_t cap = r->cap * 2;
		if (cap > r->maxline + 2)
			cap = r->maxline + 2;
		r->buf = phx_reallocarray(r->buf, cap, 1);
		r->cap = cap;
	}
	for (;;) {
		n = read(r->fd, r->buf + r->end, r->cap - r->end);
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		*again = true;
		return false;
	}
	if (n < 0)
		phx_log(PHX_ERROR, "%s: %s", r->name, strerror(errno));
	if (n <= 0) {
		r->eof = true;
		return false;
	}
	r->end += (size_t)n;
	return true;
}

static enum phx_rd
take(struct phx_reader *r, struct phx_input *in, size_t len, bool newline)
{
	in->line = r->buf + r->start;
	in->len = len;
	in->newline = newline;
	r->start += len + (newline ? 1 : 0);
	r->scan = r->start;
	if (r->in_long) {
		in->lineno = r->lineno;
		in->continued = r->long_begun;
		in->chunk = true;
		r->long_begun = r->in_long = !newline && !r->eof;
		return PHX_RD_LONG;
	}
	in->lineno = ++r->lineno;
	return classify(r, in);
}

enum phx_rd
phx_reader_next(struct phx_reader *r, struct phx_input *in)
{
	memset(in, 0, sizeof *in);
	cJSON_Delete(r->json);
	r->json = NULL;
	for (;;) {
		char *nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
		bool again = false;

		if (nl)
			return take(r, in, (size_t)(nl - (r->buf + r->start)), true);
		r->scan = r->end;
		if (r->end - r->start > r->maxline) {
			if (!r->in_long) {
				r->in_long = true;
				r->lineno++;
				r->invalid++;
				phx_log(PHX_WARN, "%s:%lu: line longer than %zu bytes, "
				    "passed through unparsed", r->name, r->lineno,
				    r->maxline);
			}
			return take(r, in, r->end - r->start, false);
		}
		if (r->eof) {
			if (r->end > r->start)
				return take(r, in, r->end - r->start, false);
			return PHX_RD_EOF;
		}
		if (!fill(r, &again) && again)
			return PHX_RD_AGAIN;
	}
}

/* every stage reads the same way: standard input is the stream of the
 * stages before unless it is a terminal (someone at the keyboard) */
enum phx_stdin
phx_stdin_want(int nargs, char *const args[])
{
	if (nargs == 0)
		return PHX_STDIN_AUTO;
	for (int i = 0; i < nargs; i++)
		if (strcmp(args[i], "-") == 0)
			return PHX_STDIN_YES;
	return PHX_STDIN_NO;
}

struct phx_reader *
phx_stream_open(enum phx_stdin want)
{
	struct stat st;

	if (want == PHX_STDIN_NO || fstat(STDIN_FILENO, &st) < 0 ||
	    (want == PHX_STDIN_AUTO && isatty(STDIN_FILENO)))
		return NULL;
	return phx_reader_new(STDIN_FILENO, "stdin", 0);
}

/* the phase starts once the first line has come, so that its duration
 * leaves out the stages before it */
int64_t
phx_stream_pass(const char *phase, enum phx_stdin want, phx_stream_fn see)
{
	struct phx_reader *rd = phx_stream_open(want);
	struct phx_input in;
	enum phx_rd r;
	int64_t started;

	if (!rd)
		return phx_phase_start(phase);
	r = phx_reader_next(rd, &in);
	started = phx_phase_start(phase);
	for (; r != PHX_RD_EOF; r = phx_reader_next(rd, &in)) {
		if (see)
			see(&in, r);
		phx_pass(&in);
	}
	phx_reader_free(rd);
	return started;
}
