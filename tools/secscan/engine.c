/* What the engine itself reports (podman info, ps, network inspect). */
#include <stdlib.h>
#include <string.h>

#include "secscan.h"

static cJSON *networks;         /* name -> podman network inspect object */

void
load_engine(void)
{
	static const char *info[] = { "info", "--format", "json", NULL };
	static const char *ps[] = { "ps", "--format", "json", NULL };
	char *why = NULL;

	secscan.info = phx_podman_json(info, NULL, &why);
	if (!secscan.info) {
		phx_log(PHX_ERROR, "%s", why);
		free(why);
		return;
	}
	secscan.containers = phx_podman_json(ps, NULL, &why);
	if (!secscan.containers) {
		phx_log(PHX_WARN, "%s", why);
		free(why);
	}
}

/* the engine's default capability set, as podman info reports it */
cJSON *
default_caps(void)
{
	const char *s = jpath_str(secscan.info, "host.security.capabilities");
	cJSON *caps = cJSON_CreateArray();
	char *copy, *save = NULL;

	if (!s)
		return caps;
	copy = phx_strdup(s);
	for (char *c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save))
		add_unique(caps, c);
	free(copy);
	return caps;
}

const cJSON *
network_info(const char *name)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(networks, name);
	static const char *args[] = { "network", "inspect", NULL };
	const char *ops[] = { name, NULL };
	char *why = NULL;
	cJSON *arr;

	if (n)
		return n;
	if (!networks)
		networks = cJSON_CreateObject();
	arr = phx_podman_json(args, ops, &why);
	if (!arr) {
		phx_log(PHX_WARN, "%s", why);
		free(why);
		cJSON_AddItemToObject(networks, name, cJSON_CreateObject());
	} else {
		cJSON_AddItemToObject(networks, name,
		    cJSON_DetachItemFromArray(arr, 0));
		cJSON_Delete(arr);
	}
	return cJSON_GetObjectItemCaseSensitive(networks, name);
}

void
engine_free(void)
{
	cJSON_Delete(secscan.info);
	cJSON_Delete(secscan.containers);
	cJSON_Delete(networks);
}
