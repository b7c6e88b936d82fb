/* a deployment that fails before it starts (the compose file, the
 * settings, the tools, the lock) is still a deployment that failed: the
 * stream says so, so that phx-report names it as the root cause instead
 * of reading an empty stream */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

static void
refusal_records(struct deploy *d, const char *reason, const char *msg)
{
	char *first, *stream_id;
	bool nl = true;
	int64_t started;
	cJSON *rec;

	first = input_first(&nl, &stream_id);
	free(stream_id);
	started = phx_phase_start(d->phase);
	pass_copy(first, nl);
	rec = phx_record_new("error");
	cJSON_AddStringToObject(rec, "reason", reason);
	cJSON_AddStringToObject(rec, "message", msg);
	phx_emit(rec);
	rec = deployment_record(d, "failed", 0);
	cJSON_AddStringToObject(rec, "reason", reason);
	cJSON_AddStringToObject(rec, "message", msg);
	phx_emit(rec);
	input_drain();
	phx_phase_end(d->phase, started, "error", NULL);
}

void
deploy_fail(struct deploy *d, int status, const char *reason,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		phx_die(PHX_EXIT_ENV, "out of memory");
	va_end(ap);
	phx_log(PHX_ERROR, "%s", msg);
	if (d->phase)
		refusal_records(d, reason, msg);
	free(msg);
	phx_exit(status);
}

/* what kind of error phx_compose_parse said: the file is not YAML (or
 * not YAML that can be read: a key twice, a limit crossed), or it is
 * YAML but not a compose file podman-compose can run */
const char *
compose_error_reason(const char *err)
{
	static const char *const syntax[] = { ": invalid YAML: ",
		": duplicate key", ": keys must be plain strings", " alias *",
		"(the limit)" };

	for (size_t i = 0; i < sizeof syntax / sizeof *syntax; i++)
		if (strstr(err, syntax[i]))
			return "compose_syntax";
	return "compose_invalid";
}
