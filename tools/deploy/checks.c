/* checks for phx-probe: a services.yaml entry's, by the rule of
 * lib/check.c; a service without one gets its declared healthcheck and a
 * tcp check on each published port */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

/* a tcp check on a published port, as if services.yaml had it */
static void
add_port_check(struct deploy *d, cJSON *checks, const cJSON *p)
{
	const char *ip = phx_jstr(p, "host_ip");
	int port = (int)phx_jint(p, "host_port", 0, INT_MIN, INT_MAX);
	cJSON *entry, *found;

	if (!port || strcmp(phx_jstr(p, "protocol"), "tcp") != 0)
		return;
	if (!ip || !*ip || strcmp(ip, "0.0.0.0") == 0)
		ip = "127.0.0.1";
	else if (strcmp(ip, "::") == 0)
		ip = "::1";
	entry = cJSON_CreateObject();
	cJSON_AddStringToObject(entry, "host", ip);
	cJSON_AddNumberToObject(entry, "port", port);
	found = phx_service_checks(d->cfg, entry, NULL, false);
	cJSON_AddItemToArray(checks, cJSON_DetachItemFromArray(found, 0));
	cJSON_Delete(found);
	cJSON_Delete(entry);
}

cJSON *
service_checks(struct deploy *d, const char *name, const cJSON *svc,
    const cJSON *ports, const cJSON *info, const char *container)
{
	const cJSON *entry = cJSON_GetObjectItemCaseSensitive(
	    phx_cfg(d->cfg, "services"), name);
	cJSON *checks = phx_service_checks(d->cfg, entry, container,
	    phx_declares_healthcheck(svc, info));
	const cJSON *p;

	if (!entry)
		cJSON_ArrayForEach(p, ports)
			add_port_check(d, checks, p);
	return checks;
}
