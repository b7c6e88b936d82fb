/* phx-probe: checks services concurrently (HTTP(S), TCP, PostgreSQL,
 * podman healthchecks) in one event loop and emits one health record per
 * service as soon as its verdict is known; every input line passes on. */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <regex.h>
#include <search.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#include "phx.h"

#define BODY_MAX (1024 * 1024)
#define OUTPUT_MAX 4096
#define ACTUAL_MAX 200
#define WAIT_FIRST_MS 100     /* first delay in wait mode, doubling to interval */
#define REAP_MS 10
#define MAX_EXPECTED 16
#define MAX_PGPARAMS 10

enum kind { K_HTTP, K_TCP, K_PG, K_HC };
static const char *const kind_names[] = { "http", "tcp", "postgres",
    "healthcheck" };

enum state { S_NEW, S_WAITING, S_QUEUED, S_RUNNING, S_DONE };

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

struct settings {
	int64_t timeout, binit, bmax, interval;
	double mult;
	int retries;
	long expected[MAX_EXPECTED];
	size_t nexpected;
	bool insecure;
};

struct service;

struct check {
	struct service *svc;
	enum kind kind;
	char *target;         /* for records: no secret in it */
	char *url;            /* what curl connects to */
	char *method, *body, *ca_file, *query;
	struct curl_slist *headers;
	struct cond *conds;
	size_t nconds;
	bool want_body, status_in_conds;
	struct settings set;
	char *invalid;        /* why the check could not be built */
	char *odd_kind;       /* an unknown kind, as given */
	/* postgres */
	char *pgkeys[MAX_PGPARAMS + 1], *pgvals[MAX_PGPARAMS + 1];
	bool pg_expand;
	/* healthcheck */
	char *container;
	/* schedule */
	enum state state;
	int attempts;
	int64_t started, due, attempt_started, attempt_deadline;
	struct check *next;   /* waiting list or queue */
	struct check *pnext;  /* polled list (postgres, healthcheck) */
	/* the running attempt */
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
	struct phx_buf out;   /* body, query value or command output */
	cJSON *json;          /* out parsed, for [BODY].path */
	bool json_tried, too_big;
	PGconn *pg;
	int pg_phase;         /* 0 connecting, 1 querying */
	short pg_events;
	pid_t pid;
	int pipefd;
	/* the last attempt's result */
	bool healthy;
	long status_code;
	int64_t response_ms, duration_ms;
	const char *reason;
	char *message;
	cJSON *cond_results;
	char tls_version[32];
	bool tls_seen, tls_verified;
	int64_t not_after;    /* wall ms, 0 unknown */
};

struct service {
	char *name;
	struct check **checks;
	size_t nchecks, ndone;
	bool emitted, adhoc;
	unsigned long lineno;
};

static struct {
	const cJSON *cfg;
	struct settings dflt;
	CURLM *multi;
	bool wait;
	int64_t t0, deadline_ms, deadline_at;
	int concurrency, running;
	const char *podman, *default_query;
	struct check *waiting, *queue, *queue_tail, *polled;
	struct service **svcs;
	void *byname;   /* tsearch(3) tree of the services, by name */
	size_t nsvcs, capsvcs, pending;
	struct phx_reader *in;
	CURL **pool;          /* idle easy handles: reuse saves their setup */
	size_t npool;
	bool phase_started;
	int64_t phase_t0;
	int healthy, unhealthy, input_errors;
	int sigpipe[2];
	volatile sig_atomic_t signo;
} P = { .sigpipe = { -1, -1 } };

/* command-line overrides; negative: not given */
static struct {
	int64_t timeout, interval;
	int retries;
	bool insecure;
} opt = { -1, -1, -1, false };

static void
usage(FILE *f, int status)
{
	fprintf(f, "usage: %s [-hknqVvw] [-c file] [-d deadline] [-i interval] "
	    "[-j jobs] [-r retries] [-s service,...] [-t timeout] [-a] "
	    "[[name=]target ...]\n", phx_progname);
	exit(status);
}

/* ---- small helpers ---- */

static char *
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

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
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

static void
set_message(struct check *c, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
vset_message(struct check *c, const char *reason, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void
vset_message(struct check *c, const char *reason, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof msg, fmt, ap);
	free(c->message);
	c->message = phx_strdup(msg);
	c->reason = reason;
}

static void
set_message(struct check *c, const char *reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_message(c, reason, fmt, ap);
	va_end(ap);
}

/* ---- conditions ---- */

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
			j = cJSON_IsArray(j) && i >= 0 ?
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
		if (c->not_after)
			value_set_num(v, (double)(c->not_after - phx_wall_ms()));
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

/* evaluates every condition; returns the first that failed, or NULL */
static const struct cond *
eval_conditions(struct check *c)
{
	const struct cond *failed = NULL;

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
		cJSON_AddStringToObject(res, "condition", k->text);
		cJSON_AddBoolToObject(res, "ok", ok);
		cJSON_AddItemToObject(res, "actual", actual_json(&l));
		cJSON_AddItemToArray(c->cond_results, res);
		if (!ok && !failed)
			failed = k;
		free(l.str);
		free(r.str);
	}
	return failed;
}

/* ---- building checks ---- */

static void
settings_from_config(struct settings *s, const cJSON *obj)
{
	const cJSON *es, *it;

	s->timeout = (int64_t)phx_cfg_num(obj, "timeout", (double)s->timeout);
	s->retries = (int)phx_cfg_num(obj, "retries", s->retries);
	s->binit = (int64_t)phx_cfg_num(obj, "backoff.initial", (double)s->binit);
	s->bmax = (int64_t)phx_cfg_num(obj, "backoff.max", (double)s->bmax);
	s->mult = phx_cfg_num(obj, "backoff.multiplier", s->mult);
	s->interval = (int64_t)phx_cfg_num(obj, "interval", (double)s->interval);
	s->insecure = phx_cfg_bool(obj, "insecure", s->insecure);
	es = phx_cfg(obj, "expected_status");
	if (cJSON_IsArray(es) && cJSON_GetArraySize(es) > 0) {
		s->nexpected = 0;
		cJSON_ArrayForEach(it, es)
			if (cJSON_IsNumber(it) && s->nexpected < MAX_EXPECTED)
				s->expected[s->nexpected++] = (long)it->valuedouble;
	}
}

/* a check object of a service record: timeout_ms, backoff_initial_ms... */
static void
settings_from_record(struct settings *s, const cJSON *j)
{
	const cJSON *es = cJSON_GetObjectItemCaseSensitive(j, "expected_status"), *it;

	s->timeout = (int64_t)phx_jnum(j, "timeout_ms", (double)s->timeout);
	s->retries = (int)phx_jnum(j, "retries", s->retries);
	s->binit = (int64_t)phx_jnum(j, "backoff_initial_ms", (double)s->binit);
	s->bmax = (int64_t)phx_jnum(j, "backoff_max_ms", (double)s->bmax);
	s->mult = phx_jnum(j, "backoff_multiplier", s->mult);
	s->interval = (int64_t)phx_jnum(j, "interval_ms", (double)s->interval);
	s->insecure = phx_jbool(j, "insecure", s->insecure);
	if (cJSON_IsNumber(es)) {
		s->nexpected = 1;
		s->expected[0] = (long)es->valuedouble;
	} else if (cJSON_IsArray(es) && cJSON_GetArraySize(es) > 0) {
		s->nexpected = 0;
		cJSON_ArrayForEach(it, es)
			if (cJSON_IsNumber(it) && s->nexpected < MAX_EXPECTED)
				s->expected[s->nexpected++] = (long)it->valuedouble;
	}
}

static void
settings_from_options(struct settings *s)
{
	if (opt.timeout >= 0)
		s->timeout = opt.timeout;
	if (opt.retries >= 0)
		s->retries = opt.retries;
	if (opt.interval >= 0)
		s->interval = opt.interval;
	if (opt.insecure)
		s->insecure = true;
	if (s->retries < 1)
		s->retries = 1;
	if (s->timeout < 1)
		s->timeout = 1;
	if (s->mult < 1)
		s->mult = 1;
	if (s->interval < 1)
		s->interval = 1;
}

static void
pg_param(struct check *c, const char *key, const char *val)
{
	size_t i = 0;

	if (!val || !*val)
		return;
	while (c->pgkeys[i] && i < MAX_PGPARAMS)
		i++;
	if (i == MAX_PGPARAMS)
		return;
	c->pgkeys[i] = phx_strdup(key);
	c->pgvals[i] = phx_strdup(val);
}

static bool
is_pg_uri(const char *s)
{
	return strncmp(s, "postgresql://", 13) == 0 ||
	    strncmp(s, "postgres://", 11) == 0;
}

/* "host:port" or "[v6]:port" into its parts; false when malformed */
static bool
split_hostport(const char *t, char **host, char **port)
{
	const char *colon = strrchr(t, ':');
	const char *h = t, *he = colon;

	if (!colon || !colon[1] || strspn(colon + 1, "0123456789") !=
	    strlen(colon + 1) || colon == t)
		return false;
	if (*t == '[' && colon[-1] == ']') {
		h++;
		he--;
	}
	*host = phx_strdup(h);
	(*host)[he - h] = '\0';
	*port = phx_strdup(colon + 1);
	return true;
}

/* the password, registered as a secret; never kept anywhere but libpq */
static bool
setup_pg(struct check *c, const cJSON *j, const cJSON *entry)
{
	char *pw = phx_cfg_secret(j, "password"), *host = NULL, *port = NULL;
	const char *user = phx_jstr(j, "user"), *db = phx_jstr(j, "dbname");

	if (!pw && entry)
		pw = phx_cfg_secret(entry, "password");
	if (is_pg_uri(c->target)) {
		PQconninfoOption *opts = PQconninfoParse(c->target, NULL);
		for (PQconninfoOption *o = opts; o && o->keyword; o++)
			if (strcmp(o->keyword, "password") == 0 && o->val)
				phx_secret_add(o->val);
		PQconninfoFree(opts);
		if (!opts) {
			phx_free_secret(pw);
			return false;
		}
		pg_param(c, "dbname", c->target);
		c->pg_expand = true;
		free(c->target);
		c->target = phx_redact(c->url);
	} else if (split_hostport(c->target, &host, &port)) {
		pg_param(c, "host", host);
		pg_param(c, "port", port);
		pg_param(c, "dbname", db);
		free(c->target);
		c->target = phx_asprintf("postgresql://%s%s%s:%s/%s",
		    user ? user : "", user ? "@" : "", host, port, db ? db : "");
	} else {
		phx_free_secret(pw);
		return false;
	}
	pg_param(c, "user", user);
	pg_param(c, "sslmode", phx_jstr(j, "sslmode"));
	pg_param(c, "application_name", "phx-probe");
	pg_param(c, "password", pw);
	free(host);
	free(port);
	phx_free_secret(pw);
	free(c->query);
	c->query = phx_strdup(phx_jstr(j, "query") ? phx_jstr(j, "query") :
	    P.default_query);
	return true;
}

static bool
setup_http(struct check *c, const cJSON *j)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "headers"), *it;

	if (strncmp(c->url, "http://", 7) != 0 &&
	    strncmp(c->url, "https://", 8) != 0)
		return false;
	if (phx_jstr(j, "method"))
		c->method = phx_strdup(phx_jstr(j, "method"));
	if (phx_jstr(j, "body"))
		c->body = phx_strdup(phx_jstr(j, "body"));
	if (phx_jstr(j, "ca_file"))
		c->ca_file = phx_strdup(phx_jstr(j, "ca_file"));
	cJSON_ArrayForEach(it, h) {
		char *line;
		if (!cJSON_IsString(it))
			continue;
		line = phx_asprintf("%s: %s", it->string, it->valuestring);
		c->headers = curl_slist_append(c->headers, line);
		free(line);
	}
	return true;
}

static bool
setup_tcp(struct check *c)
{
	char *host, *port;
	const char *t = c->target;

	if (strncmp(t, "tcp://", 6) == 0)
		t += 6;
	if (!split_hostport(t, &host, &port))
		return false;
	free(c->url);
	c->url = strchr(host, ':') ? phx_asprintf("http://[%s]:%s", host, port)
	    : phx_asprintf("http://%s:%s", host, port);
	free(host);
	free(port);
	return true;
}

static void
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

static bool
parse_kind(const char *s, enum kind *k)
{
	if (!s || strcmp(s, "http") == 0 || strcmp(s, "https") == 0)
		*k = K_HTTP;
	else if (strcmp(s, "tcp") == 0)
		*k = K_TCP;
	else if (strcmp(s, "postgres") == 0 || strcmp(s, "postgresql") == 0)
		*k = K_PG;
	else if (strcmp(s, "healthcheck") == 0)
		*k = K_HC;
	else
		return false;
	return true;
}

/* a check from its record form (see phx-records(5)); entry is the
 * service's config entry, where a password may live.  An invalid check
 * is kept, with c->invalid saying why: it fails without being run. */
static struct check *
check_new(struct service *svc, const cJSON *j, const cJSON *entry,
    const struct settings *base)
{
	struct check *c = phx_calloc(1, sizeof *c);
	const char *target = phx_jstr(j, "target");
	bool ok;

	c->svc = svc;
	c->pipefd = -1;
	c->set = *base;
	settings_from_record(&c->set, j);
	settings_from_options(&c->set);
	c->target = phx_strdup(target ? target : "");
	c->url = phx_strdup(c->target);
	if (!parse_kind(phx_jstr(j, "kind"), &c->kind)) {
		c->odd_kind = phx_strdup(phx_jstr(j, "kind") ? phx_jstr(j, "kind") : "?");
		c->invalid = phx_asprintf("unknown check kind \"%s\"", c->odd_kind);
		return c;
	}
	if (!target || !*target) {
		c->invalid = phx_strdup("check without a target");
		return c;
	}
	switch (c->kind) {
	case K_HTTP: ok = setup_http(c, j); break;
	case K_TCP: ok = setup_tcp(c); break;
	case K_PG: ok = setup_pg(c, j, entry); break;
	default: c->container = phx_strdup(target); ok = true; break;
	}
	if (!ok) {
		c->invalid = phx_asprintf("bad %s target \"%s\"",
		    kind_names[c->kind], c->target);
		return c;
	}
	setup_conditions(c, cJSON_GetObjectItemCaseSensitive(j, "conditions"));
	return c;
}

static void
check_free(struct check *c)
{
	free(c->target);
	free(c->url);
	free(c->method);
	free(c->body);
	free(c->ca_file);
	free(c->query);
	free(c->container);
	free(c->invalid);
	free(c->odd_kind);
	free(c->message);
	curl_slist_free_all(c->headers);
	for (size_t i = 0; i < c->nconds; i++)
		cond_free(&c->conds[i]);
	free(c->conds);
	for (size_t i = 0; c->pgkeys[i]; i++) {
		free(c->pgkeys[i]);
		phx_free_secret(c->pgvals[i]);
	}
	phx_buf_free(&c->out);
	cJSON_Delete(c->json);
	cJSON_Delete(c->cond_results);
	if (c->easy)
		curl_easy_cleanup(c->easy);
	free(c);
}

/* ---- records ---- */

static void
ensure_phase_start(void)
{
	if (P.phase_started)
		return;
	P.phase_started = true;
	P.phase_t0 = phx_phase_start("probe");
}

static void
add_tls(cJSON *o, const struct check *c)
{
	cJSON *t;
	char ts[32];

	if (!c->tls_seen)
		return;
	t = cJSON_AddObjectToObject(o, "tls");
	if (c->tls_version[0])
		cJSON_AddStringToObject(t, "version", c->tls_version);
	cJSON_AddBoolToObject(t, "verified", c->tls_verified);
	cJSON_AddBoolToObject(t, "insecure", c->set.insecure);
	if (c->not_after) {
		phx_ts_format(c->not_after, ts);
		cJSON_AddStringToObject(t, "not_after", ts);
		cJSON_AddNumberToObject(t, "days_to_expiry",
		    floor((double)(c->not_after - phx_wall_ms()) / 86400000.0));
	}
}

static const char *
kind_name(const struct check *c)
{
	return c->odd_kind ? c->odd_kind : kind_names[c->kind];
}

static void
add_result(cJSON *o, struct check *c)
{
	phx_add_ref(o, "check", kind_name(c));
	phx_add_ref(o, "target", c->target);
	phx_add_ref(o, "status", c->healthy ? "healthy" : "unhealthy");
	phx_add_int(o, "attempts", c->attempts);
	phx_add_int(o, "response_time_ms", c->response_ms);
	if (c->status_code)
		phx_add_int(o, "status_code", c->status_code);
	if (!c->healthy) {
		cJSON_AddStringToObject(o, "reason", c->reason ? c->reason : "protocol");
		cJSON_AddStringToObject(o, "message", c->message ? c->message : "");
	}
	phx_add_int(o, "duration_ms", c->duration_ms);
	add_tls(o, c);
	if (c->cond_results) {   /* emitted once: the record takes them */
		cJSON_AddItemToObject(o, "conditions", c->cond_results);
		c->cond_results = NULL;
	}
}

/* several checks: one verdict, the first failure's reason, every result */
static void
add_summary(cJSON *rec, const struct service *s)
{
	const struct check *first = s->checks[0], *bad = NULL;
	struct phx_buf kinds = { 0 };
	int64_t rt = 0, dur = 0;
	int attempts = 0;
	long code = 0;
	cJSON *arr;

	for (size_t i = 0; i < s->nchecks; i++) {
		const struct check *c = s->checks[i];
		phx_buf_printf(&kinds, "%s%s", i ? "+" : "", kind_name(c));
		if (!c->healthy && !bad)
			bad = c;
		rt = c->response_ms > rt ? c->response_ms : rt;
		dur = c->duration_ms > dur ? c->duration_ms : dur;
		attempts = c->attempts > attempts ? c->attempts : attempts;
		if (!code && c->status_code)
			code = c->status_code;
	}
	cJSON_AddStringToObject(rec, "check", phx_buf_str(&kinds));
	cJSON_AddStringToObject(rec, "target", first->target);
	cJSON_AddStringToObject(rec, "status", bad ? "unhealthy" : "healthy");
	phx_add_int(rec, "attempts", attempts);
	phx_add_int(rec, "response_time_ms", rt);
	if (code)
		phx_add_int(rec, "status_code", code);
	if (bad) {
		cJSON_AddStringToObject(rec, "reason", bad->reason ? bad->reason : "protocol");
		cJSON_AddStringToObject(rec, "message", bad->message ? bad->message : "");
	}
	phx_add_int(rec, "duration_ms", dur);
	arr = cJSON_AddArrayToObject(rec, "checks");
	for (size_t i = 0; i < s->nchecks; i++) {
		cJSON *o = cJSON_CreateObject();
		add_result(o, s->checks[i]);
		cJSON_AddItemToArray(arr, o);
	}
	phx_buf_free(&kinds);
}

static void
service_emit(struct service *s)
{
	cJSON *rec = phx_record_new("health");
	bool healthy = s->nchecks > 0;

	for (size_t i = 0; i < s->nchecks; i++)
		healthy = healthy && s->checks[i]->healthy;
	phx_add_ref(rec, "service", s->name);
	if (s->nchecks == 1)
		add_result(rec, s->checks[0]);
	else if (s->nchecks > 1)
		add_summary(rec, s);
	else {
		cJSON_AddStringToObject(rec, "check", "none");
		cJSON_AddStringToObject(rec, "target", "");
		cJSON_AddStringToObject(rec, "status", "unhealthy");
		cJSON_AddNumberToObject(rec, "attempts", 0);
		cJSON_AddNumberToObject(rec, "response_time_ms", 0);
		cJSON_AddStringToObject(rec, "reason", "skipped");
		cJSON_AddStringToObject(rec, "message", "no checks defined");
	}
	ensure_phase_start();
	phx_emit(rec);
	s->emitted = true;
	P.pending--;
	if (healthy)
		P.healthy++;
	else
		P.unhealthy++;
	phx_log(healthy ? PHX_DEBUG : PHX_INFO, "%s: %s", s->name,
	    healthy ? "healthy" : "unhealthy");
}

/* ---- scheduling ---- */

static void
queue_push(struct check *c)
{
	c->state = S_QUEUED;
	c->next = NULL;
	if (P.queue_tail)
		P.queue_tail->next = c;
	else
		P.queue = c;
	P.queue_tail = c;
}

static void
waiting_insert(struct check *c, int64_t due)
{
	struct check **pp = &P.waiting;

	c->state = S_WAITING;
	c->due = due;
	while (*pp && (*pp)->due <= due)
		pp = &(*pp)->next;
	c->next = *pp;
	*pp = c;
}

static void
list_remove(struct check **head, struct check *c, bool polled)
{
	for (struct check **pp = head; *pp;
	    pp = polled ? &(*pp)->pnext : &(*pp)->next)
		if (*pp == c) {
			*pp = polled ? c->pnext : c->next;
			return;
		}
}

/* a plain GET sets only what every check sets again: no reset needed */
static bool
plain_get(const struct check *c)
{
	return !c->method && !c->body && !c->headers &&
	    strncmp(c->url, "https://", 8) != 0;
}

/* connect-only handles keep their connection: those are not reused */
static void
easy_release(struct check *c)
{
	if (!c->easy)
		return;
	if (c->kind == K_HTTP && P.npool < (size_t)P.concurrency) {
		if (!plain_get(c))
			curl_easy_reset(c->easy);
		if (!P.pool)
			P.pool = phx_calloc((size_t)P.concurrency, sizeof *P.pool);
		P.pool[P.npool++] = c->easy;
	} else
		curl_easy_cleanup(c->easy);
	c->easy = NULL;
}

static void
verdict(struct check *c, bool healthy)
{
	struct service *s = c->svc;

	c->state = S_DONE;
	c->healthy = healthy;
	c->duration_ms = phx_now_ms() - c->started;
	easy_release(c);
	phx_buf_free(&c->out);
	memset(&c->out, 0, sizeof c->out);
	if (++s->ndone == s->nchecks)
		service_emit(s);
}

static int64_t
next_delay(const struct check *c)
{
	double d;

	if (P.wait) {
		d = WAIT_FIRST_MS * pow(2, c->attempts - 1);
		return d > (double)c->set.interval ? c->set.interval : (int64_t)d;
	}
	d = (double)c->set.binit * pow(c->set.mult, c->attempts - 1);
	return d > (double)c->set.bmax ? c->set.bmax : (int64_t)d;
}

/* the attempt is over: healthy, or retry, or give up */
static void
attempt_over(struct check *c, bool ok)
{
	int64_t now = phx_now_ms(), delay;

	if (c->state == S_RUNNING)
		P.running--;
	cJSON_Delete(c->json);
	c->json = NULL;
	c->json_tried = false;
	if (ok) {
		verdict(c, true);
		return;
	}
	if (!P.wait && c->attempts >= c->set.retries) {
		verdict(c, false);
		return;
	}
	delay = next_delay(c);
	if (P.deadline_at && now + delay >= P.deadline_at) {
		phx_log(PHX_DEBUG, "%s: %s attempt %d: %s: %s; deadline reached",
		    c->svc->name, kind_names[c->kind], c->attempts, c->reason,
		    c->message);
		verdict(c, false);
		return;
	}
	phx_log(PHX_DEBUG, "%s: %s attempt %d: %s: %s; next in %lld ms",
	    c->svc->name, kind_names[c->kind], c->attempts, c->reason,
	    c->message, (long long)delay);
	waiting_insert(c, now + delay);
}

static void
attempt_failed(struct check *c, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
attempt_failed(struct check *c, const char *reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_message(c, reason, fmt, ap);
	va_end(ap);
	attempt_over(c, false);
}

/* judges a response: expected status, then the conditions */
static void
judge(struct check *c)
{
	const struct cond *bad;
	bool status_ok = c->kind != K_HTTP || c->status_in_conds;

	for (size_t i = 0; !status_ok && i < c->set.nexpected; i++)
		status_ok = c->status_code == c->set.expected[i];
	bad = eval_conditions(c);
	if (!c->nconds) {
		cJSON_Delete(c->cond_results);
		c->cond_results = NULL;
	}
	if (!status_ok) {
		struct phx_buf want = { 0 };
		for (size_t i = 0; i < c->set.nexpected; i++)
			phx_buf_printf(&want, "%s%ld", i ? " or " : "",
			    c->set.expected[i]);
		attempt_failed(c, "status", "HTTP status %ld, expected %s",
		    c->status_code, phx_buf_str(&want));
		phx_buf_free(&want);
	} else if (bad)
		attempt_failed(c, "condition", "condition failed: %s", bad->text);
	else
		attempt_over(c, true);
}

/* ---- HTTP and TCP, through libcurl ---- */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct check *c = arg;

	if (!c->want_body)
		return size * n;
	if (c->out.len + size * n > BODY_MAX) {
		c->too_big = true;
		return 0;
	}
	phx_buf_add(&c->out, p, size * n);
	return size * n;
}

/* the TLS version is only reachable while the connection is in use */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	static const char *(*ssl_version)(const void *);
	static bool looked;
	struct check *c = arg;
	struct curl_tlssessioninfo *ti = NULL;

	(void)p;
	if (!looked) {
		looked = true;
		*(void **)&ssl_version = dlsym(RTLD_DEFAULT, "SSL_get_version");
	}
	if (ssl_version && !c->tls_version[0] &&
	    curl_easy_getinfo(c->easy, CURLINFO_TLS_SSL_PTR, &ti) == CURLE_OK &&
	    ti && ti->backend == CURLSSLBACKEND_OPENSSL && ti->internals)
		snprintf(c->tls_version, sizeof c->tls_version, "%s",
		    ssl_version(ti->internals));
	return size * n;
}

static void
easy_setup(struct check *c)
{
	bool https = strncmp(c->url, "https://", 8) == 0;
	CURL *e = c->easy = c->kind == K_HTTP && P.npool ? P.pool[--P.npool] :
	    curl_easy_init();

	if (!e)
		phx_die(PHX_EXIT_ENV, "curl_easy_init failed");
	curl_easy_setopt(e, CURLOPT_URL, c->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, c);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "phx-probe/" PHX_VERSION);
	if (c->kind == K_TCP) {
		curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
		return;
	}
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	if (c->method && strcmp(c->method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (c->method)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
	if (c->body)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
	if (c->headers)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
	if (!https)
		return;
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_CERTINFO, 1L);
	if (c->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	if (c->set.insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

static int64_t
attempt_budget(const struct check *c, int64_t now)
{
	int64_t t = c->set.timeout;

	if (P.deadline_at)
		t = min64(t, P.deadline_at - now);
	return t < 1 ? 1 : t;
}

static void
http_start(struct check *c, int64_t now)
{
	int64_t budget = attempt_budget(c, now);

	if (!c->easy)
		easy_setup(c);
	c->errbuf[0] = '\0';
	c->out.len = 0;
	c->too_big = false;
	c->status_code = 0;
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, (long)budget);
	curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)budget);
	if (curl_multi_add_handle(P.multi, c->easy) != CURLM_OK)
		phx_die(PHX_EXIT_ENV, "curl_multi_add_handle failed");
}

static const char *
curl_reason(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return "dns";
	case CURLE_COULDNT_CONNECT:
		return "refused";
	case CURLE_OPERATION_TIMEDOUT:
		return "timeout";
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_USE_SSL_FAILED:
		return "tls";
	default:
		return "protocol";
	}
}

static void
tls_info(struct check *c)
{
	struct curl_certinfo *ci = NULL;
	long verify = 1;
	struct tm tm;

	c->tls_seen = true;
	if (curl_easy_getinfo(c->easy, CURLINFO_SSL_VERIFYRESULT, &verify) == CURLE_OK)
		c->tls_verified = verify == 0 && !c->set.insecure;
	if (curl_easy_getinfo(c->easy, CURLINFO_CERTINFO, &ci) != CURLE_OK ||
	    !ci || ci->num_of_certs < 1)
		return;   /* a reused connection: keep what the handshake said */
	for (struct curl_slist *s = ci->certinfo[0]; s; s = s->next) {
		if (strncmp(s->data, "Expire date:", 12) != 0)
			continue;
		memset(&tm, 0, sizeof tm);
		if (strptime(s->data + 12, "%b %d %H:%M:%S %Y", &tm))
			c->not_after = (int64_t)timegm(&tm) * 1000;
	}
}

/* curl's message without its timings, so equal failures read the same */
static const char *
curl_message(struct check *c, CURLcode rc)
{
	char *p;

	if (!c->errbuf[0])
		return curl_easy_strerror(rc);
	while ((p = strstr(c->errbuf, " after ")) &&
	    strspn(p + 7, "0123456789") > 0 &&
	    strncmp(p + 7 + strspn(p + 7, "0123456789"), " ms", 3) == 0) {
		char *rest = p + 7 + strspn(p + 7, "0123456789") + 3;
		memmove(p, rest, strlen(rest) + 1);
	}
	return c->errbuf;
}

static void
http_done(struct check *c, CURLcode rc)
{
	curl_off_t t = 0;

	curl_multi_remove_handle(P.multi, c->easy);
	curl_easy_getinfo(c->easy, c->kind == K_TCP ? CURLINFO_CONNECT_TIME_T :
	    CURLINFO_TOTAL_TIME_T, &t);
	c->response_ms = (int64_t)(t / 1000);
	if (strncmp(c->url, "https://", 8) == 0 && (rc == CURLE_OK ||
	    strcmp(curl_reason(rc), "tls") != 0))
		tls_info(c);
	else if (strncmp(c->url, "https://", 8) == 0)
		c->tls_seen = true, c->tls_verified = false;
	if (rc == CURLE_WRITE_ERROR && c->too_big) {
		attempt_failed(c, "protocol", "response body larger than %d bytes",
		    BODY_MAX);
		return;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		attempt_failed(c, "timeout", "no %s within %lld ms",
		    c->kind == K_TCP ? "connection" : "complete answer",
		    (long long)(c->attempt_deadline - c->attempt_started));
		return;
	}
	if (rc != CURLE_OK) {
		attempt_failed(c, curl_reason(rc), "%s", curl_message(c, rc));
		return;
	}
	if (c->kind == K_HTTP)
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status_code);
	judge(c);
}

static void
harvest_curl(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(P.multi, &left))) {
		struct check *c = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
		http_done(c, m->data.result);
	}
}

/* ---- PostgreSQL, through libpq's non-blocking API ---- */

static void
pg_quiet(void *arg, const char *msg)
{
	(void)arg;
	phx_log(PHX_DEBUG, "postgres: %s", msg);
}

static const char *
pg_reason(const char *msg)
{
	static const struct { const char *text, *reason; } map[] = {
		{ "password authentication failed", "auth" },
		{ "authentication failed", "auth" },
		{ "no pg_hba.conf entry", "auth" },
		{ "no password supplied", "auth" },
		{ "password is required", "auth" },
		{ "role \"", "auth" },
		{ "Connection refused", "refused" },
		{ "could not translate host name", "dns" },
		{ "Name or service not known", "dns" },
		{ "timeout", "timeout" },
		{ "SSL", "tls" },
		{ "starting up", "status" },
		{ "shutting down", "status" },
		{ "recovery", "status" },
		{ "does not exist", "status" },
	};

	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (strstr(msg, map[i].text))
			return map[i].reason;
	return "protocol";
}

static void
pg_close(struct check *c)
{
	list_remove(&P.polled, c, true);
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
}

static void
pg_fail(struct check *c, const char *reason)
{
	char *msg = phx_strdup(c->pg ? PQerrorMessage(c->pg) : "out of memory");
	char *nl;

	/* libpq's message may span lines: keep the informative one */
	if ((nl = strstr(msg, "FATAL:")))
		memmove(msg, nl, strlen(nl) + 1);
	if ((nl = strchr(msg, '\n')))
		*nl = '\0';
	c->response_ms = phx_now_ms() - c->attempt_started;
	pg_close(c);
	attempt_failed(c, reason ? reason : pg_reason(msg), "%s", trim(msg));
	free(msg);
}

static void
pg_start(struct check *c)
{
	c->pg = PQconnectStartParams((const char *const *)c->pgkeys,
	    (const char *const *)c->pgvals, c->pg_expand);
	c->pg_phase = 0;
	c->pg_events = POLLOUT;
	c->pnext = P.polled;
	P.polled = c;
	if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
		pg_fail(c, NULL);
		return;
	}
	PQsetNoticeProcessor(c->pg, pg_quiet, NULL);
}

static void
pg_result(struct check *c, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (st == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0 &&
	    !c->out.len)
		phx_buf_addstr(&c->out, PQgetvalue(res, 0, 0));
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && !c->reason) {
		const char *msg = PQresultErrorMessage(res);
		set_message(c, state && strncmp(state, "28", 2) == 0 ? "auth" :
		    state && strcmp(state, "57P03") == 0 ? "status" : "protocol",
		    "%.*s", (int)strcspn(msg, "\n"), msg);
	}
}

static void
pg_query_step(struct check *c)
{
	PGresult *res;
	int f = PQflush(c->pg);

	if (f < 0 || !PQconsumeInput(c->pg)) {
		pg_fail(c, "protocol");
		return;
	}
	c->pg_events = f == 1 ? POLLIN | POLLOUT : POLLIN;
	while (!PQisBusy(c->pg)) {
		if (!(res = PQgetResult(c->pg))) {
			bool ok = !c->reason;
			c->response_ms = phx_now_ms() - c->attempt_started;
			pg_close(c);
			if (ok)
				judge(c);
			else
				attempt_over(c, false);
			return;
		}
		pg_result(c, res);
		PQclear(res);
	}
}

static void
pg_step(struct check *c)
{
	if (c->pg_phase == 1) {
		pg_query_step(c);
		return;
	}
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		c->pg_events = POLLIN;
		return;
	case PGRES_POLLING_WRITING:
		c->pg_events = POLLOUT;
		return;
	case PGRES_POLLING_OK:
		break;
	default:
		pg_fail(c, NULL);
		return;
	}
	c->pg_phase = 1;
	c->out.len = 0;
	if (PQsetnonblocking(c->pg, 1) != 0 || !PQsendQuery(c->pg, c->query)) {
		pg_fail(c, "protocol");
		return;
	}
	pg_query_step(c);
}

/* ---- podman healthcheck run, a child process with a pipe ---- */

static void
hc_start(struct check *c)
{
	const char *argv[] = { P.podman, "healthcheck", "run", c->container, NULL };
	int fds[2], nul;

	c->out.len = 0;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		attempt_failed(c, "protocol", "pipe: %s", strerror(errno));
		return;
	}
	if ((c->pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		attempt_failed(c, "protocol", "fork: %s", strerror(errno));
		return;
	}
	if (c->pid == 0) {
		setpgid(0, 0);
		nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close_range(3, ~0U, 0);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	c->pipefd = fds[0];
	fcntl(c->pipefd, F_SETFL, O_NONBLOCK);
	c->pnext = P.polled;
	P.polled = c;
}

static void
hc_finish(struct check *c, int status)
{
	char *last = phx_tail_lines(c->out.data ? c->out.data : "", c->out.len, 1);

	list_remove(&P.polled, c, true);
	c->pid = 0;
	c->response_ms = phx_now_ms() - c->attempt_started;
	trim(last);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		judge(c);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
		attempt_failed(c, "status", "podman healthcheck run %s: %s",
		    c->container, *last ? trim(last) : "unhealthy");
	else
		attempt_failed(c, "protocol", "podman healthcheck run %s: exit %d%s%s",
		    c->container, WIFEXITED(status) ? WEXITSTATUS(status) :
		    128 + WTERMSIG(status), *last ? ": " : "", trim(last));
	free(last);
}

static void
hc_read(struct check *c)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(c->pipefd, buf, sizeof buf)) > 0)
		if (c->out.len < OUTPUT_MAX)
			phx_buf_add(&c->out, buf, (size_t)n);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		close(c->pipefd);
		c->pipefd = -1;
	}
}

/* the pipe closed: the child is gone or about to be */
static void
hc_reap(struct check *c)
{
	int status;

	if (c->pipefd < 0 && waitpid(c->pid, &status, WNOHANG) == c->pid)
		hc_finish(c, status);
}

static void
hc_kill(struct check *c)
{
	if (c->pid > 0) {
		kill(-c->pid, SIGKILL);
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	if (c->pipefd >= 0)
		close(c->pipefd);
	c->pipefd = -1;
	c->pid = 0;
	list_remove(&P.polled, c, true);
}

/* ---- starting attempts ---- */

static void
attempt_start(struct check *c, int64_t now)
{
	c->state = S_RUNNING;
	c->attempts++;
	c->attempt_started = now;
	c->attempt_deadline = now + attempt_budget(c, now);
	c->reason = NULL;
	P.running++;
	switch (c->kind) {
	case K_HTTP:
	case K_TCP:
		http_start(c, now);
		break;
	case K_PG:
		pg_start(c);
		break;
	case K_HC:
		hc_start(c);
		break;
	}
}

static void
start_due(int64_t now)
{
	while (P.waiting && P.waiting->due <= now) {
		struct check *c = P.waiting;
		P.waiting = c->next;
		queue_push(c);
	}
	while (P.queue && P.running < P.concurrency) {
		struct check *c = P.queue;
		if (!(P.queue = c->next))
			P.queue_tail = NULL;
		if (P.deadline_at && now >= P.deadline_at) {
			set_message(c, "timeout", "deadline reached before the "
			    "check could %s", c->attempts ? "finish" : "start");
			verdict(c, false);
			continue;
		}
		attempt_start(c, now);
	}
}

/* attempts of postgres and healthcheck checks that ran out of time */
static void
expire_polled(int64_t now)
{
	struct check *c = P.polled, *next;

	for (; c; c = next) {
		next = c->pnext;
		if (c->kind == K_HC && c->pipefd < 0) {
			hc_reap(c);
			continue;
		}
		if (now < c->attempt_deadline)
			continue;
		c->response_ms = now - c->attempt_started;
		if (c->kind == K_PG)
			pg_close(c);
		else
			hc_kill(c);
		attempt_failed(c, "timeout", "no answer within %lld ms",
		    (long long)(now - c->attempt_started));
	}
}

/* ---- services ---- */

static void nothing_to_free(void *p) { (void)p; }

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct service *)a)->name,
	    ((const struct service *)b)->name);
}

static struct service *
service_find(const char *name)
{
	struct service key = { .name = (char *)name };
	void *found = tfind(&key, &P.byname, by_name);

	return found ? *(struct service **)found : NULL;
}

static struct service *
service_new(const char *name)
{
	struct service *s = phx_calloc(1, sizeof *s);

	s->name = phx_strdup(name);
	if (P.nsvcs == P.capsvcs) {
		P.capsvcs = P.capsvcs ? P.capsvcs * 2 : 64;
		P.svcs = phx_reallocarray(P.svcs, P.capsvcs, sizeof *P.svcs);
	}
	P.svcs[P.nsvcs++] = s;
	if (!tsearch(s, &P.byname, by_name))
		phx_die(PHX_EXIT_ENV, "out of memory");
	P.pending++;
	return s;
}

static void
service_add_check(struct service *s, struct check *c)
{
	s->checks = phx_reallocarray(s->checks, s->nchecks + 1, sizeof *s->checks);
	s->checks[s->nchecks++] = c;
}

static void
service_start(struct service *s)
{
	int64_t now = phx_now_ms();

	if (!s->nchecks) {
		service_emit(s);
		return;
	}
	/* the deadline bounds probing, not what came before it: in a
	 * pipeline the clock starts when the first service arrives */
	if (P.deadline_ms > 0 && !P.deadline_at)
		P.deadline_at = now + P.deadline_ms;
	for (size_t i = 0; i < s->nchecks; i++) {
		struct check *c = s->checks[i];
		c->started = now;
		if (c->invalid) {
			if (s->adhoc)
				phx_log(PHX_ERROR, "%s: %s", s->name, c->invalid);
			else
				phx_log(PHX_ERROR, "stdin:%lu: service %s: %s",
				    s->lineno, s->name, c->invalid);
			P.input_errors++;
			set_message(c, "skipped", "invalid check: %s", c->invalid);
			verdict(c, false);
		} else
			queue_push(c);
	}
}

static void
service_free(struct service *s)
{
	for (size_t i = 0; i < s->nchecks; i++)
		check_free(s->checks[i]);
	free(s->checks);
	free(s->name);
	free(s);
}

static const cJSON *
config_entry(const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(phx_cfg(P.cfg, "services"), name);
}

/* a service record: its checks start now */
static void
on_service_record(const cJSON *rec, unsigned long lineno)
{
	const char *name = phx_jstr(rec, "service");
	const cJSON *checks = cJSON_GetObjectItemCaseSensitive(rec, "checks"), *j;
	struct service *s;

	if (!name || !*name) {
		phx_log(PHX_ERROR, "stdin:%lu: service record without \"service\"",
		    lineno);
		P.input_errors++;
		return;
	}
	if ((s = service_find(name))) {
		phx_log(PHX_DEBUG, "stdin:%lu: %s is checked already", lineno, name);
		return;
	}
	s = service_new(name);
	s->lineno = lineno;
	cJSON_ArrayForEach(j, checks)
		service_add_check(s, check_new(s, j, config_entry(name), &P.dflt));
	service_start(s);
}

static void
read_input(void)
{
	struct phx_input in;
	enum phx_rd rd;

	while ((rd = phx_reader_next(P.in, &in)) != PHX_RD_AGAIN) {
		if (rd == PHX_RD_EOF) {
			phx_reader_free(P.in);
			P.in = NULL;
			ensure_phase_start();
			return;
		}
		ensure_phase_start();
		phx_pass(&in);
		if (rd == PHX_RD_RECORD && strcmp(in.type, "service") == 0)
			on_service_record(in.json, in.lineno);
	}
}

/* ---- ad hoc checks: config entries and command-line targets ---- */

static void
copy_field(cJSON *dst, const char *to, const cJSON *src, const char *from)
{
	const cJSON *v = phx_cfg(src, from);

	if (v)
		cJSON_AddItemToObject(dst, to, cJSON_Duplicate(v, true));
}

/* a config entry in the record form of its checks */
static cJSON *
config_checks(const cJSON *e)
{
	static const char *same[] = { "method", "headers", "body", "conditions",
	    "expected_status", "insecure", "ca_file", "dbname", "user",
	    "password_env", "sslmode", "query", "retries" };
	static const char *ms[][2] = { { "timeout", "timeout_ms" },
	    { "backoff.initial", "backoff_initial_ms" },
	    { "backoff.max", "backoff_max_ms" },
	    { "backoff.multiplier", "backoff_multiplier" },
	    { "interval", "interval_ms" } };
	cJSON *arr = cJSON_CreateArray(), *c;
	const char *type = phx_jstr(e, "type"), *url = phx_jstr(e, "url");
	const char *host = phx_jstr(e, "host"), *container = phx_jstr(e, "container");
	double port = phx_jnum(e, "port", 0);

	if (url || type || host) {
		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "kind", type ? type : url ? "http" : "tcp");
		if (url)
			cJSON_AddStringToObject(c, "target", url);
		else if (host && port > 0) {
			char *t = phx_asprintf(strchr(host, ':') ? "[%s]:%.0f" :
			    "%s:%.0f", host, port);
			cJSON_AddStringToObject(c, "target", t);
			free(t);
		}
		for (size_t i = 0; i < sizeof same / sizeof *same; i++)
			copy_field(c, same[i], e, same[i]);
		for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
			copy_field(c, ms[i][1], e, ms[i][0]);
		cJSON_AddItemToArray(arr, c);
	}
	if (container && phx_jbool(e, "healthcheck", false)) {
		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "kind", "healthcheck");
		cJSON_AddStringToObject(c, "target", container);
		copy_field(c, "timeout_ms", e, "timeout");
		copy_field(c, "retries", e, "retries");
		cJSON_AddItemToArray(arr, c);
	}
	return arr;
}

static void
add_config_service(const char *name)
{
	const cJSON *e = config_entry(name), *j;
	struct service *s;
	cJSON *checks;

	if (!e)
		phx_die(PHX_EXIT_USAGE, "unknown service \"%s\" (not in the "
		    "configuration's services)", name);
	if (service_find(name) || !phx_jbool(e, "enabled", true))
		return;
	s = service_new(name);
	s->adhoc = true;
	checks = config_checks(e);
	cJSON_ArrayForEach(j, checks)
		service_add_check(s, check_new(s, j, e, &P.dflt));
	cJSON_Delete(checks);
}

/* [name=]URL, tcp://host:port or postgresql://user@host:port/db */
static void
add_target(const char *arg)
{
	const char *eq = strchr(arg, '='), *t = arg;
	char *name = NULL, *shown;
	cJSON *j = cJSON_CreateObject();
	struct service *s;

	if (eq && eq > arg && strcspn(arg, ":/") > (size_t)(eq - arg)) {
		name = phx_strdup(arg);
		name[eq - arg] = '\0';
		t = eq + 1;
	}
	if (strncmp(t, "http://", 7) == 0 || strncmp(t, "https://", 8) == 0)
		cJSON_AddStringToObject(j, "kind", "http");
	else if (strncmp(t, "tcp://", 6) == 0)
		cJSON_AddStringToObject(j, "kind", "tcp");
	else if (is_pg_uri(t))
		cJSON_AddStringToObject(j, "kind", "postgres");
	else
		phx_die(PHX_EXIT_USAGE, "%s: not a target (http://, https://, "
		    "tcp://host:port, postgresql://)", arg);
	cJSON_AddStringToObject(j, "target", t);
	shown = phx_redact(t);
	if (service_find(name ? name : shown))
		phx_die(PHX_EXIT_USAGE, "%s: named twice", name ? name : shown);
	s = service_new(name ? name : shown);
	s->adhoc = true;
	service_add_check(s, check_new(s, j, NULL, &P.dflt));
	free(shown);
	free(name);
	cJSON_Delete(j);
}

static void
add_config_services(const char *list, bool all)
{
	const cJSON *e;
	char *copy, *save = NULL;

	if (all) {
		cJSON_ArrayForEach(e, phx_cfg(P.cfg, "services"))
			add_config_service(e->string);
		return;
	}
	copy = phx_strdup(list);
	for (char *n = strtok_r(copy, ", ", &save); n; n = strtok_r(NULL, ", ", &save))
		add_config_service(n);
	free(copy);
}

/* ---- the event loop ---- */

static void
on_signal(int sig)
{
	int saved = errno;

	P.signo = sig;
	if (write(P.sigpipe[1], "", 1) < 0)
		errno = saved;
	errno = saved;
}

static void
setup_signals(void)
{
	struct sigaction sa = { 0 };

	if (pipe2(P.sigpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		phx_edie(PHX_EXIT_ENV, "pipe");
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int
loop_timeout(int64_t now)
{
	int64_t t = 1000;

	if (P.waiting)
		t = min64(t, P.waiting->due - now);
	for (struct check *c = P.polled; c; c = c->pnext)
		t = min64(t, c->kind == K_HC && c->pipefd < 0 ? REAP_MS :
		    c->attempt_deadline - now);
	if (P.deadline_at)
		t = min64(t, P.deadline_at - now);
	return t < 0 ? 0 : (int)t;
}

/* fds: stdin, the signal pipe, then one per postgres/healthcheck attempt */
static size_t
build_fds(struct curl_waitfd **fds, struct check ***owners, size_t *cap)
{
	size_t n = 0;

	for (struct check *c = P.polled; c; c = c->pnext)
		n++;
	if (n + 2 > *cap) {
		*cap = n + 2;
		free(*fds);
		free(*owners);
		*fds = phx_calloc(*cap, sizeof **fds);
		*owners = phx_calloc(*cap, sizeof **owners);
	}
	n = 0;
	(*fds)[n++] = (struct curl_waitfd){ P.sigpipe[0], CURL_WAIT_POLLIN, 0 };
	if (P.in)
		(*fds)[n++] = (struct curl_waitfd){ phx_reader_fd(P.in),
		    CURL_WAIT_POLLIN, 0 };
	for (struct check *c = P.polled; c; c = c->pnext) {
		int fd = c->kind == K_PG ? PQsocket(c->pg) : c->pipefd;
		if (fd < 0)
			continue;
		(*owners)[n] = c;
		(*fds)[n++] = (struct curl_waitfd){ fd, c->kind == K_PG ?
		    (short)((c->pg_events & POLLIN ? CURL_WAIT_POLLIN : 0) |
		    (c->pg_events & POLLOUT ? CURL_WAIT_POLLOUT : 0)) :
		    CURL_WAIT_POLLIN, 0 };
	}
	return n;
}

static void
handle_fds(struct curl_waitfd *fds, struct check **owners, size_t n)
{
	char drain[64];

	if (fds[0].revents && read(P.sigpipe[0], drain, sizeof drain) < 0)
		errno = 0;
	for (size_t i = 1; i < n; i++) {
		struct check *c = owners[i];
		if (!fds[i].revents)
			continue;
		if (!c)
			read_input();
		else if (c->kind == K_PG && c->state == S_RUNNING && c->pg)
			pg_step(c);
		else if (c->kind == K_HC && c->pipefd >= 0) {
			hc_read(c);
			hc_reap(c);
		}
	}
}

static void
run_loop(void)
{
	struct curl_waitfd *fds = NULL;
	struct check **owners = NULL;
	size_t cap = 0;

	while (!P.signo) {
		int still;
		int64_t now;
		size_t n;

		curl_multi_perform(P.multi, &still);
		harvest_curl();
		now = phx_now_ms();
		expire_polled(now);
		start_due(now);
		if (!P.in && P.pending == 0)
			break;
		n = build_fds(&fds, &owners, &cap);
		phx_out_flush();
		curl_multi_poll(P.multi, fds, (unsigned)n, loop_timeout(now), NULL);
		handle_fds(fds, owners, n);
	}
	free(fds);
	free(owners);
}

/* a signal: stop every attempt; no verdict for what was cut short */
static void
abort_all(void)
{
	for (size_t i = 0; i < P.nsvcs; i++)
		for (size_t k = 0; k < P.svcs[i]->nchecks; k++) {
			struct check *c = P.svcs[i]->checks[k];
			if (c->state != S_RUNNING)
				continue;
			if (c->easy)
				curl_multi_remove_handle(P.multi, c->easy);
			if (c->kind == K_PG)
				pg_close(c);
			if (c->kind == K_HC)
				hc_kill(c);
		}
}

/* ---- setup ---- */

static void
load_defaults(void)
{
	struct settings *d = &P.dflt;
	const cJSON *probe = phx_cfg(P.cfg, "probe");

	d->timeout = 30000;
	d->retries = 5;
	d->binit = 1000;
	d->bmax = 30000;
	d->mult = 2;
	d->interval = 500;
	d->nexpected = 1;
	d->expected[0] = 200;
	settings_from_config(d, probe);
	P.concurrency = (int)phx_cfg_num(probe, "concurrency", 32);
	P.podman = phx_cfg_str(P.cfg, "deployment.podman", "podman");
	P.default_query = "SELECT 1";
}

static int64_t
duration_arg(const char *s, const char *what)
{
	int64_t ms = phx_duration_ms(s);

	if (ms < 0)
		phx_die(PHX_EXIT_USAGE, "%s: not a duration: %s", what, s);
	return ms;
}

static int
count_arg(const char *s, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 1 || v > 1000000)
		phx_die(PHX_EXIT_USAGE, "%s: not a positive number: %s", what, s);
	return (int)v;
}

static void
finish(int status)
{
	for (size_t i = 0; i < P.nsvcs; i++)
		service_free(P.svcs[i]);
	tdestroy(P.byname, nothing_to_free);
	free(P.svcs);
	phx_reader_free(P.in);
	for (size_t i = 0; i < P.npool; i++)
		curl_easy_cleanup(P.pool[i]);
	free(P.pool);
	curl_multi_cleanup(P.multi);
	curl_global_cleanup();
	cJSON_Delete((cJSON *)P.cfg);
	phx_secrets_clear();
	close(P.sigpipe[0]);
	close(P.sigpipe[1]);
	phx_exit(status);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "config", required_argument, NULL, 'c' },
		{ "deadline", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "interval", required_argument, NULL, 'i' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "no-input", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "retries", required_argument, NULL, 'r' },
		{ "services", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "wait", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char *files[16], *services = NULL;
	struct phx_config_opts copts = { files, 0 };
	bool all = false, no_input = false, adhoc;
	int64_t deadline = -1;
	int jobs = 0, ch, status;

	phx_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "ac:d:hi:j:knqr:s:t:vVw", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a': all = true; break;
		case 'c':
			if (copts.nfiles == sizeof files / sizeof *files)
				phx_die(PHX_EXIT_USAGE, "too many -c files");
			files[copts.nfiles++] = optarg;
			break;
		case 'd': deadline = duration_arg(optarg, "--deadline"); break;
		case 'h': usage(stdout, PHX_EXIT_OK); break;
		case 'i': opt.interval = duration_arg(optarg, "--interval"); break;
		case 'j': jobs = count_arg(optarg, "--jobs"); break;
		case 'k': opt.insecure = true; break;
		case 'n': no_input = true; break;
		case 'q': phx_log_quieter(); break;
		case 'r': opt.retries = count_arg(optarg, "--retries"); break;
		case 's': services = optarg; break;
		case 't': opt.timeout = duration_arg(optarg, "--timeout"); break;
		case 'v': phx_log_louder(); break;
		case 'V': phx_version(); break;
		case 'w': P.wait = true; break;
		default: usage(stderr, PHX_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	phx_out_hold();
	P.cfg = phx_config_load(&copts);
	load_defaults();
	if (jobs)
		P.concurrency = jobs;
	if (deadline < 0)
		deadline = (int64_t)phx_cfg_num(P.cfg, "probe.deadline", 0);
	if (deadline == 0 && P.wait)
		deadline = (int64_t)phx_cfg_num(P.cfg, "deployment.timeout", 300000);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    !(P.multi = curl_multi_init()))
		phx_die(PHX_EXIT_ENV, "cannot initialise libcurl");
	setup_signals();
	P.t0 = phx_now_ms();
	P.deadline_ms = deadline;

	for (int i = 0; i < argc; i++)
		add_target(argv[i]);
	adhoc = argc > 0 || services || all;
	if (!no_input && !isatty(STDIN_FILENO)) {
		P.in = phx_reader_new(STDIN_FILENO, "stdin", 0);
		phx_reader_nonblock(P.in);
	} else if (!adhoc)
		all = true;
	if (services || all)
		add_config_services(services, all);
	if (!P.in)
		ensure_phase_start();
	for (size_t i = 0; i < P.nsvcs; i++)
		service_start(P.svcs[i]);

	run_loop();
	if (P.signo) {
		abort_all();
		ensure_phase_start();
		phx_phase_end("probe", P.phase_t0, "error", NULL);
		phx_log(PHX_ERROR, "interrupted by signal %d", (int)P.signo);
		finish(128 + P.signo);
	}
	ensure_phase_start();
	{
		cJSON *cnt = cJSON_CreateObject();
		cJSON_AddNumberToObject(cnt, "healthy", P.healthy);
		cJSON_AddNumberToObject(cnt, "unhealthy", P.unhealthy);
		status = P.input_errors ? PHX_EXIT_USAGE :
		    P.unhealthy ? PHX_EXIT_FAIL : PHX_EXIT_OK;
		phx_phase_end("probe", P.phase_t0, status == PHX_EXIT_OK ? "ok" :
		    status == PHX_EXIT_FAIL ? "failed" : "error", cnt);
	}
	finish(status);
}
