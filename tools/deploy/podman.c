/* running podman and asking it about the project */
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

#define LABEL_PROJECT "io.podman.compose.project"
#define PODMAN_TIMEOUT_MS 120000

bool
run_cmd(const char *const *argv, int64_t timeout_ms, bool cancellable,
    struct phx_run *r)
{
	memset(r, 0, sizeof *r);
	r->argv = argv;
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : PODMAN_TIMEOUT_MS;
	r->cancel = cancellable ? &deploy_globals.got_signal : NULL;
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
char *
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
cJSON *
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
cJSON *
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

cJSON *
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
cJSON *
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

bool
image_exists(struct deploy *d, const char *image)
{
	const char *argv[] = { d->podman, "image", "exists", image, NULL };
	struct phx_run r;
	bool yes = run_cmd(argv, 0, false, &r) && r.status == 0;

	phx_run_free(&r);
	return yes;
}

const char *
label(const cJSON *ps_entry, const char *key)
{
	return phx_jstr(cJSON_GetObjectItemCaseSensitive(ps_entry, "Labels"), key);
}

cJSON *
ids_of(const cJSON *list, const char *key)
{
	cJSON *ids = cJSON_CreateArray();
	const cJSON *c;

	cJSON_ArrayForEach(c, list)
		if (phx_jstr(c, key))
			cJSON_AddItemToArray(ids, cJSON_CreateString(phx_jstr(c, key)));
	return ids;
}

const cJSON *
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

const cJSON *
info_by_id(const cJSON *infos, const char *id)
{
	const cJSON *i;

	cJSON_ArrayForEach(i, infos)
		if (id && phx_jstr(i, "Id") && strcmp(phx_jstr(i, "Id"), id) == 0)
			return i;
	return NULL;
}
