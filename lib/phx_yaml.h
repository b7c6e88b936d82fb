/* YAML documents as cJSON (yaml.c), for config.c, compose.c and the
 * unit test; not part of the public phx.h. */
#ifndef PHX_YAML_H
#define PHX_YAML_H

#include "phx.h"

/* Limits on every YAML file read, documented in phx(7).  Real files stay
 * far below them; a hostile one ("billion laughs", 100 000 "[") is
 * refused with file:line:column at the node that crosses one. */
#define PHX_YAML_MAX_DEPTH 64        /* sequences and mappings, nested */
#define PHX_YAML_MAX_NODES 100000    /* nodes, copies made by aliases included */
#define PHX_YAML_MAX_ALIASES 10000   /* uses of aliases (*name) */

struct phx_yaml;

enum {
	/* plain scalars typed as PyYAML's YAML 1.1 resolver types them (null,
	 * true/yes/on, false/no/off, numbers); otherwise every scalar is a
	 * string, typed later by the caller (phx_yaml_plain tells which) */
	PHX_YAML_TYPED = 1,
	/* the root is a sequence of every document of the stream (Kubernetes
	 * manifests), not the first one */
	PHX_YAML_STREAM = 2,
	/* scalars as written: no ${VAR} expansion (a manifest's $VAR is
	 * the container's, never phx's) */
	PHX_YAML_RAW = 4,
};

/* the first document of data as cJSON, ${VAR} expanded in every value
 * (not in keys; in TYPED mode not in plain scalars typed otherwise) from
 * the environment, then vars (may be NULL); merge keys (<<) applied;
 * NULL with a malloc'd "name:line:column: message" in *err */
struct phx_yaml *phx_yaml_parse(const char *name, const char *data, size_t len,
    int flags, const cJSON *vars, char **err);
/* the document (NULL when empty); owned by y */
const cJSON *phx_yaml_root(const struct phx_yaml *y);
/* the document, now the caller's; positions stay known until freed */
cJSON *phx_yaml_take(struct phx_yaml *y);
void phx_yaml_free(struct phx_yaml *y);
/* true when item was a plain (unquoted) scalar */
bool phx_yaml_plain(const struct phx_yaml *y, const cJSON *item);
/* malloc'd "name:line:column: message" at item, or at its key when key;
 * "name: message" for an item not read from the file */
char *phx_yaml_msg(const struct phx_yaml *y, const cJSON *item, bool key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* the line of item (of its key when key), 0 when not read from the file */
unsigned phx_yaml_line(const struct phx_yaml *y, const cJSON *item, bool key);

/* a plain scalar as YAML 1.1 types it; NULL when it is a string */
cJSON *phx_yaml_scalar(const char *s);
/* $VAR ${VAR} ${VAR-default} ${VAR:-default} ${VAR?message}
 * ${VAR:?message} $$, as podman-compose 1.0.3: a variable set in the
 * environment or vars wins, even when empty; malloc'd, or NULL with a
 * malloc'd "VAR: message" in *err */
char *phx_yaml_expand(const char *s, const cJSON *vars, char **err);

/* docs (an array) as a YAML stream, a "---" document each, block style,
 * indented by spaces; a string that YAML 1.1 would read plain as another
 * type is quoted; malloc'd, NULL when a string is not UTF-8 */
char *phx_yaml_dump(const cJSON *docs);

#endif
