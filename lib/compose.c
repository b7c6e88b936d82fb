/* Compose files, read the way podman-compose 1.0.3 reads them: YAML 1.1
 * typing of plain scalars, merge keys, then ${VAR} substitution in
 * strings from the environment and the .env beside the file.  Checked
 * just enough that a deployment cannot half-start: services exist and
 * each names an image; published ports parse.  Errors name
 * file:line:column. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "phx.h"

#define MAX_DEPTH 64   /* aliases can nest; refuse "billion laughs" */

struct ydoc {
	const char *name;
	yaml_document_t doc;
	cJSON *dotenv;
	char *err;          /* the first error; conversion goes on, harmless */
	int depth;
};

static void
set_err(struct ydoc *y, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (y->err)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	y->err = n ? phx_asprintf("%s:%lu:%lu: %s", y->name,
	    (unsigned long)n->start_mark.line + 1,
	    (unsigned long)n->start_mark.column + 1, msg)
	    : phx_asprintf("%s: %s", y->name, msg);
}

/* ---- .env (python-dotenv's common subset) ---- */

static cJSON *
load_dotenv(const char *dir)
{
	char *path = phx_asprintf("%s/.env", dir);
	char *text = phx_read_file(path, NULL);
	cJSON *env = cJSON_CreateObject();
	char *save = NULL;

	free(path);
	if (!text)
		return env;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *eq, *v, *end;

		while (isspace((unsigned char)*l))
			l++;
		if (strncmp(l, "export ", 7) == 0)
			l += 7;
		if (*l == '#' || !(eq = strchr(l, '=')))
			continue;
		*eq = '\0';
		for (end = eq; end > l && isspace((unsigned char)end[-1]); end--)
			end[-1] = '\0';
		v = eq + 1;
		while (isspace((unsigned char)*v))
			v++;
		end = v + strlen(v);
		while (end > v && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (end - v >= 2 && (*v == '"' || *v == '\'') && end[-1] == *v) {
			end[-1] = '\0';
			v++;
		}
		if (*l && !cJSON_GetObjectItemCaseSensitive(env, l))
			cJSON_AddStringToObject(env, l, v);
	}
	phx_free_secret(text);
	return env;
}

/* ---- substitution, as podman-compose's var_re: a set variable wins even
 * when empty; the default is used only when it is unset ---- */

static const char *
lookup(const struct ydoc *y, const char *name)
{
	const char *v = getenv(name);

	return v ? v : phx_jstr(y->dotenv, name);
}

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

static char *
substitute(struct ydoc *y, const yaml_node_t *n, const char *s)
{
	struct phx_buf b = { 0 };

	while (*s) {
		char name[256];
		const char *end, *v;
		size_t len;

		if (s[0] != '$') {
			phx_buf_add(&b, s++, 1);
			continue;
		}
		if (s[1] == '$') {
			phx_buf_add(&b, "$", 1);
			s += 2;
			continue;
		}
		if (s[1] != '{') {
			len = name_len(s + 1);
			if (!len || len >= sizeof name) {
				phx_buf_add(&b, s++, 1);
				continue;
			}
			memcpy(name, s + 1, len);
			name[len] = '\0';
			if ((v = lookup(y, name)))
				phx_buf_addstr(&b, v);
			s += 1 + len;
			continue;
		}
		len = name_len(s + 2);
		end = strchr(s + 2, '}');
		if (!len || len >= sizeof name || !end) {
			phx_buf_add(&b, s++, 1);
			continue;
		}
		memcpy(name, s + 2, len);
		name[len] = '\0';
		const char *op = s + 2 + len;
		if (op != end && !((op[0] == '-' || op[0] == '?') ||
		    (op[0] == ':' && (op[1] == '-' || op[1] == '?')))) {
			phx_buf_add(&b, s++, 1);
			continue;
		}
		if ((v = lookup(y, name)))
			phx_buf_addstr(&b, v);
		else if (op != end) {
			const char *arg = op + (op[0] == ':' ? 2 : 1);
			if ((op[0] == ':' ? op[1] : op[0]) == '?')
				set_err(y, n, "%s: %.*s", name, (int)(end - arg), arg);
			else
				phx_buf_add(&b, arg, (size_t)(end - arg));
		}
		s = end + 1;
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

static cJSON *
plain_scalar(const char *s)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const yes[] = { "y", "Y", "yes", "Yes", "YES", "true",
	    "True", "TRUE", "on", "On", "ON", NULL };
	static const char *const no[] = { "n", "N", "no", "No", "NO", "false",
	    "False", "FALSE", "off", "Off", "OFF", NULL };
	char *end;

	if (in_list(s, nulls))
		return cJSON_CreateNull();
	if (in_list(s, yes))
		return cJSON_CreateTrue();
	if (in_list(s, no))
		return cJSON_CreateFalse();
	if (*s && strspn(s, "+-0123456789") == strlen(s)) {
		long long i;
		errno = 0;
		i = strtoll(s, &end, 10);
		if (!errno && !*end && (s[0] != '0' || !s[1]))
			return cJSON_CreateNumber((double)i);
	}
	if (*s && strpbrk(s, ".eE") && strspn(s, "+-0123456789.eE") == strlen(s)) {
		double d = strtod(s, &end);
		if (!*end && end != s)
			return cJSON_CreateNumber(d);
	}
	return NULL;
}

/* ---- YAML -> cJSON ---- */

static cJSON *convert(struct ydoc *y, yaml_node_t *n);

static yaml_node_t *
node(struct ydoc *y, int id)
{
	return yaml_document_get_node(&y->doc, id);
}

static const char *
text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static void
merge_into(cJSON *obj, const cJSON *from)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, from)
		if (it->string && !cJSON_GetObjectItemCaseSensitive(obj, it->string))
			cJSON_AddItemToObject(obj, it->string, cJSON_Duplicate(it, true));
}

static cJSON *
convert_mapping(struct ydoc *y, yaml_node_t *n)
{
	cJSON *obj = cJSON_CreateObject();
	cJSON *merges = cJSON_CreateArray();

	for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
	    p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(y, p->key), *v = node(y, p->value);
		cJSON *val;

		if (k->type != YAML_SCALAR_NODE) {
			set_err(y, k, "keys must be plain strings");
			continue;
		}
		val = convert(y, v);
		if (strcmp(text(k), "<<") == 0 &&
		    k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
			cJSON_AddItemToArray(merges, val);   /* explicit keys win */
			continue;
		}
		if (cJSON_GetObjectItemCaseSensitive(obj, text(k))) {
			set_err(y, k, "duplicate key \"%s\"", text(k));
			cJSON_Delete(val);
			continue;
		}
		cJSON_AddItemToObject(obj, text(k), val);
	}
	for (const cJSON *m = merges->child; m; m = m->next) {
		if (cJSON_IsObject(m))
			merge_into(obj, m);
		else if (cJSON_IsArray(m))
			for (const cJSON *e = m->child; e; e = e->next)
				merge_into(obj, e);
	}
	cJSON_Delete(merges);
	return obj;
}

static cJSON *
convert(struct ydoc *y, yaml_node_t *n)
{
	cJSON *v = NULL;

	if (++y->depth > MAX_DEPTH) {
		set_err(y, n, "nested too deeply");
		y->depth--;
		return cJSON_CreateNull();
	}
	switch (n->type) {
	case YAML_MAPPING_NODE:
		v = convert_mapping(y, n);
		break;
	case YAML_SEQUENCE_NODE:
		v = cJSON_CreateArray();
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		    i < n->data.sequence.items.top; i++)
			cJSON_AddItemToArray(v, convert(y, node(y, *i)));
		break;
	case YAML_SCALAR_NODE:
		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			v = plain_scalar(text(n));
		if (!v) {
			char *s = substitute(y, n, text(n));
			v = cJSON_CreateString(s);
			free(s);
		}
		break;
	default:
		v = cJSON_CreateNull();
	}
	y->depth--;
	return v;
}

/* ---- finding nodes again, for positions in messages ---- */

static yaml_node_t *
map_get(struct ydoc *y, yaml_node_t *map, const char *key, yaml_node_t **keynode)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(y, p->key);
		if (k->type == YAML_SCALAR_NODE && strcmp(text(k), key) == 0) {
			if (keynode)
				*keynode = k;
			return node(y, p->value);
		}
	}
	return NULL;
}

/* ---- ports ---- */

static bool
parse_range(const char *s, long *lo, long *hi)
{
	char *end;

	errno = 0;
	*lo = strtol(s, &end, 10);
	if (end == s || errno || *lo < 1 || *lo > 65535)
		return false;
	*hi = *lo;
	if (*end == '-') {
		const char *r = end + 1;
		*hi = strtol(r, &end, 10);
		if (end == r || *hi < *lo || *hi > 65535)
			return false;
	}
	return *end == '\0';
}

static void
add_port(cJSON *out, const char *ip, long host, long cport, const char *proto)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "host_ip", ip);
	if (host)
		cJSON_AddNumberToObject(p, "host_port", (double)host);
	cJSON_AddNumberToObject(p, "container_port", (double)cport);
	cJSON_AddStringToObject(p, "protocol", proto);
	cJSON_AddItemToArray(out, p);
}

/* "[IP:][HOST:]CONTAINER[/PROTO]", ranges allowed; appends to out */
static bool
short_port(const char *spec, cJSON *out)
{
	char *s = phx_strdup(spec), *slash, *c, *h = NULL, *ip = "";
	char proto[8] = "tcp";
	long hlo = 0, hhi = 0, clo, chi;
	bool ok = false;

	if ((slash = strrchr(s, '/'))) {
		*slash = '\0';
		if (strlen(slash + 1) >= sizeof proto || !slash[1])
			goto done;
		memcpy(proto, slash + 1, strlen(slash + 1) + 1);
	}
	if ((c = strrchr(s, ':'))) {
		*c++ = '\0';
		h = s;
		char *c2 = strrchr(s, ':');
		if (c2) {
			*c2 = '\0';
			ip = s;
			h = c2 + 1;
			if (*ip == '[' && ip[strlen(ip) - 1] == ']') {
				ip[strlen(ip) - 1] = '\0';
				ip++;
			}
		}
	} else
		c = s;
	if (!parse_range(c, &clo, &chi))
		goto done;
	if (h && *h && !parse_range(h, &hlo, &hhi))
		goto done;
	if (hlo && hhi - hlo != chi - clo && hlo != hhi)
		goto done;
	for (long i = 0; i <= chi - clo; i++)
		add_port(out, ip, hlo ? (hhi > hlo ? hlo + i : hlo) : 0, clo + i, proto);
	ok = true;
done:
	free(s);
	return ok;
}

static bool
long_port(const cJSON *p, cJSON *out)
{
	const cJSON *target = cJSON_GetObjectItemCaseSensitive(p, "target");
	const cJSON *pub = cJSON_GetObjectItemCaseSensitive(p, "published");
	const char *ip = phx_jstr(p, "host_ip");
	const char *proto = phx_jstr(p, "protocol");
	long host = 0, hi;

	if (!cJSON_IsNumber(target) || target->valuedouble < 1 ||
	    target->valuedouble > 65535)
		return false;
	if (cJSON_IsNumber(pub))
		host = (long)pub->valuedouble;
	else if (cJSON_IsString(pub) && *pub->valuestring &&
	    !parse_range(pub->valuestring, &host, &hi))
		return false;
	if (host < 0 || host > 65535)
		return false;
	add_port(out, ip ? ip : "", host, (long)target->valuedouble,
	    proto ? proto : "tcp");
	return true;
}

/* a list of port specs (short or long syntax) as an array of
 * {host_ip,host_port,container_port,protocol}; NULL when one does not
 * parse, with that one (as JSON) in *bad */
static cJSON *
ports_list(const cJSON *ports, char **bad)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *p;

	cJSON_ArrayForEach(p, ports) {
		bool ok;
		if (cJSON_IsNumber(p)) {
			char num[32];
			snprintf(num, sizeof num, "%.0f", p->valuedouble);
			ok = p->valuedouble == (long)p->valuedouble && short_port(num, out);
		} else if (cJSON_IsString(p))
			ok = short_port(p->valuestring, out);
		else
			ok = cJSON_IsObject(p) && long_port(p, out);
		if (!ok) {
			if (bad)
				*bad = cJSON_PrintUnformatted(p);
			cJSON_Delete(out);
			return NULL;
		}
	}
	return out;
}

cJSON *
phx_compose_ports(const cJSON *service, char **bad)
{
	const cJSON *ports = cJSON_GetObjectItemCaseSensitive(service, "ports");
	cJSON *one, *out;

	if (bad)
		*bad = NULL;
	if (!ports || cJSON_IsNull(ports) || cJSON_IsArray(ports))
		return ports_list(ports, bad);
	one = cJSON_CreateArray();
	cJSON_AddItemToArray(one, cJSON_Duplicate(ports, true));
	out = ports_list(one, bad);
	cJSON_Delete(one);
	return out;
}

/* ---- checks ---- */

static void
check_service(struct ydoc *y, const char *name, const cJSON *svc,
    yaml_node_t *keynode, yaml_node_t *valnode)
{
	const cJSON *image = cJSON_GetObjectItemCaseSensitive(svc, "image");
	yaml_node_t *at;
	char *bad;
	cJSON *ports;

	if (!cJSON_IsObject(svc)) {
		set_err(y, valnode, "service \"%s\": expected a mapping", name);
		return;
	}
	if (!cJSON_IsString(image) || !*image->valuestring) {
		at = map_get(y, valnode, "image", NULL);
		set_err(y, at ? at : keynode, "service \"%s\" has no image", name);
		return;
	}
	ports = phx_compose_ports(svc, &bad);
	if (!ports) {
		at = map_get(y, valnode, "ports", NULL);
		set_err(y, at ? at : keynode, "service \"%s\": bad port %s", name,
		    bad ? bad : "list");
		free(bad);
		return;
	}
	cJSON_Delete(ports);
}

static void
check_compose(struct ydoc *y, yaml_node_t *top, const cJSON *c)
{
	const cJSON *services = cJSON_GetObjectItemCaseSensitive(c, "services");
	yaml_node_t *snode, *skey = NULL;

	if (!cJSON_IsObject(c)) {
		set_err(y, top, "not a compose file: expected a mapping at the top");
		return;
	}
	snode = map_get(y, top, "services", &skey);
	if (!cJSON_IsObject(services) || !services->child) {
		set_err(y, skey ? skey : top, "no services defined");
		return;
	}
	for (yaml_node_pair_t *p = snode->data.mapping.pairs.start;
	    p < snode->data.mapping.pairs.top && !y->err; p++) {
		yaml_node_t *k = node(y, p->key);
		if (k->type != YAML_SCALAR_NODE)
			continue;
		check_service(y, text(k),
		    cJSON_GetObjectItemCaseSensitive(services, text(k)), k,
		    node(y, p->value));
	}
}

cJSON *
phx_compose_parse(const char *name, const char *data, size_t len,
    const char *dir, char **err)
{
	struct ydoc y = { .name = name };
	yaml_parser_t parser;
	yaml_node_t *top;
	cJSON *c = NULL;

	*err = NULL;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &y.doc)) {
		const yaml_mark_t *m = parser.problem ? &parser.problem_mark
		    : &parser.context_mark;
		*err = phx_asprintf("%s:%lu:%lu: invalid YAML: %s", name,
		    (unsigned long)m->line + 1, (unsigned long)m->column + 1,
		    parser.problem ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		return NULL;
	}
	yaml_parser_delete(&parser);
	y.dotenv = load_dotenv(dir ? dir : ".");
	top = yaml_document_get_root_node(&y.doc);
	if (!top)
		set_err(&y, NULL, "empty file, no services defined");
	else {
		c = convert(&y, top);
		if (!y.err)
			check_compose(&y, top, c);
	}
	yaml_document_delete(&y.doc);
	cJSON_Delete(y.dotenv);
	if (y.err) {
		*err = y.err;
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

cJSON *
phx_compose_load(const char *path, char **err)
{
	size_t len;
	char *data = phx_read_file(path, &len);
	char *dir, *slash;
	cJSON *c;

	if (!data) {
		*err = phx_asprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	dir = phx_strdup(path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	c = phx_compose_parse(path, data, len, slash ? (*dir ? dir : "/") : ".", err);
	free(dir);
	free(data);
	return c;
}

char *
phx_compose_network_name(const cJSON *compose, const char *key,
    const char *project)
{
	const cJSON *nets = cJSON_GetObjectItemCaseSensitive(compose, "networks");
	const cJSON *desc = cJSON_GetObjectItemCaseSensitive(nets, key);
	const cJSON *ext = cJSON_GetObjectItemCaseSensitive(desc, "external");
	const char *name;

	if ((name = phx_jstr(ext, "name")) || (name = phx_jstr(desc, "name")))
		return phx_strdup(name);
	if (cJSON_IsTrue(ext) || cJSON_IsObject(ext))
		return phx_strdup(key);
	return phx_asprintf("%s_%s", project ? project : "", key);
}

static void
add_network(cJSON *out, const cJSON *compose, const char *key,
    const char *project)
{
	char *name = phx_compose_network_name(compose, key, project);
	const cJSON *it;

	cJSON_ArrayForEach(it, out)
		if (strcmp(it->valuestring, name) == 0)
			break;
	if (!it)
		cJSON_AddItemToArray(out, cJSON_CreateString(name));
	free(name);
}

cJSON *
phx_compose_networks(const cJSON *compose, const char *svc,
    const char *project)
{
	const cJSON *srv = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(compose, "services"), svc);
	const cJSON *nets = cJSON_GetObjectItemCaseSensitive(compose, "networks");
	const cJSON *list, *it;
	const char *dflt = NULL;
	cJSON *out;

	if (!cJSON_IsObject(srv))
		return NULL;
	out = cJSON_CreateArray();
	if (phx_jstr(srv, "network_mode"))
		return out;   /* host, none, container:X: no compose network */
	/* podman-compose 1.0.3: the only network, else one called default */
	if (cJSON_GetArraySize(nets) == 1)
		dflt = nets->child->string;
	else if (!cJSON_GetArraySize(nets) ||
	    cJSON_GetObjectItemCaseSensitive(nets, "default"))
		dflt = "default";
	list = cJSON_GetObjectItemCaseSensitive(srv, "networks");
	cJSON_ArrayForEach(it, list) {
		const char *key = cJSON_IsString(it) ? it->valuestring : it->string;
		if (key)
			add_network(out, compose, key, project);
	}
	if (!cJSON_GetArraySize(list) && dflt)
		add_network(out, compose, dflt, project);
	return out;
}
