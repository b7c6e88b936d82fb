/* The one place that knows every secret value.  Everything a stage
 * writes (records, pass-through lines, logs, reports) goes through here.
 *
 * Redaction works on values, not on their encodings: a record's strings
 * are scrubbed before cJSON prints them, a JSON line is decoded, scrubbed
 * and printed again, and only text that is not JSON is scrubbed as text.
 * Masking serialized bytes instead eats quotes (a secret ending in '"')
 * and misses a secret hidden by an escape.
 *
 * What is masked: every registered value, raw or JSON-, XML- or
 * URL-encoded, also when it shows only once JSON escapes, XML entities or
 * %XX are decoded; passwords in URLs (scheme://user:PASS@host, PASS up to
 * the last '@' before the host); password=PASS pairs.  The masked spans
 * of one text are found first, then each run of them becomes one mask. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "phx.h"
#include "phx_priv.h"

#define MIN_SECRET 3
#define MASK_LEN 3
/* hold-back for over-long lines also covers a URL split by a chunk */
#define MIN_HOLD 255
/* a decoded byte may come from up to this many source bytes (\\u0041) */
#define MAX_ESCAPE 6
/* from this length on a text is searched without may_hold() first */
#define LONG_TEXT 64

struct form {
	char *s;
	size_t len;
};

/* every registered value in every encoding it is looked for in */
static struct form *forms;
static size_t nforms, maxraw, maxform;
/* bytes without which a text can hold nothing to mask, and what each
 * needs to mean something: the first byte of every form and an escape
 * always do, '=' only after "password", ':' only before "//" */
enum { STOP_NONE, STOP_NUL, STOP_ANY, STOP_EQ, STOP_COLON };
#define STOP_BASE { ['\0'] = STOP_NUL, ['\\'] = STOP_ANY, ['='] = STOP_EQ, \
	[':'] = STOP_COLON }
static unsigned char stop[256] = STOP_BASE;
/* the mask is made of a character no form contains, so a mask next to
 * text never spells a secret (see pick_mask); "" when there is none */
static char mask[MASK_LEN + 1] = "***";
/* the bytes of every secret, and what starts an escape or a pattern:
 * only text with an escape standing for one of them is decoded */
static bool decode_for[256];

/* literal keys (cJSON_StringIsConst: "a literal, or as good as") that
 * held nothing since the registry last changed: every record has the
 * same few, so each is looked at once */
#define CLEAN_KEYS_LOG2 7
static const char *clean_keys[1 << CLEAN_KEYS_LOG2];

/* ---- the registry ---- */

static void
form_add(char *s)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < nforms; i++)
		if (forms[i].len == len && memcmp(forms[i].s, s, len) == 0) {
			phx_free_secret(s);
			return;
		}
	forms = phx_reallocarray(forms, nforms + 1, sizeof *forms);
	forms[nforms].s = s;
	forms[nforms++].len = len;
	stop[(unsigned char)s[0]] = STOP_ANY;
	stop['%'] = stop['&'] = STOP_ANY;   /* decoding may reveal a form */
	memset(clean_keys, 0, sizeof clean_keys);
	if (len > maxform)
		maxform = len;
}

/* the first candidate that no form contains; "" if every one is used */
static void
pick_mask(void)
{
	static const char cand[] = "*~#x-_.=+!^|XYZyzqQ0123456789abcdefghijk"
	    "lmnoprstuvwABCDEFGHIJKLMNOPRSTUVW";

	for (const char *c = cand; *c; c++) {
		size_t i = 0;
		while (i < nforms && !memchr(forms[i].s, *c, forms[i].len))
			i++;
		if (i == nforms) {
			memset(mask, *c, MASK_LEN);
			mask[MASK_LEN] = '\0';
			return;
		}
	}
	mask[0] = '\0';
}

void
phx_secret_add(const char *value)
{
	size_t len = value ? strlen(value) : 0;

	if (len < MIN_SECRET)
		return;
	if (len > maxraw)
		maxraw = len;
	for (const char *c = value; *c; c++)
		decode_for[(unsigned char)*c] = true;
	for (const char *c = "\\%&:/@="; *c; c++)
		decode_for[(unsigned char)*c] = true;
	form_add(phx_strdup(value));
	form_add(phx_enc_json(value));
	form_add(phx_enc_xml(value, "&#39;"));
	form_add(phx_enc_xml(value, "&apos;"));
	form_add(phx_enc_url(value, "0123456789ABCDEF", false));
	form_add(phx_enc_url(value, "0123456789abcdef", false));
	form_add(phx_enc_url(value, "0123456789ABCDEF", true));
	pick_mask();
}

void
phx_secrets_clear(void)
{
	for (size_t i = 0; i < nforms; i++)
		phx_free_secret(forms[i].s);
	free(forms);
	forms = NULL;
	nforms = maxraw = maxform = 0;
	memcpy(stop, (unsigned char[256])STOP_BASE, sizeof stop);
	memset(clean_keys, 0, sizeof clean_keys);
	memset(decode_for, 0, sizeof decode_for);
	memcpy(mask, "***", MASK_LEN + 1);
}

size_t
phx_redact_hold(void)
{
	size_t h = maxraw * MAX_ESCAPE > maxform ? maxraw * MAX_ESCAPE : maxform;

	return h > MIN_HOLD ? h : MIN_HOLD;
}

/* ---- finding what to mask ---- */

/* every occurrence, overlapping ones too: the union is masked */
static void
find_known(const char *s, size_t len, struct phx_spans *sp)
{
	for (size_t k = 0; k < nforms; k++) {
		const char *p = s, *end = s + len, *m;
		while ((m = memmem(p, (size_t)(end - p), forms[k].s,
		    forms[k].len)) != NULL) {
			phx_spans_add(sp, (size_t)(m - s), (size_t)(m - s) + forms[k].len);
			p = m + 1;
		}
	}
}

/* "\/": may hide a URL's "://" (memmem costs more on every line) */
static bool
escaped_slash(const char *s, size_t len)
{
	const char *end = s + len, *p = s;

	while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL && ++p < end)
		if (*p == '/')
			return true;
	return false;
}

/* escapes are decoded (only when a secret is known, or "\/" may hide a
 * URL) and what is found there is mapped back to the source bytes; text
 * escaped twice (JSON inside a JSON string) is decoded again */
static void
find_decoded(const char *s, size_t len, struct phx_spans *sp, int depth)
{
	struct phx_decoded d = { 0 };
	struct phx_spans in = { 0 };

	if (depth > 2 || (!memchr(s, '\\', len) && (!nforms ||
	    (!memchr(s, '%', len) && !memchr(s, '&', len)))))
		return;
	if (!nforms ? !escaped_slash(s, len) :
	    !phx_decode_any(s, len, decode_for))
		return;
	if (phx_decode(s, len, &d)) {
		find_known(d.text.data, d.text.len, &in);
		phx_find_patterns(d.text.data, d.text.len, &in);
		find_decoded(d.text.data, d.text.len, &in, depth + 1);
		for (size_t i = 0; i < in.n; i++)
			phx_spans_add(sp, d.from[in.v[i].a], d.to[in.v[i].b - 1]);
	}
	free(in.v);
	phx_decoded_free(&d);
}

static void
find_all(const char *s, size_t len, struct phx_spans *sp)
{
	find_known(s, len, sp);
	phx_find_patterns(s, len, sp);
	find_decoded(s, len, sp, 1);
	phx_spans_merge(sp);
}

/* ---- masking ---- */

/* s[0..upto) with the spans masked; with no mask character left, a text
 * that holds a secret is dropped whole */
static void
render(const char *s, size_t upto, const struct phx_spans *sp, struct phx_buf *out)
{
	size_t at = 0;

	if (!mask[0] && sp->n)
		return;
	for (size_t i = 0; i < sp->n && sp->v[i].a < upto; i++) {
		phx_buf_add(out, s + at, sp->v[i].a - at);
		phx_buf_addstr(out, mask);
		at = sp->v[i].b < upto ? sp->v[i].b : upto;
	}
	phx_buf_add(out, s + at, upto - at);
}

/* false when no form, pattern or escape can start in s: most values of
 * a record (names, states, timestamps) are passed over in one loop that
 * does one table look-up a byte.  len SIZE_MAX: s is a C string, its end
 * found on the way (cJSON's strings are short: a strlen first would
 * double the work); p[i + 2] is read only when p[i + 1] is '/'. */
static bool
may_hold(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len; i++) {
		int k = stop[p[i]];
		if (k == STOP_NONE || (k == STOP_NUL && len != SIZE_MAX))
			continue;
		if (k == STOP_NUL)
			return false;
		if (k == STOP_ANY || (k == STOP_EQ && i >= 8) ||
		    (k == STOP_COLON && i + 2 < len && p[i + 1] == '/' &&
		    p[i + 2] == '/'))
			return true;
	}
	return false;
}

static bool
key_may_hold(const cJSON *it)
{
	/* Fibonacci hashing: literals lie side by side */
	uint64_t h = (uint64_t)(uintptr_t)it->string * 0x9e3779b97f4a7c15u;
	const char **slot = &clean_keys[h >> (64 - CLEAN_KEYS_LOG2)];

	if (!(it->type & cJSON_StringIsConst))
		return may_hold(it->string, SIZE_MAX);
	if (*slot == it->string)
		return false;
	if (may_hold(it->string, SIZE_MAX))
		return true;
	*slot = it->string;
	return false;
}

/* masked text, or NULL when masking changes nothing (none found, or
 * only masks already there) */
static char *
scrub_found(const char *s, size_t len, size_t *outlen)
{
	struct phx_spans sp = { 0 };
	struct phx_buf out = { 0 };

	find_all(s, len, &sp);
	if (sp.n)
		render(s, len, &sp, &out);
	free(sp.v);
	if (!sp.n || (out.len == len && memcmp(out.data, s, len) == 0)) {
		phx_buf_free(&out);
		return NULL;
	}
	phx_buf_str(&out);
	if (outlen)
		*outlen = out.len;
	return out.data;
}

/* a long text (a passed line) goes to find_all at once: it jumps with
 * memchr and memmem, a byte-by-byte look first would only add to it */
static char *
scrub_text(const char *s, size_t len, size_t *outlen)
{
	return len >= LONG_TEXT || may_hold(s, len) ?
	    scrub_found(s, len, outlen) : NULL;
}

char *
phx_scrub(const char *s)
{
	char *r = scrub_text(s, strlen(s), NULL);

	return r ? r : phx_strdup(s);
}

/* ---- JSON: value by value ---- */

static bool
scrub_item(cJSON *it)
{
	/* the type tests of cJSON.h, without a call into the library each */
	int type = it->type & 0xff;
	char *v = it->valuestring, *clean;
	bool changed = false;

	if (it->string && key_may_hold(it) && (clean = scrub_found(
	    it->string, strlen(it->string), NULL)) != NULL) {
		if (!(it->type & cJSON_StringIsConst))
			phx_free_secret(it->string);
		it->string = clean;
		it->type &= ~cJSON_StringIsConst;
		changed = true;
	}
	if ((type == cJSON_String || type == cJSON_Raw) && v &&
	    may_hold(v, SIZE_MAX) && (clean = type == cJSON_Raw ?
	    phx_redact_mem(v, strlen(v), NULL) : scrub_found(v, strlen(v),
	    NULL)) != NULL) {
		if (!(it->type & cJSON_IsReference))
			phx_free_secret(v);
		it->valuestring = clean;
		it->type &= ~cJSON_IsReference;
		changed = true;
	}
	return changed;
}

static bool
scrub_list(cJSON *first)
{
	bool changed = false;

	for (cJSON *it = first; it; it = it->next) {
		changed |= scrub_item(it);
		if (it->child && !(it->type & cJSON_IsReference))
			changed |= scrub_list(it->child);
	}
	return changed;
}

bool
phx_redact_json(cJSON *root)
{
	bool changed = scrub_item(root);

	if (root->child && !(root->type & cJSON_IsReference))
		changed |= scrub_list(root->child);
	return changed;
}

/* cJSON keeps a string only up to a NUL: a raw one, \u0000, or a \u
 * without four hex digits (read as 0).  What follows it would be judged
 * by no one, so such text is masked as text. */
static bool
hides_after_nul(const char *s, size_t len)
{
	const char *end = s + len, *p = s;

	if (memchr(s, '\0', len))
		return true;
	for (; (p = memchr(p, '\\', (size_t)(end - p))) != NULL &&
	    p + 1 < end; p += 2) {
		if (p[1] != 'u')
			continue;
		if (end - p < 6 || strncmp(p + 2, "0000", 4) == 0)
			return true;
		for (int i = 2; i < 6; i++)
			if (!isxdigit((unsigned char)p[i]))
				return true;
	}
	return false;
}

/* ---- JSON: the printed bytes ---- */

static bool
holds_form(const char *s, size_t len)
{
	for (size_t k = 0; k < nforms; k++)
		if (memmem(s, len, forms[k].s, forms[k].len))
			return true;
	return false;
}

/* the bytes of t's string that its print's bytes sp (merged, sorted)
 * stand for, masked: its print is decoded, each byte knowing its escape */
static char *
mask_string(const char *str, const char *pr, const struct phx_jtok *t,
    const struct phx_spans *sp, size_t j)
{
	struct phx_decoded d = { 0 };
	struct phx_spans in = { 0 };
	struct phx_buf out = { 0 };
	size_t at = t->a + 1, len = t->b - t->a - 2, n = strlen(str);

	phx_decode_json(pr + at, len, &d);
	for (size_t i = 0; i < d.text.len && j < sp->n; i++) {
		while (j < sp->n && sp->v[j].b <= at + d.from[i])
			j++;
		if (j == sp->n || sp->v[j].a >= at + d.to[i])
			continue;
		if (in.n && in.v[in.n - 1].b == i)
			in.v[in.n - 1].b = i + 1;
		else
			phx_spans_add(&in, i, i + 1);
	}
	if (d.text.len != n || memcmp(d.text.data, str, n) != 0) {
		in.n = 0;   /* not its print after all: all of it masked */
		phx_spans_add(&in, 0, n);
	}
	render(str, n, &in, &out);
	phx_buf_str(&out);
	phx_decoded_free(&d);
	free(in.v);
	return out.data;
}

/* token t of pr, touched by sp from sp->v[j] on, masked where touched:
 * a string in its bytes, any other value made the mask (a string) */
static void
mask_token(const struct phx_jtok *t, const char *pr, const struct phx_spans *sp,
    size_t j)
{
	cJSON *it = t->node;
	char *clean;

	if (t->key) {
		clean = mask_string(it->string, pr, t, sp, j);
		if (!(it->type & cJSON_StringIsConst))
			phx_free_secret(it->string);
		it->string = clean;
		it->type &= ~cJSON_StringIsConst;
		return;
	}
	clean = cJSON_IsString(it) ? mask_string(it->valuestring, pr, t, sp, j) :
	    phx_strdup(mask);
	if (it->valuestring && !(it->type & cJSON_IsReference))
		phx_free_secret(it->valuestring);
	it->valuestring = clean;
	it->type = cJSON_String | (it->type & cJSON_StringIsConst);
}

/* every token of doc that a form in pr (doc's print) touches is masked
 * where it touches; false when a form touches no key's or value's own
 * bytes (only quotes, punctuation, white space) or pr is not doc's */
static bool
mask_tokens(cJSON *doc, const char *pr, size_t len)
{
	struct phx_spans sp = { 0 };
	struct phx_jtoks tk = { 0 };
	bool found = phx_json_tokens(doc, pr, len, &tk);
	bool *hit;
	size_t j = 0;

	find_known(pr, len, &sp);
	phx_spans_merge(&sp);
	hit = phx_reallocarray(NULL, sp.n + 1, sizeof *hit);
	memset(hit, 0, (sp.n + 1) * sizeof *hit);
	for (size_t i = 0; found && i < tk.n; i++) {
		const struct phx_jtok *t = &tk.v[i];
		/* a string's own bytes lie between its quotes */
		bool str = t->key || cJSON_IsString(t->node);
		size_t a = t->a + str, b = t->b - str;

		if (a == b)   /* "": nothing of it can be masked */
			continue;
		while (j < sp.n && sp.v[j].b <= a)
			j++;
		for (size_t k = j; k < sp.n && sp.v[k].a < b; k++)
			hit[k] = true;
		if (j < sp.n && sp.v[j].a < b)
			mask_token(t, pr, &sp, j);
	}
	for (size_t k = 0; k < sp.n; k++)
		found &= hit[k];
	free(hit);
	free(tk.v);
	free(sp.v);
	return found && sp.n;
}

/* doc as one JSON string: the mask */
static char *
mask_doc(void)
{
	struct phx_buf out = { 0 };

	phx_buf_printf(&out, "\"%s\"", mask);
	return out.data;
}

char *
phx_redact_printed(cJSON *doc, const char *pr, bool formatted)
{
	char *cur = NULL;

	for (int round = 0; nforms; round++) {
		const char *p = cur ? cur : pr;
		size_t len = strlen(p);

		if (!holds_form(p, len))
			break;
		if (round == 3 || !mask_tokens(doc, p, len)) {
			phx_free_secret(cur);
			return mask_doc();
		}
		phx_free_secret(cur);
		cur = formatted ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);
		if (!cur)   /* out of memory */
			return mask_doc();
	}
	return cur;
}

/* s as one JSON document, scrubbed and printed again into *json (NULL
 * when neither a value nor the bytes held a secret: a match of the text
 * scan across quotes is none); false when s is not one JSON document */
static bool
scrub_json(const char *s, size_t len, char **json, size_t *outlen)
{
	const char *end = NULL, *p = s;
	struct phx_buf out = { 0 };
	cJSON *doc;
	char *printed, *fixed;
	bool fmt;

	*json = NULL;
	while (p < s + len && isspace((unsigned char)*p))
		p++;
	if (p == s + len || hides_after_nul(p, (size_t)(s + len - p)))
		return false;
	doc = cJSON_ParseWithLengthOpts(s, len, &end, false);
	for (const char *k = end; doc && k < s + len; k++)
		if (!isspace((unsigned char)*k)) {
			cJSON_Delete(doc);
			return false;
		}
	if (!doc || (!phx_redact_json(doc) && !holds_form(s, len))) {
		cJSON_Delete(doc);
		return doc != NULL;
	}
	/* formatted if it was: a newline inside the document */
	fmt = memchr(s, '\n', (size_t)(end - s)) != NULL;
	printed = fmt ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);
	if (printed && (fixed = phx_redact_printed(doc, printed, fmt)) != NULL) {
		phx_free_secret(printed);
		printed = fixed;
	}
	cJSON_Delete(doc);
	if (!printed)   /* out of memory: the masked text will do */
		return false;
	phx_buf_addstr(&out, printed);
	phx_buf_add(&out, end, (size_t)(s + len - end));
	if (holds_form(out.data, out.len))   /* the white space after it does */
		out.len = strlen(printed);
	phx_free_secret(printed);
	phx_buf_str(&out);
	*outlen = out.len;
	*json = out.data;
	return true;
}

/* the text scan is the pre-filter: only text it finds something in is
 * parsed, and a JSON document is then judged by its values alone */
char *
phx_redact_mem(const char *s, size_t len, size_t *outlen)
{
	size_t tlen, jlen = 0;
	char *text = scrub_text(s, len, &tlen), *json;

	if (!text)
		return NULL;
	if (scrub_json(s, len, &json, &jlen)) {
		phx_free_secret(text);
		text = json;
		tlen = jlen;
	}
	if (text && outlen)
		*outlen = tlen;
	return text;
}

char *
phx_redact(const char *s)
{
	char *r = phx_redact_mem(s, strlen(s), NULL);

	return r ? r : phx_strdup(s);
}

/* ---- over-long lines, chunk by chunk ---- */

/* Everything but the last phx_redact_hold() bytes is written, so a secret
 * split by a chunk boundary is whole when it is looked for: one starting
 * before the cut ends inside the buffer.  A masked span crossing the cut
 * is carried on as "forced" so its rest is masked next time. */
void
phx_redact_chunk(struct phx_redact_stream *st, const char *s, size_t len,
    bool final, struct phx_buf *out)
{
	struct phx_spans sp = { 0 };
	size_t n, cut, hold = phx_redact_hold(), forced = 0;

	phx_buf_add(&st->held, s, len);
	n = st->held.len;
	phx_spans_add(&sp, 0, st->forced < n ? st->forced : n);
	find_all(st->held.data, n, &sp);
	cut = final ? n : n > hold ? n - hold : 0;
	render(st->held.data, cut, &sp, out);
	for (size_t i = 0; i < sp.n; i++)
		if (sp.v[i].a < cut && sp.v[i].b > cut)
			forced = sp.v[i].b - cut;
	free(sp.v);
	phx_wipe(st->held.data, cut);
	memmove(st->held.data, st->held.data + cut, n - cut);
	st->held.len = n - cut;
	st->forced = forced;
	if (final) {
		phx_buf_free(&st->held);
		st->held.len = st->held.cap = 0;
		st->forced = 0;
	}
}

bool
phx_redact_pending(const struct phx_redact_stream *st)
{
	return st->held.len > 0;
}
