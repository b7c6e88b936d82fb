/* The one place that knows every secret value.  Everything a stage
 * writes (records, pass-through lines, logs, reports) goes through
 * phx_redact*, which masks known values, passwords inside URLs
 * (scheme://user:PASS@host) and password=... pairs in DSNs. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "phx.h"
#include "phx_priv.h"

#define MASK "***"
#define MIN_SECRET 3

extern char **environ;

static char **secrets;
static size_t nsecrets;

static void
secret_add_one(const char *v)
{
	for (size_t i = 0; i < nsecrets; i++)
		if (strcmp(secrets[i], v) == 0)
			return;
	secrets = phx_reallocarray(secrets, nsecrets + 1, sizeof *secrets);
	secrets[nsecrets++] = phx_strdup(v);
}

void
phx_secret_add(const char *value)
{
	char *escaped;
	cJSON *s;

	if (!value || strlen(value) < MIN_SECRET)
		return;
	secret_add_one(value);
	/* inside a JSON string the value appears escaped */
	s = cJSON_CreateString(value);
	escaped = s ? cJSON_PrintUnformatted(s) : NULL;
	cJSON_Delete(s);
	if (escaped) {
		size_t n = strlen(escaped);
		escaped[n - 1] = '\0';
		if (strcmp(escaped + 1, value) != 0)
			secret_add_one(escaped + 1);
		phx_free_secret(escaped);
	}
}

bool
phx_is_secret_name(const char *name)
{
	static const char *words[] = { "PASSWORD", "PASSWD", "PASS", "TOKEN",
	    "API_KEY", "APIKEY", "SECRET", "KEY", "CREDENTIAL", "CREDENTIALS",
	    "AUTH" };
	size_t n = strlen(name);

	if (strcasecmp(name, "PGPASSWORD") == 0)
		return true;
	for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
		size_t w = strlen(words[i]);
		if (n < w || strcasecmp(name + n - w, words[i]) != 0)
			continue;
		if (n == w || name[n - w - 1] == '_' || name[n - w - 1] == '-')
			return true;
	}
	return false;
}

void
phx_secrets_from_env(void)
{
	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		char name[256];
		size_t n;

		if (!eq || (n = (size_t)(eq - *e)) >= sizeof name)
			continue;
		memcpy(name, *e, n);
		name[n] = '\0';
		if (phx_is_secret_name(name))
			phx_secret_add(eq + 1);
	}
}

void
phx_secrets_from_config(const cJSON *cfg)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cfg) {
		if (cJSON_IsString(it) && it->string &&
		    phx_is_secret_name(it->string))
			phx_secret_add(it->valuestring);
		else if (cJSON_IsString(it) && it->string) {
			/* password_env: NAME names where the secret lives */
			size_t n = strlen(it->string);
			if (n > 4 && strcmp(it->string + n - 4, "_env") == 0) {
				char *base = phx_strdup(it->string);
				base[n - 4] = '\0';
				if (phx_is_secret_name(base)) {
					const char *v = getenv(it->valuestring);
					if (v)
						phx_secret_add(v);
				}
				free(base);
			}
		}
		if (cJSON_IsObject(it) || cJSON_IsArray(it))
			phx_secrets_from_config(it);
	}
}

void
phx_secrets_clear(void)
{
	for (size_t i = 0; i < nsecrets; i++)
		phx_free_secret(secrets[i]);
	free(secrets);
	secrets = NULL;
	nsecrets = 0;
}

/* masks every known value; returns true when something was masked */
static bool
mask_known(const char *s, size_t len, struct phx_buf *out)
{
	bool hit = false;
	size_t i = 0;

	if (!nsecrets)
		return false;
	while (i < len) {
		size_t best = len, blen = 0;
		for (size_t k = 0; k < nsecrets; k++) {
			size_t sl = strlen(secrets[k]);
			const char *m = memmem(s + i, len - i, secrets[k], sl);
			if (m && (size_t)(m - s) < best) {
				best = (size_t)(m - s);
				blen = sl;
			} else if (m && (size_t)(m - s) == best && sl > blen)
				blen = sl;
		}
		if (best == len)
			break;
		hit = true;
		phx_buf_add(out, s + i, best - i);
		phx_buf_addstr(out, MASK);
		i = best + blen;
	}
	if (hit)
		phx_buf_add(out, s + i, len - i);
	return hit;
}

static bool
url_delim(char c)
{
	return c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' ||
	    c == '\\' || isspace((unsigned char)c) || c == '\0';
}

/* scheme://user:PASS@host: masks PASS; returns where the URL ends */
static const char *
mask_url(const char *a, const char *end, struct phx_buf *out,
    const char **copied, bool *hit)
{
	const char *e = a, *at = NULL, *colon = NULL;

	while (e < end && !url_delim(*e)) {
		if (*e == '@')
			at = e;
		e++;
	}
	for (const char *k = a; at && k < at; k++)
		if (*k == ':') {
			colon = k;
			break;
		}
	if (at && colon && !(at - colon - 1 == 3 && memcmp(colon + 1, MASK, 3) == 0)) {
		phx_buf_add(out, *copied, (size_t)(colon + 1 - *copied));
		phx_buf_addstr(out, MASK);
		*copied = at;
		*hit = true;
	}
	return e;
}

/* password=PASS: masks PASS; returns where the value ends */
static const char *
mask_pair(const char *v, const char *end, struct phx_buf *out,
    const char **copied, bool *hit)
{
	const char *e = v;

	while (e < end && !isspace((unsigned char)*e) && *e != '"' &&
	    *e != '&' && *e != ';' && *e != '\\' && *e != '\'')
		e++;
	if (e > v && !(e - v == 3 && memcmp(v, MASK, 3) == 0)) {
		phx_buf_add(out, *copied, (size_t)(v - *copied));
		phx_buf_addstr(out, MASK);
		*copied = e;
		*hit = true;
	}
	return e;
}

static const char *
next_byte(const char *p, const char *end, int c)
{
	const char *q = memchr(p, c, (size_t)(end - p));

	return q ? q : end;
}

/* scheme://user:PASS@host and password=PASS; returns true when masked.
 * Every record goes through here, so it jumps from one ':' or '=' to
 * the next instead of trying the patterns at every byte. */
static bool
mask_patterns(const char *s, size_t len, struct phx_buf *out)
{
	const char *end = s + len, *p = s, *copied = s;
	const char *colon = NULL, *eq = NULL;
	bool hit = false;

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
			p = mask_url(q + 3, end, out, &copied, &hit);
		else if (q == eq && q - s >= 8 &&
		    strncasecmp(q - 8, "password", 8) == 0 &&
		    (q - 8 == s || !isalnum((unsigned char)q[-9])))
			p = mask_pair(q + 1, end, out, &copied, &hit);
		else
			p = q + 1;
	}
	if (hit)
		phx_buf_add(out, copied, (size_t)(end - copied));
	return hit;
}

char *
phx_redact_mem(const char *s, size_t len, size_t *outlen)
{
	struct phx_buf a = { 0 }, b = { 0 };
	bool known = mask_known(s, len, &a);
	const char *cur = known ? a.data : s;
	size_t curlen = known ? a.len : len;

	if (mask_patterns(cur, curlen, &b)) {
		phx_buf_free(&a);
		phx_buf_str(&b);
		if (outlen)
			*outlen = b.len;
		return b.data;
	}
	if (!known)
		return NULL;
	if (outlen)
		*outlen = a.len;
	return a.data;
}

char *
phx_redact(const char *s)
{
	char *r = phx_redact_mem(s, strlen(s), NULL);

	return r ? r : phx_strdup(s);
}
