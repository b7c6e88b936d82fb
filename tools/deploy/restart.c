/* restart: one service's container, waiting until it has stayed up */
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

/* polls podman inspect until the container has been running for
 * SETTLE_MS, has stopped, or 30 s have passed; *infos is the last
 * inspect */
static bool
wait_settled(const cJSON *ids, cJSON **infos)
{
	int64_t deadline = phx_now_ms() + 30000;
	const cJSON *info;
	bool ok;

	for (;;) {
		const char *state;
		cJSON_Delete(*infos);
		*infos = inspect(ids);
		info = cJSON_GetArrayItem(*infos, 0);
		state = phx_jstr(phx_cfg(info, "State"), "Status");
		ok = state && strcmp(state, "running") == 0;
		if (ok && phx_wall_ms() - started_ms(info) >= SETTLE_MS)
			break;
		if (!ok && (!state || strcmp(state, "exited") == 0 ||
		    strcmp(state, "created") == 0 || strcmp(state, "stopped") == 0))
			break;
		if (phx_now_ms() > deadline) {
			ok = false;
			break;
		}
		phx_sleep_ms(ok ? SETTLE_MS - (phx_wall_ms() - started_ms(info)) : POLL_MS);
	}
	return ok;
}

/* restarts one service's container and waits until it has stayed up */
int
cmd_restart(struct deploy *d, const char *service, const char *project)
{
	char *first, *stream_id, *latest, *why = NULL;
	cJSON *ps, *ids, *infos = NULL, *stt;
	const cJSON *c, *info;
	static const char *args[] = { "restart", "-t", STOP_TIMEOUT, NULL };
	const char *ops[] = { NULL, NULL };
	struct failure f = { 0 };
	struct phx_run r;
	bool nl = true, ok;
	int64_t started;

	settings(d, project);
	need_tools(d, false);
	lock_project(d);
	ps = project_ps(d);
	if (!(c = container_of(ps, service)))
		phx_die(PHX_EXIT_USAGE, "service %s: no container in project %s",
		    service, d->project);
	first = input_first(&nl, &stream_id);
	latest = find_deployment(d->project, NULL, false);
	phx_set_deployment_id(stream_id ? stream_id : latest);
	started = phx_phase_start("restart");
	pass_copy(first, nl);
	ops[0] = phx_jstr(c, "Id");
	if (!phx_podman(args, ops, &r, &why)) {
		phx_log(PHX_ERROR, "service %s: %s", service, why);
		free(why);
	}
	ids = cJSON_CreateArray();
	cJSON_AddItemToArray(ids, cJSON_CreateString(phx_jstr(c, "Id")));
	ok = wait_settled(ids, &infos);
	info = cJSON_GetArrayItem(infos, 0);
	if (ok) {
		stt = stats(ids);
		phx_emit(container_record(service, info,
		    cJSON_GetObjectItemCaseSensitive(stt, phx_jstr(info, "Id"))));
		cJSON_Delete(stt);
	} else {
		cJSON *svc = cJSON_CreateObject();
		cJSON_AddStringToObject(svc, "image", phx_jstr(c, "Image") ?
		    phx_jstr(c, "Image") : "");
		diagnose(d, service, svc, info, &r, &f);
		emit_failure(d, &f, 1);
		failure_free(&f);
		cJSON_Delete(svc);
	}
	phx_run_free(&r);
	input_drain();
	phx_phase_end("restart", started, ok ? "ok" : "failed", NULL);
	cJSON_Delete(infos);
	cJSON_Delete(ids);
	cJSON_Delete(ps);
	free(stream_id);
	free(latest);
	return ok ? PHX_EXIT_OK : PHX_EXIT_FAIL;
}
