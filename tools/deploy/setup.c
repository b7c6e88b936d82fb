/* setting up a deployment: settings, the compose file, the lock, the snapshots */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy.h"

/* dies when cmd is not there to run */
static void
need(struct deploy *d, const char *cmd, const char *package)
{
	char *p = phx_which(cmd);

	if (!p)
		deploy_fail(d, PHX_EXIT_ENV, "environment", "%s: not found in "
		    "PATH; install %s (make deps)", cmd, package);
	free(p);
}

void
need_tools(struct deploy *d, bool compose_too)
{
	if (d->kube_context) {
		need(d, d->kubectl, "kubectl");
		return;
	}
	need(d, d->podman, "Podman");
	if (compose_too)
		need(d, d->composecmd, "podman-compose");
}

/* one phx-deploy at a time per project: two would remove each other's
 * containers.  The lock goes when the process does. */
void
lock_project(struct deploy *d)
{
	char *path;
	int fd;

	phx_mkdirs(phx_state_dir());
	path = phx_asprintf("%s/.lock.%s", phx_state_dir(), d->project);
	/* not open(): a link planted there would have us create its target */
	fd = phx_open_append(path, 0600);
	if (fd < 0)
		deploy_fail(d, PHX_EXIT_ENV, "environment", "%s: %s", path,
		    strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			deploy_fail(d, PHX_EXIT_ENV, "locked", "project %s: "
			    "another phx-deploy is working on it (lock %s)",
			    d->project, path);
		deploy_fail(d, PHX_EXIT_ENV, "environment", "%s: %s", path,
		    strerror(errno));
	}
	free(path);
}

/* before up and rollback read their input: the tools there and the
 * project locked (a failure is one of d->phase, which ends here), unless
 * a dry run; returns the first input line */
char *
claim_project(struct deploy *d, bool *nl)
{
	char *first, *stream_id;

	if (!deploy_globals.dry_run) {
		need_tools(d, true);
		lock_project(d);
	}
	d->phase = NULL;
	first = input_first(nl, &stream_id);
	free(stream_id);
	return first;
}

/* recovery.deployment (phx(7)): retry is deployment.retries as it is,
 * abort one attempt, rollback the retries then the last SUCCESS back */
static void
recovery_setting(struct deploy *d)
{
	const char *v = phx_cfg_str(d->cfg, "recovery.deployment");

	d->rollback_on_failure = strcmp(v, "rollback") == 0;
	if (strcmp(v, "abort") == 0)
		d->attempts = 1;
	else if (strcmp(v, "retry") != 0 && !d->rollback_on_failure)
		deploy_fail(d, PHX_EXIT_USAGE, "config_invalid",
		    "recovery.deployment: expected retry, rollback or abort, "
		    "got \"%s\"", v);
}

void
settings(struct deploy *d, const char *project)
{
	phx_podman_setup(d->cfg);
	d->podman = phx_podman_program();
	d->composecmd = phx_cfg_str(d->cfg, "deployment.compose");
	d->kubectl = phx_cfg_str(d->cfg, "deployment.kubectl");
	d->project = project ? project
	    : phx_cfg_str(d->cfg, "deployment.project");
	d->attempts = (int)phx_cfg_int(d->cfg, "deployment.retries", INT_MIN,
	    INT_MAX);
	if (d->attempts < 1)
		d->attempts = 1;
	d->timeout_ms = phx_cfg_int(d->cfg, "deployment.timeout", INT64_MIN,
	    INT64_MAX);
	d->cleanup = phx_cfg_bool(d->cfg, "deployment.cleanup_on_failure");
	recovery_setting(d);
	d->log_lines = (int)phx_cfg_int(d->cfg, "deployment.log_lines", INT_MIN,
	    INT_MAX);
	if (!phx_podman_valid_name(d->project))
		deploy_fail(d, PHX_EXIT_USAGE, "config_invalid", "project name "
		    "\"%s\": use letters, digits, '_', '.', '-', starting with a "
		    "letter or digit", d->project);
}

/* reads and checks the compose file; name is what messages call it */
void
load_compose(struct deploy *d, const char *path, const char *text, size_t len)
{
	char *err = NULL, *slash;

	if (text) {
		d->compose_text = phx_malloc(len + 1);
		memcpy(d->compose_text, text, len);
		d->compose_text[len] = '\0';
		d->compose_len = len;
		d->compose_path = phx_strdup(path);
	} else {
		char real[PATH_MAX];
		d->compose_text = phx_read_file(path, &d->compose_len);
		if (!d->compose_text) {
			int saved = errno;
			d->compose_path = phx_strdup(path);
			errno = saved;
			deploy_fail(d, PHX_EXIT_USAGE, errno == ENOENT ?
			    "compose_missing" : "compose_unreadable",
			    "compose file %s: %s", path, strerror(errno));
		}
		d->compose_path = phx_strdup(realpath(path, real) ? real : path);
	}
	d->compose_dir = phx_strdup(d->compose_path);
	slash = strrchr(d->compose_dir, '/');
	if (slash)
		*(slash == d->compose_dir ? slash + 1 : slash) = '\0';
	d->compose = phx_compose_parse(path, d->compose_text,
	    d->compose_len, slash ? d->compose_dir : ".", &err);
	if (!d->compose)
		deploy_fail(d, PHX_EXIT_USAGE, compose_error_reason(err), "%s", err);
}

/* claims an id and writes the snapshots: the compose file, the resolved
 * configuration (secrets masked) and state.json */
void
start_state(struct deploy *d)
{
	char *id = phx_claim_deployment_id(), *path, *cfg;
	char ts[32];

	phx_set_deployment_id(id);
	path = state_path(id, "compose.yaml");
	if (!phx_write_file(path, d->compose_text, d->compose_len))
		phx_edie(PHX_EXIT_ENV, "%s", path);
	free(path);
	path = state_path(id, "config.json");
	cfg = cJSON_Print(d->cfg);
	write_redacted(path, cfg);
	free(cfg);
	free(path);
	now_ts(ts);
	d->state = cJSON_CreateObject();
	cJSON_AddStringToObject(d->state, "deployment_id", id);
	cJSON_AddStringToObject(d->state, "project", d->project);
	cJSON_AddStringToObject(d->state, "compose_file", d->compose_path);
	cJSON_AddStringToObject(d->state, "compose_dir", d->compose_dir);
	cJSON_AddStringToObject(d->state, "snapshot", "compose.yaml");
	cJSON_AddStringToObject(d->state, "status", "STARTING");
	cJSON_AddStringToObject(d->state, "started", ts);
	cJSON_AddNumberToObject(d->state, "attempts", 0);
	cJSON_AddNumberToObject(d->state, "attempts_allowed", d->attempts);
	cJSON_AddNumberToObject(d->state, "pid", (double)getpid());
	if (d->restored_from)
		cJSON_AddStringToObject(d->state, "restored_from", d->restored_from);
	if (d->rollback_of)
		cJSON_AddStringToObject(d->state, "rollback_of", d->rollback_of);
	cJSON_AddItemToObject(d->state, "services",
	    key_names(cJSON_GetObjectItemCaseSensitive(d->compose, "services")));
	state_save(d);
	free(id);
}

/* podman-compose resolves relative paths (volumes, env_file, .env) from
 * the compose file's folder: a restored snapshot is put back there */
bool
place_run_file(struct deploy *d)
{
	struct stat st;

	if (stat(d->compose_path, &st) == 0) {
		char *text = phx_read_file(d->compose_path, NULL);
		bool same = text && strlen(text) == d->compose_len &&
		    memcmp(text, d->compose_text, d->compose_len) == 0;
		free(text);
		if (same) {
			d->run_file = phx_strdup(d->compose_path);
			return false;
		}
	}
	d->run_file = phx_asprintf("%s/.phx-%s.yaml", d->compose_dir,
	    phx_deployment_id());
	if (phx_write_file(d->run_file, d->compose_text, d->compose_len))
		return true;
	phx_log(PHX_WARN, "%s: %s; relative paths resolve from the state "
	    "directory", d->run_file, strerror(errno));
	free(d->run_file);
	d->run_file = state_path(phx_deployment_id(), "compose.yaml");
	return false;
}

void
deploy_free(struct deploy *d)
{
	cJSON_Delete(d->cfg);
	cJSON_Delete(d->compose);
	cJSON_Delete(d->state);
	cJSON_Delete(d->volumes_before);
	cJSON_Delete(d->stats);
	cJSON_Delete(d->claims_before);
	free(d->compose_path);
	free(d->compose_dir);
	free(d->compose_text);
	free(d->run_file);
	phx_kube_free(d->kube);
	cJSON_Delete(d->kube_workloads);
	cJSON_Delete(d->kube_volumes);
	free(d->kube_play);
}
