/* up: the attempts, the records of the stack that runs */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy.h"

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
			if (phx_podman_label(i, PHX_LABEL_SERVICE) &&
			    strcmp(phx_podman_label(i, PHX_LABEL_SERVICE),
			    svc->string) == 0)
				info = i;
		if (!info)
			continue;
		/* a one-shot job is judged by its exit (its container
		 * record), not checked as a service */
		if (!phx_compose_is_job(d->compose, svc->string))
			phx_emit(service_record(d, svc->string, svc, info));
		rec = cJSON_CreateObject();
		cJSON_AddStringToObject(rec, "service", svc->string);
		cJSON_AddStringToObject(rec, "name", phx_jstr(info, "Name"));
		cJSON_AddStringToObject(rec, "id", phx_jstr(info, "Id"));
		cJSON_AddItemToArray(containers, rec);
	}
	ids = ids_of(infos, "Id");
	st = d->stats ? d->stats : stats(ids);
	d->stats = NULL;
	cJSON_Delete(ids);
	cJSON_ArrayForEach(svc, services) {
		const cJSON *i;
		cJSON_ArrayForEach(i, infos)
			if (phx_podman_label(i, PHX_LABEL_SERVICE) &&
			    strcmp(phx_podman_label(i, PHX_LABEL_SERVICE),
			    svc->string) == 0) {
				rec = container_record(svc->string, i,
				    cJSON_GetObjectItemCaseSensitive(st, phx_jstr(i, "Id")));
				mark_completed(rec, d->compose);
				phx_emit(rec);
			}
	}
	cJSON_Delete(st);
	set_item(d->state, "containers", containers);
	rec = deployment_record(d, "running", attempt);
	cJSON_AddNumberToObject(rec, "duration_ms", (double)(phx_now_ms() - started));
	phx_emit(rec);
}

/* removes what an attempt left, keeping its logs first, and the volumes
 * that were there before this up */
static bool
clean_attempt(struct deploy *d, const char *when)
{
	cJSON *ps, *left;
	int removed[3] = { 0 };

	if (d->kube_context)
		return kubectl_clean(d, when);
	ps = project_ps(d);
	if (cJSON_GetArraySize(ps))
		preserve(phx_jstr(d->state, "deployment_id"), when, ps);
	cJSON_Delete(ps);
	left = remove_project(d, removed, d->volumes_before);
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

/* what the engine's command (podman-compose, podman kube play) said
 * on an attempt, masked, as logs/attempt-N/NAME */
void
save_attempt_log(struct deploy *d, int attempt, const struct phx_run *pc,
    const char *name)
{
	char *dir = phx_asprintf("%s/%s/logs/attempt-%d", phx_state_dir(),
	    phx_jstr(d->state, "deployment_id"), attempt);
	char *path = phx_asprintf("%s/%s", dir, name);
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

	if (d->kube)
		return d->kube_context ? kubectl_attempt(d, attempt, f, infos)
		    : kube_attempt(d, attempt, f, infos);
	if (!preflight(d, f))
		return UP_FAILED;
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
	run_compose(a.v, d->timeout_ms, &pc);
	args_free(&a);
	save_attempt_log(d, attempt, &pc, "podman-compose.log");
	if (pc.exec_failed) {
		f->reason = phx_strdup("environment");
		f->message = phx_asprintf("%s: %s", d->composecmd,
		    strerror(pc.exec_errno));
		o = UP_ENV;
	} else if (pc.cancelled || phx_signal)
		o = UP_INTERRUPTED;
	else
		o = confirm(d, deadline, &pc, infos, f);
	phx_run_free(&pc);
	return o;
}

/* removes the containers an earlier deployment of the project left,
 * and its networks; its volumes are data and stay, for this one to use.
 * False, with state.json FAILED, when some could not be removed */
static bool
replace_earlier(struct deploy *d)
{
	cJSON *old = project_ps(d), *left, *vols;
	char *prev;
	int removed[3];

	if (!cJSON_GetArraySize(old)) {
		cJSON_Delete(old);
		return true;
	}
	prev = find_deployment(d->project, phx_jstr(d->state, "deployment_id"),
	    false);
	phx_log(PHX_WARN, "project %s: removing %d container(s) left by an "
	    "earlier deployment%s%s", d->project, cJSON_GetArraySize(old),
	    prev ? ", " : "", prev ? prev : "");
	if (prev)
		mark_stack(prev, "replaced", "replaced_by",
		    phx_jstr(d->state, "deployment_id"));
	free(prev);
	preserve(phx_jstr(d->state, "deployment_id"), "before", old);
	vols = project_objects(d, "volume");
	left = remove_project(d, removed, vols);
	cJSON_Delete(vols);
	cJSON_Delete(old);
	if (left) {
		cJSON_Delete(left);
		phx_emit_error("leftovers", "project %s: an earlier deployment's "
		    "containers could not be removed", d->project);
		state_status(d, "FAILED");
		return false;
	}
	return true;
}

/* attempts until one succeeds, is interrupted or cannot run, at most
 * d->attempts; *attempt is the number of the last one */
static enum outcome
run_attempts(struct deploy *d, struct failure *f, cJSON **infos, int *attempt)
{
	enum outcome o = UP_FAILED;
	cJSON *rec;
	int a;

	for (a = 1; a <= d->attempts && !phx_signal; a++) {
		phx_emit(deployment_record(d, "starting", a));
		set_num(d->state, "attempts", a);
		state_save(d);
		failure_free(f);
		o = attempt_up(d, a, f, infos);
		if (o == UP_OK || o == UP_INTERRUPTED)
			break;
		emit_failure(d, f, a);
		if (o == UP_ENV || !failure_retried(f))
			break;
		rec = deployment_record(d, "failed", a);
		cJSON_AddStringToObject(rec, "reason", f->reason);
		cJSON_AddStringToObject(rec, "message", f->message);
		if (a < d->attempts) {
			phx_emit(rec);
			char *when = phx_asprintf("attempt-%d", a);
			clean_attempt(d, when);
			free(when);
		} else
			cJSON_Delete(rec);
	}
	*attempt = a;
	return o;
}

/* the records and state of an up that failed or was interrupted; cleans
 * up when asked to (always when interrupted) */
static int
up_failed(struct deploy *d, struct failure *f, enum outcome o, int attempt,
    int64_t started)
{
	int last = attempt > d->attempts ? d->attempts : attempt;
	cJSON *rec;

	if (o == UP_INTERRUPTED || phx_signal) {
		failure_free(f);
		f->reason = phx_strdup("interrupted");
		f->message = phx_asprintf("interrupted by signal %d during up",
		    (int)phx_signal);
		phx_log(PHX_WARN, "%s; cleaning up", f->message);
	}
	rec = deployment_record(d, "failed", last);
	cJSON_AddStringToObject(rec, "reason", f->reason);
	cJSON_AddStringToObject(rec, "message", f->message);
	cJSON_AddNumberToObject(rec, "duration_ms", (double)(phx_now_ms() - started));
	phx_emit(rec);
	set_str(d->state, "reason", f->reason);
	set_str(d->state, "message", f->message);
	set_str(d->state, "result", o == UP_INTERRUPTED ? "INTERRUPTED" : "FAILED");
	state_status(d, o == UP_INTERRUPTED ? "INTERRUPTED" : "FAILED");
	if (d->cleanup || o == UP_INTERRUPTED) {
		char *when = o == UP_INTERRUPTED ? phx_strdup("interrupted")
		    : phx_asprintf("attempt-%d", last);
		set_str(d->state, "stack", clean_attempt(d, when) ? "removed" : "leftovers");
		free(when);
	} else
		set_str(d->state, "stack", "left for inspection");
	state_save(d);
	failure_free(f);
	if (o == UP_INTERRUPTED)
		return phx_signal_status();
	return o == UP_ENV ? PHX_EXIT_ENV : PHX_EXIT_FAIL;
}

/* the named volumes already there are used as they are, as compose
 * does: said, and kept in state.json, because their data was made with
 * the secrets of the run that created them */
static void
note_volumes(struct deploy *d)
{
	const cJSON *v;
	char *names;

	d->volumes_before = project_objects(d, "volume");
	if (!cJSON_GetArraySize(d->volumes_before))
		return;
	names = phx_strdup("");
	cJSON_ArrayForEach(v, d->volumes_before) {
		char *more = phx_asprintf("%s%s%s", names, *names ? ", " : "",
		    v->valuestring);
		free(names);
		names = more;
	}
	phx_log(PHX_INFO, "project %s: reusing %d volume(s) of an earlier "
	    "deployment, data as it was: %s (phx-deploy down --volumes "
	    "removes them)", d->project, cJSON_GetArraySize(d->volumes_before),
	    names);
	free(names);
	set_item(d->state, "volumes_reused", cJSON_Duplicate(d->volumes_before,
	    true));
}

/* the attempts; emits records and keeps state.json current */
int
deploy_up(struct deploy *d)
{
	int64_t started = phx_now_ms();
	struct failure f = { 0 };
	enum outcome o;
	cJSON *infos = NULL;
	char ts[32];
	int attempt;

	if (d->kube_context)   /* apply updates in place */
		kubectl_claims_before(d);
	else if (!replace_earlier(d))
		return PHX_EXIT_FAIL;
	else
		note_volumes(d);
	o = run_attempts(d, &f, &infos, &attempt);
	if (phx_signal && o != UP_OK)
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
	return up_failed(d, &f, o, attempt, started);
}

/* -n: the records of what would be deployed (either engine) */
int
plan(struct deploy *d)
{
	const cJSON *svc;

	phx_emit(deployment_record(d, "planned", 0));
	cJSON_ArrayForEach(svc, cJSON_GetObjectItemCaseSensitive(d->compose, "services"))
		phx_emit(service_record(d, svc->string, svc, NULL));
	return PHX_EXIT_OK;
}

int
cmd_up(struct deploy *d, const char *compose, const char *project)
{
	char *first;
	bool nl = true, temp;
	int64_t started;
	int status;

	d->phase = "deploy";
	settings(d, project);
	load_compose(d, compose ? compose
	    : phx_cfg_str(d->cfg, "deployment.compose_file"),
	    NULL, 0);
	first = claim_project(d, &nl);
	if (deploy_globals.dry_run) {
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
	phx_signal_catch(NULL);
	temp = place_run_file(d);
	status = deploy_up(d);
	if (temp)
		unlink(d->run_file);
	if (status == PHX_EXIT_FAIL && d->rollback_on_failure && !phx_signal)
		recover_by_rollback(d);
	input_drain();
	if (phx_stdout_failed()) {
		set_item(d->state, "stdout_failed", cJSON_CreateTrue());
		state_save(d);
	}
	phx_phase_end("deploy", started, status == 0 ? "ok" : status == 1 ?
	    "failed" : "error", NULL);
	return status;
}
