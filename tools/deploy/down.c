/* down: removing a deployment's stack */
#include <stdlib.h>

#include "deploy.h"

/* a container record of one entry of podman ps's JSON */
static void
emit_container(const cJSON *c, const char *state)
{
	cJSON *rec = phx_record_new("container");
	const char *service = phx_podman_label(c, PHX_LABEL_SERVICE);

	cJSON_AddStringToObject(rec, "service", service ? service : "");
	cJSON_AddStringToObject(rec, "container_id", phx_jstr(c, "Id"));
	cJSON_AddStringToObject(rec, "name", cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(c, "Names"), 0)->valuestring);
	cJSON_AddStringToObject(rec, "state", state);
	phx_emit(rec);
}

/* removes the deployment's project, its named volumes only when asked
 * (they are data: compose's down keeps them too); records the final state */
int
teardown(struct deploy *d, const char *id, bool volumes)
{
	cJSON *ps = project_ps(d), *left, *rec;
	cJSON *kept = volumes ? NULL : project_objects(d, "volume");
	const cJSON *c;
	int removed[3] = { 0 };

	if (cJSON_GetArraySize(ps))
		preserve(id, "down", ps);
	left = remove_project(d, removed, kept);
	cJSON_ArrayForEach(c, ps) {
		if (left && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(left,
		    "containers")))
			break;
		emit_container(c, "removed");
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
	if (cJSON_GetArraySize(kept)) {
		phx_log(PHX_INFO, "project %s: %d volume(s) kept, for the next up "
		    "(phx-deploy down --volumes %s removes them)", d->project,
		    cJSON_GetArraySize(kept), id);
		cJSON_AddItemToObject(cJSON_AddObjectToObject(rec, "kept"),
		    "volumes", kept);
	} else
		cJSON_Delete(kept);
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
	cJSON *ps = d->kube_context ? NULL : project_ps(d), *rec;
	const cJSON *c;

	cJSON_ArrayForEach(c, ps)
		emit_container(c, phx_jstr(c, "State"));
	cJSON_Delete(ps);
	rec = phx_record_new("deployment");
	cJSON_AddStringToObject(rec, "status", "planned");
	cJSON_AddStringToObject(rec, "action", "down");
	cJSON_AddStringToObject(rec, "project", d->project);
	phx_emit(rec);
}

int
cmd_down(struct deploy *d, const char *id, bool volumes)
{
	cJSON *st;
	char *first, *stream_id;
	bool nl = true;
	int64_t started;
	int status;

	st = known_state(id);
	settings(d, phx_jstr(st, "project"));
	d->kube_context = phx_jstr(st, "kube_context");
	d->kube_volumes = cJSON_Duplicate(phx_cfg(st, "kube_volumes"), true);
	d->compose_path = phx_jstr(st, "compose_file") ?
	    phx_strdup(phx_jstr(st, "compose_file")) : NULL;
	need_tools(d, false);
	if (!deploy_globals.dry_run)
		lock_project(d);
	first = input_first(&nl, &stream_id);
	free(stream_id);
	phx_set_deployment_id(id);
	started = phx_phase_start("down");
	pass_copy(first, nl);
	if (deploy_globals.dry_run) {
		dry_down(d);
		status = PHX_EXIT_OK;
	} else {
		status = d->kube_context ? kubectl_down(d, id, st, volumes)
		    : teardown(d, id, volumes);
		mark(id, status == 0 ? "DOWN" : "DOWN_INCOMPLETE", NULL, NULL);
	}
	input_drain();
	phx_phase_end("down", started, status == 0 ? "ok" : "failed", NULL);
	cJSON_Delete(st);
	return status;
}
