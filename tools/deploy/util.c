/* small helpers: argv building, cJSON setters, time */
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

void
args_add(struct args *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 16;
		const char **v = phx_reallocarray(a->v, cap, sizeof *v);
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

void
args_free(struct args *a)
{
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

void
now_ts(char out[32])
{
	phx_ts_format(phx_wall_ms(), out);
}

void
set_str(cJSON *obj, const char *key, const char *val)
{
	cJSON *v = val ? cJSON_CreateString(val) : cJSON_CreateNull();

	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
	else
		cJSON_AddItemToObject(obj, key, v);
}

void
set_num(cJSON *obj, const char *key, double val)
{
	cJSON *v = cJSON_CreateNumber(val);

	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
	else
		cJSON_AddItemToObject(obj, key, v);
}

void
set_item(cJSON *obj, const char *key, cJSON *v)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
	else
		cJSON_AddItemToObject(obj, key, v);
}
