/* Records (format v1, see phx-records(5)) and stdout discipline: one
 * record a line, redacted, flushed as soon as it is known; a failed
 * write turns into exit status PHX_EXIT_ENV rather than lost output.
 * Process setup lives here too: it is the top of lib's core layers
 * (util <- redact <- log <- out), so it may set up every one of them. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phx.h"
#include "phx_priv.h"

static bool stdout_failed;
static bool stdout_warned;
static bool line_open;   /* a passed line ended without a newline */
static bool held;        /* phx_out_hold(): flushed by phx_out_flush() */
/* the end of an over-long line, held back until the next chunk shows
 * whether a secret runs on into it */
static struct phx_redact_stream long_line;
/* phx-functest emits from several threads; a diagnostic, now a record,
 * can come from any of them */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
/* this thread is inside phx_emit: a diagnostic from there (a failed
 * write, no memory) goes to stderr, not round again */
static _Thread_local bool emitting;

static void write_out(const char *s, size_t len, bool newline, bool continued);

/* an over-long line that ended without a newline (at end of input) */
static void
finish_long_line(void)
{
	struct phx_buf b = { 0 };

	if (!phx_redact_pending(&long_line))
		return;
	phx_redact_chunk(&long_line, "", 0, true, &b);
	write_out(b.data, b.len, false, true);
	phx_buf_free(&b);
}

static void
stdout_error(void)
{
	stdout_failed = true;
	if (!stdout_warned) {
		stdout_warned = true;
		phx_log(PHX_WARN, "standard output: %s", strerror(errno));
	}
}

/* continued: the bytes go on a line already begun (an over-long line's
 * later chunks); otherwise a line left without its newline (the last
 * input line) is ended first, so nothing runs into it */
static void
write_out(const char *s, size_t len, bool newline, bool continued)
{
	bool bad;

	if (stdout_failed)
		return;
	bad = (line_open && !continued && putchar('\n') == EOF) ||
	    (len && fwrite(s, 1, len, stdout) != len) ||
	    (newline && putchar('\n') == EOF) || (!held && fflush(stdout) == EOF);
	line_open = !newline;
	if (bad)
		stdout_error();
}

void
phx_out_hold(void)
{
	held = true;
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
}

void
phx_out_flush(void)
{
	if (!stdout_failed && fflush(stdout) == EOF)
		stdout_error();
}

bool phx_stdout_failed(void) { return stdout_failed; }

void
phx_exit(int status)
{
	finish_long_line();
	if (fflush(stdout) == EOF || ferror(stdout))
		stdout_failed = true;
	if (stdout_failed && status == PHX_EXIT_OK)
		status = PHX_EXIT_ENV;
	exit(status);
}

/* a diagnostic as a log record, for the progress owner downstream */
static bool
log_record(enum phx_level level, const char *msg)
{
	cJSON *rec;

	if (emitting || stdout_failed)
		return false;
	rec = phx_record_new("log");
	phx_add_ref(rec, "level", phx_log_word(level));
	cJSON_AddStringToObject(rec, "message", msg);
	phx_emit(rec);
	return !stdout_failed;
}

/* PHX_LOG_STREAM names this process's standard output only: a program
 * it runs (a command test) has a stdout of its own */
static void
log_stream_setup(void)
{
	const char *v = getenv("PHX_LOG_STREAM");

	if (v && *v && strcmp(v, "0") != 0)
		phx_log_to_records(log_record);
	unsetenv("PHX_LOG_STREAM");
}

/* a standard descriptor left closed is the next open()'s: curl's socket
 * would be read as the input stream, a state file would get the records */
static void
std_fds_open(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int nul;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if ((nul = open("/dev/null", O_RDWR)) < 0)
			phx_edie(PHX_EXIT_ENV, "/dev/null");
		if (nul != fd && (dup2(nul, fd) < 0 || close(nul) < 0))
			phx_edie(PHX_EXIT_ENV, "/dev/null");
	}
}

void
phx_init(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	if (argv0)
		phx_progname = slash ? slash + 1 : argv0;
	std_fds_open();
	/* a closed pipe must show up as EPIPE on write, not kill us mid-record */
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	phx_log_setup();
	log_stream_setup();
	/* phx_die is below us: it flushes held records through this hook */
	phx_log_on_die(phx_exit);
	/* a tool that leaves without phx_exit still ends a held line */
	atexit(finish_long_line);
	phx_secrets_from_env();
}

void
phx_version(void)
{
	printf("%s %s (records v%d)\n", phx_progname, PHX_VERSION,
	    PHX_RECORD_VERSION);
	phx_exit(PHX_EXIT_OK);
}

/* a literal key is not copied: a malloc and a free less a field */
static void
add_const_key(cJSON *obj, const char *key, cJSON *it)
{
	if (!it || !cJSON_AddItemToObjectCS(obj, key, it))
		phx_die(PHX_EXIT_ENV, "out of memory");
}

cJSON *
phx_record_new(const char *type)
{
	cJSON *rec = cJSON_CreateObject();
	const char *id = phx_deployment_id();
	char ts[32];

	if (!rec)
		phx_die(PHX_EXIT_ENV, "out of memory");
	phx_ts_format(phx_wall_ms(), ts);
	phx_add_int(rec, "v", PHX_RECORD_VERSION);
	phx_add_ref(rec, "type", type);
	add_const_key(rec, "deployment_id", id ? cJSON_CreateString(id) :
	    cJSON_CreateNull());
	add_const_key(rec, "ts", cJSON_CreateString(ts));
	phx_add_ref(rec, "source", phx_progname);
	return rec;
}

void
phx_add_int(cJSON *obj, const char *key, int64_t v)
{
	char digits[24], *p = digits + sizeof digits;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	*--p = '\0';
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	add_const_key(obj, key, cJSON_CreateRaw(p));
}

void
phx_add_ref(cJSON *obj, const char *key, const char *value)
{
	add_const_key(obj, key, cJSON_CreateStringReference(value));
}

/* Secrets are masked in the values, before cJSON escapes them: masking
 * the printed bytes could eat a quote; what the printed bytes still spell
 * (across an escape) is masked in the values it touches.  Most records
 * fit the stack buffer: no print buffer to grow and copy. */
void
phx_emit(cJSON *rec)
{
	char buf[8192];
	char *s = buf, *fixed;

	emitting = true;
	phx_redact_json(rec);
	if (!cJSON_PrintPreallocated(rec, buf, sizeof buf, false) &&
	    !(s = cJSON_PrintUnformatted(rec)))
		phx_die(PHX_EXIT_ENV, "out of memory");
	if ((fixed = phx_redact_printed(rec, s, false)) != NULL) {
		if (s != buf)
			phx_free_secret(s);
		s = fixed;
	}
	cJSON_Delete(rec);
	pthread_mutex_lock(&out_lock);
	finish_long_line();
	write_out(s, strlen(s), true, false);
	pthread_mutex_unlock(&out_lock);
	emitting = false;
	if (s != buf)
		free(s);
}

/* a line that held no secret goes out byte for byte; one that did is
 * printed again (see phx_redact_mem); an over-long line's chunks are
 * masked across their boundaries */
void
phx_pass(const struct phx_input *in)
{
	size_t rlen;
	char *clean;
	struct phx_buf b = { 0 };

	if (!in->continued)
		finish_long_line();
	if (in->chunk) {
		phx_redact_chunk(&long_line, in->line, in->len, in->newline, &b);
		write_out(b.data, b.len, in->newline, in->continued);
		phx_buf_free(&b);
		return;
	}
	clean = phx_redact_mem(in->line, in->len, &rlen);
	if (clean)
		write_out(clean, rlen, in->newline, in->continued);
	else
		write_out(in->line, in->len, in->newline, in->continued);
	free(clean);
}

int64_t
phx_phase_start(const char *phase)
{
	cJSON *rec = phx_record_new("phase");

	cJSON_AddStringToObject(rec, "phase", phase);
	cJSON_AddStringToObject(rec, "event", "start");
	phx_emit(rec);
	return phx_now_ms();
}

void
phx_phase_end(const char *phase, int64_t started, const char *status,
    cJSON *counts)
{
	cJSON *rec = phx_record_new("phase");

	cJSON_AddStringToObject(rec, "phase", phase);
	cJSON_AddStringToObject(rec, "event", "end");
	cJSON_AddStringToObject(rec, "status", status);
	phx_add_int(rec, "duration_ms", phx_now_ms() - started);
	if (counts)
		cJSON_AddItemToObject(rec, "counts", counts);
	phx_emit(rec);
}

void
phx_emit_error(const char *reason, const char *fmt, ...)
{
	cJSON *rec = phx_record_new("error");
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(rec, "reason", reason);
	cJSON_AddStringToObject(rec, "message", msg);
	phx_emit(rec);
}

bool
phx_jhas(const cJSON *arr, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return true;
	return false;
}

const char *
phx_jstr(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

double
phx_jnum(const cJSON *obj, const char *key, double dflt)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(it) ? it->valuedouble : dflt;
}

int64_t
phx_num_int(double v, int64_t dflt, int64_t min, int64_t max)
{
	if (isnan(v))
		return dflt;
	if (v <= (double)min)
		return min;
	/* (double)INT64_MAX rounds up to 2^63, which no int64_t holds */
	if (v >= (double)max)
		return max;
	return (int64_t)v;
}

int64_t
phx_jint(const cJSON *obj, const char *key, int64_t dflt, int64_t min,
    int64_t max)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(it) ? phx_num_int(it->valuedouble, dflt, min, max)
	    : dflt;
}

bool
phx_jbool(const cJSON *obj, const char *key, bool dflt)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsBool(it) ? cJSON_IsTrue(it) : dflt;
}
