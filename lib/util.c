/* Small things every stage needs: memory that dies on exhaustion,
 * a growable buffer, clocks and time formats, and who is speaking (the
 * program's name and the deployment id that stamp every log line and
 * record).  The bottom layer of lib: it calls nothing else of lib. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "phx.h"

const char *phx_progname = "phx";
static char *current_id;

/* not phx_die: logging sits above this layer and itself allocates; exit()
 * still flushes records a stage holds */
static _Noreturn void
out_of_memory(void)
{
	fputs(phx_progname, stderr);
	fputs(": error: out of memory\n", stderr);
	exit(PHX_EXIT_ENV);
}

void *
phx_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		out_of_memory();
	return p;
}

void *
phx_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		out_of_memory();
	return p;
}

void *
phx_reallocarray(void *p, size_t n, size_t size)
{
	void *np;

	if (size && n > SIZE_MAX / size)
		out_of_memory();
	np = realloc(p, n && size ? n * size : 1);
	if (!np)
		out_of_memory();
	return np;
}

char *
phx_strdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		out_of_memory();
	return d;
}

char *
phx_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		out_of_memory();
	return s;
}

void
phx_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

void
phx_free_secret(char *s)
{
	if (!s)
		return;
	phx_wipe(s, strlen(s));
	free(s);
}

static void
buf_reserve(struct phx_buf *b, size_t extra)
{
	size_t want = b->len + extra + 1;
	size_t cap = b->cap ? b->cap : 256;

	if (want <= b->cap)
		return;
	while (cap < want)
		cap *= 2;
	b->data = phx_reallocarray(b->data, cap, 1);
	b->cap = cap;
}

void
phx_buf_add(struct phx_buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
phx_buf_addstr(struct phx_buf *b, const char *s)
{
	phx_buf_add(b, s, strlen(s));
}

void
phx_buf_printf(struct phx_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *
phx_buf_str(struct phx_buf *b)
{
	buf_reserve(b, 0);
	b->data[b->len] = '\0';   /* a fresh buffer has no terminator yet */
	return b->data;
}

void
phx_buf_free(struct phx_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int64_t
phx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
phx_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* a stage writes many records a second: the date and time are formatted
 * once a second, the milliseconds every time */
void
phx_ts_format(int64_t wall_ms, char out[32])
{
	static _Thread_local int64_t last_secs = INT64_MIN;
	static _Thread_local char last[24];
	static _Thread_local size_t n;
	int64_t secs = wall_ms / 1000;
	unsigned ms = (unsigned)(wall_ms % 1000) % 1000u;

	if (secs != last_secs) {
		time_t t = (time_t)secs;
		struct tm tm;

		gmtime_r(&t, &tm);
		n = strftime(last, sizeof last, "%Y-%m-%dT%H:%M:%S", &tm);
		last_secs = secs;
	}
	memcpy(out, last, n);
	out[n] = '.';
	out[n + 1] = (char)('0' + ms / 100);
	out[n + 2] = (char)('0' + ms / 10 % 10);
	out[n + 3] = (char)('0' + ms % 10);
	out[n + 4] = 'Z';
	out[n + 5] = '\0';
}

int64_t
phx_ts_parse(const char *ts)
{
	struct tm tm = { 0 };
	int ms = 0, n = 0;
	const char *p;

	if (!ts)
		return -1;
	p = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (*p == 'Z' && p[1] == '\0')
		n = 0;
	else if ((*p == '+' || *p == '-') && strlen(p) == 6) {
		int hh = atoi(p + 1), mm = atoi(p + 4);
		n = (hh * 60 + mm) * 60 * (*p == '+' ? 1 : -1);
	} else
		return -1;
	return ((int64_t)timegm(&tm) - n) * 1000 + ms;
}

int64_t
phx_duration_ms(const char *s)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		v *= 1000;
	else if (strcmp(end, "ms") == 0)
		;
	else if (strcmp(end, "m") == 0)
		v *= 60 * 1000;
	else if (strcmp(end, "h") == 0)
		v *= 3600 * 1000;
	else
		return -1;
	if (v > (double)INT64_MAX / 2)
		return -1;
	return (int64_t)(v + 0.5);
}

const char *
phx_deployment_id(void)
{
	const char *env;

	if (current_id)   /* every record asks: no walk of environ then */
		return current_id;
	env = getenv("PHX_DEPLOYMENT_ID");
	return env && *env ? env : NULL;
}

void
phx_set_deployment_id(const char *id)
{
	free(current_id);
	current_id = id ? phx_strdup(id) : NULL;
}
