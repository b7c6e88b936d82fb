/* phx-deploy --engine kube up: the readiness probes podman 4 does not run
 * (it turns livenessProbe into a healthcheck and ignores readinessProbe),
 * restarts as a crash loop, and the command itself */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy.h"

/* the inspect object of container cname of the workload's pod */
static const cJSON *
pod_container(const cJSON *infos, const char *service, const char *cname)
{
	const cJSON *i;
	size_t n = strlen(cname);

	cJSON_ArrayForEach(i, infos) {
		const char *s = phx_podman_label(i, PHX_LABEL_SERVICE);
		const char *name = phx_jstr(i, "Name");
		size_t len = name ? strlen(name) : 0;
		if (s && strcmp(s, service) == 0 && len > n + 1 &&
		    name[len - n - 1] == '-' && strcmp(name + len - n, cname) == 0)
			return i;
	}
	return NULL;
}

/* podman exec CONTAINER COMMAND...: true when it exits 0; *said the
 * last line it wrote */
static bool
exec_probe(const char *container, const cJSON *cmd, char **said)
{
	static const char *args[] = { "exec", NULL };
	const char **ops = phx_calloc((size_t)cJSON_GetArraySize(cmd) + 2,
	    sizeof *ops);
	const cJSON *a;
	struct phx_run r;
	size_t n = 0;
	bool ok;

	ops[n++] = container;
	cJSON_ArrayForEach(a, cmd)
		if (cJSON_IsString(a))
			ops[n++] = a->valuestring;
	ok = phx_podman(args, ops, &r, NULL);
	free(*said);
	*said = phx_error_line(r.err.len ? &r.err : &r.out);
	phx_run_free(&r);
	free(ops);
	return ok;
}

/* f for a container that failed with reason: the same fields whichever
 * path found it; log_tail is f's to free */
void
kube_fail(struct failure *f, const char *service, const cJSON *info,
    const char *reason, char *log_tail)
{
	f->service = phx_strdup(service);
	f->container = phx_strdup(phx_jstr(info, "Name"));
	f->image = phx_strdup(phx_jstr(info, "ImageName"));
	f->reason = phx_strdup(reason);
	f->crec = container_record(service, info, NULL);
	f->log_tail = log_tail ? log_tail : phx_strdup("");
	cJSON_AddStringToObject(f->crec, "log_tail", f->log_tail);
}

static void
fail_container(struct deploy *d, struct failure *f, const char *service,
    const cJSON *info, const char *reason)
{
	kube_fail(f, service, info, reason, container_log(phx_jstr(info,
	    "Name"), d->log_lines, false));
}

/* runs container c's exec readinessProbe until it passes, for at most
 * initialDelaySeconds + periodSeconds * failureThreshold (the time the
 * kubelet gives a liveness probe), polled each second */
static bool
probe_ready(struct deploy *d, int64_t deadline, const char *service,
    const cJSON *c, const cJSON *info, struct failure *f)
{
	const cJSON *rp = cJSON_GetObjectItemCaseSensitive(c, "readinessProbe");
	const cJSON *cmd = phx_cfg(rp, "exec.command");
	int64_t window = 1000 * (phx_jint(rp, "initialDelaySeconds", 0, 0, 3600) +
	    phx_jint(rp, "periodSeconds", 10, 1, 3600) *
	    phx_jint(rp, "failureThreshold", 3, 1, 100));
	int64_t until = phx_now_ms() + window;
	char *said = NULL;

	if (!cJSON_IsArray(cmd))
		return true;   /* httpGet, tcpSocket: phx-probe's checks */
	if (until > deadline)
		until = deadline;
	while (!exec_probe(phx_jstr(info, "Name"), cmd, &said)) {
		if (phx_now_ms() >= until || phx_signal) {
			fail_container(d, f, service, info, "not_ready");
			f->message = phx_asprintf("service %s: readiness probe of "
			    "container %s failed for %lld s%s%s", service,
			    f->container, (long long)window / 1000, *said ? ": " : "",
			    said);
			free(said);
			return false;
		}
		phx_sleep_ms(1000);
	}
	free(said);
	return true;
}

/* the log's last lines, on one line */
static char *
last_lines(const char *log)
{
	char *last = phx_tail_lines(log, strlen(log), 3);
	size_t n = strlen(last);

	while (n && last[n - 1] == '\n')
		last[--n] = '\0';
	for (char *c = last; *c; c++)
		if (*c == '\n')
			*c = ';';
	return last;
}

char *
crash_loop_message(const char *service, const char *container, int restarts,
    const char *log_tail)
{
	char *last = last_lines(log_tail ? log_tail : ""), *msg;

	msg = phx_asprintf("service %s: container %s restarted %d time(s) "
	    "(a crash loop)%s%s", service, container, restarts,
	    *last ? "; last log: " : "", last);
	free(last);
	return msg;
}

/* UP_OK when every readiness probe passes and no container restarted
 * meanwhile; *infos is then inspected again */
enum outcome
kube_ready(struct deploy *d, int64_t deadline, cJSON **infos,
    struct failure *f)
{
	int64_t began = phx_now_ms();
	const cJSON *w, *c, *i;
	cJSON *ids, *now;

	cJSON_ArrayForEach(w, d->kube_workloads)
		cJSON_ArrayForEach(c, phx_cfg(phx_kube_pod_spec(w), "containers")) {
			const cJSON *info = pod_container(*infos, w->string,
			    phx_jstr(c, "name"));
			if (info && !probe_ready(d, deadline, w->string, c, info, f))
				return phx_signal ? UP_INTERRUPTED : UP_FAILED;
		}
	/* a container that dies a second after it starts is restarted by
	 * its pod: give that time to show */
	if (phx_now_ms() - began < KUBE_SETTLE_MS)
		phx_sleep_ms(KUBE_SETTLE_MS - (phx_now_ms() - began));
	if (phx_signal)
		return UP_INTERRUPTED;
	ids = ids_of(*infos, "Id");
	now = inspect(ids);
	cJSON_Delete(ids);
	cJSON_ArrayForEach(i, now) {
		int restarts = (int)phx_jint(i, "RestartCount", 0, 0, INT32_MAX);
		const char *svc = phx_podman_label(i, PHX_LABEL_SERVICE);
		if (!restarts || !svc)
			continue;
		fail_container(d, f, svc, i, "crash_loop");
		f->message = crash_loop_message(svc, f->container, restarts,
		    f->log_tail);
		cJSON_Delete(now);
		return UP_FAILED;
	}
	cJSON_Delete(*infos);
	*infos = now;
	return UP_OK;
}

int
kube_cmd_up(struct deploy *d, const char *manifests, const char *project)
{
	char *first, *stream_id;
	bool nl = true;
	int64_t started;
	int status;

	d->phase = "deploy";
	settings(d, project);
	if (!d->kube_context)
		d->kube_context = phx_cfg_str(d->cfg, "deployment.kube_context");
	if (!*d->kube_context)
		d->kube_context = NULL;   /* podman kube play */
	kube_load(d, manifests ? manifests
	    : phx_cfg_str(d->cfg, "deployment.manifests"));
	if (!deploy_globals.dry_run) {
		need_tools(d, false);
		lock_project(d);
	}
	d->phase = NULL;
	first = input_first(&nl, &stream_id);
	free(stream_id);
	started = phx_phase_start("deploy");
	if (deploy_globals.dry_run) {
		pass_copy(first, nl);
		status = plan(d);
	} else {
		start_state(d);
		set_str(d->state, "engine", "kube");
		if (d->kube_context)
			set_str(d->state, "kube_context", d->kube_context);
		set_str(d->state, "snapshot", "compose.yaml");
		set_item(d->state, "kube_volumes", cJSON_Duplicate(d->kube_volumes, true));
		state_save(d);
		pass_copy(first, nl);
		phx_signal_catch(NULL);
		status = deploy_up(d);
	}
	input_drain();
	if (!deploy_globals.dry_run && phx_stdout_failed()) {
		set_item(d->state, "stdout_failed", cJSON_CreateTrue());
		state_save(d);
	}
	phx_phase_end("deploy", started, status == 0 ? "ok" : status == 1 ?
	    "failed" : "error", NULL);
	return status;
}
