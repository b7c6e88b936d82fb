/* rollback: down, then up again from the last successful deployment's snapshots */
#include <stdlib.h>
#include <unistd.h>

#include "deploy.h"

int
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
	if (!deploy_globals.dry_run) {
		need_tools(d, true);
		lock_project(d->project);
	}
	first = input_first(&nl, &stream_id);
	free(stream_id);
	if (deploy_globals.dry_run) {
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
	if (status == 0 && !deploy_globals.got_signal) {
		temp = place_run_file(d);
		status = deploy_up(d);
		if (temp)
			unlink(d->run_file);
	} else if (deploy_globals.got_signal)
		status = exit_for_signal();
	input_drain();
	phx_phase_end("rollback", started, status == 0 ? "ok" : status == 1 ?
	    "failed" : "error", NULL);
	cJSON_Delete(st);
	cJSON_Delete(prev_st);
	free(prev);
	return status;
}
