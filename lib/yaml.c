/* YAML -> cJSON for configuration and compose files: libyaml's events,
 * not its document loader, so that nesting, node count and aliases are
 * bounded while reading (the loader would first build the whole tree,
 * and an alias that contains itself or ten levels of ten aliases would
 * then expand without end).  Every item's position is kept in a table
 * beside the tree, so callers that check the tree still name
 * file:line:column. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "phx_priv.h"
#include "phx_yaml.h"

/* ---- positions: a hash table from item to where it was read ---- */

struct pos {
	const cJSON *item;
	unsigned line, col, kline, kcol;   /* 1-based; kline 0: no key */
	bool plain;
};

struct postab {
	struct pos *v;
	size_t cap, len;
};

static struct pos *
pos_slot(const struct postab *t, const cJSON *item)
{
	size_t i;

	if (!t->cap)
		return NULL;
	for (i = phx_ptr_hash(item) & (t->cap - 1); t->v[i].item && t->v[i].item != item;
	    i = (i + 1) & (t->cap - 1))
		;
	return &t->v[i];
}

static struct pos *
pos_add(struct postab *t, const cJSON *item)
{
	struct pos *s;

	if (2 * (t->len + 1) > t->cap) {
		struct postab big = { phx_calloc(t->cap ? 2 * t->cap : 256,
		    sizeof *big.v), t->cap ? 2 * t->cap : 256, t->len };
		for (size_t i = 0; i < t->cap; i++)
			if (t->v[i].item)
				*pos_slot(&big, t->v[i].item) = t->v[i];
		free(t->v);
		*t = big;
	}
	s = pos_slot(t, item);
	if (!s->item)
		t->len++;
	s->item = item;
	return s;
}

static const struct pos *
pos_find(const struct postab *t, const cJSON *item)
{
	const struct pos *s = item ? pos_slot(t, item) : NULL;

	return s && s->item ? s : NULL;
}

/* ---- the document ---- */

struct phx_yaml {
	char *name;
	cJSON *root;
	struct postab pos;
};

const cJSON *
phx_yaml_root(const struct phx_yaml *y)
{
	return y->root;
}

cJSON *
phx_yaml_take(struct phx_yaml *y)
{
	cJSON *r = y->root;

	y->root = NULL;
	return r;
}

void
phx_yaml_free(struct phx_yaml *y)
{
	if (!y)
		return;
	cJSON_Delete(y->root);
	free(y->pos.v);
	free(y->name);
	free(y);
}

bool
phx_yaml_plain(const struct phx_yaml *y, const cJSON *item)
{
	const struct pos *p = pos_find(&y->pos, item);

	return p && p->plain;
}

static char *
vmsg(const char *name, unsigned line, unsigned col, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof msg, fmt, ap);
	return line ? phx_asprintf("%s:%u:%u: %s", name, line, col, msg)
	    : phx_asprintf("%s: %s", name, msg);
}

char *
phx_yaml_msg(const struct phx_yaml *y, const cJSON *item, bool key,
    const char *fmt, ...)
{
	const struct pos *p = pos_find(&y->pos, item);
	unsigned line = 0, col = 0;
	va_list ap;
	char *s;

	if (p) {
		line = key && p->kline ? p->kline : p->line;
		col = key && p->kline ? p->kcol : p->col;
	}
	va_start(ap, fmt);
	s = vmsg(y->name, line, col, fmt, ap);
	va_end(ap);
	return s;
}

unsigned
phx_yaml_line(const struct phx_yaml *y, const cJSON *item, bool key)
{
	const struct pos *p = pos_find(&y->pos, item);

	return !p ? 0 : key && p->kline ? p->kline : p->line;
}

/* ---- building the tree from libyaml's events ---- */

struct anchor {
	char *name;
	const cJSON *node;
	int height;        /* nested collections in it, 0 for a scalar */
	size_t size;       /* its nodes */
	bool open;         /* still being read: an alias to it is a loop */
	struct anchor *next;
};

struct frame {
	cJSON *node;       /* the sequence or mapping being filled */
	struct anchor *anchor;
	char *key;         /* a mapping's key, waiting for its value */
	bool merge;        /* that key is << */
	unsigned kline, kcol;
	cJSON *merges;     /* values of << keys, applied at the end */
	size_t nodes0;     /* nodes read before it */
	int height, count;
};

struct build {
	struct phx_yaml *y;
	int flags;
	const cJSON *vars;
	struct frame stack[PHX_YAML_MAX_DEPTH];
	int depth;
	size_t nodes, aliases;
	struct anchor *anchors[256];
	struct phx_keytab keys;   /* keys already in a mapping being built */
	cJSON *trash;      /* emptied or shadowed nodes, freed at the end */
	char *err;
};

static bool __attribute__((format(printf, 3, 4)))
fail(struct build *b, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	b->err = vmsg(b->y->name, (unsigned)m->line + 1, (unsigned)m->column + 1,
	    fmt, ap);
	va_end(ap);
	return false;
}

/* where the innermost open node is: "services.web.ports[2]" */
static char *
path(const struct build *b)
{
	struct phx_buf p = { 0 };

	for (int i = 0; i + 1 < b->depth; i++) {
		const struct frame *f = &b->stack[i];
		if (cJSON_IsObject(f->node))
			phx_buf_printf(&p, "%s%s", p.len ? "." : "", f->key ? f->key : "");
		else
			phx_buf_printf(&p, "[%d]", f->count);
	}
	phx_buf_str(&p);
	return p.data;
}

static bool
fail_in(struct build *b, const yaml_mark_t *m, const char *what,
    const char *key)
{
	char *p = path(b);

	fail(b, m, "%s%s%s%s%s%s", what, key ? " \"" : "", key ? key : "",
	    key ? "\"" : "", *p ? " in " : "", p);
	free(p);
	return false;
}

static unsigned
anchor_bucket(const char *name)
{
	unsigned h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h & 255;
}

static struct anchor *
anchor_new(struct build *b, const char *name, const cJSON *node)
{
	struct anchor *a = phx_calloc(1, sizeof *a);
	unsigned h = anchor_bucket(name);

	a->name = phx_strdup(name);
	a->node = node;
	a->size = 1;
	a->next = b->anchors[h];
	b->anchors[h] = a;
	return a;
}

static const struct anchor *
anchor_get(const struct build *b, const char *name)
{
	const struct anchor *a = b->anchors[anchor_bucket(name)];

	while (a && strcmp(a->name, name) != 0)
		a = a->next;
	return a;
}

static void
set_pos(struct build *b, const cJSON *item, const yaml_mark_t *m, bool plain)
{
	struct pos *p = pos_add(&b->y->pos, item);

	p->line = (unsigned)m->line + 1;
	p->col = (unsigned)m->column + 1;
	p->kline = p->kcol = 0;
	p->plain = plain;
}

/* a deep copy for an alias, each item where its original was */
static cJSON *
copy(struct build *b, const cJSON *src)
{
	const struct pos *p = pos_find(&b->y->pos, src);
	struct pos saved = p ? *p : (struct pos){ 0 };
	cJSON *dst;

	if (cJSON_IsArray(src) || cJSON_IsObject(src)) {
		dst = cJSON_IsArray(src) ? cJSON_CreateArray() : cJSON_CreateObject();
		for (const cJSON *c = src->child; c; c = c->next) {
			cJSON *d = copy(b, c);
			if (cJSON_IsObject(src))
				cJSON_AddItemToObject(dst, c->string, d);
			else
				cJSON_AddItemToArray(dst, d);
		}
	} else
		dst = cJSON_Duplicate(src, false);
	b->nodes++;
	saved.item = dst;
	*pos_add(&b->y->pos, dst) = saved;
	return dst;
}

static bool
count_node(struct build *b, const yaml_mark_t *m)
{
	if (++b->nodes > PHX_YAML_MAX_NODES)
		return fail(b, m, "more than %d nodes (the limit)", PHX_YAML_MAX_NODES);
	return true;
}

/* v, complete, into the open node (or as the root); takes v */
static bool
add(struct build *b, cJSON *v, const yaml_mark_t *m, int height, bool anchored)
{
	struct frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;

	if (!f) {
		if (b->flags & PHX_YAML_STREAM)
			cJSON_AddItemToArray(b->y->root, v);
		else
			b->y->root = v;
		return true;
	}
	if (f->height < height)
		f->height = height;
	if (cJSON_IsArray(f->node)) {
		cJSON_AddItemToArray(f->node, v);
		f->count++;
		return true;
	}
	if (!f->key) {   /* an alias as a key */
		cJSON_AddItemToArray(b->trash, v);
		if (!cJSON_IsString(v))
			return fail_in(b, m, "keys must be plain strings", NULL);
		f->key = phx_strdup(v->valuestring);
		f->merge = false;
		f->kline = (unsigned)m->line + 1;
		f->kcol = (unsigned)m->column + 1;
		return true;
	}
	if (f->merge && anchored) {   /* it stays as it is for its aliases */
		cJSON_AddItemToArray(b->trash, v);
		v = copy(b, v);
		if (b->nodes > PHX_YAML_MAX_NODES) {
			cJSON_Delete(v);
			return fail(b, m, "more than %d nodes (the limit)",
			    PHX_YAML_MAX_NODES);
		}
	}
	if (f->merge)
		cJSON_AddItemToArray(f->merges, v);
	else if (phx_keytab_get(&b->keys, f->node, f->key)) {
		yaml_mark_t km = { 0, f->kline - 1, f->kcol - 1 };
		cJSON_AddItemToArray(b->trash, v);
		return fail_in(b, &km, "duplicate key", f->key);
	} else {
		struct pos *p;
		cJSON_AddItemToObject(f->node, f->key, v);
		phx_keytab_put(&b->keys, f->node, v->string, NULL);
		p = pos_add(&b->y->pos, v);
		p->kline = f->kline;
		p->kcol = f->kcol;
	}
	free(f->key);
	f->key = NULL;
	f->count++;
	return true;
}

static bool
on_scalar(struct build *b, const yaml_event_t *ev)
{
	const char *text = (const char *)ev->data.scalar.value;
	const char *anchor = (const char *)ev->data.scalar.anchor;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	struct frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;
	cJSON *v = NULL;
	char *s, *err;

	if (!count_node(b, &ev->start_mark))
		return false;
	if (f && cJSON_IsObject(f->node) && !f->key) {   /* keys stay as written */
		f->key = phx_strdup(text);
		f->merge = plain && strcmp(text, "<<") == 0;
		f->kline = (unsigned)ev->start_mark.line + 1;
		f->kcol = (unsigned)ev->start_mark.column + 1;
		if (anchor) {
			v = cJSON_CreateString(text);
			cJSON_AddItemToArray(b->trash, v);
			set_pos(b, v, &ev->start_mark, plain);
			anchor_new(b, anchor, v);
		}
		return true;
	}
	if ((b->flags & PHX_YAML_TYPED) && plain)
		v = phx_yaml_scalar(text);
	if (!v && (b->flags & PHX_YAML_RAW))
		v = cJSON_CreateString(text);
	if (!v) {
		if (!(s = phx_yaml_expand(text, b->vars, &err))) {
			fail(b, &ev->start_mark, "%s", err);
			free(err);
			return false;
		}
		v = cJSON_CreateString(s);
		free(s);
	}
	set_pos(b, v, &ev->start_mark, plain);
	if (anchor)
		anchor_new(b, anchor, v);
	return add(b, v, &ev->start_mark, 0, anchor != NULL);
}

static bool
on_alias(struct build *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const struct anchor *a = anchor_get(b, name);
	const yaml_mark_t *m = &ev->start_mark;
	cJSON *v;

	if (!a)
		return fail(b, m, "undefined alias *%s", name);
	if (a->open)
		return fail(b, m, "alias *%s is inside the node it names", name);
	if (++b->aliases > PHX_YAML_MAX_ALIASES)
		return fail(b, m, "more than %d aliases (the limit)",
		    PHX_YAML_MAX_ALIASES);
	if (b->nodes + a->size > PHX_YAML_MAX_NODES)
		return fail(b, m, "alias *%s: more than %d nodes with it (the limit)",
		    name, PHX_YAML_MAX_NODES);
	if (b->depth + a->height > PHX_YAML_MAX_DEPTH)
		return fail(b, m, "alias *%s: nested more than %d deep with it "
		    "(the limit)", name, PHX_YAML_MAX_DEPTH);
	v = copy(b, a->node);
	set_pos(b, v, m, phx_yaml_plain(b->y, a->node));
	return add(b, v, m, a->height, false);
}

static bool
on_start(struct build *b, const yaml_event_t *ev, cJSON *node,
    const yaml_char_t *anchor)
{
	struct frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;

	if (!count_node(b, &ev->start_mark) ||
	    (f && cJSON_IsObject(f->node) && !f->key &&
	    !fail_in(b, &ev->start_mark, "keys must be plain strings", NULL)) ||
	    (b->depth >= PHX_YAML_MAX_DEPTH && !fail(b, &ev->start_mark,
	    "nested more than %d deep (the limit)", PHX_YAML_MAX_DEPTH))) {
		cJSON_Delete(node);
		return false;
	}
	set_pos(b, node, &ev->start_mark, false);
	f = &b->stack[b->depth++];
	*f = (struct frame){ .node = node, .nodes0 = b->nodes - 1 };
	if (cJSON_IsObject(node))
		f->merges = cJSON_CreateArray();
	if (anchor) {
		f->anchor = anchor_new(b, (const char *)anchor, node);
		f->anchor->open = true;
	}
	return true;
}

/* the items of src whose keys obj lacks, moved into obj */
static void
merge_from(struct build *b, cJSON *obj, cJSON *src)
{
	for (cJSON *it = src->child, *next; it; it = next) {
		next = it->next;
		if (phx_keytab_get(&b->keys, obj, it->string))
			continue;
		cJSON_DetachItemViaPointer(src, it);
		cJSON_AddItemToObject(obj, it->string, it);
		phx_keytab_put(&b->keys, obj, it->string, NULL);
	}
}

/* explicit keys win over merged ones, earlier merged over later */
static bool
apply_merges(struct build *b, cJSON *obj, cJSON *merges)
{
	cJSON *m, *e;

	cJSON_ArrayForEach(m, merges) {
		if (cJSON_IsObject(m)) {
			merge_from(b, obj, m);
			continue;
		}
		cJSON_ArrayForEach(e, m)
			if (cJSON_IsObject(e))
				merge_from(b, obj, e);
			else
				break;
		if (!cJSON_IsArray(m) || e) {
			b->err = phx_yaml_msg(b->y, e ? e : m, false,
			    "<<: expected a mapping or a sequence of mappings");
			return false;
		}
	}
	return true;
}

static bool
on_end(struct build *b, const yaml_event_t *ev)
{
	struct frame f = b->stack[--b->depth];
	bool ok = true;

	if (f.merges) {
		ok = apply_merges(b, f.node, f.merges);
		cJSON_AddItemToArray(b->trash, f.merges);
	}
	if (f.anchor) {
		f.anchor->open = false;
		f.anchor->height = f.height + 1;
		f.anchor->size = b->nodes - f.nodes0;
	}
	free(f.key);
	if (!ok) {
		cJSON_Delete(f.node);
		return false;
	}
	return add(b, f.node, &ev->start_mark, f.height + 1, f.anchor != NULL);
}

static bool
on_event(struct build *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(b, ev, cJSON_CreateArray(),
		    ev->data.sequence_start.anchor);
	case YAML_MAPPING_START_EVENT:
		return on_start(b, ev, cJSON_CreateObject(),
		    ev->data.mapping_start.anchor);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_end(b, ev);
	default:
		return true;
	}
}

/* the first document, as yaml_parser_load reads it; every one with
 * PHX_YAML_STREAM */
static bool
read_events(struct build *b, yaml_parser_t *parser)
{
	for (;;) {
		yaml_event_t ev;
		bool ok, last;

		if (!yaml_parser_parse(parser, &ev)) {
			const yaml_mark_t *m = parser->problem ? &parser->problem_mark
			    : &parser->context_mark;
			return fail(b, m, "invalid YAML: %s",
			    parser->problem ? parser->problem : "parse error");
		}
		ok = on_event(b, &ev);
		last = ev.type == YAML_STREAM_END_EVENT ||
		    (ev.type == YAML_DOCUMENT_END_EVENT &&
		    !(b->flags & PHX_YAML_STREAM));
		yaml_event_delete(&ev);
		if (!ok || last)
			return ok;
	}
}

static void
build_free(struct build *b)
{
	while (b->depth > 0) {
		struct frame *f = &b->stack[--b->depth];
		cJSON_Delete(f->node);
		cJSON_Delete(f->merges);
		free(f->key);
	}
	for (size_t i = 0; i < sizeof b->anchors / sizeof *b->anchors; i++)
		for (struct anchor *a = b->anchors[i], *next; a; a = next) {
			next = a->next;
			free(a->name);
			free(a);
		}
	phx_keytab_free(&b->keys);
	cJSON_Delete(b->trash);
}

struct phx_yaml *
phx_yaml_parse(const char *name, const char *data, size_t len, int flags,
    const cJSON *vars, char **err)
{
	struct phx_yaml *y = phx_calloc(1, sizeof *y);
	struct build b = { .y = y, .flags = flags, .vars = vars,
	    .trash = cJSON_CreateArray() };
	yaml_parser_t parser;
	bool ok;

	y->name = phx_strdup(name);
	if (flags & PHX_YAML_STREAM)
		y->root = cJSON_CreateArray();
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	ok = read_events(&b, &parser);
	yaml_parser_delete(&parser);
	build_free(&b);
	*err = b.err;
	if (!ok) {
		phx_yaml_free(y);
		return NULL;
	}
	return y;
}
