/* the NDJSON reader and phx_pass: with no secret registered, what goes
 * in comes out byte for byte (unless a line holds a password pattern:
 * scheme://user:PASS@host or password=PASS, masked by design) */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fuzz.h"
#include "phx_priv.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	phx_init((*argv)[0]);
	phx_log_quieter();
	phx_log_quieter();
	phx_secrets_clear();
	fuzz_stdout_capture();
	return 0;
}

static bool
strcasestr_len(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);

	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(s + i, word, n) == 0)
			return true;
	return false;
}

/* true when text mode (an over-long line's) masks something in s */
static bool
text_masked(const char *s, size_t len)
{
	struct phx_redact_stream st = { 0 };
	struct phx_buf out = { 0 };
	bool masked;

	phx_redact_chunk(&st, s, len, true, &out);
	masked = out.len != len || memcmp(out.data, s, len) != 0;
	phx_buf_free(&out);
	return masked;
}

/* a chunk starts a scan afresh, so a cut inside a word can make a
 * pattern of its tail ("PG|PASSWORD=..."): over-masking, not judged here */
static bool
cut_pattern(const char *s, size_t len)
{
	return memmem(s, len, "://", 3) || strcasestr_len(s, len, "password=");
}

/* true when some line of data is rewritten by redaction on its own: a
 * line that fits value by value, an over-long one as text (a URL's
 * password may run across quotes there, so more is masked) */
static bool
has_pattern(const uint8_t *data, size_t size, size_t maxline)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p), rlen;
		char *r = len < maxline ? phx_redact_mem(p, len, &rlen) : NULL;
		bool masked = r || (len >= maxline && (text_masked(p, len) ||
		    cut_pattern(p, len)));
		free(r);
		if (masked)
			return true;
		p += len + 1;
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a short maximum, varied, so over-long lines are cut often */
	size_t maxline = 64 + size % 193, outlen;
	int fd = fuzz_memfd(data, size);
	struct phx_reader *r = phx_reader_new(fd, "fuzz", maxline);
	struct phx_input in;
	bool open_line = size && data[size - 1] != '\n';
	char *out;

	while (phx_reader_next(r, &in) != PHX_RD_EOF)
		phx_pass(&in);
	phx_reader_free(r);
	close(fd);
	fuzz_pass_end();
	out = fuzz_stdout_take(&outlen);
	/* fuzz_pass_end added "\n", after another one ending an open line */
	if (outlen != size + 1 + open_line || memcmp(out, data, size) != 0 ||
	    (open_line && out[size] != '\n') || out[outlen - 1] != '\n') {
		if (!has_pattern(data, size, maxline))
			fuzz_fail("pass-through changed the input (%zu bytes in, "
			    "%zu out, maxline %zu)", size, outlen, maxline);
	}
	free(out);
	phx_set_deployment_id(NULL);
	return 0;
}
