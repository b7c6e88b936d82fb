/* A services.yaml entry as the checks of phx-records(5): the one rule
 * that phx-deploy's service records and phx-probe -s both follow, so one
 * entry gives one set of checks whichever tool reads it. */
#include <stdlib.h>
#include <string.h>

#include "phx.h"

enum {
	K_HTTP = 1, K_TCP = 2, K_PG = 4, K_HC = 8, K_OTHER = 16,
	K_PROBED = K_HTTP | K_TCP | K_PG,
	K_ALL = K_PROBED | K_HC | K_OTHER,
};

/* record key, entry key, the kinds it belongs to, whether the probe
 * section gives a default; the entry's "password" is not here: a secret
 * never goes into a record (phx-probe reads it from the entry itself) */
static const struct field {
	const char *key, *path;
	int kinds;
	bool dflt;
} fields[] = {
	{ "method", "method", K_HTTP, false },
	{ "headers", "headers", K_HTTP, false },
	{ "body", "body", K_HTTP, false },
	{ "conditions", "conditions", K_PROBED, false },
	{ "expected_status", "expected_status", K_HTTP, true },
	{ "insecure", "insecure", K_HTTP, true },
	{ "ca_file", "ca_file", K_HTTP, false },
	{ "dbname", "dbname", K_PG, false },
	{ "user", "user", K_PG, false },
	{ "password_env", "password_env", K_PG, false },
	{ "sslmode", "sslmode", K_PG, false },
	{ "query", "query", K_PG, false },
	{ "timeout_ms", "timeout", K_ALL, true },
	{ "retries", "retries", K_ALL, true },
	{ "backoff_initial_ms", "backoff.initial", K_ALL, true },
	{ "backoff_max_ms", "backoff.max", K_ALL, true },
	{ "backoff_multiplier", "backoff.multiplier", K_ALL, true },
	{ "interval_ms", "interval", K_ALL, true },
};

static cJSON *
new_check(const char *kind, const char *target, int bit, const cJSON *entry,
    const cJSON *probe)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "kind", kind);
	if (target)
		cJSON_AddStringToObject(c, "target", target);
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		const cJSON *v;
		if (!(fields[i].kinds & bit))
			continue;
		v = phx_cfg(entry, fields[i].path);
		if (!v && fields[i].dflt)
			v = phx_cfg(probe, fields[i].path);
		if (v)
			cJSON_AddItemToObject(c, fields[i].key, cJSON_Duplicate(v, true));
	}
	return c;
}

/* the entry's own check: type, else url (http), else host or port (tcp) */
static cJSON *
entry_check(const cJSON *entry, const cJSON *probe, const char *container)
{
	const char *type = phx_jstr(entry, "type"), *url = phx_jstr(entry, "url");
	const char *host = phx_jstr(entry, "host");
	double pnum = phx_jnum(entry, "port", 0);
	/* out of range (or not a whole number): no target, so the check is
	 * reported invalid instead of reaching a cast */
	int port = pnum >= 1 && pnum <= 65535 && pnum == (double)(long)pnum ?
	    (int)pnum : pnum != 0 ? -1 : 0, bit;
	char *target = NULL;
	cJSON *c;

	if (!type)
		type = url ? "http" : host || port ? "tcp" : NULL;
	if (!type)
		return NULL;
	if (strcmp(type, "https") == 0)
		type = "http";
	else if (strcmp(type, "postgresql") == 0)
		type = "postgres";
	bit = strcmp(type, "http") == 0 ? K_HTTP : strcmp(type, "tcp") == 0 ?
	    K_TCP : strcmp(type, "postgres") == 0 ? K_PG :
	    strcmp(type, "healthcheck") == 0 ? K_HC : K_OTHER;
	if (bit == K_PG && !port)
		port = 5432;
	if (bit == K_HC)
		target = container ? phx_strdup(container) : NULL;
	else if (url)
		target = phx_strdup(url);
	else if (port > 0) {
		host = host ? host : "localhost";
		target = phx_asprintf(strchr(host, ':') ? "[%s]:%d" : "%s:%d",
		    host, port);
	}
	c = new_check(type, target, bit, entry, probe);
	free(target);
	return c;
}

cJSON *
phx_service_checks(const cJSON *cfg, const cJSON *entry, const char *container,
    bool declared)
{
	const cJSON *probe = phx_cfg(cfg, "probe");
	const cJSON *hc = cJSON_GetObjectItemCaseSensitive(entry, "healthcheck");
	cJSON *checks = cJSON_CreateArray(), *c;
	bool want_hc = cJSON_IsBool(hc) ? cJSON_IsTrue(hc) : declared;

	if (!phx_jbool(entry, "enabled", true))
		return checks;
	if (phx_jstr(entry, "container"))
		container = phx_jstr(entry, "container");
	if ((c = entry_check(entry, probe, container))) {
		cJSON_AddItemToArray(checks, c);
		if (strcmp(phx_jstr(c, "kind"), "healthcheck") == 0)
			want_hc = false;
	}
	if (want_hc && container)
		cJSON_AddItemToArray(checks,
		    new_check("healthcheck", container, K_HC, entry, probe));
	return checks;
}

bool
phx_declares_healthcheck(const cJSON *service, const cJSON *inspect)
{
	const cJSON *hc = cJSON_GetObjectItemCaseSensitive(service, "healthcheck");
	const cJSON *test = cJSON_GetObjectItemCaseSensitive(hc, "test");
	const cJSON *first = cJSON_IsArray(test) ? test->child : test;
	const cJSON *image = phx_cfg(inspect, "Config.Healthcheck.Test");

	if (phx_jbool(hc, "disable", false))
		return false;
	if (test)
		return !(cJSON_IsString(first) &&
		    strcmp(first->valuestring, "NONE") == 0);
	return cJSON_IsArray(image) && cJSON_IsString(image->child) &&
	    strcmp(image->child->valuestring, "NONE") != 0;
}
