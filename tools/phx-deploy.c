/* phx-deploy: bring a compose stack up on Podman, confirm it with Podman
 * itself (podman-compose 1.0.3 exits 0 even when a container failed),
 * record every deployment in the state directory, tear it down, roll it
 * back.  The first stage of phx-deploy | phx-probe | ... | phx-report. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "phx.h"

#define LABEL_PROJECT "io.podman.compose.project"
#define LABEL_SERVICE "com.docker.compose.service"
#define SETTLE_MS 500       /* a container must stay up this long to count */
#define POLL_MS 200
#define STOP_TIMEOUT "10"   /* seconds podman waits before SIGKILL */
#define PODMAN_TIMEOUT_MS 120000

enum outcome { UP_OK, UP_FAILED, UP_INTERRUPTED, UP_ENV };

struct deploy {
	cJSON *cfg;             /* resolved configuration */
	const char *podman;     /* commands, from the configuration */
	const char *composecmd;
	const char *project;
	char *compose_path;     /* absolute */
	char *compose_dir;
	char *compose_text;     /* exact bytes, snapshotted */
	size_t compose_len;
	cJSON *compose;         /* parsed */
	char *run_file;         /* the file podman-compose reads */
	cJSON *state;           /* state.json of this deployment */
	int attempts, log_lines;
	int64_t timeout_ms;
	bool cleanup;
	const char *restored_from, *rollback_of;
};

/* what confirm() found out about a failed attempt */
struct failure {
	char *service, *reason, *message, *image, *log_tail, *container;
	int exit_code, port;
	cJSON *crec;            /* a container record, or NULL */
};

struct args {
	const char **v;
	size_t n, cap;
};

static volatile sig_atomic_t got_signal;
static bool dry_run;
static struct phx_reader *input;
static bool input_done;

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-hnqVv] [-c config] [-f compose] [-p project] up | down id | rollback id | status [id] | restart service\n",
	    phx_progname);
}

/* ---- small helpers ---- */

static void
args_add(struct args *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 16;
		const char **v = phx_reallocarray(a->v, cap, sizeof *v);
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void
args_free(struct args *a)
{
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

static bool
in_path(const char *cmd)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL;
	bool found = false;

	if (strchr(cmd, '/'))
		return access(cmd, X_OK) == 0;
	if (!path)
		return false;
	copy = phx_strdup(path);
	for (char *dir = strtok_r(copy, ":", &save); dir && !found;
	    dir = strtok_r(NULL, ":", &save)) {
		char *p = phx_asprintf("%s/%s", *dir ? dir : ".", cmd);
		struct stat st;
		found = stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(p, X_OK) == 0;
		free(p);
	}
	free(copy);
	return found;
}

static void
now_ts(char out[32])
{
	phx_ts_format(phx_wall_ms(), out);
}

static void
set_str(cJSON *obj, const char *key, const char *val)
{
	cJSON *v = val ? cJSON_CreateString(val) : cJSON_CreateNull();

	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
	else
		cJSON_AddItemToObject(obj, key, v);
}

static void
set_num(cJSON *obj, const char *key, double val)
{
	cJSON *v = cJSON_CreateNumber(val);

	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
	else
		cJSON_AddItemToObject(obj, key, v);
}

static void
set_item(cJSON *obj, const char *key, cJSON *v)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
	else
		cJSON_AddItemToObject(obj, key, v);
}

static const char *
label(const cJSON *ps_entry, const char *key)
{
	return phx_jstr(cJSON_GetObjectItemCaseSensitive(ps_entry, "Labels"), key);
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);   /* a signal cuts it short, as wanted */
}

static void
on_signal(int sig)
{
	got_signal = sig;
}

static void
catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* ---- standard input: records of earlier stages pass through ---- */

static void
input_open(void)
{
	if (!isatty(STDIN_FILENO))
		input = phx_reader_new(STDIN_FILENO, "standard input", 0);
	else
		input_done = true;
}

/* the first line, read before anything is emitted: it may carry the
 * stream's deployment id; returns a copy of the line or NULL */
static char *
input_first(bool *newline, char **stream_id)
{
	struct phx_input in;
	enum phx_rd rd;

	*stream_id = NULL;
	if (input_done)
		return NULL;
	rd = phx_reader_next(input, &in);
	if (rd == PHX_RD_EOF) {
		input_done = true;
		return NULL;
	}
	if (rd == PHX_RD_RECORD && phx_jstr(in.json, "deployment_id"))
		*stream_id = phx_strdup(phx_jstr(in.json, "deployment_id"));
	*newline = in.newline;
	return phx_asprintf("%.*s", (int)in.len, in.line);
}

static void
pass_copy(char *line, bool newline)
{
	struct phx_input in = { 0 };

	if (!line)
		return;
	in.line = line;
	in.len = strlen(line);
	in.newline = newline;
	phx_pass(&in);
	free(line);
}

/* passes on the rest of standard input (this stage owns none of it) */
static void
input_drain(void)
{
	struct phx_input in;
	enum phx_rd rd;

	if (input_done)
		return;
	while ((rd = phx_reader_next(input, &in)) != PHX_RD_EOF)
		if (rd != PHX_RD_AGAIN)
			phx_pass(&in);
	input_done = true;
}

/* ---- running podman ---- */

static bool
run_cmd(const char *const *argv, int64_t timeout_ms, bool cancellable,
    struct phx_run *r)
{
	memset(r, 0, sizeof *r);
	r->argv = argv;
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : PODMAN_TIMEOUT_MS;
	r->cancel = cancellable ? &got_signal : NULL;
	if (phx_log_enabled(PHX_DEBUG)) {
		struct phx_buf b = { 0 };
		for (const char *const *a = argv; *a; a++)
			phx_buf_printf(&b, "%s%s", a == argv ? "" : " ", *a);
		phx_log(PHX_DEBUG, "running %s", phx_buf_str(&b));
		phx_buf_free(&b);
	}
	phx_run(r);
	if (r->exec_failed)
		phx_log(PHX_ERROR, "%s: %s", argv[0], strerror(r->exec_errno));
	else if (r->timed_out)
		phx_log(PHX_WARN, "%s %s: timed out after %lld ms", argv[0],
		    argv[1] ? argv[1] : "", (long long)r->timeout_ms);
	return !r->exec_failed && !r->timed_out;
}

/* the last line of a command's stderr that says something */
static char *
last_error_line(const struct phx_buf *err)
{
	char *t = phx_tail_lines(err->data ? err->data : "", err->len, 8);
	char *best = NULL, *save = NULL;

	for (char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (strncmp(l, "Error", 5) == 0 || strstr(l, "error") || !best) {
			free(best);
			best = phx_strdup(l);
		}
	free(t);
	return best ? best : phx_strdup("");
}

static cJSON *
podman_json(struct deploy *d, struct args *a)
{
	struct phx_run r;
	cJSON *j = NULL;

	if (run_cmd(a->v, 0, false, &r) && r.status == 0)
		j = cJSON_Parse(phx_buf_str(&r.out));
	else if (!r.exec_failed) {
		char *e = last_error_line(&r.err);
		phx_log(PHX_WARN, "%s %s: %s", d->podman, a->v[1], e);
		free(e);
	}
	phx_run_free(&r);
	return j;
}

/* every container of the project, as `podman ps -a` lists them */
static cJSON *
project_ps(struct deploy *d)
{
	struct args a = { 0 };
	char *filter = phx_asprintf("label=%s=%s", LABEL_PROJECT, d->project);
	cJSON *j;

	args_add(&a, d->podman);
	args_add(&a, "ps");
	args_add(&a, "-a");
	args_add(&a, "--format");
	args_add(&a, "json");
	args_add(&a, "--filter");
	args_add(&a, filter);
	j = podman_json(d, &a);
	args_free(&a);
	free(filter);
	return cJSON_IsArray(j) ? j : (cJSON_Delete(j), cJSON_CreateArray());
}

/* names of the project's networks or volumes ("network" / "volume") */
static cJSON *
project_objects(struct deploy *d, const char *kind)
{
	struct args a = { 0 };
	char *filter = phx_asprintf("label=%s=%s", LABEL_PROJECT, d->project);
	cJSON *names = cJSON_CreateArray();
	struct phx_run r;
	char *save = NULL;

	args_add(&a, d->podman);
	args_add(&a, kind);
	args_add(&a, "ls");
	args_add(&a, "--format");
	args_add(&a, "{{.Name}}");
	args_add(&a, "--filter");
	args_add(&a, filter);
	if (run_cmd(a.v, 0, false, &r) && r.status == 0) {
		char *out = phx_strdup(phx_buf_str(&r.out));
		for (char *l = strtok_r(out, "\n", &save); l;
		    l = strtok_r(NULL, "\n", &save))
			if (*l)
				cJSON_AddItemToArray(names, cJSON_CreateString(l));
		free(out);
	}
	phx_run_free(&r);
	args_free(&a);
	free(filter);
	return names;
}

static cJSON *
inspect(struct deploy *d, const cJSON *ids)
{
	struct args a = { 0 };
	const cJSON *id;
	cJSON *j;

	if (!cJSON_GetArraySize(ids))
		return cJSON_CreateArray();
	args_add(&a, d->podman);
	args_add(&a, "inspect");
	args_add(&a, "--type");
	args_add(&a, "container");
	cJSON_ArrayForEach(id, ids)
		args_add(&a, id->valuestring);
	j = podman_json(d, &a);
	args_free(&a);
	return cJSON_IsArray(j) ? j : (cJSON_Delete(j), cJSON_CreateArray());
}

/* {container id: ContainerStats} for running containers */
static cJSON *
stats(struct deploy *d, const cJSON *ids)
{
	struct args a = { 0 };
	cJSON *byid = cJSON_CreateObject();
	const cJSON *id;
	struct phx_run r;
	char *save = NULL;

	if (!cJSON_GetArraySize(ids))
		return byid;
	args_add(&a, d->podman);
	args_add(&a, "stats");
	args_add(&a, "--no-stream");
	args_add(&a, "--format");
	args_add(&a, "{{json .ContainerStats}}");
	cJSON_ArrayForEach(id, ids)
		args_add(&a, id->valuestring);
	if (run_cmd(a.v, 0, false, &r) && r.status == 0) {
		char *out = phx_strdup(phx_buf_str(&r.out));
		for (char *l = strtok_r(out, "\n", &save); l;
		    l = strtok_r(NULL, "\n", &save)) {
			cJSON *s = cJSON_Parse(l);
			const char *cid = phx_jstr(s, "ContainerID");
			if (cid && !cJSON_GetObjectItemCaseSensitive(byid, cid))
				cJSON_AddItemToObject(byid, cid, s);
			else
				cJSON_Delete(s);
		}
		free(out);
	}
	phx_run_free(&r);
	args_free(&a);
	return byid;
}

/* ---- logs: podman logs splits the container's stdout and stderr; -t
 * timestamps let us put them back in order ---- */

static void
ts_key(const char *line, char key[40])
{
	size_t i = 0, k = 0;

	while (line[i] && line[i] != '.' && line[i] != ' ' && k < 19)
		key[k++] = line[i++];
	if (line[i] == '.')
		i++;
	for (int n = 0; n < 9; n++)
		key[k++] = line[i] >= '0' && line[i] <= '9' ? line[i++] : '0';
	key[k] = '\0';
}

static char *
next_line(char **p)
{
	char *l = *p, *nl;

	if (!l || !*l)
		return NULL;
	nl = strchr(l, '\n');
	if (nl) {
		*nl = '\0';
		*p = nl + 1;
	} else
		*p = l + strlen(l);
	return l;
}

static void
add_log_line(struct phx_buf *b, const char *l, bool keep_ts)
{
	const char *sp = strchr(l, ' ');

	phx_buf_addstr(b, keep_ts || !sp ? l : sp + 1);
	phx_buf_addstr(b, "\n");
}

/* the container's log, stdout and stderr merged in time order; tail > 0
 * keeps the last lines only.  Redacted: logs leak secrets. */
static char *
container_log(struct deploy *d, const char *name, int tail, bool keep_ts)
{
	char n[32];
	const char *argv[] = { d->podman, "logs", "-t", "--tail", n, name, NULL };
	struct phx_buf b = { 0 };
	struct phx_run r;
	char *o, *e, *po, *pe, *lo, *le, *clean;

	snprintf(n, sizeof n, "%d", tail > 0 ? tail : -1);
	if (!run_cmd(argv, 0, false, &r)) {
		phx_run_free(&r);
		return phx_strdup("");
	}
	po = o = phx_strdup(phx_buf_str(&r.out));
	pe = e = phx_strdup(phx_buf_str(&r.err));
	lo = next_line(&po);
	le = next_line(&pe);
	while (lo || le) {
		char ko[40], ke[40];
		if (lo)
			ts_key(lo, ko);
		if (le)
			ts_key(le, ke);
		if (lo && (!le || strcmp(ko, ke) <= 0)) {
			add_log_line(&b, lo, keep_ts);
			lo = next_line(&po);
		} else {
			add_log_line(&b, le, keep_ts);
			le = next_line(&pe);
		}
	}
	free(o);
	free(e);
	phx_run_free(&r);
	if (tail > 0 && b.len) {
		char *t = phx_tail_lines(b.data, b.len, tail);
		phx_buf_free(&b);
		phx_buf_addstr(&b, t);
		free(t);
	}
	clean = phx_redact(phx_buf_str(&b));
	phx_buf_free(&b);
	return clean;
}

static void
write_redacted(const char *path, const char *text)
{
	char *clean = phx_redact(text ? text : "");

	if (!phx_write_file(path, clean, strlen(clean)))
		phx_log(PHX_WARN, "%s: %s", path, strerror(errno));
	free(clean);
}

/* keeps every container's full log and inspect JSON in
 * STATE/ID/logs/WHEN/ before anything is removed */
static void
preserve(struct deploy *d, const char *id, const char *when, const cJSON *ps)
{
	char *dir = phx_asprintf("%s/%s/logs/%s", phx_state_dir(), id, when);
	cJSON *ids = cJSON_CreateArray(), *info;
	const cJSON *c;

	phx_mkdirs(dir);
	cJSON_ArrayForEach(c, ps)
		cJSON_AddItemToArray(ids, cJSON_CreateString(phx_jstr(c, "Id")));
	info = inspect(d, ids);
	cJSON_ArrayForEach(c, info) {
		const char *name = phx_jstr(c, "Name");
		char *log, *path, *json;
		if (!name)
			continue;
		log = container_log(d, name, 0, true);
		path = phx_asprintf("%s/%s.log", dir, name);
		write_redacted(path, log);
		free(path);
		free(log);
		json = cJSON_Print(c);
		path = phx_asprintf("%s/%s.inspect.json", dir, name);
		write_redacted(path, json);
		free(path);
		free(json);
	}
	phx_log(PHX_INFO, "logs of %d container(s) kept in %s",
	    cJSON_GetArraySize(info), dir);
	cJSON_Delete(info);
	cJSON_Delete(ids);
	free(dir);
}

/* ---- removing a project: containers, then networks, then volumes, by
 * the compose project label (podman-compose 1.0.3's down keeps the
 * network, and anonymous volumes go with their container: rm -v) ---- */

static void
remove_objects(struct deploy *d, const char *kind, const cJSON *names)
{
	struct args a = { 0 };
	const cJSON *n;
	struct phx_run r;

	if (!cJSON_GetArraySize(names))
		return;
	args_add(&a, d->podman);
	if (strcmp(kind, "container") == 0) {
		args_add(&a, "rm");
		args_add(&a, "-f");
		args_add(&a, "-v");
		args_add(&a, "-t");
		args_add(&a, STOP_TIMEOUT);
	} else {
		args_add(&a, kind);
		args_add(&a, "rm");
		args_add(&a, "-f");
	}
	cJSON_ArrayForEach(n, names)
		args_add(&a, n->valuestring);
	if (run_cmd(a.v, 0, false, &r) && r.status != 0) {
		char *e = last_error_line(&r.err);
		phx_log(PHX_WARN, "%s rm: %s", kind, e);
		free(e);
	}
	phx_run_free(&r);
	args_free(&a);
}

static cJSON *
ps_names(const cJSON *ps)
{
	cJSON *names = cJSON_CreateArray();
	const cJSON *c;

	cJSON_ArrayForEach(c, ps) {
		const cJSON *n = cJSON_GetArrayItem(
		    cJSON_GetObjectItemCaseSensitive(c, "Names"), 0);
		const char *id = phx_jstr(c, "Id");
		if (cJSON_IsString(n) || id)
			cJSON_AddItemToArray(names, cJSON_CreateString(
			    cJSON_IsString(n) ? n->valuestring : id));
	}
	return names;
}

/* what is left, as {"containers":[...],"networks":[...],"volumes":[...]} */
static cJSON *
leftovers(struct deploy *d)
{
	cJSON *left = cJSON_CreateObject(), *ps = project_ps(d);

	cJSON_AddItemToObject(left, "containers", ps_names(ps));
	cJSON_AddItemToObject(left, "networks", project_objects(d, "network"));
	cJSON_AddItemToObject(left, "volumes", project_objects(d, "volume"));
	cJSON_Delete(ps);
	return left;
}

static int
count_left(const cJSON *left)
{
	const cJSON *it;
	int n = 0;

	cJSON_ArrayForEach(it, left)
		n += cJSON_GetArraySize(it);
	return n;
}

static void
print_manual(struct deploy *d, const cJSON *left)
{
	static const char *kinds[][2] = { { "containers", "rm -f" },
	    { "networks", "network rm -f" }, { "volumes", "volume rm -f" } };
	const char *cc = getenv("CONTAINERS_CONF");
	char *prefix = cc && *cc ? phx_asprintf("CONTAINERS_CONF=%s ", cc)
	    : phx_strdup("");

	phx_log(PHX_ERROR, "project %s: could not remove everything; remove the rest by hand:",
	    d->project);
	for (size_t k = 0; k < 3; k++) {
		const cJSON *n;
		cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(left, kinds[k][0]))
			phx_log(PHX_ERROR, "  %s%s %s %s", prefix, d->podman,
			    kinds[k][1], n->valuestring);
	}
	free(prefix);
}

/* removes everything of the project and checks; returns what is left
 * (NULL when nothing), having printed the commands to remove it */
static cJSON *
remove_project(struct deploy *d, int *removed)
{
	cJSON *ps = project_ps(d), *names = ps_names(ps), *left;
	int tries;

	removed[0] = cJSON_GetArraySize(names);
	remove_objects(d, "container", names);
	cJSON_Delete(names);
	cJSON_Delete(ps);
	for (tries = 0; tries < 2; tries++) {
		cJSON *nets = project_objects(d, "network");
		cJSON *vols = project_objects(d, "volume");
		if (tries == 0) {
			removed[1] = cJSON_GetArraySize(nets);
			removed[2] = cJSON_GetArraySize(vols);
		}
		remove_objects(d, "network", nets);
		remove_objects(d, "volume", vols);
		cJSON_Delete(nets);
		cJSON_Delete(vols);
		left = leftovers(d);
		if (!count_left(left)) {
			cJSON_Delete(left);
			return NULL;
		}
		/* a container that appeared late, or was busy: once more */
		remove_objects(d, "container",
		    cJSON_GetObjectItemCaseSensitive(left, "containers"));
		cJSON_Delete(left);
	}
	left = leftovers(d);
	if (!count_left(left)) {
		cJSON_Delete(left);
		return NULL;
	}
	print_manual(d, left);
	return left;
}

/* ---- the state directory ---- */

static char *
state_path(const char *id, const char *name)
{
	return phx_deployment_path(id, name);
}

static void
state_save(struct deploy *d)
{
	char *path = state_path(phx_jstr(d->state, "deployment_id"), "state.json");
	char *s = cJSON_Print(d->state);

	write_redacted(path, s);
	free(s);
	free(path);
}

static void
state_status(struct deploy *d, const char *status)
{
	char ts[32];

	now_ts(ts);
	set_str(d->state, "status", status);
	set_str(d->state, "updated", ts);
	state_save(d);
}

static cJSON *
state_load(const char *id)
{
	char *path, *text;
	cJSON *st;

	if (!phx_valid_deployment_id(id))
		return NULL;
	path = state_path(id, "state.json");
	text = phx_read_file(path, NULL);
	free(path);
	st = text ? cJSON_Parse(text) : NULL;
	free(text);
	return st;
}

/* deploy_YYYYMMDD_HHMMSS then _N: by time, then by N */
static int
id_cmp(const char *a, const char *b)
{
	int c = strncmp(a, b, 22);

	if (c)
		return c;
	return (a[22] ? atoi(a + 23) : 1) - (b[22] ? atoi(b + 23) : 1);
}

/* the newest deployment of project (any when NULL), older than before
 * (any when NULL), with result SUCCESS when want_success */
static char *
find_deployment(const char *project, const char *before, bool want_success)
{
	DIR *dir = opendir(phx_state_dir());
	struct dirent *e;
	char *best = NULL;

	if (!dir)
		return NULL;
	while ((e = readdir(dir))) {
		cJSON *st;
		bool fits;
		if (!phx_valid_deployment_id(e->d_name) ||
		    (before && id_cmp(e->d_name, before) >= 0) ||
		    (best && id_cmp(e->d_name, best) <= 0))
			continue;
		st = state_load(e->d_name);
		fits = st && (!project || (phx_jstr(st, "project") &&
		    strcmp(phx_jstr(st, "project"), project) == 0));
		if (fits && want_success)
			fits = phx_jstr(st, "result") &&
			    strcmp(phx_jstr(st, "result"), "SUCCESS") == 0 &&
			    !(phx_jstr(st, "status") &&
			    strcmp(phx_jstr(st, "status"), "ROLLED_BACK") == 0);
		if (fits) {
			free(best);
			best = phx_strdup(e->d_name);
		}
		cJSON_Delete(st);
	}
	closedir(dir);
	return best;
}

/* records in an earlier deployment's state.json what became of its
 * containers, without touching its result */
static void
mark_stack(const char *id, const char *stack, const char *key, const char *val)
{
	cJSON *st = state_load(id);
	char *path;
	char *text;

	if (!st)
		return;
	set_str(st, "stack", stack);
	if (key)
		set_str(st, key, val);
	path = state_path(id, "state.json");
	text = cJSON_Print(st);
	write_redacted(path, text);
	free(text);
	free(path);
	cJSON_Delete(st);
}

/* ---- checks for phx-probe: services.yaml's entry, else the compose
 * file's healthcheck and published ports ---- */

static void
check_defaults(const cJSON *cfg, const cJSON *entry, cJSON *chk, bool http)
{
	const cJSON *probe = phx_cfg(cfg, "probe");
	const cJSON *eb = cJSON_GetObjectItemCaseSensitive(entry, "backoff");
	const cJSON *pb = cJSON_GetObjectItemCaseSensitive(probe, "backoff");
	const cJSON *es = cJSON_GetObjectItemCaseSensitive(entry, "expected_status");

	cJSON_AddNumberToObject(chk, "timeout_ms",
	    phx_jnum(entry, "timeout", phx_jnum(probe, "timeout", 30000)));
	cJSON_AddNumberToObject(chk, "retries",
	    phx_jnum(entry, "retries", phx_jnum(probe, "retries", 5)));
	cJSON_AddNumberToObject(chk, "backoff_initial_ms",
	    phx_jnum(eb, "initial", phx_jnum(pb, "initial", 1000)));
	cJSON_AddNumberToObject(chk, "backoff_max_ms",
	    phx_jnum(eb, "max", phx_jnum(pb, "max", 30000)));
	cJSON_AddNumberToObject(chk, "backoff_multiplier",
	    phx_jnum(eb, "multiplier", phx_jnum(pb, "multiplier", 2)));
	if (!http)
		return;
	if (!es)
		es = cJSON_GetObjectItemCaseSensitive(probe, "expected_status");
	cJSON_AddItemToObject(chk, "expected_status",
	    es ? cJSON_Duplicate(es, true) : cJSON_CreateIntArray((int[]){ 200 }, 1));
	cJSON_AddBoolToObject(chk, "insecure", phx_jbool(entry, "insecure",
	    phx_jbool(probe, "insecure", false)));
}

static cJSON *
new_check(const char *kind, const char *target)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "kind", kind);
	cJSON_AddStringToObject(c, "target", target);
	return c;
}

static void
copy_str(cJSON *to, const char *key, const cJSON *from, const char *fkey)
{
	const char *v = phx_jstr(from, fkey);

	if (v)
		cJSON_AddStringToObject(to, key, v);
}

static cJSON *
configured_check(const cJSON *cfg, const cJSON *entry, const char *container)
{
	const char *type = phx_jstr(entry, "type");
	const char *url = phx_jstr(entry, "url");
	const char *host = phx_jstr(entry, "host");
	int port = (int)phx_jnum(entry, "port", 0);
	cJSON *chk;
	char *target;

	if (!type)
		type = url ? "http" : port ? "tcp" :
		    phx_jbool(entry, "healthcheck", false) ? "healthcheck" : NULL;
	if (!type)
		return NULL;
	if (strcmp(type, "http") == 0 || strcmp(type, "https") == 0) {
		if (!url)
			return NULL;
		chk = new_check("http", url);
		copy_str(chk, "method", entry, "method");
		if (cJSON_GetObjectItemCaseSensitive(entry, "conditions"))
			cJSON_AddItemToObject(chk, "conditions", cJSON_Duplicate(
			    cJSON_GetObjectItemCaseSensitive(entry, "conditions"), true));
		check_defaults(cfg, entry, chk, true);
		return chk;
	}
	if (strcmp(type, "healthcheck") == 0) {
		chk = new_check("healthcheck", phx_jstr(entry, "container") ?
		    phx_jstr(entry, "container") : container);
		check_defaults(cfg, entry, chk, false);
		return chk;
	}
	if (strcmp(type, "postgres") == 0 && !port)
		port = 5432;
	target = phx_asprintf("%s:%d", host ? host : "localhost", port);
	chk = new_check(strcmp(type, "postgres") == 0 ? "postgres" : "tcp", target);
	free(target);
	if (strcmp(type, "postgres") == 0) {
		copy_str(chk, "dbname", entry, "dbname");
		copy_str(chk, "user", entry, "user");
		copy_str(chk, "password_env", entry, "password_env");
	}
	check_defaults(cfg, entry, chk, false);
	return chk;
}

static bool
has_healthcheck(const cJSON *svc, const cJSON *info)
{
	const cJSON *hc = cJSON_GetObjectItemCaseSensitive(svc, "healthcheck");
	const cJSON *test = cJSON_GetObjectItemCaseSensitive(hc, "test");
	const cJSON *first = cJSON_IsArray(test) ? test->child : test;

	if (phx_jbool(hc, "disable", false))
		return false;
	if (test)
		return !(cJSON_IsString(first) && strcmp(first->valuestring, "NONE") == 0);
	if (info) {   /* the image's own HEALTHCHECK */
		const cJSON *ih = phx_cfg(info, "Config.Healthcheck.Test");
		return cJSON_IsArray(ih) && ih->child && cJSON_IsString(ih->child) &&
		    strcmp(ih->child->valuestring, "NONE") != 0;
	}
	return false;
}

static cJSON *
service_checks(struct deploy *d, const char *name, const cJSON *svc,
    const cJSON *ports, const cJSON *info, const char *container)
{
	const cJSON *entry = phx_cfg(cJSON_GetObjectItemCaseSensitive(d->cfg,
	    "services"), name);
	cJSON *checks = cJSON_CreateArray(), *chk;
	const cJSON *p;

	if (entry) {
		if (!phx_jbool(entry, "enabled", true))
			return checks;
		if ((chk = configured_check(d->cfg, entry, container)))
			cJSON_AddItemToArray(checks, chk);
		if (phx_jbool(entry, "healthcheck", false) && chk &&
		    strcmp(phx_jstr(chk, "kind"), "healthcheck") != 0) {
			chk = new_check("healthcheck", phx_jstr(entry, "container") ?
			    phx_jstr(entry, "container") : container);
			check_defaults(d->cfg, entry, chk, false);
			cJSON_AddItemToArray(checks, chk);
		}
		return checks;
	}
	if (has_healthcheck(svc, info)) {
		chk = new_check("healthcheck", container);
		check_defaults(d->cfg, NULL, chk, false);
		cJSON_AddItemToArray(checks, chk);
	}
	cJSON_ArrayForEach(p, ports) {
		const char *ip = phx_jstr(p, "host_ip");
		int port = (int)phx_jnum(p, "host_port", 0);
		char *target;
		if (!port || strcmp(phx_jstr(p, "protocol"), "tcp") != 0)
			continue;
		if (!ip || !*ip || strcmp(ip, "0.0.0.0") == 0)
			ip = "127.0.0.1";
		else if (strcmp(ip, "::") == 0)
			ip = "::1";
		target = strchr(ip, ':') ? phx_asprintf("[%s]:%d", ip, port)
		    : phx_asprintf("%s:%d", ip, port);
		chk = new_check("tcp", target);
		free(target);
		check_defaults(d->cfg, NULL, chk, false);
		cJSON_AddItemToArray(checks, chk);
	}
	return checks;
}

/* ---- records ---- */

static cJSON *
deployment_record(struct deploy *d, const char *status, int attempt)
{
	cJSON *rec = phx_record_new("deployment");

	cJSON_AddStringToObject(rec, "status", status);
	cJSON_AddStringToObject(rec, "project", d->project);
	cJSON_AddStringToObject(rec, "compose_file", d->compose_path);
	if (attempt)
		cJSON_AddNumberToObject(rec, "attempt", attempt);
	cJSON_AddNumberToObject(rec, "attempts", d->attempts);
	if (d->restored_from)
		cJSON_AddStringToObject(rec, "restored_from", d->restored_from);
	if (d->rollback_of)
		cJSON_AddStringToObject(rec, "rollback_of", d->rollback_of);
	return rec;
}

static char *
default_container_name(struct deploy *d, const char *name, const cJSON *svc)
{
	const char *cn = phx_jstr(svc, "container_name");

	return cn ? phx_strdup(cn) : phx_asprintf("%s_%s_1", d->project, name);
}

/* the compose service's networks as podman-compose names them */
static cJSON *
planned_networks(struct deploy *d, const cJSON *svc)
{
	const cJSON *nets = cJSON_GetObjectItemCaseSensitive(d->compose, "networks");
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(svc, "networks");
	cJSON *out = cJSON_CreateArray();
	const cJSON *n;

	if (!want || !want->child) {
		const char *def = cJSON_GetArraySize(nets) == 1 ? nets->child->string
		    : "default";
		char *name = phx_asprintf("%s_%s", d->project, def);
		cJSON_AddItemToArray(out, cJSON_CreateString(name));
		free(name);
		return out;
	}
	cJSON_ArrayForEach(n, want) {
		const char *key = cJSON_IsString(n) ? n->valuestring : n->string;
		const cJSON *desc = cJSON_GetObjectItemCaseSensitive(nets, key);
		const char *explicit = phx_jstr(desc, "name");
		char *name;
		if (!key)
			continue;
		if (explicit)
			name = phx_strdup(explicit);
		else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(desc, "external")))
			name = phx_strdup(key);
		else
			name = phx_asprintf("%s_%s", d->project, key);
		cJSON_AddItemToArray(out, cJSON_CreateString(name));
		free(name);
	}
	return out;
}

/* published ports from podman inspect: "8080/tcp": [{HostIp,HostPort}] */
static cJSON *
inspected_ports(const cJSON *info)
{
	const cJSON *ports = phx_cfg(info, "NetworkSettings.Ports"), *p, *b;
	cJSON *out = cJSON_CreateArray();

	cJSON_ArrayForEach(p, ports) {
		int cport = atoi(p->string);
		const char *slash = strchr(p->string, '/');
		cJSON_ArrayForEach(b, p) {
			cJSON *o = cJSON_CreateObject();
			const char *hp = phx_jstr(b, "HostPort");
			cJSON_AddStringToObject(o, "host_ip",
			    phx_jstr(b, "HostIp") ? phx_jstr(b, "HostIp") : "");
			cJSON_AddNumberToObject(o, "host_port", hp ? atoi(hp) : 0);
			cJSON_AddNumberToObject(o, "container_port", cport);
			cJSON_AddStringToObject(o, "protocol", slash ? slash + 1 : "tcp");
			cJSON_AddItemToArray(out, o);
		}
	}
	return out;
}

static cJSON *
key_names(const cJSON *obj)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *it;

	cJSON_ArrayForEach(it, obj)
		cJSON_AddItemToArray(out, cJSON_CreateString(it->string));
	return out;
}

/* a service record: from podman inspect when info, else the plan */
static cJSON *
service_record(struct deploy *d, const char *name, const cJSON *svc,
    const cJSON *info)
{
	cJSON *rec = phx_record_new("service"), *ports;
	char *cname;

	cJSON_AddStringToObject(rec, "service", name);
	cJSON_AddStringToObject(rec, "project", d->project);
	if (info) {
		cname = phx_strdup(phx_jstr(info, "Name"));
		cJSON_AddStringToObject(rec, "container_id", phx_jstr(info, "Id"));
		cJSON_AddStringToObject(rec, "container_name", cname);
		cJSON_AddStringToObject(rec, "image", phx_jstr(info, "ImageName") ?
		    phx_jstr(info, "ImageName") : phx_jstr(svc, "image"));
		ports = inspected_ports(info);
		cJSON_AddItemToObject(rec, "ports", ports);
		cJSON_AddItemToObject(rec, "networks",
		    key_names(phx_cfg(info, "NetworkSettings.Networks")));
	} else {
		cname = default_container_name(d, name, svc);
		cJSON_AddStringToObject(rec, "image", phx_jstr(svc, "image"));
		ports = phx_compose_ports(svc, NULL);
		cJSON_AddItemToObject(rec, "ports", ports);
		cJSON_AddItemToObject(rec, "networks", planned_networks(d, svc));
	}
	cJSON_AddItemToObject(rec, "checks",
	    service_checks(d, name, svc, ports, info, cname));
	free(cname);
	return rec;
}

static const char *
health_of(const cJSON *info)
{
	const char *h = phx_jstr(phx_cfg(info, "State.Health"), "Status");

	if (!h)
		h = phx_jstr(phx_cfg(info, "State.Healthcheck"), "Status");
	return h && *h ? h : "none";
}

static cJSON *
container_record(const char *service, const cJSON *info, const cJSON *st)
{
	cJSON *rec = phx_record_new("container");
	const char *state = phx_jstr(phx_cfg(info, "State"), "Status");

	cJSON_AddStringToObject(rec, "service", service);
	cJSON_AddStringToObject(rec, "container_id", phx_jstr(info, "Id"));
	cJSON_AddStringToObject(rec, "name", phx_jstr(info, "Name"));
	cJSON_AddStringToObject(rec, "state", state ? state : "missing");
	if (state && strcmp(state, "running") != 0)
		cJSON_AddNumberToObject(rec, "exit_code",
		    phx_jnum(phx_cfg(info, "State"), "ExitCode", 0));
	cJSON_AddNumberToObject(rec, "restarts", phx_jnum(info, "RestartCount", 0));
	cJSON_AddStringToObject(rec, "health", health_of(info));
	if (st) {
		cJSON_AddNumberToObject(rec, "cpu_percent",
		    (double)(int64_t)(phx_jnum(st, "CPU", 0) * 100) / 100);
		cJSON_AddNumberToObject(rec, "mem_bytes", phx_jnum(st, "MemUsage", 0));
		cJSON_AddNumberToObject(rec, "mem_limit_bytes",
		    phx_jnum(st, "MemLimit", 0));
		cJSON_AddNumberToObject(rec, "pids", phx_jnum(st, "PIDs", 0));
	}
	return rec;
}

static cJSON *
missing_record(const char *service, const char *name)
{
	cJSON *rec = phx_record_new("container");

	cJSON_AddStringToObject(rec, "service", service);
	if (name)
		cJSON_AddStringToObject(rec, "name", name);
	cJSON_AddStringToObject(rec, "state", "missing");
	cJSON_AddNumberToObject(rec, "restarts", 0);
	cJSON_AddStringToObject(rec, "health", "none");
	return rec;
}

/* ---- what went wrong ---- */

static void
failure_free(struct failure *f)
{
	free(f->service);
	free(f->reason);
	free(f->message);
	free(f->image);
	free(f->log_tail);
	free(f->container);
	cJSON_Delete(f->crec);
	memset(f, 0, sizeof *f);
}

static bool
port_taken(const char *ip, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;
	bool taken;

	memset(&ss, 0, sizeof ss);
	if (ip && strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1)
			return false;
		len = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, ip && *ip ? ip : "0.0.0.0", &s4->sin_addr) != 1)
			return false;
		len = sizeof *s4;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	taken = bind(fd, (struct sockaddr *)&ss, len) < 0 && errno == EADDRINUSE;
	close(fd);
	return taken;
}

static bool
image_exists(struct deploy *d, const char *image)
{
	const char *argv[] = { d->podman, "image", "exists", image, NULL };
	struct phx_run r;
	bool yes = run_cmd(argv, 0, false, &r) && r.status == 0;

	phx_run_free(&r);
	return yes;
}

/* the last line of podman-compose's stderr that mentions needle */
static char *
compose_says(const struct phx_run *pc, const char *needle)
{
	const char *p = NULL, *q = pc->err.data, *b, *e;

	while (q && (q = strstr(q, needle)))
		p = q++;
	if (!p)
		return NULL;
	for (b = p; b > pc->err.data && b[-1] != '\n'; b--)
		;
	e = strchr(p, '\n');
	return phx_asprintf("%.*s", (int)(e ? e - b : (long)strlen(b)), b);
}

static void
diagnose_missing(struct deploy *d, const char *name, const cJSON *svc,
    const struct phx_run *pc, struct failure *f)
{
	const char *image = phx_jstr(svc, "image");

	f->image = phx_strdup(image);
	if (!image_exists(d, image)) {
		char *why = compose_says(pc, image);
		f->reason = phx_strdup("image_missing");
		f->message = phx_asprintf("service %s: image %s is not available "
		    "locally and could not be pulled%s%s%s", name, image,
		    why ? " (" : "", why ? why : "", why ? ")" : "");
		free(why);
	} else {
		char *e = last_error_line(&pc->err);
		f->reason = phx_strdup("not_created");
		f->message = phx_asprintf("service %s: podman-compose created no "
		    "container%s%s", name, *e ? ": " : "", e);
		free(e);
	}
	f->crec = missing_record(name, NULL);
}

static void
diagnose_not_started(const char *name, const cJSON *info,
    const struct phx_run *pc, struct failure *f)
{
	const cJSON *p;
	cJSON *ports = inspected_ports(info);
	const char *err = phx_jstr(phx_cfg(info, "State"), "Error");

	if (!cJSON_GetArraySize(ports)) {   /* bindings of a never-started one */
		const cJSON *pb = phx_cfg(info, "HostConfig.PortBindings"), *e, *b;
		cJSON_ArrayForEach(e, pb)
			cJSON_ArrayForEach(b, e) {
				cJSON *o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, "host_ip", phx_jstr(b, "HostIp") ?
				    phx_jstr(b, "HostIp") : "");
				cJSON_AddNumberToObject(o, "host_port",
				    atoi(phx_jstr(b, "HostPort") ? phx_jstr(b, "HostPort") : "0"));
				cJSON_AddItemToArray(ports, o);
			}
	}
	cJSON_ArrayForEach(p, ports) {
		const char *ip = phx_jstr(p, "host_ip");
		int port = (int)phx_jnum(p, "host_port", 0);
		if (port && port_taken(ip, port)) {
			f->reason = phx_strdup("port_in_use");
			f->port = port;
			f->message = phx_asprintf("service %s: port %s%s%d is already "
			    "in use on the host", name, ip && *ip ? ip : "",
			    ip && *ip ? ":" : "", port);
			break;
		}
	}
	cJSON_Delete(ports);
	if (!f->reason) {
		char *said = compose_says(pc, "address already in use");
		if (said) {
			f->reason = phx_strdup("port_in_use");
			f->message = phx_asprintf("service %s: %s", name, said);
			free(said);
		} else {
			char *e = last_error_line(&pc->err);
			f->reason = phx_strdup("not_started");
			f->message = phx_asprintf("service %s: container was created "
			    "but did not start%s%s", name, (err && *err) || *e ? ": " : "",
			    err && *err ? err : e);
			free(e);
		}
	}
}

static void
diagnose(struct deploy *d, const char *name, const cJSON *svc,
    const cJSON *info, const struct phx_run *pc, struct failure *f)
{
	const char *state = phx_jstr(phx_cfg(info, "State"), "Status");

	f->service = phx_strdup(name);
	if (!info) {
		diagnose_missing(d, name, svc, pc, f);
		return;
	}
	f->container = phx_strdup(phx_jstr(info, "Name"));
	f->image = phx_strdup(phx_jstr(info, "ImageName") ?
	    phx_jstr(info, "ImageName") : phx_jstr(svc, "image"));
	f->crec = container_record(name, info, NULL);
	if (state && (strcmp(state, "created") == 0 ||
	    strcmp(state, "configured") == 0)) {
		diagnose_not_started(name, info, pc, f);
		return;
	}
	f->exit_code = (int)phx_jnum(phx_cfg(info, "State"), "ExitCode", 0);
	f->log_tail = container_log(d, f->container, d->log_lines, false);
	cJSON_AddStringToObject(f->crec, "log_tail", f->log_tail);
	if (state && (strcmp(state, "exited") == 0 || strcmp(state, "stopped") == 0 ||
	    strcmp(state, "dead") == 0)) {
		char *last = phx_tail_lines(f->log_tail, strlen(f->log_tail), 3);
		size_t n = strlen(last);
		while (n && last[n - 1] == '\n')
			last[--n] = '\0';
		for (char *c = last; *c; c++)
			if (*c == '\n')
				*c = ';';
		f->reason = phx_strdup("exited");
		f->message = phx_asprintf("service %s: container %s exited with code "
		    "%d%s%s", name, f->container, f->exit_code, *last ? "; last log: " : "",
		    last);
		free(last);
	} else {
		f->reason = phx_strdup("timeout");
		f->message = phx_asprintf("service %s: container %s is %s, not running, "
		    "after %lld s", name, f->container, state ? state : "missing",
		    (long long)d->timeout_ms / 1000);
	}
}

/* ---- confirming with podman that every service runs ---- */

static const cJSON *
container_of(const cJSON *ps, const char *service)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, ps) {
		const char *s = label(c, LABEL_SERVICE);
		if (s && strcmp(s, service) == 0)
			return c;
	}
	return NULL;
}

static const cJSON *
info_by_id(const cJSON *infos, const char *id)
{
	const cJSON *i;

	cJSON_ArrayForEach(i, infos)
		if (id && phx_jstr(i, "Id") && strcmp(phx_jstr(i, "Id"), id) == 0)
			return i;
	return NULL;
}

static bool
restarts_itself(const cJSON *svc)
{
	const char *r = phx_jstr(svc, "restart");

	return r && strcmp(r, "no") != 0 && *r;
}

/* nanoseconds-since-epoch of State.StartedAt, in ms */
static int64_t
started_ms(const cJSON *info)
{
	const char *s = phx_jstr(phx_cfg(info, "State"), "StartedAt");
	char buf[40];
	size_t n;

	if (!s)
		return 0;
	/* phx_ts_parse wants at most milliseconds */
	n = strcspn(s, ".");
	if (n >= 20 || !s[n])
		return phx_ts_parse(s);
	snprintf(buf, sizeof buf, "%.*s.%.3s%s", (int)n, s, s + n + 1,
	    s + n + 1 + strspn(s + n + 1, "0123456789"));
	return phx_ts_parse(buf);
}

enum svc_state { S_RUNNING, S_PENDING, S_FAILED };

static enum svc_state
classify(const cJSON *svc, const cJSON *c)
{
	const char *st = c ? phx_jstr(c, "State") : NULL;

	if (!st)
		return S_FAILED;
	if (strcmp(st, "running") == 0)
		return S_RUNNING;
	if (strcmp(st, "exited") == 0 || strcmp(st, "stopped") == 0)
		return restarts_itself(svc) ? S_PENDING : S_FAILED;
	if (strcmp(st, "created") == 0 || strcmp(st, "configured") == 0 ||
	    strcmp(st, "dead") == 0)
		return S_FAILED;
	return S_PENDING;   /* restarting, stopping, paused, initialized */
}

static cJSON *
ids_of(const cJSON *list, const char *key)
{
	cJSON *ids = cJSON_CreateArray();
	const cJSON *c;

	cJSON_ArrayForEach(c, list)
		if (phx_jstr(c, key))
			cJSON_AddItemToArray(ids, cJSON_CreateString(phx_jstr(c, key)));
	return ids;
}

/* waits until every service has a container that has been running for
 * SETTLE_MS, a service fails, the deadline passes or a signal comes;
 * on UP_OK *infos holds podman inspect of the project's containers */
static enum outcome
confirm(struct deploy *d, int64_t deadline, const struct phx_run *pc,
    cJSON **infos, struct failure *f)
{
	const cJSON *services = cJSON_GetObjectItemCaseSensitive(d->compose, "services");

	*infos = NULL;
	for (;;) {
		cJSON *ps = project_ps(d), *ids, *info;
		const cJSON *svc, *bad = NULL;
		bool pending = false;
		int64_t youngest = 0;

		cJSON_ArrayForEach(svc, services) {
			enum svc_state s = classify(svc, container_of(ps, svc->string));
			if (s == S_FAILED && !bad)
				bad = svc;
			pending |= s == S_PENDING;
		}
		if (!bad && pending && phx_now_ms() < deadline && !got_signal) {
			cJSON_Delete(ps);
			sleep_ms(POLL_MS);
			if (got_signal)
				return UP_INTERRUPTED;
			continue;
		}
		ids = ids_of(ps, "Id");
		info = inspect(d, ids);
		cJSON_Delete(ids);
		if (got_signal) {
			cJSON_Delete(ps);
			cJSON_Delete(info);
			return UP_INTERRUPTED;
		}
		if (bad || pending) {
			if (!bad)   /* the deadline passed */
				cJSON_ArrayForEach(svc, services)
					if (classify(svc, container_of(ps, svc->string)) != S_RUNNING) {
						bad = svc;
						break;
					}
			diagnose(d, bad->string, bad, info_by_id(info, phx_jstr(
			    container_of(ps, bad->string), "Id")), pc, f);
			cJSON_Delete(ps);
			cJSON_Delete(info);
			return UP_FAILED;
		}
		cJSON_ArrayForEach(svc, services) {
			const cJSON *i = info_by_id(info, phx_jstr(
			    container_of(ps, svc->string), "Id"));
			int64_t s = started_ms(i);
			if (s > youngest)
				youngest = s;
		}
		cJSON_Delete(ps);
		if (youngest && phx_wall_ms() - youngest < SETTLE_MS &&
		    phx_now_ms() < deadline) {
			cJSON_Delete(info);
			sleep_ms(SETTLE_MS - (phx_wall_ms() - youngest));
			if (got_signal)
				return UP_INTERRUPTED;
			continue;
		}
		*infos = info;
		return UP_OK;
	}
}

/* ---- up ---- */

static void
emit_failure(struct deploy *d, const struct failure *f, int attempt)
{
	cJSON *rec;

	if (f->crec)
		phx_emit(cJSON_Duplicate(f->crec, true));
	rec = phx_record_new("error");
	cJSON_AddStringToObject(rec, "reason", f->reason);
	cJSON_AddStringToObject(rec, "message", f->message);
	if (f->service)
		cJSON_AddStringToObject(rec, "service", f->service);
	if (f->container)
		cJSON_AddStringToObject(rec, "container", f->container);
	if (f->image)
		cJSON_AddStringToObject(rec, "image", f->image);
	if (strcmp(f->reason, "exited") == 0)
		cJSON_AddNumberToObject(rec, "exit_code", f->exit_code);
	if (f->port)
		cJSON_AddNumberToObject(rec, "port", f->port);
	if (f->log_tail)
		cJSON_AddStringToObject(rec, "log_tail", f->log_tail);
	cJSON_AddNumberToObject(rec, "attempt", attempt);
	phx_emit(rec);
	phx_log(PHX_ERROR, "attempt %d of %d: %s", attempt, d->attempts, f->message);
}

static void
emit_up(struct deploy *d, const cJSON *infos, int64_t started, int attempt)
{
	const cJSON *services = cJSON_GetObjectItemCaseSensitive(d->compose, "services");
	const cJSON *svc;
	cJSON *containers = cJSON_CreateArray(), *ids, *st, *rec;

	/* service records first: phx-probe can start on them at once */
	cJSON_ArrayForEach(svc, services) {
		const cJSON *info = NULL, *i;
		cJSON_ArrayForEach(i, infos)
			if (phx_jstr(phx_cfg(i, "Config.Labels"), LABEL_SERVICE) &&
			    strcmp(phx_jstr(phx_cfg(i, "Config.Labels"), LABEL_SERVICE),
			    svc->string) == 0)
				info = i;
		if (!info)
			continue;
		phx_emit(service_record(d, svc->string, svc, info));
		rec = cJSON_CreateObject();
		cJSON_AddStringToObject(rec, "service", svc->string);
		cJSON_AddStringToObject(rec, "name", phx_jstr(info, "Name"));
		cJSON_AddStringToObject(rec, "id", phx_jstr(info, "Id"));
		cJSON_AddItemToArray(containers, rec);
	}
	ids = ids_of(infos, "Id");
	st = stats(d, ids);
	cJSON_Delete(ids);
	cJSON_ArrayForEach(svc, services) {
		const cJSON *i;
		cJSON_ArrayForEach(i, infos)
			if (phx_jstr(phx_cfg(i, "Config.Labels"), LABEL_SERVICE) &&
			    strcmp(phx_jstr(phx_cfg(i, "Config.Labels"), LABEL_SERVICE),
			    svc->string) == 0)
				phx_emit(container_record(svc->string, i,
				    cJSON_GetObjectItemCaseSensitive(st, phx_jstr(i, "Id"))));
	}
	cJSON_Delete(st);
	set_item(d->state, "containers", containers);
	rec = deployment_record(d, "running", attempt);
	cJSON_AddNumberToObject(rec, "duration_ms", (double)(phx_now_ms() - started));
	phx_emit(rec);
}

/* removes what an attempt left, keeping its logs first */
static bool
clean_attempt(struct deploy *d, const char *when)
{
	cJSON *ps = project_ps(d), *left;
	int removed[3] = { 0 };

	if (cJSON_GetArraySize(ps))
		preserve(d, phx_jstr(d->state, "deployment_id"), when, ps);
	cJSON_Delete(ps);
	left = remove_project(d, removed);
	if (left) {
		phx_emit_error("leftovers", "project %s: %d object(s) could not be "
		    "removed", d->project, count_left(left));
		set_item(d->state, "leftovers", left);
		return false;
	}
	phx_log(PHX_INFO, "project %s: removed %d container(s), %d network(s), "
	    "%d volume(s)", d->project, removed[0], removed[1], removed[2]);
	return true;
}

static void
save_compose_log(struct deploy *d, int attempt, const struct phx_run *pc)
{
	char *dir = phx_asprintf("%s/%s/logs/attempt-%d", phx_state_dir(),
	    phx_jstr(d->state, "deployment_id"), attempt);
	char *path = phx_asprintf("%s/podman-compose.log", dir);
	char *text = phx_asprintf("%s%s", pc->out.data ? pc->out.data : "",
	    pc->err.data ? pc->err.data : "");

	phx_mkdirs(dir);
	write_redacted(path, text);
	free(text);
	free(path);
	free(dir);
}

static enum outcome
attempt_up(struct deploy *d, int attempt, struct failure *f, cJSON **infos)
{
	struct args a = { 0 };
	struct phx_run pc;
	int64_t deadline = phx_now_ms() + d->timeout_ms;
	enum outcome o;

	args_add(&a, d->composecmd);
	if (strcmp(d->podman, "podman") != 0) {
		args_add(&a, "--podman-path");
		args_add(&a, d->podman);
	}
	args_add(&a, "-f");
	args_add(&a, d->run_file);
	args_add(&a, "-p");
	args_add(&a, d->project);
	args_add(&a, "up");
	args_add(&a, "-d");
	run_cmd(a.v, d->timeout_ms, true, &pc);
	args_free(&a);
	save_compose_log(d, attempt, &pc);
	if (pc.exec_failed) {
		f->reason = phx_strdup("environment");
		f->message = phx_asprintf("%s: %s", d->composecmd,
		    strerror(pc.exec_errno));
		o = UP_ENV;
	} else if (pc.cancelled || got_signal)
		o = UP_INTERRUPTED;
	else
		o = confirm(d, deadline, &pc, infos, f);
	phx_run_free(&pc);
	return o;
}

static int
exit_for_signal(void)
{
	return 128 + (int)got_signal;
}

/* the attempts; emits records and keeps state.json current */
static int
deploy_up(struct deploy *d)
{
	int64_t started = phx_now_ms();
	struct failure f = { 0 };
	enum outcome o = UP_FAILED;
	cJSON *infos = NULL, *rec, *old = project_ps(d);
	char ts[32];
	int attempt;

	if (cJSON_GetArraySize(old)) {
		char *prev = find_deployment(d->project,
		    phx_jstr(d->state, "deployment_id"), false);
		int removed[3];
		cJSON *left;
		phx_log(PHX_WARN, "project %s: removing %d container(s) left by an "
		    "earlier deployment%s%s", d->project, cJSON_GetArraySize(old),
		    prev ? ", " : "", prev ? prev : "");
		if (prev)
			mark_stack(prev, "replaced", "replaced_by",
			    phx_jstr(d->state, "deployment_id"));
		free(prev);
		preserve(d, phx_jstr(d->state, "deployment_id"), "before", old);
		left = remove_project(d, removed);
		if (left) {
			cJSON_Delete(left);
			cJSON_Delete(old);
			phx_emit_error("leftovers", "project %s: an earlier deployment's "
			    "containers could not be removed", d->project);
			state_status(d, "FAILED");
			return PHX_EXIT_FAIL;
		}
	}
	cJSON_Delete(old);
	for (attempt = 1; attempt <= d->attempts && !got_signal; attempt++) {
		phx_emit(deployment_record(d, "starting", attempt));
		set_num(d->state, "attempts", attempt);
		state_save(d);
		failure_free(&f);
		o = attempt_up(d, attempt, &f, &infos);
		if (o == UP_OK || o == UP_INTERRUPTED)
			break;
		emit_failure(d, &f, attempt);
		if (o == UP_ENV)
			break;
		rec = deployment_record(d, "failed", attempt);
		cJSON_AddStringToObject(rec, "reason", f.reason);
		cJSON_AddStringToObject(rec, "message", f.message);
		if (attempt < d->attempts) {
			phx_emit(rec);
			char *when = phx_asprintf("attempt-%d", attempt);
			clean_attempt(d, when);
			free(when);
		} else
			cJSON_Delete(rec);
	}
	if (got_signal && o != UP_OK)
		o = UP_INTERRUPTED;   /* the signal came between attempts */
	now_ts(ts);
	set_str(d->state, "finished", ts);
	if (o == UP_OK) {
		emit_up(d, infos, started, attempt);
		cJSON_Delete(infos);
		set_str(d->state, "result", "SUCCESS");
		state_status(d, "SUCCESS");
		return PHX_EXIT_OK;
	}
	if (o == UP_INTERRUPTED || got_signal) {
		failure_free(&f);
		f.reason = phx_strdup("interrupted");
		f.message = phx_asprintf("interrupted by signal %d during up",
		    (int)got_signal);
		phx_log(PHX_WARN, "%s; cleaning up", f.message);
	}
	rec = deployment_record(d, "failed", attempt > d->attempts ? d->attempts : attempt);
	cJSON_AddStringToObject(rec, "reason", f.reason);
	cJSON_AddStringToObject(rec, "message", f.message);
	cJSON_AddNumberToObject(rec, "duration_ms", (double)(phx_now_ms() - started));
	phx_emit(rec);
	set_str(d->state, "reason", f.reason);
	set_str(d->state, "message", f.message);
	set_str(d->state, "result", o == UP_INTERRUPTED ? "INTERRUPTED" : "FAILED");
	state_status(d, o == UP_INTERRUPTED ? "INTERRUPTED" : "FAILED");
	if (d->cleanup || o == UP_INTERRUPTED) {
		char *when = o == UP_INTERRUPTED ? phx_strdup("interrupted")
		    : phx_asprintf("attempt-%d", attempt > d->attempts ? d->attempts : attempt);
		set_str(d->state, "stack", clean_attempt(d, when) ? "removed" : "leftovers");
		free(when);
	} else
		set_str(d->state, "stack", "left for inspection");
	state_save(d);
	failure_free(&f);
	if (o == UP_INTERRUPTED)
		return exit_for_signal();
	return o == UP_ENV ? PHX_EXIT_ENV : PHX_EXIT_FAIL;
}

/* -n: the records of what would be deployed */
static int
plan(struct deploy *d)
{
	const cJSON *svc;

	phx_emit(deployment_record(d, "planned", 0));
	cJSON_ArrayForEach(svc, cJSON_GetObjectItemCaseSensitive(d->compose, "services"))
		phx_emit(service_record(d, svc->string, svc, NULL));
	return PHX_EXIT_OK;
}

/* ---- setting up a deployment ---- */

static void
need_tools(struct deploy *d, bool compose_too)
{
	if (!in_path(d->podman))
		phx_die(PHX_EXIT_ENV, "%s: not found in PATH; install Podman "
		    "(make deps)", d->podman);
	if (compose_too && !in_path(d->composecmd))
		phx_die(PHX_EXIT_ENV, "%s: not found in PATH; install podman-compose "
		    "(make deps)", d->composecmd);
}

/* one phx-deploy at a time per project: two would remove each other's
 * containers.  The lock goes when the process does. */
static void
lock_project(const char *project)
{
	char *path;
	int fd;

	phx_mkdirs(phx_state_dir());
	path = phx_asprintf("%s/.lock.%s", phx_state_dir(), project);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		phx_edie(PHX_EXIT_ENV, "%s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			phx_die(PHX_EXIT_ENV, "project %s: another phx-deploy is "
			    "working on it (lock %s)", project, path);
		phx_edie(PHX_EXIT_ENV, "%s", path);
	}
	free(path);
}

static bool
valid_project(const char *p)
{
	if (!p || !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	    (*p >= '0' && *p <= '9')))
		return false;
	return strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_.-") == strlen(p);
}

static void
settings(struct deploy *d, const char *project)
{
	d->podman = phx_cfg_str(d->cfg, "deployment.podman", "podman");
	d->composecmd = phx_cfg_str(d->cfg, "deployment.compose", "podman-compose");
	d->project = project ? project
	    : phx_cfg_str(d->cfg, "deployment.project", "phoenix-hydra");
	d->attempts = (int)phx_cfg_num(d->cfg, "deployment.retries", 3);
	if (d->attempts < 1)
		d->attempts = 1;
	d->timeout_ms = (int64_t)phx_cfg_num(d->cfg, "deployment.timeout", 300000);
	d->cleanup = phx_cfg_bool(d->cfg, "deployment.cleanup_on_failure", true);
	d->log_lines = (int)phx_cfg_num(d->cfg, "deployment.log_lines", 50);
	if (!valid_project(d->project))
		phx_die(PHX_EXIT_USAGE, "project name \"%s\": use letters, digits, "
		    "'_', '.', '-', starting with a letter or digit", d->project);
}

/* reads and checks the compose file; name is what messages call it */
static void
load_compose(struct deploy *d, const char *path, const char *text, size_t len)
{
	char *err = NULL, *slash;

	if (text) {
		d->compose_text = phx_malloc(len + 1);
		memcpy(d->compose_text, text, len);
		d->compose_text[len] = '\0';
		d->compose_len = len;
		d->compose_path = phx_strdup(path);
	} else {
		char real[PATH_MAX];
		d->compose_text = phx_read_file(path, &d->compose_len);
		if (!d->compose_text)
			phx_edie(PHX_EXIT_USAGE, "compose file %s", path);
		d->compose_path = phx_strdup(realpath(path, real) ? real : path);
	}
	d->compose_dir = phx_strdup(d->compose_path);
	slash = strrchr(d->compose_dir, '/');
	if (slash)
		*(slash == d->compose_dir ? slash + 1 : slash) = '\0';
	d->compose = phx_compose_parse(path, d->compose_text,
	    d->compose_len, slash ? d->compose_dir : ".", &err);
	if (!d->compose) {
		phx_log(PHX_ERROR, "%s", err);
		free(err);
		phx_exit(PHX_EXIT_USAGE);
	}
}

/* claims an id and writes the snapshots: the compose file, the resolved
 * configuration (secrets masked) and state.json */
static void
start_state(struct deploy *d)
{
	char *id = phx_claim_deployment_id(), *path, *cfg;
	char ts[32];

	phx_set_deployment_id(id);
	path = state_path(id, "compose.yaml");
	if (!phx_write_file(path, d->compose_text, d->compose_len))
		phx_edie(PHX_EXIT_ENV, "%s", path);
	free(path);
	path = state_path(id, "config.json");
	cfg = cJSON_Print(d->cfg);
	write_redacted(path, cfg);
	free(cfg);
	free(path);
	now_ts(ts);
	d->state = cJSON_CreateObject();
	cJSON_AddStringToObject(d->state, "deployment_id", id);
	cJSON_AddStringToObject(d->state, "project", d->project);
	cJSON_AddStringToObject(d->state, "compose_file", d->compose_path);
	cJSON_AddStringToObject(d->state, "compose_dir", d->compose_dir);
	cJSON_AddStringToObject(d->state, "snapshot", "compose.yaml");
	cJSON_AddStringToObject(d->state, "status", "STARTING");
	cJSON_AddStringToObject(d->state, "started", ts);
	cJSON_AddNumberToObject(d->state, "attempts", 0);
	cJSON_AddNumberToObject(d->state, "attempts_allowed", d->attempts);
	cJSON_AddNumberToObject(d->state, "pid", (double)getpid());
	if (d->restored_from)
		cJSON_AddStringToObject(d->state, "restored_from", d->restored_from);
	if (d->rollback_of)
		cJSON_AddStringToObject(d->state, "rollback_of", d->rollback_of);
	cJSON_AddItemToObject(d->state, "services",
	    key_names(cJSON_GetObjectItemCaseSensitive(d->compose, "services")));
	state_save(d);
	free(id);
}

/* podman-compose resolves relative paths (volumes, env_file, .env) from
 * the compose file's folder: a restored snapshot is put back there */
static bool
place_run_file(struct deploy *d)
{
	struct stat st;

	if (stat(d->compose_path, &st) == 0) {
		char *text = phx_read_file(d->compose_path, NULL);
		bool same = text && strlen(text) == d->compose_len &&
		    memcmp(text, d->compose_text, d->compose_len) == 0;
		free(text);
		if (same) {
			d->run_file = phx_strdup(d->compose_path);
			return false;
		}
	}
	d->run_file = phx_asprintf("%s/.phx-%s.yaml", d->compose_dir,
	    phx_deployment_id());
	if (phx_write_file(d->run_file, d->compose_text, d->compose_len))
		return true;
	phx_log(PHX_WARN, "%s: %s; relative paths resolve from the state "
	    "directory", d->run_file, strerror(errno));
	free(d->run_file);
	d->run_file = state_path(phx_deployment_id(), "compose.yaml");
	return false;
}

static void
deploy_free(struct deploy *d)
{
	cJSON_Delete(d->cfg);
	cJSON_Delete(d->compose);
	cJSON_Delete(d->state);
	free(d->compose_path);
	free(d->compose_dir);
	free(d->compose_text);
	free(d->run_file);
}

/* ---- subcommands ---- */

static int
cmd_up(struct deploy *d, const char *compose, const char *project)
{
	char *first, *stream_id;
	bool nl = true, temp;
	int64_t started;
	int status;

	settings(d, project);
	load_compose(d, compose ? compose
	    : phx_cfg_str(d->cfg, "deployment.compose_file", "infra/podman/compose.yaml"),
	    NULL, 0);
	if (!dry_run) {
		need_tools(d, true);
		lock_project(d->project);
	}
	first = input_first(&nl, &stream_id);
	free(stream_id);
	if (dry_run) {
		started = phx_phase_start("deploy");
		pass_copy(first, nl);
		status = plan(d);
		input_drain();
		phx_phase_end("deploy", started, "ok", NULL);
		return status;
	}
	start_state(d);
	started = phx_phase_start("deploy");
	pass_copy(first, nl);
	catch_signals();
	temp = place_run_file(d);
	status = deploy_up(d);
	if (temp)
		unlink(d->run_file);
	input_drain();
	if (phx_stdout_failed()) {
		set_item(d->state, "stdout_failed", cJSON_CreateTrue());
		state_save(d);
	}
	phx_phase_end("deploy", started, status == 0 ? "ok" : status == 1 ?
	    "failed" : "error", NULL);
	return status;
}

static cJSON *
known_state(const char *id)
{
	cJSON *st = state_load(id);

	if (!phx_valid_deployment_id(id))
		phx_die(PHX_EXIT_USAGE, "%s: not a deployment id "
		    "(deploy_YYYYMMDD_HHMMSS)", id);
	if (!st)
		phx_die(PHX_EXIT_USAGE, "%s: unknown deployment id (no %s/%s/state.json)",
		    id, phx_state_dir(), id);
	return st;
}

/* removes the deployment's project; records the final state */
static int
teardown(struct deploy *d, const char *id)
{
	cJSON *ps = project_ps(d), *left, *rec;
	const cJSON *c;
	int removed[3] = { 0 };

	if (cJSON_GetArraySize(ps))
		preserve(d, id, "down", ps);
	left = remove_project(d, removed);
	cJSON_ArrayForEach(c, ps) {
		if (left && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(left,
		    "containers")))
			break;
		rec = phx_record_new("container");
		cJSON_AddStringToObject(rec, "service", label(c, LABEL_SERVICE) ?
		    label(c, LABEL_SERVICE) : "");
		cJSON_AddStringToObject(rec, "container_id", phx_jstr(c, "Id"));
		cJSON_AddStringToObject(rec, "name", cJSON_GetArrayItem(
		    cJSON_GetObjectItemCaseSensitive(c, "Names"), 0)->valuestring);
		cJSON_AddStringToObject(rec, "state", "removed");
		phx_emit(rec);
	}
	cJSON_Delete(ps);
	rec = phx_record_new("deployment");
	cJSON_AddStringToObject(rec, "status", left ? "failed" : "down");
	cJSON_AddStringToObject(rec, "project", d->project);
	if (d->compose_path)
		cJSON_AddStringToObject(rec, "compose_file", d->compose_path);
	cJSON *rm = cJSON_AddObjectToObject(rec, "removed");
	cJSON_AddNumberToObject(rm, "containers", removed[0]);
	cJSON_AddNumberToObject(rm, "networks", removed[1]);
	cJSON_AddNumberToObject(rm, "volumes", removed[2]);
	if (left) {
		cJSON_AddStringToObject(rec, "reason", "leftovers");
		cJSON_AddStringToObject(rec, "message", "some objects could not be "
		    "removed; see the commands on standard error");
		cJSON_AddItemToObject(rec, "leftovers", left);
	}
	phx_emit(rec);
	return left ? PHX_EXIT_FAIL : PHX_EXIT_OK;
}

static void
dry_down(struct deploy *d)
{
	cJSON *ps = project_ps(d), *rec;
	const cJSON *c;

	cJSON_ArrayForEach(c, ps) {
		rec = phx_record_new("container");
		cJSON_AddStringToObject(rec, "service", label(c, LABEL_SERVICE) ?
		    label(c, LABEL_SERVICE) : "");
		cJSON_AddStringToObject(rec, "container_id", phx_jstr(c, "Id"));
		cJSON_AddStringToObject(rec, "name", cJSON_GetArrayItem(
		    cJSON_GetObjectItemCaseSensitive(c, "Names"), 0)->valuestring);
		cJSON_AddStringToObject(rec, "state", phx_jstr(c, "State"));
		phx_emit(rec);
	}
	cJSON_Delete(ps);
	rec = phx_record_new("deployment");
	cJSON_AddStringToObject(rec, "status", "planned");
	cJSON_AddStringToObject(rec, "action", "down");
	cJSON_AddStringToObject(rec, "project", d->project);
	phx_emit(rec);
}

static void
mark(const char *id, const char *status, const char *key, const char *val)
{
	struct deploy tmp = { 0 };
	char ts[32];

	tmp.state = state_load(id);
	if (!tmp.state)
		return;
	now_ts(ts);
	if (key)
		set_str(tmp.state, key, val);
	set_str(tmp.state, "stack", strcmp(status, "DOWN") == 0 ||
	    strcmp(status, "ROLLED_BACK") == 0 ? "removed" : "leftovers");
	set_str(tmp.state, "down_at", ts);
	state_status(&tmp, status);
	cJSON_Delete(tmp.state);
}

static int
cmd_down(struct deploy *d, const char *id)
{
	cJSON *st;
	char *first, *stream_id;
	bool nl = true;
	int64_t started;
	int status;

	st = known_state(id);
	settings(d, phx_jstr(st, "project"));
	d->compose_path = phx_jstr(st, "compose_file") ?
	    phx_strdup(phx_jstr(st, "compose_file")) : NULL;
	need_tools(d, false);
	if (!dry_run)
		lock_project(d->project);
	first = input_first(&nl, &stream_id);
	free(stream_id);
	phx_set_deployment_id(id);
	started = phx_phase_start("down");
	pass_copy(first, nl);
	if (dry_run) {
		dry_down(d);
		status = PHX_EXIT_OK;
	} else {
		status = teardown(d, id);
		mark(id, status == 0 ? "DOWN" : "DOWN_INCOMPLETE", NULL, NULL);
	}
	input_drain();
	phx_phase_end("down", started, status == 0 ? "ok" : "failed", NULL);
	cJSON_Delete(st);
	return status;
}

/* the configuration a deployment was made with, from its snapshot */
static cJSON *
snapshot_config(const char *id)
{
	char *path = state_path(id, "config.json");
	char *text = phx_read_file(path, NULL);
	cJSON *cfg = text ? cJSON_Parse(text) : NULL;

	free(path);
	free(text);
	return cfg;
}

static int
cmd_rollback(struct deploy *d, const char *id)
{
	cJSON *st = NULL, *prev_st, *prev_cfg;
	char *first, *stream_id, *prev, *path, *text;
	const char *project;
	size_t len;
	bool nl = true, temp;
	int64_t started;
	int status;

	st = known_state(id);
	project = phx_jstr(st, "project");
	prev = find_deployment(project, id, true);
	if (!prev) {
		phx_log(PHX_ERROR, "%s: no earlier successful deployment of "
		    "project %s to roll back to", id, project ? project : "?");
		cJSON_Delete(st);
		input_drain();
		return PHX_EXIT_FAIL;
	}
	prev_st = state_load(prev);
	prev_cfg = snapshot_config(prev);
	path = state_path(prev, "compose.yaml");
	text = phx_read_file(path, &len);
	if (!text || !prev_cfg || !prev_st || !phx_jstr(prev_st, "compose_file"))
		phx_die(PHX_EXIT_USAGE, "%s: snapshot of %s is incomplete", path, prev);
	free(path);
	cJSON_Delete(d->cfg);
	d->cfg = prev_cfg;
	settings(d, project);
	load_compose(d, phx_jstr(prev_st, "compose_file"), text, len);
	free(text);
	d->restored_from = prev;
	d->rollback_of = id;
	if (!dry_run) {
		need_tools(d, true);
		lock_project(d->project);
	}
	first = input_first(&nl, &stream_id);
	free(stream_id);
	if (dry_run) {
		phx_set_deployment_id(id);
		started = phx_phase_start("rollback");
		pass_copy(first, nl);
		cJSON *rec = deployment_record(d, "planned", 0);
		cJSON_AddStringToObject(rec, "action", "rollback");
		phx_emit(rec);
		input_drain();
		phx_phase_end("rollback", started, "ok", NULL);
		cJSON_Delete(st);
		cJSON_Delete(prev_st);
		free(prev);
		return PHX_EXIT_OK;
	}
	start_state(d);
	started = phx_phase_start("rollback");
	pass_copy(first, nl);
	phx_log(PHX_INFO, "rolling %s back to %s", id, prev);
	catch_signals();
	status = teardown(d, id);
	mark(id, status == 0 ? "ROLLED_BACK" : "DOWN_INCOMPLETE",
	    "rolled_back_by", phx_deployment_id());
	if (status == 0 && !got_signal) {
		temp = place_run_file(d);
		status = deploy_up(d);
		if (temp)
			unlink(d->run_file);
	} else if (got_signal)
		status = exit_for_signal();
	input_drain();
	phx_phase_end("rollback", started, status == 0 ? "ok" : status == 1 ?
	    "failed" : "error", NULL);
	cJSON_Delete(st);
	cJSON_Delete(prev_st);
	free(prev);
	return status;
}

static int
cmd_status(struct deploy *d, const char *id)
{
	char *first, *stream_id, *latest = NULL;
	cJSON *st, *ps, *ids, *infos, *stt, *rec, *services;
	const cJSON *svc;
	const char *status;
	bool nl = true, all = true;
	int64_t started;

	first = input_first(&nl, &stream_id);
	if (!id && stream_id && phx_valid_deployment_id(stream_id))
		id = stream_id;
	if (!id && !(id = latest = find_deployment(NULL, NULL, false)))
		phx_die(PHX_EXIT_USAGE, "%s: no deployments", phx_state_dir());
	st = known_state(id);
	settings(d, phx_jstr(st, "project"));
	need_tools(d, false);
	phx_set_deployment_id(id);
	started = phx_phase_start("status");
	pass_copy(first, nl);
	ps = project_ps(d);
	ids = ids_of(ps, "Id");
	infos = inspect(d, ids);
	stt = stats(d, ids);
	services = cJSON_GetObjectItemCaseSensitive(st, "services");
	cJSON_ArrayForEach(svc, services) {
		const cJSON *c = container_of(ps, svc->valuestring);
		const cJSON *info = c ? info_by_id(infos, phx_jstr(c, "Id")) : NULL;
		if (!info) {
			phx_emit(missing_record(svc->valuestring, NULL));
			all = false;
			continue;
		}
		all &= strcmp(phx_jstr(phx_cfg(info, "State"), "Status"), "running") == 0;
		phx_emit(container_record(svc->valuestring, info,
		    cJSON_GetObjectItemCaseSensitive(stt, phx_jstr(info, "Id"))));
	}
	status = phx_jstr(st, "status");
	rec = phx_record_new("deployment");
	cJSON_AddStringToObject(rec, "status", all ? "running" :
	    status && (strcmp(status, "DOWN") == 0 || strcmp(status, "ROLLED_BACK") == 0)
	    ? (strcmp(status, "DOWN") == 0 ? "down" : "rolled_back") : "failed");
	cJSON_AddStringToObject(rec, "project", d->project);
	if (phx_jstr(st, "compose_file"))
		cJSON_AddStringToObject(rec, "compose_file", phx_jstr(st, "compose_file"));
	if (status)
		cJSON_AddStringToObject(rec, "state", status);
	phx_emit(rec);
	input_drain();
	phx_phase_end("status", started, all ? "ok" : "failed", NULL);
	cJSON_Delete(ps);
	cJSON_Delete(ids);
	cJSON_Delete(infos);
	cJSON_Delete(stt);
	cJSON_Delete(st);
	free(stream_id);
	free(latest);
	return all ? PHX_EXIT_OK : PHX_EXIT_FAIL;
}

/* restarts one service's container and waits until it has stayed up */
static int
cmd_restart(struct deploy *d, const char *service, const char *project)
{
	char *first, *stream_id, *latest;
	cJSON *ps, *ids, *infos = NULL, *stt;
	const cJSON *c, *info;
	const char *argv[] = { NULL, "restart", "-t", STOP_TIMEOUT, NULL, NULL };
	struct failure f = { 0 };
	struct phx_run r;
	bool nl = true, ok;
	int64_t started, deadline;

	settings(d, project);
	need_tools(d, false);
	lock_project(d->project);
	ps = project_ps(d);
	if (!(c = container_of(ps, service)))
		phx_die(PHX_EXIT_USAGE, "service %s: no container in project %s",
		    service, d->project);
	first = input_first(&nl, &stream_id);
	latest = find_deployment(d->project, NULL, false);
	phx_set_deployment_id(stream_id ? stream_id : latest);
	started = phx_phase_start("restart");
	pass_copy(first, nl);
	argv[0] = d->podman;
	argv[4] = phx_jstr(c, "Id");
	ok = run_cmd(argv, 0, false, &r) && r.status == 0;
	if (!ok) {
		char *e = last_error_line(&r.err);
		phx_log(PHX_ERROR, "podman restart %s: %s", service, e);
		free(e);
	}
	deadline = phx_now_ms() + 30000;
	ids = cJSON_CreateArray();
	cJSON_AddItemToArray(ids, cJSON_CreateString(phx_jstr(c, "Id")));
	for (;;) {
		const char *state;
		cJSON_Delete(infos);
		infos = inspect(d, ids);
		info = cJSON_GetArrayItem(infos, 0);
		state = phx_jstr(phx_cfg(info, "State"), "Status");
		ok = state && strcmp(state, "running") == 0;
		if (ok && phx_wall_ms() - started_ms(info) >= SETTLE_MS)
			break;
		if (!ok && (!state || strcmp(state, "exited") == 0 ||
		    strcmp(state, "created") == 0 || strcmp(state, "stopped") == 0))
			break;
		if (phx_now_ms() > deadline) {
			ok = false;
			break;
		}
		sleep_ms(ok ? SETTLE_MS - (phx_wall_ms() - started_ms(info)) : POLL_MS);
	}
	if (ok) {
		stt = stats(d, ids);
		phx_emit(container_record(service, info,
		    cJSON_GetObjectItemCaseSensitive(stt, phx_jstr(info, "Id"))));
		cJSON_Delete(stt);
	} else {
		cJSON *svc = cJSON_CreateObject();
		cJSON_AddStringToObject(svc, "image", phx_jstr(c, "Image") ?
		    phx_jstr(c, "Image") : "");
		diagnose(d, service, svc, info, &r, &f);
		emit_failure(d, &f, 1);
		failure_free(&f);
		cJSON_Delete(svc);
	}
	phx_run_free(&r);
	input_drain();
	phx_phase_end("restart", started, ok ? "ok" : "failed", NULL);
	cJSON_Delete(infos);
	cJSON_Delete(ids);
	cJSON_Delete(ps);
	free(stream_id);
	free(latest);
	return ok ? PHX_EXIT_OK : PHX_EXIT_FAIL;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "project", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char **files = phx_calloc((size_t)argc + 1, sizeof *files);
	struct phx_config_opts copts = { files, 0 };
	struct deploy d = { 0 };
	const char *compose = NULL, *project = NULL, *cmd;
	int ch, status;

	phx_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "c:f:hnp:qvV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': files[copts.nfiles++] = optarg; break;
		case 'f': compose = optarg; break;
		case 'h': usage(stdout); free(files); phx_exit(PHX_EXIT_OK);
		case 'n': dry_run = true; break;
		case 'p': project = optarg; break;
		case 'q': phx_log_quieter(); break;
		case 'v': phx_log_louder(); break;
		case 'V': free(files); phx_version();
		default: usage(stderr); free(files); phx_exit(PHX_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	cmd = argc > 0 ? argv[0] : NULL;
	if (!cmd || (strcmp(cmd, "up") == 0 && argc != 1) ||
	    ((strcmp(cmd, "down") == 0 || strcmp(cmd, "rollback") == 0 ||
	    strcmp(cmd, "restart") == 0) && argc != 2) ||
	    (strcmp(cmd, "status") == 0 && argc > 2)) {
		usage(stderr);
		free(files);
		phx_exit(PHX_EXIT_USAGE);
	}
	d.cfg = phx_config_load(&copts);
	free(files);
	phx_set_state_dir(phx_cfg_str(d.cfg, "deployment.state_dir", ".phx"));
	input_open();
	if (strcmp(cmd, "up") == 0)
		status = cmd_up(&d, compose, project);
	else if (strcmp(cmd, "down") == 0)
		status = cmd_down(&d, argv[1]);
	else if (strcmp(cmd, "rollback") == 0)
		status = cmd_rollback(&d, argv[1]);
	else if (strcmp(cmd, "status") == 0)
		status = cmd_status(&d, argc > 1 ? argv[1] : NULL);
	else if (strcmp(cmd, "restart") == 0)
		status = cmd_restart(&d, argv[1], project);
	else {
		phx_log(PHX_ERROR, "%s: unknown command", cmd);
		usage(stderr);
		status = PHX_EXIT_USAGE;
	}
	if (input)
		phx_reader_free(input);
	deploy_free(&d);
	phx_set_state_dir(NULL);
	phx_set_deployment_id(NULL);
	phx_secrets_clear();
	phx_exit(status);
}
