/* phx-probe's ad hoc checks: services of the configuration (-s, -a) and
 * targets on the command line, in the record form of their checks. */
#include <stdlib.h>
#include <string.h>

#include "probe.h"

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
	/* no compose file here: a healthcheck needs the entry's container */
	checks = phx_service_checks(probe.cfg, e, NULL, false);
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
