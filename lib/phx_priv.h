/* libphx's own names: used only inside lib/, never by a tool (phx.h is
 * the public face).  Layers, lower never calling higher:
 *   util <- codec <- pattern <- redact <- secrets <- log <- out <- ndjson, state,
 *   run, config, compose
 * (tests/lib-layers.t checks it).  Where a lower layer needs a higher
 * one at run time, the higher registers a hook at phx_init(). */
#ifndef PHX_PRIV_H
#define PHX_PRIV_H

#include <stdbool.h>

#include <cJSON.h>

#include "phx.h"

/* ---- encodings a secret may hide behind (codec.c) ---- */
char *phx_enc_json(const char *v);         /* as between JSON quotes */
char *phx_enc_xml(const char *v, const char *apos);   /* apos: &#39; or &apos; */
char *phx_enc_url(const char *v, const char *hex, bool plus);   /* %XX */
/* s with JSON escapes, XML entities and %XX decoded wherever they are;
 * each decoded byte knows the span of s it came from */
struct phx_decoded {
	struct phx_buf text;
	size_t *from, *to;
};
bool phx_decode(const char *s, size_t len, struct phx_decoded *d);  /* false: none */
/* the same, JSON's escapes only: a printed string's bytes back */
bool phx_decode_json(const char *s, size_t len, struct phx_decoded *d);
void phx_decoded_free(struct phx_decoded *d);
/* true when an escape in s stands for a character starting with a want byte */
bool phx_decode_any(const char *s, size_t len, const bool want[256]);
/* where each key (key: true) and each value but an object or array of
 * doc stands in pr, doc as cJSON printed it, in order; false when pr is
 * not doc's print */
struct phx_jtok {
	cJSON *node;
	bool key;
	size_t a, b;
};
struct phx_jtoks {
	struct phx_jtok *v;
	size_t n, cap;
};
bool phx_json_tokens(cJSON *doc, const char *pr, size_t len, struct phx_jtoks *tk);

/* ---- keys of objects, hashed (keytab.c) ---- */
struct phx_keyent {
	const void *parent;
	const char *key;
	size_t hash;
	void *val;
};
struct phx_keytab {
	struct phx_keyent *v;
	size_t cap, len;
};
size_t phx_ptr_hash(const void *p);
/* the entry of (parent, key), NULL when there is none */
const struct phx_keyent *phx_keytab_get(const struct phx_keytab *t,
    const void *parent, const char *key);
/* key is not copied: it must live as long as the table */
void phx_keytab_put(struct phx_keytab *t, const void *parent, const char *key,
    void *val);
void phx_keytab_free(struct phx_keytab *t);

/* ---- what to mask (pattern.c) ---- */
/* byte spans of a text, [a, b) */
struct phx_span {
	size_t a, b;
};
struct phx_spans {
	struct phx_span *v;
	size_t n, cap;
};
void phx_spans_add(struct phx_spans *sp, size_t a, size_t b);   /* a >= b: none */
/* sorted; overlapping and touching spans joined */
void phx_spans_merge(struct phx_spans *sp);
/* passwords in URLs (scheme://user:PASS@host) and password=PASS pairs */
void phx_find_patterns(const char *s, size_t len, struct phx_spans *sp);

/* ---- secrets (secrets.c; the registry and masking: redact.c) ---- */
void phx_secrets_from_env(void);           /* *_PASSWORD, *_TOKEN, *_API_KEY, ... */
void phx_secrets_from_config(const cJSON *cfg);
/* masks every string (value and key) in the tree; true if any changed */
bool phx_redact_json(cJSON *root);
/* pr, doc as cJSON printed it, with no registered form in its bytes: a
 * form across an escape or a quote (a secret ending in a backslash just
 * before an escape) or in a value that is no string (a number) masks
 * each key and value it touches, where it touches, and doc is printed
 * again (formatted or not); NULL when pr is clean.  A form in
 * punctuation alone makes doc the mask as one JSON string. */
char *phx_redact_printed(cJSON *doc, const char *pr, bool formatted);
size_t phx_redact_hold(void);

/* ---- logging (log.c) ---- */
void phx_log_setup(void);                  /* PHX_LOG_LEVEL, PHX_LOG_FORMAT */
/* phx_die exits through exit_fn (phx_exit: flushes held records) */
void phx_log_on_die(void (*exit_fn)(int status));
/* each diagnostic goes to sink instead (a log record); sink says false
 * when it could not take it, and stderr has it */
void phx_log_to_records(bool (*sink)(enum phx_level level, const char *msg));

#endif
