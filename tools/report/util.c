/* clipped copies and defaults, as every part of phx-report keeps and
 * compares them */
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* A value that must be cut is masked first: cut first, a secret's
 * prefix no longer matches and would show.  One kept whole stays as the
 * record said (a status or severity is judged by it) and is masked
 * where it is rendered. */
static char *
clipn(const char *s, size_t max)
{
	size_t n;
	char *d, *clean = NULL;

	if (!s)
		return NULL;
	if (strnlen(s, max + 1) > max)
		s = clean = phx_scrub(s);
	n = strnlen(s, max);
	d = phx_malloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	phx_free_secret(clean);
	return d;
}

/* a whole text masked, then cut to max bytes; consumes s */
char *
clip_masked(char *s, size_t max)
{
	char *d = clipn(s, max);

	phx_free_secret(s);
	return d;
}

/* names and messages are kept short: a list of thousands must stay small */
char *clip(const char *s) { return clipn(s, MAX_NAME); }
char *clip_text(const char *s) { return clipn(s, MAX_TEXT); }

void
set_str(char **dst, const char *src)
{
	if (!src)
		return;
	if (*dst && strncmp(*dst, src, MAX_NAME) == 0)
		return;
	free(*dst);
	*dst = clip(src);
}

void
set_text(char **dst, const char *src)
{
	free(*dst);
	*dst = clip_text(src);
}

const char *
or(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

bool
same_str(const char *a, const char *b)
{
	return a && b ? strncmp(a, b, MAX_TEXT) == 0 : a == b;
}
