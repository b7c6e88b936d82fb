/* asking podman about the project, through lib's one podman wrapper;
 * and running podman-compose */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy.h"

/* podman-compose up: cancellable, bounded by the deployment's timeout */
bool
run_compose(const char *const *argv, int64_t timeout_ms, struct phx_run *r)
{
	memset(r, 0, sizeof *r);
	r->argv = argv;
	r->timeout_ms = timeout_ms;
	r->cancel = &phx_signal;
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
		phx_log(PHX_WARN, "%s: timed out after %lld ms", argv[0],
		    (long long)r->timeout_ms);
	return !r->exec_failed && !r->timed_out;
}

/* podman ARGS -- OPERANDS; false, warned, when it failed */
bool
podman_run(const char *const *args, const char *const *operands,
    struct phx_run *r)
{
	char *why = NULL;
	bool ok = phx_podman(args, operands, r, &why);

	if (!ok)
		phx_log(PHX_WARN, "%s", why);
	free(why);
	return ok;
}

static cJSON *
podman_list(const char *const *args, const char *const *operands)
{
	char *why = NULL;
	cJSON *j = phx_podman_json(args, operands, &why);

	if (!j)
		phx_log(PHX_WARN, "%s", why);
	free(why);
	return cJSON_IsArray(j) ? j : (cJSON_Delete(j), cJSON_CreateArray());
}

/* the operands of a call: the strings of a cJSON array */
static const char **
operands_of(const cJSON *arr)
{
	const char **v = phx_calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *v);
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it))
			v[n++] = it->valuestring;
	return v;
}

/* every container of the project, as `podman ps -a` lists them */
cJSON *
project_ps(struct deploy *d)
{
	char *why = NULL;
	cJSON *j = phx_podman_project_ps(d->project, &why);

	if (!j) {
		phx_log(PHX_WARN, "%s", why);
		free(why);
		j = cJSON_CreateArray();
	}
	return j;
}

/* names of the project's networks or volumes ("network" / "volume") */
cJSON *
project_objects(struct deploy *d, const char *kind)
{
	char *filter = phx_asprintf("label=%s=%s", PHX_LABEL_PROJECT, d->project);
	const char *args[] = { kind, "ls", "--format", "{{.Name}}", "--filter",
	    filter, NULL };
	cJSON *names = cJSON_CreateArray();
	struct phx_run r;
	char *save = NULL;

	if (podman_run(args, NULL, &r)) {
		char *out = phx_strdup(phx_buf_str(&r.out));
		for (char *l = strtok_r(out, "\n", &save); l;
		    l = strtok_r(NULL, "\n", &save))
			if (*l)
				cJSON_AddItemToArray(names, cJSON_CreateString(l));
		free(out);
	}
	phx_run_free(&r);
	free(filter);
	return names;
}

cJSON *
inspect(const cJSON *ids)
{
	static const char *args[] = { "inspect", "--type", "container", NULL };
	const char **ops;
	cJSON *j;

	if (!cJSON_GetArraySize(ids))
		return cJSON_CreateArray();
	ops = operands_of(ids);
	j = podman_list(args, ops);
	free(ops);
	return j;
}

static const char *const stats_args[] = { "stats", "--no-stream", "--format",
    "{{json .ContainerStats}}", NULL };

/* one ContainerStats object a line; a line that is not one (a warning
 * on the same pipe) is passed over */
static cJSON *
stats_parse(const char *text)
{
	cJSON *byid = cJSON_CreateObject();
	char *out = phx_strdup(text), *save = NULL;

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
	return byid;
}

/* {container id: ContainerStats} for running containers */
cJSON *
stats(const cJSON *ids)
{
	const char **ops;
	struct phx_run r;
	cJSON *byid;

	if (!cJSON_GetArraySize(ids))
		return cJSON_CreateObject();
	ops = operands_of(ids);
	byid = stats_parse(podman_run(stats_args, ops, &r) ?
	    phx_buf_str(&r.out) : "");
	phx_run_free(&r);
	free(ops);
	return byid;
}

/* inspect(ids), with podman stats of the same containers running beside
 * it: the stats the running record needs cost no time of their own.
 * *st is NULL when stats could not be started (then stats() later). */
cJSON *
inspect_and_stats(const cJSON *ids, cJSON **st)
{
	const char **ops = operands_of(ids);
	struct phx_run r;
	struct phx_buf b = { 0 };
	char buf[8192];
	ssize_t n;
	int fd = -1;
	cJSON *info;

	*st = NULL;
	if (!cJSON_GetArraySize(ids) || !phx_podman_start(stats_args, ops, &r, &fd))
		fd = -1;
	free(ops);
	info = inspect(ids);
	if (fd < 0)
		return info;
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	while ((n = read(fd, buf, sizeof buf)) > 0 ||
	    (n < 0 && errno == EINTR && !phx_signal))
		if (n > 0)
			phx_buf_add(&b, buf, (size_t)n);
	close(fd);
	if (phx_signal)
		phx_run_kill(&r);
	else
		phx_run_reap(&r, true);
	if (r.status == 0 && !phx_signal)
		*st = stats_parse(phx_buf_str(&b));
	phx_buf_free(&b);
	phx_run_free(&r);
	return info;
}

/* every image of the list is here (true for none): one podman call */
bool
images_exist(const cJSON *names)
{
	static const char *args[] = { "image", "inspect", "--format", "{{.Id}}",
	    NULL };
	const char **ops;
	struct phx_run r;
	bool yes;

	if (!cJSON_GetArraySize(names))
		return true;
	ops = operands_of(names);
	yes = phx_podman(args, ops, &r, NULL);
	phx_run_free(&r);
	free(ops);
	return yes;
}

/* podman KIND exists NAME: an image, a network */
bool
podman_exists(const char *kind, const char *name)
{
	const char *args[] = { kind, "exists", NULL };
	const char *ops[] = { name, NULL };
	struct phx_run r;
	bool yes = phx_podman(args, ops, &r, NULL);

	phx_run_free(&r);
	return yes;
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
		const char *s = phx_podman_label(c, PHX_LABEL_SERVICE);
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
