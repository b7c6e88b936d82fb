/* rollback: down, then up again from the last successful deployment's snapshots */
#include <stdlib.h>
#include <unistd.h>

#include "deploy.h"

/* puts the configuration and compose file prev was made with into d */
static void
restore_snapshot(struct deploy *d, const char *prev, const char *project)
{
	cJSON *prev_st = state_load(prev), *prev_cfg = snapshot_config(prev);
	char *path = state_path(prev, "compose.yaml"), *text;
	size_t len;

	text = phx_read_file(path, &len);
	if (!text || !prev_cfg || !prev_st || !phx_jstr(prev_st, "compose_file"))
		phx_die(PHX_EXIT_USAGE, "%s: snapshot of %s is incomplete", path, prev);
	free(path);
	cJSON_Delete(d->cfg);
	d->cfg = prev_cfg;
	settings(d, project);
	load_compose(d, phx_jstr(prev_st, "compose_file"), text, len);
	free(text);
	cJSON_Delete(prev_st);
}

/* -n: the record of the rollback that would be made */
static int
dry_rollback(struct deploy *d, const char *id, char *first, bool nl)
{
	int64_t started;
	cJSON *rec;

	phx_set_deployment_id(id);
	started = phx_phase_start("rollback");
	pass_copy(first, nl);
	rec = deployment_record(d, "planned", 0);
	cJSON_AddStringToObject(rec, "action", "rollback");
	phx_emit(rec);
	input_drain();
	phx_phase_end("rollback", started, "ok", NULL);
	return PHX_EXIT_OK;
}

/* tears id down, then brings prev's snapshot up as a new deployment */
static int
roll_back(struct deploy *d, const char *id, const char *prev, char *first,
    bool nl)
{
	int64_t started;
	int status;
	bool temp;

	start_state(d);
	started = phx_phase_start("rollback");
	pass_copy(first, nl);
	phx_log(PHX_INFO, "rolling %s back to %s", id, prev);
	phx_signal_catch(NULL);
	status = teardown(d, id);
	mark(id, status == 0 ? "ROLLED_BACK" : "DOWN_INCOMPLETE",
	    "rolled_back_by", phx_deployment_id());
	if (status == 0 && !phx_signal) {
		temp = place_run_file(d);
		status = deploy_up(d);
		if (temp)
			unlink(d->run_file);
	} else if (phx_signal)
		status = phx_signal_status();
	input_drain();
	phx_phase_end("rollback", started, status == 0 ? "ok" : status == 1 ?
	    "failed" : "error", NULL);
	return status;
}

int
cmd_rollback(struct deploy *d, const char *id)
{
	cJSON *st;
	char *first, *stream_id, *prev;
	const char *project;
	bool nl = true;
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
	restore_snapshot(d, prev, project);
	d->restored_from = prev;
	d->rollback_of = id;
	if (!deploy_globals.dry_run) {
		need_tools(d, true);
		lock_project(d->project);
	}
	first = input_first(&nl, &stream_id);
	free(stream_id);
	if (deploy_globals.dry_run)
		status = dry_rollback(d, id, first, nl);
	else
		status = roll_back(d, id, prev, first, nl);
	cJSON_Delete(st);
	free(prev);
	return status;
}
