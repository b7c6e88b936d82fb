/* The encodings a secret may hide behind in what a stage writes: JSON
 * string escapes, XML entities and URL percent-encoding.  redact.c looks
 * for each secret in each encoded form and also decodes text leniently
 * (every escape it recognises, wherever it is) to find the secret the
 * form it knows does not spell.  Below redact, above nothing but util. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "phx.h"
#include "phx_priv.h"

/* as cJSON prints it between the quotes */
char *
phx_enc_json(const char *v)
{
	cJSON *s = cJSON_CreateString(v);
	char *p = s ? cJSON_PrintUnformatted(s) : NULL;
	char *inner;

	cJSON_Delete(s);
	if (!p)   /* out of memory: phx_die is a layer above */
		return phx_strdup(v);
	p[strlen(p) - 1] = '\0';
	inner = phx_strdup(p + 1);
	phx_free_secret(p);
	return inner;
}

char *
phx_enc_xml(const char *v, const char *apos)
{
	struct phx_buf b = { 0 };

	for (; *v; v++) {
		switch (*v) {
		case '&': phx_buf_addstr(&b, "&amp;"); break;
		case '<': phx_buf_addstr(&b, "&lt;"); break;
		case '>': phx_buf_addstr(&b, "&gt;"); break;
		case '"': phx_buf_addstr(&b, "&quot;"); break;
		case '\'': phx_buf_addstr(&b, apos); break;
		default: phx_buf_add(&b, v, 1);
		}
	}
	phx_buf_str(&b);
	return b.data;
}

/* RFC 3986 percent-encoding of all but the unreserved characters */
char *
phx_enc_url(const char *v, const char *hex, bool plus)
{
	struct phx_buf b = { 0 };

	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (isalnum(c) || strchr("-._~", c))
			phx_buf_add(&b, v, 1);
		else if (c == ' ' && plus)
			phx_buf_add(&b, "+", 1);
		else
			phx_buf_printf(&b, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
	phx_buf_str(&b);
	return b.data;
}

/* ---- decoding: JSON escapes, XML entities, %XX ---- */

static int
hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

static long
hexn(const char *p, const char *end, int n)
{
	long v = 0;

	if (end - p < n)
		return -1;
	for (int i = 0; i < n; i++) {
		int h = hexval((unsigned char)p[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* \uXXXX, a surrogate pair joined; returns the bytes used, 0 if none */
static size_t
dec_json_u(const char *p, const char *end, long *cp)
{
	long hi = hexn(p + 2, end, 4), lo;

	if (hi < 0)
		return 0;
	*cp = hi;
	if (hi >= 0xd800 && hi < 0xdc00 && end - p >= 12 && p[6] == '\\' &&
	    p[7] == 'u' && (lo = hexn(p + 8, end, 4)) >= 0xdc00 && lo < 0xe000) {
		*cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
		return 12;
	}
	return 6;
}

static size_t
dec_entity(const char *p, const char *end, long *cp)
{
	static const struct { const char *name; long cp; } names[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&quot;", '"' }, { "&apos;", '\'' },
	};
	const char *semi = memchr(p, ';', (size_t)(end - p) < 12 ?
	    (size_t)(end - p) : 12);
	char *num_end;

	if (!semi)
		return 0;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strncmp(p, names[i].name, (size_t)(semi + 1 - p)) == 0 &&
		    names[i].name[semi + 1 - p] == '\0') {
			*cp = names[i].cp;
			return (size_t)(semi + 1 - p);
		}
	if (p[1] != '#')
		return 0;
	*cp = (p[2] == 'x' || p[2] == 'X') ? strtol(p + 3, &num_end, 16) :
	    strtol(p + 2, &num_end, 10);
	return num_end == semi && num_end > p + 2 ? (size_t)(semi + 1 - p) : 0;
}

/* how many source bytes at p one escape takes, and what it stands for;
 * json: JSON's escapes only */
static size_t
dec_one(const char *p, const char *end, long *cp, bool *is_byte, bool json)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *k;

	*is_byte = false;
	if (*p == '\\' && end - p >= 2) {
		if (p[1] == 'u')
			return dec_json_u(p, end, cp);
		if (p[1] && (k = strchr(from, p[1])) != NULL) {
			*cp = to[k - from];
			return 2;
		}
	} else if (json)
		return 0;
	else if (*p == '%' && (*cp = hexn(p + 1, end, 2)) >= 0) {
		*is_byte = true;
		return 3;
	} else if (*p == '&')
		return dec_entity(p, end, cp);
	return 0;
}

static void
dec_put(struct phx_decoded *d, const char *u, size_t n, size_t from, size_t to)
{
	size_t at = d->text.len;

	phx_buf_add(&d->text, u, n);
	for (size_t i = 0; i < n; i++) {
		d->from[at + i] = from;
		d->to[at + i] = to;
	}
}

static size_t
utf8(long cp, char *u)
{
	if (cp < 0 || cp > 0x10ffff)
		cp = 0xfffd;
	if (cp < 0x80)
		return (u[0] = (char)cp), 1;
	if (cp < 0x800)
		return (u[0] = (char)(0xc0 | cp >> 6)),
		    (u[1] = (char)(0x80 | (cp & 0x3f))), 2;
	if (cp < 0x10000)
		return (u[0] = (char)(0xe0 | cp >> 12)),
		    (u[1] = (char)(0x80 | (cp >> 6 & 0x3f))),
		    (u[2] = (char)(0x80 | (cp & 0x3f))), 3;
	u[0] = (char)(0xf0 | cp >> 18);
	u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	u[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static bool
decode(const char *s, size_t len, struct phx_decoded *d, bool json)
{
	const char *end = s + len;
	bool any = false;

	d->from = phx_reallocarray(NULL, len, sizeof *d->from);
	d->to = phx_reallocarray(NULL, len, sizeof *d->to);
	for (const char *p = s; p < end;) {
		long cp = 0;
		bool is_byte;
		size_t n = dec_one(p, end, &cp, &is_byte, json);
		char u[4], c = (char)cp;

		if (n == 0) {
			dec_put(d, p, 1, (size_t)(p - s), (size_t)(p - s) + 1);
			p++;
			continue;
		}
		any = true;
		if (is_byte)
			dec_put(d, &c, 1, (size_t)(p - s), (size_t)(p - s) + n);
		else
			dec_put(d, u, utf8(cp, u), (size_t)(p - s), (size_t)(p - s) + n);
		p += n;
	}
	return any;
}

/* false when s holds nothing to decode */
bool
phx_decode(const char *s, size_t len, struct phx_decoded *d)
{
	return decode(s, len, d, false);
}

bool
phx_decode_json(const char *s, size_t len, struct phx_decoded *d)
{
	return decode(s, len, d, true);
}

void
phx_decoded_free(struct phx_decoded *d)
{
	phx_wipe(d->text.data, d->text.len);
	phx_buf_free(&d->text);
	free(d->from);
	free(d->to);
}


static const char *
next_of(const char *p, const char *end, int c, const char *cached)
{
	const char *q;

	if (cached && cached >= p)
		return cached;
	q = memchr(p, c, (size_t)(end - p));
	return q ? q : end;
}

/* the pre-filter for phx_decode: true when some escape in s stands for
 * a character whose first byte is in want.  It runs on every line a
 * stage passes while a secret is known, so it jumps from one '\\', '%'
 * or '&' to the next */
bool
phx_decode_any(const char *s, size_t len, const bool want[256])
{
	const char *end = s + len, *p = s, *bs = NULL, *pc = NULL, *amp = NULL;

	while (p < end) {
		long cp = 0;
		bool is_byte;
		size_t n;
		char u[4];

		bs = next_of(p, end, '\\', bs);
		pc = next_of(p, end, '%', pc);
		amp = next_of(p, end, '&', amp);
		p = bs < pc ? (bs < amp ? bs : amp) : (pc < amp ? pc : amp);
		if (p == end)
			break;
		if ((n = dec_one(p, end, &cp, &is_byte, false)) == 0) {
			p++;
			continue;
		}
		if (!is_byte)
			utf8(cp, u);
		if (want[is_byte ? (unsigned char)cp : (unsigned char)u[0]])
			return true;
		p += n;
	}
	return false;
}

/* ---- where each token of a JSON text stands ---- */

/* leaf printed alone must be what stands at *at, past white space and
 * punctuation: cJSON prints a key or a value the same anywhere */
static bool
jtok_add(const char *pr, size_t len, size_t *at, cJSON *leaf,
    cJSON *node, struct phx_jtoks *tk)
{
	char *t = cJSON_PrintUnformatted(leaf);
	size_t n = t ? strlen(t) : 0;
	bool found;

	while (*at < len && pr[*at] && strchr(" \t\r\n{}[],:", pr[*at]))
		(*at)++;
	found = t && len - *at >= n && memcmp(pr + *at, t, n) == 0;
	phx_free_secret(t);
	if (!found)
		return false;
	if (tk->n == tk->cap) {
		tk->cap = tk->cap ? tk->cap * 2 : 16;
		tk->v = phx_reallocarray(tk->v, tk->cap, sizeof *tk->v);
	}
	tk->v[tk->n].node = node;
	tk->v[tk->n].key = leaf != node;
	tk->v[tk->n].a = *at;
	tk->v[tk->n++].b = *at + n;
	*at += n;
	return true;
}

static bool
jtok_walk(cJSON *node, const char *pr, size_t len, size_t *at,
    struct phx_jtoks *tk)
{
	for (; node; node = node->next) {
		if (node->string) {
			cJSON *k = cJSON_CreateStringReference(node->string);
			bool found = k && jtok_add(pr, len, at, k, node, tk);
			cJSON_Delete(k);
			if (!found)
				return false;
		}
		if (cJSON_IsObject(node) || cJSON_IsArray(node)) {
			if (!jtok_walk(node->child, pr, len, at, tk))
				return false;
		} else if (!jtok_add(pr, len, at, node, node, tk))
			return false;
	}
	return true;
}

bool
phx_json_tokens(cJSON *doc, const char *pr, size_t len, struct phx_jtoks *tk)
{
	size_t at = 0;
	cJSON *next = doc->next;
	bool found;

	doc->next = NULL;
	found = jtok_walk(doc, pr, len, &at, tk);
	doc->next = next;
	return found;
}
