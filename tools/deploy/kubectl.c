/* --engine kube on a cluster (--kube-context, deployment.kube_context):
 * the manifests applied with `kubectl apply --server-side`, every object
 * labelled with the project and each pod with its service as
 * podman-compose labels containers; Secrets filled from the environment
 * in memory and handed to kubectl on its standard input, never on its
 * command line or on disk; `kubectl rollout status` per workload; then
 * the pods and events read back (kubectl_records.c), port-forwards
 * started (kubectl_down.c).  The compose engine's attempts, records and
 * clean-up (up.c) drive it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

/* kubectl, and --context unless "current": kubectl's current context */
void
kubectl_args(const struct deploy *d, struct args *a)
{
	args_add(a, d->kubectl);
	if (strcmp(d->kube_context, "current") != 0) {
		args_add(a, "--context");
		args_add(a, d->kube_context);
	}
}

/* runs a (NULL-terminated here) with input on standard input */
bool
kubectl_run(struct args *a, const char *input, int64_t timeout_ms,
    struct phx_run *r)
{
	memset(r, 0, sizeof *r);
	r->argv = a->v;
	r->stdin_data = input;
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : PHX_PODMAN_TIMEOUT_MS;
	/* a signal cancels it, but for the clean-up after one */
	r->cancel = phx_signal ? NULL : &phx_signal;
	return phx_run(r) && r->status == 0;
}

/* kubectl get WHAT -o json [-l project] parsed; NULL on failure */
cJSON *
kubectl_get(const struct deploy *d, const char *what, bool by_project)
{
	struct args a = { 0 };
	struct phx_run r;
	char *sel = phx_asprintf("%s=%s", PHX_LABEL_PROJECT, d->project);
	cJSON *out = NULL;

	kubectl_args(d, &a);
	args_add(&a, "get");
	args_add(&a, what);
	if (by_project) {
		args_add(&a, "-l");
		args_add(&a, sel);
	}
	args_add(&a, "-o");
	args_add(&a, "json");
	if (kubectl_run(&a, NULL, 0, &r))
		out = cJSON_Parse(phx_buf_str(&r.out));
	else
		phx_log(PHX_WARN, "kubectl get %s: %s", what, phx_buf_str(&r.err));
	phx_run_free(&r);
	args_free(&a);
	free(sel);
	return out;
}

/* a manifest as it goes to the cluster: the project's label on it, and
 * the project's and service's on a workload's pods; host ports moved as
 * for podman (the port-forwards listen there) */
cJSON *
kubectl_cluster_doc(const struct deploy *d, const cJSON *doc)
{
	cJSON *copy = cJSON_Duplicate(doc, true), *meta, *spec;
	const char *kind = phx_jstr(doc, "kind");
	bool pod = strcmp(kind, "Pod") == 0;

	set_str(kube_obj_at(kube_obj_at(copy, "metadata"), "labels"),
	    PHX_LABEL_PROJECT, d->project);
	if (!kube_is_workload(kind))
		return copy;
	meta = pod ? kube_obj_at(copy, "metadata") : kube_obj_at(kube_obj_at(
	    kube_obj_at(copy, "spec"), "template"), "metadata");
	set_str(kube_obj_at(meta, "labels"), PHX_LABEL_PROJECT, d->project);
	set_str(kube_obj_at(meta, "labels"), PHX_LABEL_SERVICE,
	    phx_jstr(phx_cfg(doc, "metadata"), "name"));
	if ((spec = (cJSON *)phx_kube_pod_spec(copy)))
		kube_move_ports(phx_jstr(phx_cfg(copy, "metadata.annotations"),
		    "phx.dev/host-ports"), spec);
	return copy;
}

/* what the cluster gets: no hostPort (a node's port; the port-forwards
 * publish instead), a Secret's values in data */
static bool
cluster_text(const struct deploy *d, const cJSON *doc, struct phx_buf *out,
    struct failure *f)
{
	cJSON *copy = kubectl_cluster_doc(d, doc), *c, *p, *data;
	char *s;

	cJSON_ArrayForEach(c, phx_cfg(phx_kube_pod_spec(copy), "containers"))
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(c, "ports")) {
			cJSON_DeleteItemFromObjectCaseSensitive(p, "hostPort");
			cJSON_DeleteItemFromObjectCaseSensitive(p, "hostIP");
		}
	if (strcmp(phx_jstr(doc, "kind"), "Secret") == 0) {
		if (!(s = kube_secret_data(doc, f)))
			return cJSON_Delete(copy), false;
		data = cJSON_Parse(s);
		phx_free_secret(s);
		cJSON_DeleteItemFromObjectCaseSensitive(copy, "stringData");
		set_item(copy, "data", data);
	}
	s = cJSON_PrintUnformatted(copy);
	phx_buf_printf(out, "---\n%s\n", s);
	phx_wipe(s, strlen(s));
	free(s);
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(copy, "data"))
		if (cJSON_IsString(p))
			phx_wipe(p->valuestring, strlen(p->valuestring));
	cJSON_Delete(copy);
	return true;
}

/* kubectl apply --server-side of every manifest; the run in *r */
static bool
apply(struct deploy *d, struct phx_run *r, struct failure *f)
{
	struct phx_buf in = { 0 };
	struct args a = { 0 };
	const cJSON *doc;
	bool ok = true;

	cJSON_ArrayForEach(doc, phx_kube_docs(d->kube))
		if (ok)
			ok = cluster_text(d, doc, &in, f);
	if (ok) {
		kubectl_args(d, &a);
		args_add(&a, "apply");
		args_add(&a, "--server-side");
		args_add(&a, "--field-manager=phx");
		args_add(&a, "-f");
		args_add(&a, "-");
		kubectl_run(&a, phx_buf_str(&in), d->timeout_ms, r);
		args_free(&a);
	}
	phx_wipe(in.data, in.len);
	phx_buf_free(&in);
	return ok;
}

/* kubectl rollout status OBJ, or for what it does not roll out (a Pod,
 * a ReplicaSet: its pods by sel) kubectl wait for Ready */
static void
wait_args(struct args *a, const char *kind, const char *obj, const char *sel)
{
	if (strcmp(kind, "ReplicaSet") == 0) {
		args_add(a, "wait");
		args_add(a, "--for=condition=Ready");
		args_add(a, "pod");
		args_add(a, "-l");
		args_add(a, sel);
	} else if (strcmp(kind, "Pod") == 0) {
		args_add(a, "wait");
		args_add(a, "--for=condition=Ready");
		args_add(a, obj);
	} else {
		args_add(a, "rollout");
		args_add(a, "status");
		args_add(a, obj);
	}
}

/* kubectl rollout status of each Deployment, StatefulSet and DaemonSet
 * (a Pod: kubectl wait for Ready), within the deadline */
static bool
rolled_out(struct deploy *d, int64_t deadline)
{
	const cJSON *w;
	bool ok = true;

	cJSON_ArrayForEach(w, d->kube_workloads) {
		const char *kind = phx_jstr(w, "kind");
		char *obj = phx_asprintf("%s/%s", kind, w->string), *to;
		char *sel = phx_asprintf("%s=%s,%s=%s", PHX_LABEL_PROJECT,
		    d->project, PHX_LABEL_SERVICE, w->string);
		int64_t left = deadline - phx_now_ms();
		struct args a = { 0 };
		struct phx_run r;
		for (char *c = obj; *c && *c != '/'; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
		to = phx_asprintf("--timeout=%llds", (long long)(left > 1000 ?
		    left / 1000 : 1));
		kubectl_args(d, &a);
		wait_args(&a, kind, obj, sel);
		args_add(&a, to);
		if (ok && !phx_signal) {
			ok = kubectl_run(&a, NULL, left + 5000, &r);
			phx_run_free(&r);
		}
		args_free(&a);
		free(sel);
		free(obj);
		free(to);
	}
	return ok && !phx_signal;
}

/* kubectl logs of a failed container, the previous run's when it
 * restarted */
static char *
container_tail(struct deploy *d, const struct failure *f, bool previous)
{
	struct args a = { 0 };
	struct phx_run r;
	char *pod = phx_strdup(f->container), *c = strchr(pod, '/'), *tail;
	char *n = phx_asprintf("--tail=%d", d->log_lines);

	if (c)
		*c++ = '\0';
	kubectl_args(d, &a);
	args_add(&a, "logs");
	args_add(&a, pod);
	args_add(&a, "-c");
	args_add(&a, c ? c : "");
	args_add(&a, n);
	if (previous)
		args_add(&a, "--previous");
	kubectl_run(&a, NULL, 0, &r);
	tail = phx_redact(phx_buf_str(&r.out));
	phx_run_free(&r);
	args_free(&a);
	free(n);
	free(pod);
	return tail;
}

/* the pods after the rollout: *infos when all is well, else f */
static enum outcome
check_pods(struct deploy *d, bool ok, struct failure *f, cJSON **infos)
{
	cJSON *pods = kubectl_get(d, "pods", true);
	cJSON *events = kubectl_get(d, "events", false);
	enum outcome o = UP_OK;

	if (!pods) {
		f->reason = phx_strdup("environment");
		f->message = phx_asprintf("%s get pods: no answer", d->kubectl);
		o = UP_ENV;
	} else if (kubectl_diagnose(d, pods, events, ok, f)) {
		o = UP_FAILED;
		if (f->crec) {
			free(f->log_tail);
			f->log_tail = container_tail(d, f, phx_jint(f->crec,
			    "restarts", 0, 0, INT32_MAX) > 0);
			set_str(f->crec, "log_tail", f->log_tail);
		}
		if (strcmp(f->reason, "crash_loop") == 0)
			f->message = crash_loop_message(f->service, f->container,
			    (int)phx_jint(f->crec, "restarts", 0, 0, INT32_MAX),
			    f->log_tail);
	} else if (!ok) {
		f->reason = phx_strdup("timeout");
		f->message = phx_asprintf("the rollout did not finish in %lld s",
		    (long long)d->timeout_ms / 1000);
		o = UP_FAILED;
	} else if (!forwards_start(d, f))
		o = UP_FAILED;
	else {
		*infos = kubectl_views(d, pods, phx_cfg(d->state, "port_forwards"));
		d->stats = cJSON_CreateObject();   /* podman stats has none */
	}
	cJSON_Delete(pods);
	cJSON_Delete(events);
	return o;
}

enum outcome
kubectl_attempt(struct deploy *d, int attempt, struct failure *f,
    cJSON **infos)
{
	int64_t deadline = phx_now_ms() + d->timeout_ms;
	struct phx_run r;
	enum outcome o;

	if (!apply(d, &r, f))
		return UP_FAILED;
	save_attempt_log(d, attempt, &r, "kubectl-apply.log");
	if (r.exec_failed) {
		f->reason = phx_strdup("environment");
		f->message = phx_asprintf("%s: %s", d->kubectl,
		    strerror(r.exec_errno));
		o = UP_ENV;
	} else if (r.cancelled || phx_signal)
		o = UP_INTERRUPTED;
	else if (r.status != 0) {
		char *said = phx_error_line(&r.err);
		f->reason = phx_strdup("not_created");
		f->message = phx_asprintf("%s apply: %s", d->kubectl, said);
		free(said);
		o = UP_FAILED;
	} else {
		o = check_pods(d, rolled_out(d, deadline), f, infos);
		if (o == UP_FAILED && phx_signal)
			o = UP_INTERRUPTED;
	}
	phx_run_free(&r);
	return o;
}

/* the claims of the project before up: a failed attempt keeps them, as
 * the compose engine keeps the volumes it found */
void
kubectl_claims_before(struct deploy *d)
{
	cJSON *got = kubectl_get(d, "persistentvolumeclaims", true);
	const cJSON *i;

	d->claims_before = cJSON_CreateArray();
	cJSON_ArrayForEach(i, phx_cfg(got, "items"))
		cJSON_AddItemToArray(d->claims_before, cJSON_CreateString(
		    phx_jstr(phx_cfg(i, "metadata"), "name")));
	cJSON_Delete(got);
}
