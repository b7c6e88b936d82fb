/* phx-probe's conditions ("[STATUS] == 200", "len([BODY].items) > 0"):
 * parsing them when a check is built, judging an answer with them. */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

#define ACTUAL_MAX 200

enum placeholder { P_NONE, P_STATUS, P_RTIME, P_BODY, P_CERT };
enum func { F_NONE, F_LEN, F_HAS, F_PAT, F_ANY };
enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_CONTAINS, OP_MATCH,
    OP_NOMATCH };

struct operand {
	enum placeholder ph;
	enum func fn;
	char *path;           /* after [BODY], such as ".items[0].name" */
	char *text;           /* a literal, or the pattern of pat() */
	char **alts;          /* any() */
	size_t nalts;
};

struct cond {
	char *text;
	struct operand l, r;
	enum op op;
	regex_t re;
	bool has_re;
};

struct value {
	bool present, isnum;
	double num;
	char *str;
	const cJSON *node;    /* a JSON array or object, for len() */
};

char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static char *
strip_quotes(char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && ((s[0] == '"' && s[n - 1] == '"') ||
	    (s[0] == '\'' && s[n - 1] == '\''))) {
		s[n - 1] = '\0';
		return s + 1;
	}
	return s;
}

/* a number, or a duration with a unit (ms, s, m, h, d) in milliseconds */
static bool
parse_number(const char *s, double *out)
{
	char *end;
	double v;
	int64_t ms;
	size_t n = strlen(s);

	if (!*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (!errno && end != s && *end == '\0') {
		*out = v;
		return true;
	}
	if (n > 1 && s[n - 1] == 'd' && end != s && end == s + n - 1) {
		*out = v * 86400000.0;
		return true;
	}
	if (end != s && *end && (ms = phx_duration_ms(s)) >= 0) {
		*out = (double)ms;
		return true;
	}
	return false;
}

static const struct { const char *name; enum placeholder ph; } placeholders[] = {
	{ "STATUS", P_STATUS },
	{ "RESPONSE_TIME", P_RTIME },
	{ "BODY", P_BODY },
	{ "CERTIFICATE_EXPIRATION", P_CERT },
};

static bool
valid_path(const char *p)
{
	while (*p) {
		if (*p == '.') {
			size_t n = strcspn(p + 1, ".[");
			if (n == 0)
				return false;
			p += n + 1;
		} else if (*p == '[') {
			char *end;
			strtol(p + 1, &end, 10);
			if (end == p + 1 || *end != ']')
				return false;
			p = end + 1;
		} else
			return false;
	}
	return true;
}

static bool
parse_placeholder(char *s, struct operand *o, const char **err)
{
	char *close = strchr(s, ']');

	if (!close) {
		*err = "unterminated placeholder";
		return false;
	}
	*close = '\0';
	for (size_t i = 0; i < sizeof placeholders / sizeof *placeholders; i++)
		if (strcmp(s + 1, placeholders[i].name) == 0)
			o->ph = placeholders[i].ph;
	if (o->ph == P_NONE) {
		*err = "unknown placeholder";
		return false;
	}
	if (close[1] && (o->ph != P_BODY || !valid_path(close + 1))) {
		*err = "bad JSON path after [BODY]";
		return false;
	}
	if (close[1])
		o->path = phx_strdup(close + 1);
	return true;
}

/* the text inside "name(...)", or NULL */
static char *
func_arg(char *s, const char *name)
{
	size_t n = strlen(name), len = strlen(s);

	if (strncmp(s, name, n) != 0 || s[n] != '(' || s[len - 1] != ')')
		return NULL;
	s[len - 1] = '\0';
	return trim(s + n + 1);
}

static void
parse_alts(char *s, struct operand *o)
{
	char *save = NULL;

	for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		o->alts = phx_reallocarray(o->alts, o->nalts + 1, sizeof *o->alts);
		o->alts[o->nalts++] = phx_strdup(strip_quotes(trim(t)));
	}
}

static bool
parse_operand(char *s, struct operand *o, bool right, const char **err)
{
	char *a;

	if ((a = func_arg(s, "len")) || (a = func_arg(s, "has"))) {
		o->fn = s[0] == 'l' ? F_LEN : F_HAS;
		if (*a != '[') {
			*err = "len() and has() take a placeholder";
			return false;
		}
		return parse_placeholder(a, o, err);
	}
	if (right && (a = func_arg(s, "pat"))) {
		o->fn = F_PAT;
		o->text = phx_strdup(strip_quotes(a));
		return true;
	}
	if (right && (a = func_arg(s, "any"))) {
		o->fn = F_ANY;
		parse_alts(a, o);
		return true;
	}
	if (*s == '[')
		return parse_placeholder(s, o, err);
	o->text = phx_strdup(strip_quotes(s));
	return true;
}

/* the first operator outside brackets, parentheses and quotes */
static bool
find_op(const char *s, size_t *at, size_t *len, enum op *op)
{
	static const struct { const char *t; enum op op; } ops[] = {
		{ " contains ", OP_CONTAINS }, { "==", OP_EQ }, { "!=", OP_NE },
		{ "<=", OP_LE }, { ">=", OP_GE }, { "=~", OP_MATCH },
		{ "!~", OP_NOMATCH }, { "<", OP_LT }, { ">", OP_GT },
	};
	int depth = 0;
	char quote = 0;

	for (size_t i = 0; s[i]; i++) {
		if (quote) {
			quote = s[i] == quote ? 0 : quote;
			continue;
		}
		if (s[i] == '"' || s[i] == '\'')
			quote = s[i];
		else if (s[i] == '(' || s[i] == '[')
			depth++;
		else if ((s[i] == ')' || s[i] == ']') && depth > 0)
			depth--;
		if (depth || quote || !strchr(" =!<>", s[i]))
			continue;
		for (size_t k = 0; k < sizeof ops / sizeof *ops; k++)
			if (strncmp(s + i, ops[k].t, strlen(ops[k].t)) == 0) {
				*at = i;
				*len = strlen(ops[k].t);
				*op = ops[k].op;
				return true;
			}
	}
	return false;
}

static void
operand_free(struct operand *o)
{
	free(o->path);
	free(o->text);
	for (size_t i = 0; i < o->nalts; i++)
		free(o->alts[i]);
	free(o->alts);
}

static void
cond_free(struct cond *k)
{
	operand_free(&k->l);
	operand_free(&k->r);
	if (k->has_re)
		regfree(&k->re);
	free(k->text);
}

/* false with *err set when text is not a condition */
static bool
cond_parse(const char *text, struct cond *k, const char **err)
{
	char *copy = phx_strdup(text), *left, *right;
	size_t at, len;
	bool ok = false;

	memset(k, 0, sizeof *k);
	k->text = phx_strdup(text);
	*err = "no operator (==, !=, <, <=, >, >=, contains, =~, !~)";
	if (!find_op(copy, &at, &len, &k->op))
		goto out;
	copy[at] = '\0';
	left = trim(copy);
	right = trim(copy + at + len);
	*err = "empty operand";
	if (!*left || !*right)
		goto out;
	*err = "unknown operator";
	if (strchr("=!<>~", *right) || strchr("=!<>~", left[strlen(left) - 1]))
		goto out;
	if (!parse_operand(left, &k->l, false, err) ||
	    !parse_operand(right, &k->r, true, err))
		goto out;
	*err = "pat() and any() go with == or !=";
	if ((k->r.fn == F_PAT || k->r.fn == F_ANY) && k->op != OP_EQ &&
	    k->op != OP_NE)
		goto out;
	if (k->op == OP_MATCH || k->op == OP_NOMATCH) {
		*err = "=~ wants a regular expression on the right";
		if (k->r.ph != P_NONE || k->r.fn != F_NONE ||
		    regcomp(&k->re, k->r.text, REG_EXTENDED | REG_NOSUB) != 0)
			goto out;
		k->has_re = true;
	}
	ok = true;
out:
	free(copy);
	if (!ok)
		cond_free(k);
	return ok;
}

void
setup_conditions(struct check *c, const cJSON *conds)
{
	const cJSON *it;

	if (cJSON_IsString(conds)) {
		cJSON *one = cJSON_CreateArray();
		cJSON_AddItemToArray(one, cJSON_CreateString(conds->valuestring));
		setup_conditions(c, one);
		cJSON_Delete(one);
		return;
	}
	cJSON_ArrayForEach(it, conds) {
		const char *err;
		struct cond k;
		if (!cJSON_IsString(it)) {
			c->invalid = phx_strdup("conditions must be strings");
			return;
		}
		if (!cond_parse(it->valuestring, &k, &err)) {
			c->invalid = phx_asprintf("condition \"%s\": %s",
			    it->valuestring, err);
			return;
		}
		c->conds = phx_reallocarray(c->conds, c->nconds + 1, sizeof *c->conds);
		c->conds[c->nconds++] = k;
		c->want_body |= k.l.ph == P_BODY || k.r.ph == P_BODY;
		c->status_in_conds |= k.l.ph == P_STATUS || k.r.ph == P_STATUS;
	}
}

void
conds_free(struct check *c)
{
	for (size_t i = 0; i < c->nconds; i++)
		cond_free(&c->conds[i]);
	free(c->conds);
}

static void
value_set_str(struct value *v, const char *s, size_t n)
{
	v->present = true;
	v->str = phx_malloc(n + 1);
	memcpy(v->str, s, n);
	v->str[n] = '\0';
	v->isnum = parse_number(v->str, &v->num) &&
	    strspn(v->str, "+-.0123456789eE") == n;
}

static void
value_set_num(struct value *v, double d)
{
	v->present = v->isnum = true;
	v->num = d;
	v->str = d == floor(d) && fabs(d) < 1e15 ?
	    phx_asprintf("%.0f", d) : phx_asprintf("%g", d);
}

static const cJSON *
json_walk(const cJSON *j, const char *p)
{
	while (j && *p) {
		if (*p == '.') {
			size_t n = strcspn(p + 1, ".[");
			char *key = phx_malloc(n + 1);
			memcpy(key, p + 1, n);
			key[n] = '\0';
			j = cJSON_IsObject(j) ?
			    cJSON_GetObjectItemCaseSensitive(j, key) : NULL;
			free(key);
			p += n + 1;
		} else {
			char *end;
			long i = strtol(p + 1, &end, 10);
			j = cJSON_IsArray(j) && i >= 0 && i <= INT_MAX ?
			    cJSON_GetArrayItem(j, (int)i) : NULL;
			p = end + 1;
		}
	}
	return j;
}

static void
value_from_json(struct value *v, const cJSON *j)
{
	char *s;

	if (cJSON_IsString(j))
		value_set_str(v, j->valuestring, strlen(j->valuestring));
	else if (cJSON_IsNumber(j))
		value_set_num(v, j->valuedouble);
	else if (cJSON_IsBool(j))
		value_set_str(v, cJSON_IsTrue(j) ? "true" : "false",
		    cJSON_IsTrue(j) ? 4 : 5);
	else if (cJSON_IsNull(j))
		value_set_str(v, "null", 4);
	else if ((s = cJSON_PrintUnformatted(j))) {
		value_set_str(v, s, strlen(s));
		v->node = j;
		free(s);
	}
}

static void
body_value(struct check *c, const char *path, struct value *v)
{
	const char *body = phx_buf_str(&c->out);
	size_t n = c->out.len;

	if (!path) {
		while (n && isspace((unsigned char)body[n - 1]))
			n--;
		value_set_str(v, body, n);
		return;
	}
	if (!c->json_tried) {
		c->json_tried = true;
		c->json = cJSON_ParseWithLength(body, c->out.len);
	}
	if (c->json)
		value_from_json(v, json_walk(c->json, path));
}

static void
resolve(struct check *c, const struct operand *o, struct value *v)
{
	memset(v, 0, sizeof *v);
	switch (o->ph) {
	case P_NONE:
		if (o->text) {
			value_set_str(v, o->text, strlen(o->text));
			v->isnum = parse_number(o->text, &v->num);
		}
		return;
	case P_STATUS:
		if (c->status_code)
			value_set_num(v, (double)c->status_code);
		break;
	case P_RTIME:
		value_set_num(v, (double)c->response_ms);
		break;
	case P_CERT:
		if (c->http.not_after)
			value_set_num(v,
			    (double)(c->http.not_after - phx_wall_ms()));
		break;
	case P_BODY:
		body_value(c, o->path, v);
		break;
	}
	if (o->fn == F_HAS) {
		bool has = v->present;
		free(v->str);
		memset(v, 0, sizeof *v);
		value_set_str(v, has ? "true" : "false", has ? 4 : 5);
	} else if (o->fn == F_LEN && v->present) {
		double n = v->node ? (double)cJSON_GetArraySize(v->node) :
		    (double)strlen(v->str);
		free(v->str);
		memset(v, 0, sizeof *v);
		value_set_num(v, n);
	}
}

static bool
equal(const struct value *l, const char *text)
{
	double d;

	if (l->isnum && parse_number(text, &d))
		return fabs(l->num - d) < 1e-9;
	return strcmp(l->str, text) == 0;
}

static bool
compare(const struct cond *k, const struct value *l, const struct value *r)
{
	bool eq;

	if (k->r.fn == F_NONE && (!l->present || !r->present))
		return k->op == OP_NE && l->present != r->present;
	if (!l->present)
		return false;
	switch (k->op) {
	case OP_CONTAINS:
		return strstr(l->str, r->str) != NULL;
	case OP_MATCH:
	case OP_NOMATCH:
		return (regexec(&k->re, l->str, 0, NULL, 0) == 0) ==
		    (k->op == OP_MATCH);
	case OP_LT: case OP_LE: case OP_GT: case OP_GE:
		if (!l->isnum || !r->isnum)
			return false;
		return k->op == OP_LT ? l->num < r->num :
		    k->op == OP_LE ? l->num <= r->num :
		    k->op == OP_GT ? l->num > r->num : l->num >= r->num;
	default:
		break;
	}
	if (k->r.fn == F_PAT)
		eq = fnmatch(k->r.text, l->str, 0) == 0;
	else if (k->r.fn == F_ANY) {
		eq = false;
		for (size_t i = 0; i < k->r.nalts && !eq; i++)
			eq = equal(l, k->r.alts[i]);
	} else
		eq = r->isnum && l->isnum ? fabs(l->num - r->num) < 1e-9 :
		    strcmp(l->str, r->str) == 0;
	return k->op == OP_EQ ? eq : !eq;
}

static cJSON *
actual_json(const struct value *v)
{
	if (!v->present)
		return cJSON_CreateNull();
	if (v->isnum && !v->node && strspn(v->str, "-.0123456789") == strlen(v->str))
		return cJSON_CreateNumber(v->num);
	if (strlen(v->str) > ACTUAL_MAX) {
		char cut[ACTUAL_MAX + 4];
		memcpy(cut, v->str, ACTUAL_MAX);
		memcpy(cut + ACTUAL_MAX, "...", 4);
		return cJSON_CreateString(cut);
	}
	return cJSON_CreateString(v->str);
}

/* evaluates every condition; returns the text of the first that
 * failed, or NULL */
const char *
eval_conditions(struct check *c)
{
	const char *failed = NULL;

	cJSON_Delete(c->cond_results);
	c->cond_results = cJSON_CreateArray();
	for (size_t i = 0; i < c->nconds; i++) {
		struct cond *k = &c->conds[i];
		struct value l, r;
		cJSON *res = cJSON_CreateObject();
		bool ok;

		resolve(c, &k->l, &l);
		resolve(c, &k->r, &r);
		ok = compare(k, &l, &r);
		/* nothing copied that outlives the record: the check keeps
		 * k->text, the keys are literals */
		phx_add_ref(res, "condition", k->text);
		cJSON_AddItemToObjectCS(res, "ok", cJSON_CreateBool(ok));
		cJSON_AddItemToObjectCS(res, "actual", actual_json(&l));
		cJSON_AddItemToArray(c->cond_results, res);
		if (!ok && !failed)
			failed = k->text;
		free(l.str);
		free(r.str);
	}
	return failed;
}
