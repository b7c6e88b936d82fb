/* Reading podman's JSON: paths into inspect objects and arrays of
 * strings. */
#include <string.h>

#include "secscan.h"

void
add_unique(cJSON *arr, const char *s)
{
	if (!phx_jhas(arr, s))
		cJSON_AddItemToArray(arr, cJSON_CreateString(s));
}

/* a path into an inspect object: "HostConfig.Memory" */
const cJSON *
jpath(const cJSON *obj, const char *path)
{
	return phx_cfg(obj, path);
}

const char *
jpath_str(const cJSON *obj, const char *path)
{
	const cJSON *v = jpath(obj, path);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

double
jpath_num(const cJSON *obj, const char *path)
{
	const cJSON *v = jpath(obj, path);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

cJSON *
dup_or_null(const cJSON *v)
{
	return v ? cJSON_Duplicate(v, true) : cJSON_CreateNull();
}

char *
join(const cJSON *arr)
{
	struct phx_buf b = { 0 };
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it))
			phx_buf_printf(&b, "%s%s", b.len ? ", " : "", it->valuestring);
	if (!b.len)
		phx_buf_addstr(&b, "none");
	phx_buf_str(&b);
	return b.data;
}
