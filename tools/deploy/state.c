/* the state directory: one folder per deployment, with its state.json */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

void
write_redacted(const char *path, const char *text)
{
	char *clean = phx_redact(text ? text : "");

	if (!phx_write_file(path, clean, strlen(clean)))
		phx_log(PHX_WARN, "%s: %s", path, strerror(errno));
	free(clean);
}

char *
state_path(const char *id, const char *name)
{
	return phx_deployment_path(id, name);
}

void
state_save(struct deploy *d)
{
	char *path = state_path(phx_jstr(d->state, "deployment_id"), "state.json");
	char *s = cJSON_Print(d->state);

	write_redacted(path, s);
	free(s);
	free(path);
}

void
state_status(struct deploy *d, const char *status)
{
	char ts[32];

	now_ts(ts);
	set_str(d->state, "status", status);
	set_str(d->state, "updated", ts);
	state_save(d);
}

cJSON *
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
char *
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
void
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

void
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

cJSON *
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
