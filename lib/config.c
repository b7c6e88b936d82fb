/* Configuration: built-in defaults < YAML files < PHX_* environment.
 * Each file is checked against one schema (config_keys.c) while it is turned
 * into cJSON, so an unknown key or a wrong type names file:line:column;
 * stages then read plain cJSON.  Durations are stored in milliseconds. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phx.h"
#include "phx_priv.h"
#include "phx_yaml.h"
#include "config_priv.h"

#ifndef PHX_CONFDIR
#define PHX_CONFDIR "/usr/local/share/phx/configs/deployment-validation"
#endif

/* ---- errors ---- */

static void (*on_error)(const char *msg);
static const char *pass_phase;
static enum phx_stdin pass_want;

void
phx_config_on_error(void (*fn)(const char *msg))
{
	on_error = fn;
}

/* every error in the files or the environment ends here: a stage that
 * must still leave a record for phx-report gets the message, else it dies */
static void __attribute__((noreturn, format(printf, 1, 2)))
config_die(const char *fmt, ...)
{
	void (*fn)(const char *msg) = on_error;
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* an error while the handler reports is not reported again */
	on_error = NULL;
	if (fn)
		fn(msg);
	phx_die(PHX_EXIT_USAGE, "%s", msg);
}

static void __attribute__((noreturn))
fail_pass(const char *msg)
{
	int64_t started;

	phx_log(PHX_ERROR, "%s", msg);
	started = phx_stream_pass(pass_phase, pass_want, NULL);
	phx_emit_error("config_invalid", "%s", msg);
	phx_phase_end(pass_phase, started, "error", NULL);
	phx_exit(PHX_EXIT_USAGE);
}

void
phx_config_fail_pass(const char *phase, enum phx_stdin want)
{
	pass_phase = phase;
	pass_want = want;
	on_error = fail_pass;
}

/* ---- scalars ---- */

static bool
parse_int(const char *s, long long *out)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return !errno && *end == '\0';
}

static bool
parse_num(const char *s, double *out)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	*out = strtod(s, &end);
	return !errno && *end == '\0' && isfinite(*out);
}

static int
parse_bool(const char *s)
{
	static const char *yes[] = { "true", "yes", "on" };
	static const char *no[] = { "false", "no", "off" };

	for (int i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

static const char *
type_name(enum ftype t)
{
	switch (t) {
	case T_STR: return "a string";
	case T_INT: return "an integer";
	case T_NUM: return "a number";
	case T_BOOL: return "true or false";
	case T_DURATION: return "a duration (30, 1.5s, 500ms, 2m)";
	case T_MAP: case T_DICT: return "a mapping";
	case T_LIST: return "a sequence";
	case T_STRLIST: return "a string or a sequence of strings";
	case T_INTLIST: return "an integer or a sequence of integers";
	case T_ANY: return "a value";
	}
	return "a value";
}

/* a scalar text as a typed cJSON value, NULL when it does not fit */
static cJSON *
scalar_value(enum ftype t, const char *s, bool plain)
{
	long long i;
	double d;
	int b;

	switch (t) {
	case T_STR:
		return cJSON_CreateString(s);
	case T_INT:
		return parse_int(s, &i) ? cJSON_CreateNumber((double)i) : NULL;
	case T_NUM:
		return parse_num(s, &d) ? cJSON_CreateNumber(d) : NULL;
	case T_BOOL:
		b = parse_bool(s);
		return b < 0 ? NULL : cJSON_CreateBool(b);
	case T_DURATION: {
		/* "nan" and "inf" are numbers to strtod, but no duration */
		int64_t ms = isdigit((unsigned char)s[0]) || s[0] == '.' ?
		    phx_duration_ms(s) : -1;
		return ms < 0 ? NULL : cJSON_CreateNumber((double)ms);
	}
	case T_STRLIST: {
		cJSON *a = cJSON_CreateArray();
		cJSON_AddItemToArray(a, cJSON_CreateString(s));
		return a;
	}
	case T_INTLIST: {
		cJSON *a;
		if (!parse_int(s, &i))
			return NULL;
		a = cJSON_CreateArray();
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)i));
		return a;
	}
	case T_ANY:
		if (!plain)
			return cJSON_CreateString(s);
		if (!*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0)
			return cJSON_CreateNull();
		if ((b = parse_bool(s)) >= 0)
			return cJSON_CreateBool(b);
		if (parse_num(s, &d))
			return cJSON_CreateNumber(d);
		return cJSON_CreateString(s);
	default:
		return NULL;
	}
}

/* ---- YAML documents ---- */

/* at most 32 bytes of a token, escaped: no line of some other file */
static char *
token(const char *s)
{
	struct phx_buf b = { 0 };

	for (size_t n = 32; *s && n; s++, n--)
		phx_buf_printf(&b, isprint((unsigned char)*s) && !strchr("\"\\",
		    *s) ? "%c" : "\\x%02x", (unsigned char)*s);
	phx_buf_addstr(&b, *s ? "..." : "");
	return (char *)phx_buf_str(&b);
}

static void __attribute__((noreturn, format(printf, 4, 5)))
item_die(const struct phx_yaml *y, const cJSON *item, bool key,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	config_die("%s", phx_yaml_msg(y, item, key, "%s", msg));
}

static cJSON *convert(const struct phx_yaml *y, const cJSON *item,
    const struct field *f, const char *path);

static char *
join_path(const char *path, const char *key)
{
	return *path ? phx_asprintf("%s.%s", path, key) : phx_strdup(key);
}

static const struct field *
find_field(const struct field *table, const char *key)
{
	for (; table->key; table++)
		if (strcmp(table->key, key) == 0)
			return table;
	return NULL;
}

static cJSON *
convert_mapping(const struct phx_yaml *y, const cJSON *map,
    const struct field *f, const char *path)
{
	cJSON *obj = cJSON_CreateObject();
	const cJSON *it;

	cJSON_ArrayForEach(it, map) {
		const struct field *sub = NULL;   /* T_ANY */
		char *child;

		if (f && f->type == T_MAP) {
			sub = find_field(f->sub, it->string);
			if (!sub)
				item_die(y, it, true, "unknown key \"%s\"%s%s",
				    token(it->string), *path ? " in " : "", path);
		} else if (f && f->type == T_DICT)
			sub = &f->sub[0];
		child = join_path(path, it->string);
		cJSON_AddItemToObject(obj, it->string, convert(y, it, sub, child));
		free(child);
	}
	return obj;
}

static cJSON *
convert_sequence(const struct phx_yaml *y, const cJSON *seq,
    const struct field *f, const char *path)
{
	static const struct field str_item = { "", T_STR, NULL };
	static const struct field int_item = { "", T_INT, NULL };
	const struct field *item = NULL;
	cJSON *arr = cJSON_CreateArray();
	const cJSON *it;
	int idx = 0;

	if (f && f->type == T_LIST)
		item = &f->sub[0];
	else if (f && f->type == T_STRLIST)
		item = &str_item;
	else if (f && f->type == T_INTLIST)
		item = &int_item;
	cJSON_ArrayForEach(it, seq) {
		char *child = phx_asprintf("%s[%d]", path, idx++);
		cJSON_AddItemToArray(arr, convert(y, it, item, child));
		free(child);
	}
	return arr;
}

/* an integer that a stage may keep in an int */
static void
check_int_range(const struct phx_yaml *y, const cJSON *item, enum ftype t,
    const char *path)
{
	long long i;

	if ((t == T_INT || t == T_INTLIST) && parse_int(item->valuestring, &i) &&
	    (i < INT_MIN || i > INT_MAX))
		item_die(y, item, false, "%s: %s is out of range (%d to %d)", path,
		    token(item->valuestring), INT_MIN, INT_MAX);
}

static cJSON *
convert(const struct phx_yaml *y, const cJSON *item, const struct field *f,
    const char *path)
{
	enum ftype t = f ? f->type : T_ANY;
	cJSON *v;

	if (cJSON_IsObject(item) && (t == T_MAP || t == T_DICT || t == T_ANY))
		return convert_mapping(y, item, f, path);
	if (cJSON_IsArray(item) && (t == T_LIST || t == T_STRLIST ||
	    t == T_INTLIST || t == T_ANY))
		return convert_sequence(y, item, f, path);
	if (cJSON_IsString(item) && t != T_MAP && t != T_DICT && t != T_LIST) {
		check_int_range(y, item, t, path);
		v = scalar_value(t, item->valuestring, phx_yaml_plain(y, item));
		if (!v)
			item_die(y, item, false, "%s: expected %s, got \"%s\"", path,
			    type_name(t), token(item->valuestring));
		return v;
	}
	item_die(y, item, false, "%s: expected %s", *path ? path : "top level",
	    type_name(t));
}

/* a YAML error: its token cut, or (an included file) left out */
static void __attribute__((noreturn))
yaml_die(char *err, bool included)
{
	char *q = strchr(err, '"'), *last = strrchr(err, '"');

	if (!q || last == q)
		config_die("%s", err);
	if (included)
		config_die("%.*s", (int)(q - err - 1), err);
	*last = '\0';
	config_die("%.*s\"%s\"%s", (int)(q - err), err,
	    token(q + 1), token(last + 1));
}

static cJSON *
load_file(const char *file, bool included)
{
	static const struct field root = { "", T_MAP, phx_cfg_root_fields };
	size_t len;
	char *data = phx_read_file(file, &len), *err;
	struct phx_yaml *y;
	const cJSON *top, *it;
	cJSON *cfg;

	if (!data)
		config_die("%s: %s", file, strerror(errno));
	y = phx_yaml_parse(file, data, len, 0, NULL, &err);
	phx_free_secret(data);
	if (!y)
		yaml_die(err, included);
	top = phx_yaml_root(y);
	/* an included mapping with none of our keys is not quoted at all */
	it = included && cJSON_IsObject(top) ? top->child : NULL;
	while (it && !find_field(phx_cfg_root_fields, it->string))
		it = it->next;
	if (included && cJSON_IsObject(top) && top->child && !it)
		config_die("%s", phx_yaml_msg(y, top, false,
		    "not a phx configuration file (no known key)"));
	if (!top || (cJSON_IsString(top) && !*top->valuestring))
		cfg = cJSON_CreateObject();
	else
		cfg = convert(y, top, &root, "");
	phx_yaml_free(y);
	return cfg;
}

/* ---- merging and the environment ---- */

/* linear in the items of both: a configuration may name 10,000 services */
static void
merge(cJSON *dst, const cJSON *src)
{
	struct phx_keytab keys = { 0 };
	const struct phx_keyent *e;
	const cJSON *it;
	cJSON *d;

	cJSON_ArrayForEach(d, dst)
		if (d->string)
			phx_keytab_put(&keys, dst, d->string, d);
	cJSON_ArrayForEach(it, src) {
		cJSON *old = (e = phx_keytab_get(&keys, dst, it->string)) ?
		    e->val : NULL, *dup;
		if (old && cJSON_IsObject(old) && cJSON_IsObject(it)) {
			merge(old, it);
			continue;
		}
		dup = cJSON_Duplicate(it, true);
		if (old) {
			/* the entry takes dup's key before old's is freed */
			phx_keytab_put(&keys, dst, dup->string, dup);
			cJSON_ReplaceItemViaPointer(dst, old, dup);
		} else {
			cJSON_AddItemToObject(dst, it->string, dup);
			phx_keytab_put(&keys, dst, dup->string, dup);
		}
	}
	phx_keytab_free(&keys);
}

static void
set_from_env(cJSON *cfg, const char *var, const char *section,
    const struct field *f)
{
	const char *val = getenv(var);
	cJSON *sec, *v;

	if (!val)
		return;
	v = scalar_value(f->type, val, true);
	if (!v)
		config_die("%s: expected %s, got \"%s\"", var,
		    type_name(f->type), token(val));
	sec = cJSON_GetObjectItemCaseSensitive(cfg, section);
	if (cJSON_GetObjectItemCaseSensitive(sec, f->key))
		cJSON_ReplaceItemInObjectCaseSensitive(sec, f->key, v);
	else
		cJSON_AddItemToObject(sec, f->key, v);
}

/* PHX_<SECTION>_<KEY> for every scalar key of a fixed section, plus the
 * short names people already use */
static void
apply_env(cJSON *cfg)
{
	static const struct { const char *var, *section, *key; } alias[] = {
		{ "PHX_COMPOSE_FILE", "deployment", "compose_file" },
		{ "PHX_PROJECT", "deployment", "project" },
		{ "PHX_STATE_DIR", "deployment", "state_dir" },
	};

	for (const struct field *s = phx_cfg_root_fields; s->key; s++) {
		if (s->type != T_MAP)
			continue;
		for (const struct field *f = s->sub; f->key; f++) {
			char var[128];
			if (f->type == T_MAP || f->type == T_DICT || f->type == T_LIST)
				continue;
			snprintf(var, sizeof var, "PHX_%s_%s", s->key, f->key);
			for (char *p = var; *p; p++)
				*p = (char)toupper((unsigned char)*p);
			set_from_env(cfg, var, s->key, f);
		}
	}
	for (size_t i = 0; i < sizeof alias / sizeof *alias; i++) {
		const struct field *sec = find_field(phx_cfg_root_fields, alias[i].section);
		set_from_env(cfg, alias[i].var, alias[i].section,
		    find_field(sec->sub, alias[i].key));
	}
}

static bool
is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *
default_dir(void)
{
	const char *env = getenv("PHX_CONFIG_DIR");

	if (env && *env)
		return env;
	if (is_dir("configs/deployment-validation"))
		return "configs/deployment-validation";
	return PHX_CONFDIR;
}

/* merges FILE into cfg, after the files it includes (paths relative
 * to FILE's directory), so a file overrides what it includes */
static void
merge_file(cJSON *cfg, const char *file, int depth)
{
	cJSON *c = load_file(file, depth > 0);
	const cJSON *inc = cJSON_GetObjectItemCaseSensitive(c, "include");
	const cJSON *it;

	if (depth > 8)
		config_die("%s: includes nested too deep", file);
	cJSON_ArrayForEach(it, inc) {
		const char *slash = strrchr(file, '/');
		char *p = it->valuestring[0] == '/' || !slash ?
		    phx_strdup(it->valuestring) :
		    phx_asprintf("%.*s/%s", (int)(slash - file), file, it->valuestring);
		if (access(p, R_OK) < 0)
			config_die("%s: include %s: %s", file, p, strerror(errno));
		merge_file(cfg, p, depth + 1);
		free(p);
	}
	cJSON_DeleteItemFromObjectCaseSensitive(c, "include");
	merge(cfg, c);
	cJSON_Delete(c);
}

cJSON *
phx_config_load(const struct phx_config_opts *opts)
{
	static const char *names[] = { "services.yaml", "tests.yaml",
	    "security.yaml" };
	cJSON *cfg = cJSON_Parse(phx_cfg_defaults);

	if (opts && opts->nfiles) {
		for (size_t i = 0; i < opts->nfiles; i++)
			merge_file(cfg, opts->files[i], 0);
	} else {
		const char *dir = default_dir();
		for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
			char *p = phx_asprintf("%s/%s", dir, names[i]);
			struct stat st;
			if (stat(p, &st) == 0)
				merge_file(cfg, p, 0);
			free(p);
		}
	}
	apply_env(cfg);
	phx_secrets_from_config(cfg);
	phx_compose_secrets(phx_cfg_str(cfg, "deployment.compose_file"));
	return cfg;
}

/* ---- reading ---- */

const cJSON *
phx_cfg(const cJSON *cfg, const char *path)
{
	char *copy = phx_strdup(path), *save = NULL;
	const cJSON *cur = cfg;

	for (char *k = strtok_r(copy, ".", &save); k && cur;
	    k = strtok_r(NULL, ".", &save))
		cur = cJSON_GetObjectItemCaseSensitive(cur, k);
	free(copy);
	return cur;
}

/* the schema gives every value its type and the defaults give every
 * key of a fixed section a value, so only a stage asking for a key the
 * defaults lack gets here */
static const cJSON *
required(const cJSON *cfg, const char *path, cJSON_bool (*is)(const cJSON *))
{
	const cJSON *v = phx_cfg(cfg, path);

	if (!is(v))
		phx_die(PHX_EXIT_ENV, "internal error: configuration key %s "
		    "is not in the defaults", path);
	return v;
}

const char *
phx_cfg_str(const cJSON *cfg, const char *path)
{
	return required(cfg, path, cJSON_IsString)->valuestring;
}

double
phx_cfg_num(const cJSON *cfg, const char *path)
{
	return required(cfg, path, cJSON_IsNumber)->valuedouble;
}

int64_t
phx_cfg_int(const cJSON *cfg, const char *path, int64_t min, int64_t max)
{
	return phx_num_int(phx_cfg_num(cfg, path), min, min, max);
}

bool
phx_cfg_bool(const cJSON *cfg, const char *path)
{
	return cJSON_IsTrue(required(cfg, path, cJSON_IsBool));
}

const char *
phx_cfg_opt_str(const cJSON *cfg, const char *path)
{
	const cJSON *v = phx_cfg(cfg, path);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

char *
phx_cfg_secret(const cJSON *obj, const char *key)
{
	char *envkey = phx_asprintf("%s_env", key);
	const char *direct = phx_jstr(obj, key);
	const char *var = phx_jstr(obj, envkey);
	const char *v = NULL;

	free(envkey);
	if (direct)
		v = direct;
	else if (var)
		v = getenv(var);
	if (!v)
		return NULL;
	phx_secret_add(v);
	return phx_strdup(v);
}
