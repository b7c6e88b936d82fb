/* keytab.c: the keys of cJSON objects in a hash table, so that building
 * or merging a mapping of n keys is linear (cJSON's own look-up walks the
 * list: n^2 string compares for a 10,000-service configuration) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phx.h"
#include "phx_priv.h"

size_t
phx_ptr_hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15u;

	return (size_t)(x >> 29);
}

static size_t
key_hash(const void *parent, const char *key)
{
	uint64_t h = phx_ptr_hash(parent);

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 0x100000001b3u;
	return (size_t)h;
}

/* a YAML merge key moves items out of a mapping, whose entries then hold
 * freed keys: those are never compared (nobody asks for that parent
 * again) and never hashed again (the hash is kept) */
static struct phx_keyent *
key_slot(const struct phx_keytab *t, const void *parent, const char *key,
    size_t h)
{
	size_t i = h & (t->cap - 1);

	while (t->v[i].parent && !(t->v[i].hash == h &&
	    t->v[i].parent == parent && strcmp(t->v[i].key, key) == 0))
		i = (i + 1) & (t->cap - 1);
	return &t->v[i];
}

const struct phx_keyent *
phx_keytab_get(const struct phx_keytab *t, const void *parent, const char *key)
{
	const struct phx_keyent *e;

	if (!t->cap)
		return NULL;
	e = key_slot(t, parent, key, key_hash(parent, key));
	return e->parent ? e : NULL;
}

static void
grow(struct phx_keytab *t)
{
	size_t cap = t->cap ? 2 * t->cap : 256;
	struct phx_keyent *v = phx_calloc(cap, sizeof *v);

	for (size_t j = 0; j < t->cap; j++) {
		size_t i;
		if (!t->v[j].parent)
			continue;
		for (i = t->v[j].hash & (cap - 1); v[i].parent;
		    i = (i + 1) & (cap - 1))
			;
		v[i] = t->v[j];
	}
	free(t->v);
	t->v = v;
	t->cap = cap;
}

void
phx_keytab_put(struct phx_keytab *t, const void *parent, const char *key,
    void *val)
{
	size_t h = key_hash(parent, key);
	struct phx_keyent *e;

	if (2 * (t->len + 1) > t->cap)
		grow(t);
	e = key_slot(t, parent, key, h);
	if (!e->parent)
		t->len++;
	*e = (struct phx_keyent){ parent, key, h, val };
}

void
phx_keytab_free(struct phx_keytab *t)
{
	free(t->v);
	*t = (struct phx_keytab){ 0 };
}
