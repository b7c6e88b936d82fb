/* The compose file: its internal networks, and the line of each
 * service for SARIF locations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secscan.h"

const char *
compose_path(void)
{
	if (secscan.compose_file)
		return secscan.compose_file;
	if (secscan.stream_compose)
		return secscan.stream_compose;
	return phx_cfg_str(secscan.cfg, "deployment.compose_file");
}

/* the compose file, read as phx_compose_load() reads it but only when it
 * is a regular file under the size limit: the stream may name any path */
bool
load_compose(bool must)
{
	static bool tried;
	const char *file = compose_path();
	char *err = NULL, *data, *dir, *slash;
	size_t len;

	if (!file || tried)
		return false;
	tried = true;
	if ((data = read_regular(file, &len, &err))) {
		dir = phx_strdup(file);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		secscan.compose = phx_compose_parse(file, data, len,
		    slash ? (*dir ? dir : "/") : ".", &err);
		free(dir);
	}
	if (!secscan.compose) {
		if (must)
			phx_die(PHX_EXIT_USAGE, "%s", err);
		phx_log(PHX_WARN, "%s; network declarations not checked", err);
		secscan.compose_why = err;
		free(data);
		return false;
	}
	secscan.compose_lines = phx_compose_lines(data, len);
	free(data);
	return true;
}

/* whether the compose file declares podman network NAME internal */
bool
declared_internal(const char *name, const char *project)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, jpath(secscan.compose, "networks")) {
		char *n = phx_compose_network_name(secscan.compose, it->string,
		    project);
		bool match = strcmp(n, name) == 0;
		free(n);
		if (match)
			return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it,
			    "internal"));
	}
	return false;
}
