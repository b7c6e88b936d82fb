/* clipped copies, defaults and the ranks of finding statuses and
 * severities, as every part of phx-report keeps and compares them */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "report.h"

const char *const status_names[5] = { "FAIL", "WARN", "SKIP", "INFO", "PASS" };
const char *const severity_names[4] = { "LOW", "MEDIUM", "HIGH", "CRITICAL" };

static char *
clipn(const char *s, size_t max)
{
	size_t n;
	char *d;

	if (!s)
		return NULL;
	n = strnlen(s, max);
	d = phx_malloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
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

/* 1 (LOW) to 4 (CRITICAL), any case; 0 when none of them */
int
severity_rank(const char *s)
{
	for (int i = 0; s && i < 4; i++)
		if (strcasecmp(s, severity_names[i]) == 0)
			return i + 1;
	return 0;
}

/* 0 (FAIL) to 4 (PASS), worst first; 5 when none of them */
int
status_rank(const char *s)
{
	for (int i = 0; s && i < 5; i++)
		if (strcmp(s, status_names[i]) == 0)
			return i;
	return 5;
}
