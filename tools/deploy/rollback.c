/* rollback: down, then up again from the last successful deployment's snapshots */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy.h"

/* puts the compose file prev was made with into d.  Only data comes
 * from the state directory, and only from inside it: the programs run,
 * podman's settings and where the file is put back come from the
 * current configuration (a planted config.json or compose_file path
 * must not choose what runs as root, or where it writes) */
static void
restore_snapshot(struct deploy *d, const char *prev, const char *project,
    const char *compose)
{
	cJSON *prev_st = state_load(prev);
	char *path = state_path(prev, "compose.yaml"), *text, real[PATH_MAX];
	const char *was;
	size_t len;

	settings(d, project);
	text = phx_read_file(path, &len);
	if (!text || !prev_st)
		deploy_fail(d, PHX_EXIT_USAGE, "snapshot_incomplete", "%s: "
		    "snapshot of %s is incomplete", path, prev);
	free(path);
	if (!compose)
		compose = phx_cfg_str(d->cfg, "deployment.compose_file");
	if (realpath(compose, real))
		compose = real;
	was = phx_jstr(prev_st, "compose_file");
	if (was && strcmp(was, compose) != 0)
		phx_log(PHX_WARN, "%s was deployed from %s; its snapshot is put "
		    "beside %s, the compose file configured now", prev, was,
		    compose);
	load_compose(d, compose, text, len);
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
	status = teardown(d, id, false);   /* the data goes on */
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
cmd_rollback(struct deploy *d, const char *id, const char *compose)
{
	cJSON *st;
	char *first, *prev;
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
	d->phase = "rollback";
	restore_snapshot(d, prev, project, compose);
	d->restored_from = prev;
	d->rollback_of = id;
	first = claim_project(d, &nl);
	if (deploy_globals.dry_run)
		status = dry_rollback(d, id, first, nl);
	else
		status = roll_back(d, id, prev, first, nl);
	cJSON_Delete(st);
	free(prev);
	return status;
}

/* recovery.deployment: rollback.  The restored deployment's records go
 * to the failed one's rollback.ndjson, not to the stream: the stream is
 * the failed deployment's (its verdict stays FAILED, and phx-probe must
 * not check the old stack as the new one); the recovery record tells
 * what came of it.  *as: the id the restored deployment got */
static int
up_restored(struct deploy *r, const char *failed, char **as)
{
	char *path = state_path(failed, "rollback.ndjson");
	int saved, fd, status;
	bool temp;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = phx_open_append(path, 0600);
	if (saved < 0 || fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
		phx_edie(PHX_EXIT_ENV, "%s", path);
	close(fd);
	start_state(r);
	*as = phx_strdup(phx_deployment_id());
	temp = place_run_file(r);
	status = deploy_up(r);
	if (temp)
		unlink(r->run_file);
	fflush(stdout);
	if (dup2(saved, STDOUT_FILENO) < 0)
		phx_edie(PHX_EXIT_ENV, "standard output");
	close(saved);
	free(path);
	return status;
}

/* after up failed in the end: the last SUCCESS deployment of the
 * project back up, and a recovery record either way */
void
recover_by_rollback(struct deploy *d)
{
	char *failed = phx_strdup(phx_jstr(d->state, "deployment_id"));
	char *prev = find_deployment(d->project, failed, true), *as = NULL;
	char *why = phx_asprintf("deployment %s failed (%s)%s", failed,
	    phx_jstr(d->state, "reason") ? phx_jstr(d->state, "reason") : "?",
	    prev ? "" : "; no earlier successful deployment to roll back to");
	struct deploy r = { 0 };
	int status = PHX_EXIT_FAIL;
	cJSON *rec;

	if (prev) {
		phx_log(PHX_INFO, "recovery.deployment rollback: bringing %s "
		    "back (its records: %s/%s/rollback.ndjson)", prev,
		    phx_state_dir(), failed);
		r.cfg = d->cfg;
		restore_snapshot(&r, prev, d->project, d->compose_path);
		r.restored_from = prev;
		r.rollback_of = failed;
		status = up_restored(&r, failed, &as);
		r.cfg = NULL;
		deploy_free(&r);
		phx_set_deployment_id(failed);
		set_str(d->state, "rollback_to", prev);
		set_str(d->state, "rolled_back_as", as);
		state_save(d);
	} else
		phx_log(PHX_WARN, "recovery.deployment rollback: %s", why);
	rec = phx_recovery_record("deployment", "rollback", NULL, why);
	cJSON_AddStringToObject(rec, "outcome", status == PHX_EXIT_OK ?
	    "recovered" : "failed");
	if (prev)
		cJSON_AddStringToObject(rec, "to", prev);
	if (as)
		cJSON_AddStringToObject(rec, "restored_as", as);
	phx_emit(rec);
	free(why);
	free(as);
	free(prev);
	free(failed);
}
