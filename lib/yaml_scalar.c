/* The text of YAML scalars: ${VAR} expansion and YAML 1.1 typing, the
 * same for configuration and compose files. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "phx_yaml.h"

/* ---- ${VAR} ---- */

static size_t
name_len(const char *s)
{
	size_t n = 0;

	if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	while (isalnum((unsigned char)s[n]) || s[n] == '_')
		n++;
	return n;
}

static const char *
lookup(const char *s, size_t len, const cJSON *vars)
{
	char *name = strndup(s, len);
	const char *v;

	if (!name)
		phx_die(PHX_EXIT_ENV, "out of memory");
	v = getenv(name);
	if (!v)
		v = phx_jstr(vars, name);
	free(name);
	return v;
}

/* ${...} at s: appends its value and returns what follows it; NULL when
 * it is no reference (then the $ is literal) or, with *err, a required
 * variable is unset */
static const char *
braced(struct phx_buf *b, const char *s, const cJSON *vars, char **err)
{
	size_t len = name_len(s + 2);
	const char *op = s + 2 + len, *end = strchr(op, '}'), *arg, *v;
	bool colon = op[0] == ':';

	if (!len || !end)
		return NULL;
	if (op != end && op[colon] != '-' && op[colon] != '?')
		return NULL;
	arg = op + colon + 1;
	if ((v = lookup(s + 2, len, vars)))
		phx_buf_addstr(b, v);
	else if (op != end && op[colon] == '?') {
		*err = phx_asprintf("%.*s: %.*s", (int)len, s + 2,
		    (int)(end - arg), arg);
		return NULL;
	} else if (op != end)
		phx_buf_add(b, arg, (size_t)(end - arg));
	return end + 1;
}

char *
phx_yaml_expand(const char *s, const cJSON *vars, char **err)
{
	struct phx_buf b = { 0 };

	*err = NULL;
	while (*s) {
		const char *next, *v;
		size_t len;

		if (s[0] != '$' || (s[1] != '$' && s[1] != '{' && !name_len(s + 1))) {
			phx_buf_add(&b, s, 1);
			s++;
		} else if (s[1] == '$') {
			phx_buf_add(&b, "$", 1);
			s += 2;
		} else if (s[1] != '{') {
			len = name_len(s + 1);
			if ((v = lookup(s + 1, len, vars)))
				phx_buf_addstr(&b, v);
			s += 1 + len;
		} else if ((next = braced(&b, s, vars, err)))
			s = next;
		else if (*err) {
			phx_buf_free(&b);
			return NULL;
		} else
			phx_buf_add(&b, s++, 1);
	}
	phx_buf_str(&b);
	return b.data;
}

/* ---- YAML 1.1 plain scalars, as PyYAML's resolver sees them ---- */

static bool
in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

cJSON *
phx_yaml_scalar(const char *s)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const yes[] = { "yes", "Yes", "YES", "true", "True",
	    "TRUE", "on", "On", "ON", NULL };
	static const char *const no[] = { "no", "No", "NO", "false", "False",
	    "FALSE", "off", "Off", "OFF", NULL };
	const char *digits = s + (*s == '-' || *s == '+');
	char *end;
	double d;

	if (in_list(s, nulls))
		return cJSON_CreateNull();
	if (in_list(s, yes))
		return cJSON_CreateTrue();
	if (in_list(s, no))
		return cJSON_CreateFalse();
	if (*digits && strspn(digits, "0123456789") == strlen(digits) &&
	    (digits[0] != '0' || !digits[1])) {
		errno = 0;
		d = (double)strtoll(s, &end, 10);
		return errno ? NULL : cJSON_CreateNumber(d);
	}
	/* a float has a dot ("1e3" is a string to PyYAML); out of range of
	 * a double it stays the text it was, as JSON has no infinity */
	if (strchr(s, '.') && strspn(digits, "0123456789.eE+-") == strlen(digits)) {
		errno = 0;
		d = strtod(s, &end);
		if (!*end && end != s && !errno && isfinite(d))
			return cJSON_CreateNumber(d);
	}
	return NULL;
}
