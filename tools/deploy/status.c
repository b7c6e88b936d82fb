/* status: what podman (or kubectl, on a cluster) says of a deployment's
 * services now */
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

/* a container record for each of the deployment's services (a missing
 * one when it has none); true when every one runs */
static bool
emit_pods(struct deploy *d, const cJSON *st)
{
	cJSON *pods = kubectl_get(d, "pods", true);
	cJSON *views = kubectl_views(d, pods, phx_cfg(st, "port_forwards"));
	const cJSON *svc, *v;
	bool all = true;

	cJSON_ArrayForEach(svc, cJSON_GetObjectItemCaseSensitive(st, "services")) {
		bool found = false;
		cJSON_ArrayForEach(v, views) {
			if (strcmp(phx_podman_label(v, PHX_LABEL_SERVICE),
			    svc->valuestring) != 0)
				continue;
			found = true;
			all &= strcmp(phx_jstr(phx_cfg(v, "State"), "Status"),
			    "running") == 0;
			phx_emit(container_record(svc->valuestring, v, NULL));
		}
		if (!found)
			phx_emit(missing_record(svc->valuestring, NULL));
		all &= found;
	}
	cJSON_Delete(views);
	cJSON_Delete(pods);
	return all;
}

/* the compose file as up ran it (its one-shot jobs); NULL when gone */
static cJSON *
snapshot_compose(const cJSON *st)
{
	char *path = state_path(phx_jstr(st, "deployment_id"), "compose.yaml");
	char *err = NULL;
	cJSON *compose = phx_compose_load(path, &err);

	free(err);
	free(path);
	return compose;
}

static bool
emit_containers(struct deploy *d, const cJSON *st)
{
	cJSON *ps, *ids, *infos, *stt, *compose;
	const cJSON *svc;
	bool all = true;

	if (d->kube_context)
		return emit_pods(d, st);
	ps = project_ps(d);
	ids = ids_of(ps, "Id");
	infos = inspect(ids);
	stt = stats(ids);
	compose = snapshot_compose(st);
	cJSON_ArrayForEach(svc, cJSON_GetObjectItemCaseSensitive(st, "services")) {
		const cJSON *c = container_of(ps, svc->valuestring);
		const cJSON *info = c ? info_by_id(infos, phx_jstr(c, "Id")) : NULL;
		cJSON *rec;
		if (!info) {
			phx_emit(missing_record(svc->valuestring, NULL));
			all = false;
			continue;
		}
		rec = container_record(svc->valuestring, info,
		    cJSON_GetObjectItemCaseSensitive(stt, phx_jstr(info, "Id")));
		mark_completed(rec, compose);
		all &= strcmp(phx_jstr(rec, "state"), "running") == 0 ||
		    strcmp(phx_jstr(rec, "state"), "completed") == 0;
		phx_emit(rec);
	}
	cJSON_Delete(compose);
	cJSON_Delete(ps);
	cJSON_Delete(ids);
	cJSON_Delete(infos);
	cJSON_Delete(stt);
	return all;
}

static void
emit_deployment(struct deploy *d, const cJSON *st, bool all)
{
	const char *status = phx_jstr(st, "status");
	cJSON *rec = phx_record_new("deployment");

	cJSON_AddStringToObject(rec, "status", all ? "running" :
	    status && (strcmp(status, "DOWN") == 0 || strcmp(status, "ROLLED_BACK") == 0)
	    ? (strcmp(status, "DOWN") == 0 ? "down" : "rolled_back") : "failed");
	cJSON_AddStringToObject(rec, "project", d->project);
	if (phx_jstr(st, "compose_file"))
		cJSON_AddStringToObject(rec, "compose_file", phx_jstr(st, "compose_file"));
	if (status)
		cJSON_AddStringToObject(rec, "state", status);
	phx_emit(rec);
}

int
cmd_status(struct deploy *d, const char *id)
{
	char *first, *stream_id, *latest = NULL;
	cJSON *st;
	bool nl = true, all;
	int64_t started;

	first = input_first(&nl, &stream_id);
	if (!id && stream_id && phx_valid_deployment_id(stream_id))
		id = stream_id;
	if (!id && !(id = latest = find_deployment(NULL, NULL, false)))
		phx_die(PHX_EXIT_USAGE, "%s: no deployments", phx_state_dir());
	st = known_state(id);
	settings(d, phx_jstr(st, "project"));
	d->kube_context = phx_jstr(st, "kube_context");
	need_tools(d, false);
	phx_set_deployment_id(id);
	started = phx_phase_start("status");
	pass_copy(first, nl);
	all = emit_containers(d, st);
	emit_deployment(d, st, all);
	input_drain();
	phx_phase_end("status", started, all ? "ok" : "failed", NULL);
	cJSON_Delete(st);
	free(stream_id);
	free(latest);
	return all ? PHX_EXIT_OK : PHX_EXIT_FAIL;
}
