/* Where a text holds a password that no registry knows: in a URL
 * (scheme://user:PASS@host) or a password=PASS pair; and the spans that
 * redact.c masks, found first and joined.  Below redact, above util. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "phx.h"
#include "phx_priv.h"

void
phx_spans_add(struct phx_spans *sp, size_t a, size_t b)
{
	if (a >= b)
		return;
	if (sp->n == sp->cap) {
		sp->cap = sp->cap ? sp->cap * 2 : 8;
		sp->v = phx_reallocarray(sp->v, sp->cap, sizeof *sp->v);
	}
	sp->v[sp->n].a = a;
	sp->v[sp->n++].b = b;
}

static int
span_cmp(const void *x, const void *y)
{
	const struct phx_span *p = x, *q = y;

	return p->a < q->a ? -1 : p->a > q->a;
}

/* sorted, overlapping and touching spans joined: one mask for a run */
void
phx_spans_merge(struct phx_spans *sp)
{
	size_t k = 0;

	if (sp->n < 2)
		return;
	qsort(sp->v, sp->n, sizeof *sp->v, span_cmp);
	for (size_t i = 1; i < sp->n; i++) {
		if (sp->v[i].a <= sp->v[k].b) {
			if (sp->v[i].b > sp->v[k].b)
				sp->v[k].b = sp->v[i].b;
		} else
			sp->v[++k] = sp->v[i];
	}
	sp->n = k + 1;
}

/* what ends a URL's authority: URL_END always, URL_QUOTE when a quote
 * ends it too */
enum { URL_END = 1, URL_QUOTE = 2 };
#define CTL4(n) [n] = URL_END, [n + 1] = URL_END, [n + 2] = URL_END, \
	[n + 3] = URL_END
static const unsigned char url_end[256] = { CTL4(0), CTL4(4), CTL4(8),
	CTL4(12), CTL4(16), CTL4(20), CTL4(24), CTL4(28), [' '] = URL_END,
	[0x7f] = URL_END, ['<'] = URL_END, ['>'] = URL_END,
	['"'] = URL_QUOTE, ['\''] = URL_QUOTE, ['\\'] = URL_QUOTE,
	['`'] = URL_QUOTE };

static bool
stops_url(unsigned char c, bool quotes)
{
	return url_end[c] & (quotes ? URL_END | URL_QUOTE : URL_END);
}

static bool
host_char(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || strchr(".-_~%!$&'()*+,;=", c);
}

/* at: an '@'; true when a host[:port] follows and ends the authority */
static bool
host_after(const char *at, const char *end)
{
	const char *h = at + 1;

	if (h < end && *h == '[') {
		while (h < end && *h != ']' && *h != '@')
			h++;
		if (h == end || *h != ']')
			return false;
		h++;
	} else {
		const char *start = h;
		while (h < end && host_char((unsigned char)*h) && *h != '@')
			h++;
		if (h == start)
			return false;
	}
	if (h < end && *h == ':')
		while (++h < end && isdigit((unsigned char)*h))
			;
	return h == end || *h == '/' || *h == '?' || *h == '#' ||
	    !(isalnum((unsigned char)*h) || *h == '@' || *h == ':');
}

/* a: just past "://".  The user ends at the first ':' and holds none of
 * "/?#@"; the password runs to the LAST '@' that a host follows, so a
 * raw '#', '/', '?' or '@' in it is masked too (a later '@' in a path
 * or query means more is masked, never less).  The authority ends at a
 * quote, else (no '@' found so) at white space. */
static const char *
find_url(const char *s, const char *a, const char *end, struct phx_spans *sp)
{
	for (int quotes = 1; quotes >= 0; quotes--) {
		const char *e = a, *colon = NULL, *at = NULL;

		while (e < end && !stops_url((unsigned char)*e, quotes))
			e++;
		for (const char *k = a; k < e && !colon; k++)
			if (*k == ':')
				colon = k;
			else if (*k == '/' || *k == '?' || *k == '#' || *k == '@')
				break;
		for (const char *k = e; colon && k > colon + 1 && !at; k--)
			if (k[-1] == '@' && host_after(k - 1, e))
				at = k - 1;
		if (at) {
			phx_spans_add(sp, (size_t)(colon + 1 - s), (size_t)(at - s));
			return at;
		}
		/* a quote may be in the password only if an '@' follows */
		if (!colon || e == end || !quotes ||
		    !memchr(e, '@', (size_t)(end - e)))
			return e;
	}
	return a;
}

/* password=PASS, PASS quoted or up to a separator */
static const char *
find_pair(const char *s, const char *v, const char *end, struct phx_spans *sp)
{
	const char *e = v;

	if (v < end && *v == '\'') {
		e = memchr(v + 1, '\'', (size_t)(end - v - 1));
		e = e ? e : end;
		phx_spans_add(sp, (size_t)(v + 1 - s), (size_t)(e - s));
		return e;
	}
	while (e < end && !isspace((unsigned char)*e) && *e != '"' &&
	    *e != '&' && *e != ';' && *e != '\\' && *e != '\'')
		e++;
	phx_spans_add(sp, (size_t)(v - s), (size_t)(e - s));
	return e;
}

static const char *
next_byte(const char *p, const char *end, int c)
{
	const char *q = memchr(p, c, (size_t)(end - p));

	return q ? q : end;
}

/* URLs and password= pairs.  Every string goes through here, so it
 * jumps from one ':' or '=' to the next instead of trying each byte. */
void
phx_find_patterns(const char *s, size_t len, struct phx_spans *sp)
{
	const char *end = s + len, *p = s, *colon = NULL, *eq = NULL;

	while (p < end) {
		const char *q;

		if (!colon || colon < p)
			colon = next_byte(p, end, ':');
		if (!eq || eq < p)
			eq = next_byte(p, end, '=');
		q = colon < eq ? colon : eq;
		if (q == end)
			break;
		if (q == colon && end - q >= 3 && q[1] == '/' && q[2] == '/')
			p = find_url(s, q + 3, end, sp);
		else if (q == eq && q - s >= 8 && (q[-1] | 0x20) == 'd' &&
		    strncasecmp(q - 8, "password", 8) == 0 &&
		    (q - 8 == s || !isalnum((unsigned char)q[-9])))
			p = find_pair(s, q + 1, end, sp);
		else
			p = q + 1;
		if (p <= q)
			p = q + 1;
	}
}
