/* string -> index tables: the aggregates find an entry by its key */
#include <stdlib.h>
#include <string.h>

#include "report.h"

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void
table_grow(struct table *t)
{
	struct table old = *t;

	t->nslots = old.nslots ? old.nslots * 2 : 64;
	t->keys = phx_calloc(t->nslots, sizeof *t->keys);
	t->idx = phx_calloc(t->nslots, sizeof *t->idx);
	t->count = 0;
	for (size_t i = 0; i < old.nslots; i++)
		if (old.keys[i]) {
			table_put(t, old.keys[i], old.idx[i]);
			free(old.keys[i]);
		}
	free(old.keys);
	free(old.idx);
}

static size_t
table_slot(const struct table *t, const char *key)
{
	size_t i = hash(key) & (t->nslots - 1);

	while (t->keys[i] && strcmp(t->keys[i], key) != 0)
		i = (i + 1) & (t->nslots - 1);
	return i;
}

bool
table_get(const struct table *t, const char *key, size_t *idx)
{
	size_t i;

	if (!t->nslots)
		return false;
	i = table_slot(t, key);
	if (!t->keys[i])
		return false;
	*idx = t->idx[i];
	return true;
}

void
table_put(struct table *t, const char *key, size_t idx)
{
	size_t i;

	if ((t->count + 1) * 2 > t->nslots)
		table_grow(t);
	i = table_slot(t, key);
	if (!t->keys[i]) {
		t->keys[i] = phx_strdup(key);
		t->count++;
	}
	t->idx[i] = idx;
}

void
table_free(struct table *t)
{
	for (size_t i = 0; i < t->nslots; i++)
		free(t->keys[i]);
	free(t->keys);
	free(t->idx);
}
