/* Diagnostics: err(3)-style lines for people wherever stderr goes (a CI
 * log is read by people too); the seed's JSON log format (timestamp,
 * level, component, deployment_id, message, metadata) only when asked,
 * by --log-format json or PHX_LOG_FORMAT=json.  Everything is redacted
 * before it is written.
 * With a progress owner downstream (PHX_LOG_STREAM, see phx(7)) a
 * diagnostic is a log record on standard output instead, and phx-report
 * writes it to stderr with phx_log_relay(): one writer on the terminal.
 * Layered above util and redact, below records (out.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "phx.h"
#include "phx_priv.h"

static enum phx_level log_level = PHX_INFO;
static bool log_json;
/* set by the records layer, which sits above this one */
static void (*die_exit)(int status);

/* set by the records layer when diagnostics go into the stream: false
 * when it could not write the record (then stderr has it) */
static bool (*log_sink)(enum phx_level level, const char *msg);
/* around each line written to stderr: phx-report's progress line */
static void (*log_guard)(bool before);

static const char *level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };
/* in log records, as the text lines say them */
static const char *level_words[] = { "debug", "info", "warning", "error" };

void
phx_log_setup(void)
{
	const char *lv = getenv("PHX_LOG_LEVEL");
	const char *fmt = getenv("PHX_LOG_FORMAT");

	log_json = fmt && strcasecmp(fmt, "json") == 0;
	if (!lv || !*lv)
		return;
	for (int i = PHX_DEBUG; i <= PHX_ERROR; i++)
		if (strcasecmp(lv, level_names[i]) == 0) {
			log_level = (enum phx_level)i;
			return;
		}
	if (strcasecmp(lv, "WARNING") == 0)
		log_level = PHX_WARN;
}

bool
phx_log_format(const char *name)
{
	if (strcasecmp(name, "json") == 0)
		log_json = true;
	else if (strcasecmp(name, "text") == 0)
		log_json = false;
	else
		return false;
	return true;
}

void
phx_log_format_arg(const char *arg)
{
	if (!phx_log_format(arg))
		phx_die(PHX_EXIT_USAGE, "--log-format: \"%s\" is neither text "
		    "nor json", arg);
}

void
phx_log_on_die(void (*exit_fn)(int status))
{
	die_exit = exit_fn;
}

void phx_log_to_records(bool (*sink)(enum phx_level level, const char *msg))
{
	log_sink = sink;
}

bool phx_log_streamed(void) { return log_sink != NULL; }
void phx_log_stderr(void) { log_sink = NULL; }
void phx_log_guard(void (*guard)(bool before)) { log_guard = guard; }
const char *phx_log_word(enum phx_level level) { return level_words[level]; }

void phx_log_quieter(void) { if (log_level < PHX_ERROR) log_level++; }
void phx_log_louder(void) { if (log_level > PHX_DEBUG) log_level--; }
bool phx_log_enabled(enum phx_level level) { return level >= log_level; }

static char *
log_line(enum phx_level level, const char *component, const char *ts_given,
    const char *msg)
{
	struct phx_buf b = { 0 };

	if (log_json) {
		char ts[32];
		cJSON *o = cJSON_CreateObject();
		const char *id = phx_deployment_id();
		char *s;

		phx_ts_format(phx_wall_ms(), ts);
		cJSON_AddStringToObject(o, "timestamp", ts_given ? ts_given : ts);
		cJSON_AddStringToObject(o, "level", level_names[level]);
		cJSON_AddStringToObject(o, "component", component);
		if (id)
			cJSON_AddStringToObject(o, "deployment_id", id);
		else
			cJSON_AddNullToObject(o, "deployment_id");
		cJSON_AddStringToObject(o, "message", msg);
		cJSON_AddItemToObject(o, "metadata", cJSON_CreateObject());
		s = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (!s)
			return NULL;
		phx_buf_addstr(&b, s);
		free(s);
	} else {
		static const char *prefix[] = { "debug: ", "", "warning: ", "error: " };
		phx_buf_printf(&b, "%s: %s%s", component, prefix[level], msg);
	}
	phx_buf_addstr(&b, "\n");
	return b.data;
}

static void
write_line(enum phx_level level, const char *component, const char *ts,
    const char *msg)
{
	char *line = log_line(level, component, ts, msg), *clean;

	if (!line)
		return;
	clean = phx_redact(line);
	if (log_guard)
		log_guard(true);
	fputs(clean, stderr);
	fflush(stderr);
	if (log_guard)
		log_guard(false);
	free(clean);
	free(line);
}

static void
vlog(enum phx_level level, const char *fmt, va_list ap)
{
	char msg[4096];

	if (!phx_log_enabled(level))
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (log_sink && log_sink(level, msg))
		return;
	write_line(level, phx_progname, NULL, msg);
}

static const char *
field(const cJSON *rec, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(rec, key);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* a record's text reaches a terminal: no escape sequence, no line break */
static char *
inert(const char *s)
{
	char *copy = phx_strdup(s);

	for (unsigned char *p = (unsigned char *)copy; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	return copy;
}

/* a log record's line as its stage would have written it; a level this
 * version does not know is shown as info */
void
phx_log_relay(const cJSON *rec)
{
	const char *msg = field(rec, "message"), *word = field(rec, "level");
	const char *source = field(rec, "source");
	enum phx_level level = PHX_INFO;
	char *text, *who;

	if (!msg)
		return;
	for (int i = PHX_DEBUG; word && i <= PHX_ERROR; i++)
		if (strcmp(word, level_words[i]) == 0)
			level = (enum phx_level)i;
	text = inert(msg);
	who = inert(source && *source ? source : "?");
	write_line(level, who, field(rec, "ts"), text);
	free(who);
	free(text);
}

void
phx_log(enum phx_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void
phx_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(PHX_ERROR, fmt, ap);
	va_end(ap);
	if (die_exit)
		die_exit(status);
	exit(status);
}

void
phx_edie(int status, const char *fmt, ...)
{
	char msg[4096];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	phx_die(status, "%s: %s", msg, strerror(saved));
}
