/* outputs: written a piece at a time, never whole in memory */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* every value was masked before it was cut or encoded (add_shown,
 * out_json, xml_add, prom_label): masking the encoded bytes here instead
 * would eat quotes and markup */
static void
out_flush(struct out *o)
{
	size_t len = o->b.len;

	if (!len)
		return;
	for (int i = 0; i < o->n; i++)
		if (!o->failed[i] && (errno = 0, true) &&
		    fwrite(o->b.data, 1, len, o->f[i]) != len)
			o->failed[i] = errno ? errno : EIO;
	o->b.len = 0;
}

/* an entry ended: pass what is buffered on once there is enough */
void
out_mark(struct out *o)
{
	if (o->b.len >= 32768)
		out_flush(o);
}

/* a file is written to a fresh temporary name beside it and renamed over
 * it when complete (lib/wfile.c): nothing planted at either name is
 * followed, and readers never see half a report */
bool
out_file(struct out *o, const char *path, mode_t mode)
{
	struct phx_wfile *w = phx_wfile_open(path, mode);

	if (!w) {
		phx_log(PHX_ERROR, "%s: %s", path, strerror(errno));
		return false;
	}
	o->w[o->n] = w;
	o->f[o->n] = phx_wfile_fp(w);
	o->path[o->n++] = phx_strdup(path);
	return true;
}

void
out_stdout(struct out *o)
{
	o->w[o->n] = NULL;
	o->f[o->n] = stdout;
	o->path[o->n++] = NULL;
}

/* completes every file; false when one could not be written */
bool
out_close(struct out *o)
{
	bool ok = true;

	out_flush(o);
	for (int i = 0; i < o->n; i++) {
		if (!o->w[i]) {
			fflush(stdout);
			continue;
		}
		if (o->failed[i]) {
			phx_log(PHX_ERROR, "%s: %s", o->path[i],
			    strerror(o->failed[i]));
			phx_wfile_abort(o->w[i]);
			ok = false;
		} else if (!phx_wfile_commit(o->w[i])) {
			phx_log(PHX_ERROR, "%s: %s", o->path[i], strerror(errno));
			ok = false;
		}
		free(o->path[i]);
	}
	phx_buf_free(&o->b);
	return ok;
}

/* strict UTF-8 (no overlong form, surrogate or code point past
 * U+10FFFF, as Go's and libxml2's readers want): the bytes of the
 * sequence at s, 0 when it is not valid */
int
utf8_seq(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char lo = 0x80, hi = 0xbf;
	int n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (int i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* text for a terminal, as git and ls -b show names: masked first (an
 * escape must not hide a secret from the mask), then every C0 and C1
 * control, DEL and byte that is not UTF-8 escaped (\e \a \r \n ...,
 * else \xNN), and a backslash doubled, so a record can neither drive
 * the terminal nor start a line of its own */
void
add_shown(struct phx_buf *b, const char *s)
{
	static const char ctl[] = "\a\b\t\n\v\f\r\033\\";
	static const char esc[] = "abtnvfre\\";
	char *clean = phx_scrub(s);

	for (const char *p = clean; *p;) {
		const char *c = strchr(ctl, *p);
		int n = utf8_seq(p);
		unsigned char u = (unsigned char)*p;

		if (c)
			phx_buf_printf(b, "\\%c", esc[c - ctl]);
		else if (!n || u < 0x20 || u == 0x7f ||
		    (u == 0xc2 && (unsigned char)p[1] < 0xa0))
			for (int i = 0; i < (n ? n : 1); i++)
				phx_buf_printf(b, "\\x%02x", (unsigned char)p[i]);
		else
			phx_buf_add(b, p, (size_t)n);
		p += n ? n : 1;
	}
	free(clean);
}

char *
shown(const char *s)
{
	struct phx_buf b = { 0 };

	add_shown(&b, s);
	phx_buf_str(&b);
	return b.data;
}

/* v's strings and the keys not ours (names from records), masked */
static void
scrub_tree(cJSON *v)
{
	char *clean;

	if (v->string && !(v->type & cJSON_StringIsConst)) {
		clean = phx_scrub(v->string);
		phx_free_secret(v->string);
		v->string = clean;
	}
	if (cJSON_IsString(v) && v->valuestring) {
		clean = phx_scrub(v->valuestring);
		if (!(v->type & cJSON_IsReference))
			phx_free_secret(v->valuestring);
		v->valuestring = clean;
		v->type &= ~cJSON_IsReference;
	}
	if (v->type & cJSON_IsReference)
		return;
	for (cJSON *c = v->child; c; c = c->next)
		scrub_tree(c);
}

/* a cJSON value printed and consumed; its strings masked before cJSON
 * escapes them */
void
out_json(struct out *o, cJSON *v)
{
	char *s;

	scrub_tree(v);
	s = cJSON_PrintUnformatted(v);

	cJSON_Delete(v);
	if (!s)
		phx_die(PHX_EXIT_ENV, "out of memory");
	phx_buf_addstr(&o->b, s);
	free(s);
}

/* an object printed without its closing brace, so members can follow */
void
out_json_open(struct out *o, cJSON *v)
{
	out_json(o, v);
	if (o->b.len && o->b.data[o->b.len - 1] == '}')
		o->b.len--;
}

/* "key":value as a member of an open object, one a line */
void
out_member(struct out *o, const char *key, cJSON *v, bool *first)
{
	phx_buf_addstr(&o->b, *first ? "\n" : ",\n");
	*first = false;
	out_json(o, cJSON_CreateString(key));
	phx_buf_addstr(&o->b, ":");
	out_json(o, v);
	out_mark(o);
}

