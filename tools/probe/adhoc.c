/* phx-probe's ad hoc checks: services of the configuration (-s, -a) and
 * targets on the command line, in the record form of their checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

static void
copy_field(cJSON *dst, const char *to, const cJSON *src, const char *from)
{
	const cJSON *v = phx_cfg(src, from);

	if (v)
		cJSON_AddItemToObject(dst, to, cJSON_Duplicate(v, true));
}

/* a config entry in the record form of its checks */
static cJSON *
config_checks(const cJSON *e)
{
	static const char *same[] = { "method", "headers", "body", "conditions",
	    "expected_status", "insecure", "ca_file", "dbname", "user",
	    "password_env", "sslmode", "query", "retries" };
	static const char *ms[][2] = { { "timeout", "timeout_ms" },
	    { "backoff.initial", "backoff_initial_ms" },
	    { "backoff.max", "backoff_max_ms" },
	    { "backoff.multiplier", "backoff_multiplier" },
	    { "interval", "interval_ms" } };
	cJSON *arr = cJSON_CreateArray(), *c;
	const char *type = phx_jstr(e, "type"), *url = phx_jstr(e, "url");
	const char *host = phx_jstr(e, "host"), *container = phx_jstr(e, "container");
	double port = phx_jnum(e, "port", 0);

	if (url || type || host) {
		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "kind", type ? type : url ? "http" : "tcp");
		if (url)
			cJSON_AddStringToObject(c, "target", url);
		else if (host && port >= 1 && port <= 65535 &&
		    port == floor(port)) {
			char *t = phx_asprintf(strchr(host, ':') ? "[%s]:%.0f" :
			    "%s:%.0f", host, port);
			cJSON_AddStringToObject(c, "target", t);
			free(t);
		}
		for (size_t i = 0; i < sizeof same / sizeof *same; i++)
			copy_field(c, same[i], e, same[i]);
		for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
			copy_field(c, ms[i][1], e, ms[i][0]);
		cJSON_AddItemToArray(arr, c);
	}
	if (container && phx_jbool(e, "healthcheck", false)) {
		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "kind", "healthcheck");
		cJSON_AddStringToObject(c, "target", container);
		copy_field(c, "timeout_ms", e, "timeout");
		copy_field(c, "retries", e, "retries");
		cJSON_AddItemToArray(arr, c);
	}
	return arr;
}

static void
add_config_service(const char *name)
{
	const cJSON *e = config_entry(name), *j;
	struct service *s;
	cJSON *checks;

	if (!e)
		phx_die(PHX_EXIT_USAGE, "unknown service \"%s\" (not in the "
		    "configuration's services)", name);
	if (service_find(name) || !phx_jbool(e, "enabled", true))
		return;
	s = service_new(name);
	s->adhoc = true;
	checks = config_checks(e);
	cJSON_ArrayForEach(j, checks)
		service_add_check(s, check_new(s, j, e, &probe.dflt));
	cJSON_Delete(checks);
}

/* [name=]URL, tcp://host:port or postgresql://user@host:port/db */
void
add_target(const char *arg)
{
	const char *eq = strchr(arg, '='), *t = arg;
	char *name = NULL, *shown;
	cJSON *j = cJSON_CreateObject();
	struct service *s;

	if (eq && eq > arg && strcspn(arg, ":/") > (size_t)(eq - arg)) {
		name = phx_strdup(arg);
		name[eq - arg] = '\0';
		t = eq + 1;
	}
	if (strncmp(t, "http://", 7) == 0 || strncmp(t, "https://", 8) == 0)
		cJSON_AddStringToObject(j, "kind", "http");
	else if (strncmp(t, "tcp://", 6) == 0)
		cJSON_AddStringToObject(j, "kind", "tcp");
	else if (is_pg_uri(t))
		cJSON_AddStringToObject(j, "kind", "postgres");
	else
		phx_die(PHX_EXIT_USAGE, "%s: not a target (http://, https://, "
		    "tcp://host:port, postgresql://)", arg);
	cJSON_AddStringToObject(j, "target", t);
	shown = phx_redact(t);
	if (service_find(name ? name : shown))
		phx_die(PHX_EXIT_USAGE, "%s: named twice", name ? name : shown);
	s = service_new(name ? name : shown);
	s->adhoc = true;
	service_add_check(s, check_new(s, j, NULL, &probe.dflt));
	free(shown);
	free(name);
	cJSON_Delete(j);
}

void
add_config_services(const char *list, bool all)
{
	const cJSON *e;
	char *copy, *save = NULL;

	if (all) {
		cJSON_ArrayForEach(e, phx_cfg(probe.cfg, "services"))
			add_config_service(e->string);
		return;
	}
	copy = phx_strdup(list);
	for (char *n = strtok_r(copy, ", ", &save); n; n = strtok_r(NULL, ", ", &save))
		add_config_service(n);
	free(copy);
}
