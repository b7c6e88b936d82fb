/* checks for phx-probe: services.yaml's entry, else the compose
 * file's healthcheck and published ports */
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

static void
check_defaults(const cJSON *cfg, const cJSON *entry, cJSON *chk, bool http)
{
	const cJSON *probe = phx_cfg(cfg, "probe");
	const cJSON *eb = cJSON_GetObjectItemCaseSensitive(entry, "backoff");
	const cJSON *pb = cJSON_GetObjectItemCaseSensitive(probe, "backoff");
	const cJSON *es = cJSON_GetObjectItemCaseSensitive(entry, "expected_status");

	cJSON_AddNumberToObject(chk, "timeout_ms",
	    phx_jnum(entry, "timeout", phx_jnum(probe, "timeout", 30000)));
	cJSON_AddNumberToObject(chk, "retries",
	    phx_jnum(entry, "retries", phx_jnum(probe, "retries", 5)));
	cJSON_AddNumberToObject(chk, "backoff_initial_ms",
	    phx_jnum(eb, "initial", phx_jnum(pb, "initial", 1000)));
	cJSON_AddNumberToObject(chk, "backoff_max_ms",
	    phx_jnum(eb, "max", phx_jnum(pb, "max", 30000)));
	cJSON_AddNumberToObject(chk, "backoff_multiplier",
	    phx_jnum(eb, "multiplier", phx_jnum(pb, "multiplier", 2)));
	if (!http)
		return;
	if (!es)
		es = cJSON_GetObjectItemCaseSensitive(probe, "expected_status");
	cJSON_AddItemToObject(chk, "expected_status",
	    es ? cJSON_Duplicate(es, true) : cJSON_CreateIntArray((int[]){ 200 }, 1));
	cJSON_AddBoolToObject(chk, "insecure", phx_jbool(entry, "insecure",
	    phx_jbool(probe, "insecure", false)));
}

static cJSON *
new_check(const char *kind, const char *target)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "kind", kind);
	cJSON_AddStringToObject(c, "target", target);
	return c;
}

static void
copy_str(cJSON *to, const char *key, const cJSON *from, const char *fkey)
{
	const char *v = phx_jstr(from, fkey);

	if (v)
		cJSON_AddStringToObject(to, key, v);
}

static cJSON *
configured_check(const cJSON *cfg, const cJSON *entry, const char *container)
{
	const char *type = phx_jstr(entry, "type");
	const char *url = phx_jstr(entry, "url");
	const char *host = phx_jstr(entry, "host");
	int port = (int)phx_jnum(entry, "port", 0);
	cJSON *chk;
	char *target;

	if (!type)
		type = url ? "http" : port ? "tcp" :
		    phx_jbool(entry, "healthcheck", false) ? "healthcheck" : NULL;
	if (!type)
		return NULL;
	if (strcmp(type, "http") == 0 || strcmp(type, "https") == 0) {
		if (!url)
			return NULL;
		chk = new_check("http", url);
		copy_str(chk, "method", entry, "method");
		if (cJSON_GetObjectItemCaseSensitive(entry, "conditions"))
			cJSON_AddItemToObject(chk, "conditions", cJSON_Duplicate(
			    cJSON_GetObjectItemCaseSensitive(entry, "conditions"), true));
		check_defaults(cfg, entry, chk, true);
		return chk;
	}
	if (strcmp(type, "healthcheck") == 0) {
		chk = new_check("healthcheck", phx_jstr(entry, "container") ?
		    phx_jstr(entry, "container") : container);
		check_defaults(cfg, entry, chk, false);
		return chk;
	}
	if (strcmp(type, "postgres") == 0 && !port)
		port = 5432;
	target = phx_asprintf("%s:%d", host ? host : "localhost", port);
	chk = new_check(strcmp(type, "postgres") == 0 ? "postgres" : "tcp", target);
	free(target);
	if (strcmp(type, "postgres") == 0) {
		copy_str(chk, "dbname", entry, "dbname");
		copy_str(chk, "user", entry, "user");
		copy_str(chk, "password_env", entry, "password_env");
	}
	check_defaults(cfg, entry, chk, false);
	return chk;
}

static bool
has_healthcheck(const cJSON *svc, const cJSON *info)
{
	const cJSON *hc = cJSON_GetObjectItemCaseSensitive(svc, "healthcheck");
	const cJSON *test = cJSON_GetObjectItemCaseSensitive(hc, "test");
	const cJSON *first = cJSON_IsArray(test) ? test->child : test;

	if (phx_jbool(hc, "disable", false))
		return false;
	if (test)
		return !(cJSON_IsString(first) && strcmp(first->valuestring, "NONE") == 0);
	if (info) {   /* the image's own HEALTHCHECK */
		const cJSON *ih = phx_cfg(info, "Config.Healthcheck.Test");
		return cJSON_IsArray(ih) && ih->child && cJSON_IsString(ih->child) &&
		    strcmp(ih->child->valuestring, "NONE") != 0;
	}
	return false;
}

cJSON *
service_checks(struct deploy *d, const char *name, const cJSON *svc,
    const cJSON *ports, const cJSON *info, const char *container)
{
	const cJSON *entry = phx_cfg(cJSON_GetObjectItemCaseSensitive(d->cfg,
	    "services"), name);
	cJSON *checks = cJSON_CreateArray(), *chk;
	const cJSON *p;

	if (entry) {
		if (!phx_jbool(entry, "enabled", true))
			return checks;
		if ((chk = configured_check(d->cfg, entry, container)))
			cJSON_AddItemToArray(checks, chk);
		if (phx_jbool(entry, "healthcheck", false) && chk &&
		    strcmp(phx_jstr(chk, "kind"), "healthcheck") != 0) {
			chk = new_check("healthcheck", phx_jstr(entry, "container") ?
			    phx_jstr(entry, "container") : container);
			check_defaults(d->cfg, entry, chk, false);
			cJSON_AddItemToArray(checks, chk);
		}
		return checks;
	}
	if (has_healthcheck(svc, info)) {
		chk = new_check("healthcheck", container);
		check_defaults(d->cfg, NULL, chk, false);
		cJSON_AddItemToArray(checks, chk);
	}
	cJSON_ArrayForEach(p, ports) {
		const char *ip = phx_jstr(p, "host_ip");
		int port = (int)phx_jnum(p, "host_port", 0);
		char *target;
		if (!port || strcmp(phx_jstr(p, "protocol"), "tcp") != 0)
			continue;
		if (!ip || !*ip || strcmp(ip, "0.0.0.0") == 0)
			ip = "127.0.0.1";
		else if (strcmp(ip, "::") == 0)
			ip = "::1";
		target = strchr(ip, ':') ? phx_asprintf("[%s]:%d", ip, port)
		    : phx_asprintf("%s:%d", ip, port);
		chk = new_check("tcp", target);
		free(target);
		check_defaults(d->cfg, NULL, chk, false);
		cJSON_AddItemToArray(checks, chk);
	}
	return checks;
}
