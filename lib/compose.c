/* Compose files, read the way podman-compose 1.0.3 reads them: YAML 1.1
 * typing of plain scalars, merge keys, then ${VAR} substitution in
 * strings from the environment and the .env beside the file (all in
 * yaml.c).  Values of secret-looking names in .env, env_file and
 * environment: are registered to be masked.  Checked
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

#include "phx_yaml.h"

/* published ports a file may declare, ranges expanded: each becomes a
 * record and a check; 200 ranges "1-65535" would be 13 million */
#define MAX_PORTS 4096

struct cdoc {
	struct phx_yaml *y;
	char *err;          /* the first error */
};

static void __attribute__((format(printf, 4, 5)))
set_err(struct cdoc *c, const cJSON *item, bool key, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (c->err)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->err = phx_yaml_msg(c->y, item, key, "%s", msg);
}

/* ---- .env and env_file (python-dotenv's common subset) ---- */

/* NAME=value lines of the file at path into env, the first of a name
 * winning; a file that cannot be read adds nothing */
static void
read_envfile(const char *path, cJSON *env)
{
	char *text = phx_read_file(path, NULL);
	char *save = NULL;

	if (!text)
		return;
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
}

static cJSON *
load_dotenv(const char *dir)
{
	char *path = phx_asprintf("%s/.env", dir);
	cJSON *env = cJSON_CreateObject();

	read_envfile(path, env);
	free(path);
	return env;
}

/* ---- secrets the compose project holds ---- */

/* A value compose hands a container under a name that looks secret (as
 * phx_is_secret_name judges) is masked wherever phx shows it, like one
 * from phx's own environment: podman's output and inspect JSON repeat
 * them, and phx was never told about them otherwise. */
static void
secrets_from_vars(const cJSON *vars)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, vars)
		if (cJSON_IsString(it) && phx_is_secret_name(it->string))
			phx_secret_add(it->valuestring);
}

/* environment: as a mapping (a number given as written) or a list of
 * NAME=value */
static void
environment_vars(const cJSON *env, cJSON *vars)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, env) {
		const char *eq;
		char *name;

		if (cJSON_IsObject(env) && cJSON_IsString(it))
			cJSON_AddStringToObject(vars, it->string, it->valuestring);
		else if (cJSON_IsObject(env) && cJSON_IsNumber(it)) {
			char *v = phx_asprintf("%.17g", it->valuedouble);
			cJSON_AddStringToObject(vars, it->string, v);
			free(v);
		} else if (cJSON_IsString(it) &&
		    (eq = strchr(it->valuestring, '=')) != NULL) {
			name = phx_strdup(it->valuestring);
			name[eq - it->valuestring] = '\0';
			cJSON_AddStringToObject(vars, name, eq + 1);
			free(name);
		}
	}
}

/* env_file: a path, or a list of paths or of {path: ...}, relative to
 * the compose file's directory */
static void
env_file_vars(const cJSON *files, const char *dir, cJSON *vars)
{
	const cJSON *it = cJSON_IsString(files) ? files : NULL;

	if (!it && cJSON_IsArray(files))
		it = files->child;
	for (; it; it = cJSON_IsString(files) ? NULL : it->next) {
		const char *f = cJSON_IsString(it) ? it->valuestring :
		    phx_jstr(it, "path");
		char *path;

		if (!f || !*f)
			continue;
		path = f[0] == '/' ? phx_strdup(f) : phx_asprintf("%s/%s", dir, f);
		read_envfile(path, vars);
		free(path);
	}
}

static void
compose_secrets(const cJSON *top, const char *dir)
{
	const cJSON *svc;

	cJSON_ArrayForEach(svc, cJSON_GetObjectItemCaseSensitive(top,
	    "services")) {
		cJSON *vars = cJSON_CreateObject();

		environment_vars(cJSON_GetObjectItemCaseSensitive(svc,
		    "environment"), vars);
		env_file_vars(cJSON_GetObjectItemCaseSensitive(svc, "env_file"),
		    dir, vars);
		secrets_from_vars(vars);
		cJSON_Delete(vars);
	}
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

/* ports being collected, at most room more of them */
struct portlist {
	cJSON *out;
	size_t room;
	bool full;       /* a spec did not fit in room */
};

/* "[IP:][HOST:]CONTAINER[/PROTO]", ranges allowed */
static bool
short_port(const char *spec, struct portlist *pl)
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
	if ((size_t)(chi - clo) >= pl->room) {
		pl->full = true;
		goto done;
	}
	pl->room -= (size_t)(chi - clo) + 1;
	for (long i = 0; i <= chi - clo; i++)
		add_port(pl->out, ip, hlo ? (hhi > hlo ? hlo + i : hlo) : 0, clo + i,
		    proto);
	ok = true;
done:
	free(s);
	return ok;
}

/* a port number from outside, checked before it is cast */
static bool
port_number(const cJSON *n, long min, long *out)
{
	double d = n->valuedouble;

	if (!(d >= (double)min && d <= 65535) || d != (double)(long)d)
		return false;
	*out = (long)d;
	return true;
}

static bool
long_port(const cJSON *p, struct portlist *pl)
{
	const cJSON *target = cJSON_GetObjectItemCaseSensitive(p, "target");
	const cJSON *pub = cJSON_GetObjectItemCaseSensitive(p, "published");
	const char *ip = phx_jstr(p, "host_ip");
	const char *proto = phx_jstr(p, "protocol");
	long host = 0, cport, hi;

	if (!cJSON_IsNumber(target) || !port_number(target, 1, &cport))
		return false;
	if (cJSON_IsNumber(pub) && !port_number(pub, 0, &host))
		return false;
	if (cJSON_IsString(pub) && *pub->valuestring &&
	    !parse_range(pub->valuestring, &host, &hi))
		return false;
	if (!pl->room) {
		pl->full = true;
		return false;
	}
	pl->room--;
	add_port(pl->out, ip ? ip : "", host, cport, proto ? proto : "tcp");
	return true;
}

/* a list of port specs (short or long syntax) into pl->out; false when
 * one does not parse, with that one (as JSON) in *bad */
static bool
ports_list(const cJSON *ports, struct portlist *pl, char **bad)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, ports) {
		bool ok;
		long n = 0;
		if (cJSON_IsNumber(p)) {
			char num[32];
			ok = port_number(p, 1, &n);
			snprintf(num, sizeof num, "%ld", n);
			ok = ok && short_port(num, pl);
		} else if (cJSON_IsString(p))
			ok = short_port(p->valuestring, pl);
		else
			ok = cJSON_IsObject(p) && long_port(p, pl);
		if (!ok) {
			if (bad)
				*bad = cJSON_PrintUnformatted(p);
			return false;
		}
	}
	return true;
}

static bool
service_ports(const cJSON *service, struct portlist *pl, char **bad)
{
	const cJSON *ports = cJSON_GetObjectItemCaseSensitive(service, "ports");
	cJSON *one;
	bool ok;

	if (bad)
		*bad = NULL;
	if (!ports || cJSON_IsNull(ports) || cJSON_IsArray(ports))
		return ports_list(ports, pl, bad);
	one = cJSON_CreateArray();
	cJSON_AddItemToArray(one, cJSON_Duplicate(ports, true));
	ok = ports_list(one, pl, bad);
	cJSON_Delete(one);
	return ok;
}

cJSON *
phx_compose_ports(const cJSON *service, char **bad)
{
	struct portlist pl = { cJSON_CreateArray(), MAX_PORTS, false };

	if (service_ports(service, &pl, bad))
		return pl.out;
	cJSON_Delete(pl.out);
	return NULL;
}

/* ---- checks ---- */

static void
check_service(struct cdoc *c, const cJSON *svc, size_t *room)
{
	const cJSON *image = cJSON_GetObjectItemCaseSensitive(svc, "image");
	const cJSON *at;
	struct portlist pl = { cJSON_CreateArray(), *room, false };
	char *bad;

	if (!cJSON_IsObject(svc))
		set_err(c, svc, false, "service \"%s\": expected a mapping",
		    svc->string);
	else if (!cJSON_IsString(image) || !*image->valuestring)
		set_err(c, image ? image : svc, !image,
		    "service \"%s\" has no image", svc->string);
	else if (!service_ports(svc, &pl, &bad)) {
		at = cJSON_GetObjectItemCaseSensitive(svc, "ports");
		if (pl.full)
			set_err(c, at, false, "service \"%s\": more than %d "
			    "published ports in the file (the limit)", svc->string,
			    MAX_PORTS);
		else
			set_err(c, at ? at : svc, !at, "service \"%s\": bad port %s",
			    svc->string, bad ? bad : "list");
		free(bad);
	}
	*room = pl.room;
	cJSON_Delete(pl.out);
}

static void
check_compose(struct cdoc *c, const cJSON *top)
{
	const cJSON *services = cJSON_GetObjectItemCaseSensitive(top, "services");
	const cJSON *svc;
	size_t room = MAX_PORTS;

	if (!cJSON_IsObject(top)) {
		set_err(c, top, false,
		    "not a compose file: expected a mapping at the top");
		return;
	}
	if (!cJSON_IsObject(services) || !services->child) {
		set_err(c, services ? services : top, services != NULL,
		    "no services defined");
		return;
	}
	cJSON_ArrayForEach(svc, services) {
		check_service(c, svc, &room);
		if (c->err)
			return;
	}
}

cJSON *
phx_compose_parse(const char *name, const char *data, size_t len,
    const char *dir, char **err)
{
	cJSON *dotenv = load_dotenv(dir ? dir : ".");
	struct cdoc c = { NULL, NULL };
	cJSON *top = NULL;

	secrets_from_vars(dotenv);
	c.y = phx_yaml_parse(name, data, len, PHX_YAML_TYPED, dotenv, err);
	cJSON_Delete(dotenv);
	if (!c.y)
		return NULL;
	if (!phx_yaml_root(c.y))
		c.err = phx_asprintf("%s: empty file, no services defined", name);
	else {
		compose_secrets(phx_yaml_root(c.y), dir ? dir : ".");
		check_compose(&c, phx_yaml_root(c.y));
	}
	if (!c.err)
		top = phx_yaml_take(c.y);
	phx_yaml_free(c.y);
	*err = c.err;
	return top;
}

/* service name -> line of its key: SARIF locations, CI annotations */
cJSON *
phx_compose_lines(const char *data, size_t len)
{
	cJSON *lines = cJSON_CreateObject();
	yaml_parser_t p;
	yaml_document_t doc;
	yaml_node_t *root;

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	if (!yaml_parser_load(&p, &doc))
		goto out;
	root = yaml_document_get_root_node(&doc);
	for (yaml_node_pair_t *kv = root && root->type == YAML_MAPPING_NODE ?
	    root->data.mapping.pairs.start : NULL;
	    kv && kv < root->data.mapping.pairs.top; kv++) {
		yaml_node_t *k = yaml_document_get_node(&doc, kv->key);
		yaml_node_t *v = yaml_document_get_node(&doc, kv->value);
		if (k->type != YAML_SCALAR_NODE || v->type != YAML_MAPPING_NODE ||
		    strcmp((char *)k->data.scalar.value, "services") != 0)
			continue;
		for (yaml_node_pair_t *s = v->data.mapping.pairs.start;
		    s < v->data.mapping.pairs.top; s++) {
			yaml_node_t *sk = yaml_document_get_node(&doc, s->key);
			if (sk->type == YAML_SCALAR_NODE)
				cJSON_AddNumberToObject(lines,
				    (char *)sk->data.scalar.value,
				    (double)sk->start_mark.line + 1);
		}
	}
	yaml_document_delete(&doc);
out:
	yaml_parser_delete(&p);
	return lines;
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

void
phx_compose_secrets(const char *path)
{
	char *err = NULL;

	cJSON_Delete(phx_compose_load(path, &err));
	free(err);
}

bool
phx_compose_is_job(const cJSON *compose, const char *svc)
{
	const cJSON *s;

	if (!svc)
		return false;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(compose, "services")) {
		const cJSON *dep = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(s, "depends_on"), svc);
		const char *cond = phx_jstr(dep, "condition");
		if (cond && strcmp(cond, "service_completed_successfully") == 0)
			return true;
	}
	return false;
}

const char *
phx_compose_restart(const cJSON *service)
{
	const char *r;

	if (!cJSON_IsObject(service))
		return NULL;
	if (!(r = phx_jstr(service, "restart")))
		r = phx_jstr(cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(service, "deploy"),
		    "restart_policy"), "condition");
	if (!r)
		return NULL;
	return strcmp(r, "no") != 0 && strcmp(r, "none") != 0 ? r : "";
}
