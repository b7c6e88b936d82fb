/* The cluster path's records, from what `kubectl get pods -o json` and
 * `kubectl get events -o json` said; no command is run here (the tests
 * replay saved output through it).  Each container of a pod becomes an
 * object shaped as podman inspect's, so that the compose engine's
 * service_record, container_record and emit_up build the records of
 * both engines; kubectl_diagnose names a failure with the reasons the
 * other paths use (phx-records(5)). */
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

/* a quantity such as 64Mi, 1G or 500000 as bytes; 0 when unknown */
static double
quantity_bytes(const char *q)
{
	static const struct { const char *sfx; double mul; } units[] = {
		{ "Ki", 1024.0 }, { "Mi", 1048576.0 }, { "Gi", 1073741824.0 },
		{ "Ti", 1099511627776.0 }, { "k", 1e3 }, { "M", 1e6 },
		{ "G", 1e9 }, { "T", 1e12 }, { "", 1 },
	};
	char *end;
	double v;

	if (!q)
		return 0;
	v = strtod(q, &end);
	for (size_t i = 0; i < sizeof units / sizeof *units; i++)
		if (strcmp(end, units[i].sfx) == 0)
			return v * units[i].mul;
	return 0;
}

static const cJSON *
status_of(const cJSON *pod, const char *cname)
{
	const cJSON *cs;

	cJSON_ArrayForEach(cs, phx_cfg(pod, "status.containerStatuses"))
		if (phx_jstr(cs, "name") && strcmp(phx_jstr(cs, "name"), cname) == 0)
			return cs;
	return NULL;
}

/* podman's State: running, exited, stopped (waiting to restart) or
 * created; the exit code and OOM kill of the last run */
static cJSON *
state_view(const cJSON *spec_c, const cJSON *cs)
{
	const cJSON *run = phx_cfg(cs, "state.running");
	const cJSON *term = phx_cfg(cs, "state.terminated");
	const cJSON *last = term ? term : phx_cfg(cs, "lastState.terminated");
	const char *why = phx_jstr(last, "reason");
	bool probe = cJSON_IsObject(phx_cfg(spec_c, "readinessProbe"));
	bool ready = phx_jbool(cs, "ready", false);
	cJSON *st = cJSON_CreateObject(), *health;

	cJSON_AddStringToObject(st, "Status", run ? "running" : term ? "exited" :
	    phx_jint(cs, "restartCount", 0, 0, INT32_MAX) ? "stopped" : "created");
	cJSON_AddNumberToObject(st, "ExitCode", (double)phx_jint(last, "exitCode",
	    0, INT32_MIN, INT32_MAX));
	cJSON_AddBoolToObject(st, "OOMKilled", why && strcmp(why, "OOMKilled") == 0);
	health = cJSON_AddObjectToObject(st, "Health");
	cJSON_AddStringToObject(health, "Status", !probe ? "" : ready ? "healthy" :
	    run ? "unhealthy" : "starting");
	return st;
}

/* "8080/tcp": [{HostIp, HostPort}] of the forwards to this container */
static void
add_forwards(cJSON *view, const char *service, const cJSON *spec_c,
    const cJSON *forwards)
{
	cJSON *ports = cJSON_AddObjectToObject(kube_obj_at(view,
	    "NetworkSettings"), "Ports");
	const cJSON *fw, *p;

	cJSON_ArrayForEach(fw, forwards) {
		if (strcmp(phx_jstr(fw, "service"), service) != 0)
			continue;
		cJSON_ArrayForEach(p, phx_cfg(spec_c, "ports")) {
			int cport = (int)phx_jint(p, "containerPort", 0, 0, 65535);
			char key[32], host[16];
			cJSON *b;
			if (cport != phx_jint(fw, "remote_port", 0, 0, 65535))
				continue;
			snprintf(key, sizeof key, "%d/tcp", cport);
			snprintf(host, sizeof host, "%d", (int)phx_jint(fw,
			    "local_port", 0, 0, 65535));
			b = cJSON_CreateObject();
			cJSON_AddStringToObject(b, "HostIp", phx_jstr(fw, "address"));
			cJSON_AddStringToObject(b, "HostPort", host);
			cJSON_AddItemToArray(cJSON_AddArrayToObject(ports, key), b);
		}
	}
}

/* container spec_c of pod as podman inspect would show it */
static cJSON *
container_view(const struct deploy *d, const cJSON *pod, const cJSON *spec_c,
    const char *service, const cJSON *forwards)
{
	const cJSON *cs = status_of(pod, phx_jstr(spec_c, "name"));
	cJSON *view = cJSON_CreateObject(), *labels;
	char *name = phx_asprintf("%s/%s", phx_jstr(phx_cfg(pod, "metadata"),
	    "name"), phx_jstr(spec_c, "name"));

	cJSON_AddStringToObject(view, "Id", phx_jstr(cs, "containerID") ?
	    phx_jstr(cs, "containerID") : "");
	cJSON_AddStringToObject(view, "Name", name);
	cJSON_AddStringToObject(view, "ImageName", phx_jstr(spec_c, "image"));
	labels = kube_obj_at(kube_obj_at(view, "Config"), "Labels");
	cJSON_AddStringToObject(labels, PHX_LABEL_PROJECT, d->project);
	cJSON_AddStringToObject(labels, PHX_LABEL_SERVICE, service);
	cJSON_AddItemToObject(view, "State", state_view(spec_c, cs));
	cJSON_AddNumberToObject(view, "RestartCount",
	    (double)phx_jint(cs, "restartCount", 0, 0, INT32_MAX));
	cJSON_AddNumberToObject(kube_obj_at(view, "HostConfig"), "Memory",
	    quantity_bytes(phx_jstr(phx_cfg(spec_c, "resources.limits"), "memory")));
	add_forwards(view, service, spec_c, forwards);
	free(name);
	return view;
}

/* the service a pod is of, NULL when it is none of this deployment's
 * (any of the project's when no manifests are loaded: status) or is
 * going away (an old ReplicaSet's, during a rollout) */
static const char *
pod_service(const struct deploy *d, const cJSON *pod)
{
	const cJSON *meta = phx_cfg(pod, "metadata");
	const char *svc = phx_jstr(phx_cfg(meta, "labels"), PHX_LABEL_SERVICE);

	if (!svc || phx_jstr(meta, "deletionTimestamp") || (d->compose &&
	    !cJSON_GetObjectItemCaseSensitive(phx_cfg(d->compose, "services"), svc)))
		return NULL;
	return svc;
}

/* every container of every pod, in the podman inspect shape */
cJSON *
kubectl_views(const struct deploy *d, const cJSON *pods, const cJSON *forwards)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *pod, *c;

	cJSON_ArrayForEach(pod, phx_cfg(pods, "items")) {
		const char *svc = pod_service(d, pod);
		if (svc)
			cJSON_ArrayForEach(c, phx_cfg(pod, "spec.containers"))
				cJSON_AddItemToArray(out, container_view(d, pod, c,
				    svc, forwards));
	}
	return out;
}

/* the message of the latest event of pod (and container cname, when
 * given) whose reason is one of reasons; "" when none */
static const char *
event_message(const cJSON *events, const char *pod, const char *cname,
    const char *const *reasons)
{
	const char *msg = "", *when = "";
	const cJSON *e;
	char *field = cname ? phx_asprintf("{%s}", cname) : NULL;

	cJSON_ArrayForEach(e, phx_cfg(events, "items")) {
		const cJSON *obj = phx_cfg(e, "involvedObject");
		const char *r = phx_jstr(e, "reason"), *fp = phx_jstr(obj, "fieldPath");
		const char *ts = phx_jstr(e, "lastTimestamp") ?
		    phx_jstr(e, "lastTimestamp") : phx_jstr(e, "eventTime");
		bool wanted = false;
		for (size_t i = 0; r && reasons[i]; i++)
			wanted |= strcmp(r, reasons[i]) == 0;
		if (!wanted || !phx_jstr(obj, "name") || strcmp(phx_jstr(obj,
		    "name"), pod) != 0 || (field && fp && !strstr(fp, field)))
			continue;
		if (ts && strcmp(ts, when) >= 0) {
			when = ts;
			msg = phx_jstr(e, "message") ? phx_jstr(e, "message") : "";
		}
	}
	free(field);
	return msg;
}

static bool
one_of(const char *s, const char *const *set)
{
	for (size_t i = 0; s && set[i]; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

/* why container view (of pod, spec_c) failed; false when it did not */
static bool
container_failed(const struct deploy *d, const cJSON *pod, const cJSON *spec_c,
    const cJSON *view, const cJSON *events, bool rolled_out, struct failure *f)
{
	static const char *const pull[] = { "ErrImagePull", "ImagePullBackOff",
		"InvalidImageName", "ErrImageNeverPull", NULL };
	static const char *const pull_ev[] = { "Failed", NULL };
	static const char *const probe_ev[] = { "Unhealthy", NULL };
	const char *pname = phx_jstr(phx_cfg(pod, "metadata"), "name");
	const char *cname = phx_jstr(spec_c, "name");
	const cJSON *cs = status_of(pod, cname), *st = phx_cfg(view, "State");
	const char *waiting = phx_jstr(phx_cfg(cs, "state.waiting"), "reason");
	const char *svc = pod_service(d, pod), *status = phx_jstr(st, "Status");
	int restarts = (int)phx_jint(view, "RestartCount", 0, 0, INT32_MAX);
	const char *said;

	if (one_of(waiting, pull)) {
		said = phx_jstr(phx_cfg(cs, "state.waiting"), "message");
		if (!said || !*said)
			said = event_message(events, pname, cname, pull_ev);
		kube_fail(f, svc, view, "image_missing", NULL);
		f->message = phx_asprintf("service %s: image %s of container %s "
		    "could not be pulled (%s)%s%s", svc, f->image, f->container,
		    waiting, *said ? ": " : "", said);
	} else if (phx_jbool(st, "OOMKilled", false)) {
		kube_fail(f, svc, view, "exited", NULL);
		f->exit_code = (int)phx_jint(st, "ExitCode", 137, 0, 255);
		f->mem_limit = phx_jnum(phx_cfg(view, "HostConfig"), "Memory", 0);
		f->message = phx_asprintf("service %s: container %s was killed by "
		    "the OOM killer (OOMKilled, exit code %d) and restarted %d "
		    "time(s)", svc, f->container, f->exit_code, restarts);
	} else if (restarts || (waiting && strcmp(waiting, "CrashLoopBackOff") == 0)) {
		kube_fail(f, svc, view, "crash_loop", NULL);
	} else if (strcmp(status, "exited") == 0) {
		kube_fail(f, svc, view, "exited", NULL);
		f->exit_code = (int)phx_jint(st, "ExitCode", 0, 0, 255);
		f->message = phx_asprintf("service %s: container %s exited with "
		    "code %d", svc, f->container, f->exit_code);
	} else if (!rolled_out && strcmp(status, "running") == 0 &&
	    !phx_jbool(cs, "ready", false)) {
		said = event_message(events, pname, cname, probe_ev);
		kube_fail(f, svc, view, "not_ready", NULL);
		f->message = phx_asprintf("service %s: container %s is running "
		    "but not ready%s%s", svc, f->container, *said ? ": " : "", said);
	} else
		return false;
	return true;
}

/* the first failure of the deployment's pods, f filled: a pull that
 * failed, an OOM kill, restarts, an exit, a readiness probe that does
 * not pass (the rollout did not finish), a pod never scheduled.  A
 * crash_loop's message is the caller's, once it has the log */
bool
kubectl_diagnose(const struct deploy *d, const cJSON *pods,
    const cJSON *events, bool rolled_out, struct failure *f)
{
	static const char *const sched[] = { "FailedScheduling", "FailedMount",
		"FailedCreatePodSandBox", NULL };
	cJSON *views = kubectl_views(d, pods, NULL);
	const cJSON *pod, *c, *view = views->child;
	bool failed = false;

	cJSON_ArrayForEach(pod, phx_cfg(pods, "items")) {
		const char *pname = phx_jstr(phx_cfg(pod, "metadata"), "name");
		if (!pod_service(d, pod))
			continue;
		cJSON_ArrayForEach(c, phx_cfg(pod, "spec.containers")) {
			if (!failed && container_failed(d, pod, c, view, events,
			    rolled_out, f))
				failed = true;
			view = view->next;
		}
		if (!failed && !rolled_out && !phx_cfg(pod,
		    "status.containerStatuses")) {
			const char *said = event_message(events, pname, NULL, sched);
			f->service = phx_strdup(pod_service(d, pod));
			f->reason = phx_strdup("not_started");
			f->message = phx_asprintf("service %s: pod %s was not started%s"
			    "%s", f->service, pname, *said ? ": " : "", said);
			failed = true;
		}
	}
	cJSON_Delete(views);
	return failed;
}
