/* logs: podman logs splits the container's stdout and stderr; -t
 * timestamps let us put them back in order */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

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
char *
container_log(const char *name, int tail, bool keep_ts)
{
	char n[32];
	const char *args[] = { "logs", "-t", "--tail", n, NULL };
	const char *ops[] = { name, NULL };
	struct phx_buf b = { 0 };
	struct phx_run r;
	char *o, *e, *po, *pe, *lo, *le, *clean;

	snprintf(n, sizeof n, "%d", tail > 0 ? tail : -1);
	phx_podman(args, ops, &r, NULL);
	if (r.exec_failed || r.timed_out) {
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

/* the log podman keeps in a k8s-file ("TS stdout|stderr F|P text" a
 * line, both streams in order, P a part of a longer line), read in place:
 * no podman call a container.  NULL when it logs elsewhere or the file
 * cannot be read: then podman logs. */
static char *
k8s_file_log(const cJSON *info)
{
	const cJSON *lc = phx_cfg(phx_cfg(info, "HostConfig"), "LogConfig");
	const char *type = phx_jstr(lc, "Type"), *path = phx_jstr(lc, "Path");
	struct phx_buf b = { 0 };
	char *text, *p, *l, *clean;
	bool whole = true;

	if (!type || strcmp(type, "k8s-file") != 0 || !path ||
	    !(text = phx_read_file(path, NULL)))
		return NULL;
	for (p = text; (l = next_line(&p));) {
		char *stream = strchr(l, ' '), *flag, *msg;
		if (!stream || !(flag = strchr(stream + 1, ' ')) ||
		    !(msg = strchr(flag + 1, ' ')))
			continue;
		if (whole)   /* a line's first part carries its time */
			phx_buf_printf(&b, "%.*s ", (int)(stream - l), l);
		whole = flag[1] != 'P';
		phx_buf_addstr(&b, msg + 1);
		if (whole)
			phx_buf_addstr(&b, "\n");
	}
	free(text);
	clean = phx_redact(phx_buf_str(&b));
	phx_buf_free(&b);
	return clean;
}

/* keeps every container's full log and inspect JSON in
 * STATE/ID/logs/WHEN/ before anything is removed */
void
preserve(const char *id, const char *when, const cJSON *ps)
{
	char *dir = phx_asprintf("%s/%s/logs/%s", phx_state_dir(), id, when);
	cJSON *ids = cJSON_CreateArray(), *info;
	const cJSON *c;

	phx_mkdirs(dir);
	cJSON_ArrayForEach(c, ps)
		cJSON_AddItemToArray(ids, cJSON_CreateString(phx_jstr(c, "Id")));
	info = inspect(ids);
	cJSON_ArrayForEach(c, info) {
		const char *name = phx_jstr(c, "Name");
		char *log, *path, *json;
		if (!name)
			continue;
		if (!(log = k8s_file_log(c)))
			log = container_log(name, 0, true);
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
