/* The cluster path's port-forwards, logs and deletion.  Each service
 * with a published port (a hostPort, moved as for podman by the
 * phx.dev/host-ports annotation) gets one `kubectl port-forward` on that
 * host port, left running in its own session after up, its pid in
 * state.json's port_forwards, which down (or a failed attempt's
 * clean-up) ends; the service records carry that port, so phx-probe
 * checks the service through it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deploy.h"

#define FORWARD_WAIT_MS 15000

/* starts argv in its own session, output to log; its pid or -1 */
static pid_t
spawn_detached(const char *const *argv, const char *log)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (out < 0 || in < 0 || setsid() < 0 || dup2(in, 0) < 0 ||
	    dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], (char *const *)argv);
	dprintf(2, "%s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int
count_lines(const char *path, const char *what)
{
	char *text = phx_read_file(path, NULL), *p = text;
	int n = 0;

	while (p && (p = strstr(p, what))) {
		n++;
		p += strlen(what);
	}
	free(text);
	return n;
}

/* until kubectl says it forwards each port; false when it exited */
static bool
forward_ready(pid_t pid, const char *log, int nports, char **said)
{
	int64_t until = phx_now_ms() + FORWARD_WAIT_MS;
	int status;

	while (count_lines(log, "Forwarding from") < nports) {
		if (waitpid(pid, &status, WNOHANG) == pid || phx_now_ms() > until ||
		    phx_signal) {
			char *text = phx_read_file(log, NULL);
			struct phx_buf b = { 0 };
			phx_buf_addstr(&b, text ? text : "");
			*said = phx_error_line(&b);
			phx_buf_free(&b);
			free(text);
			return false;
		}
		phx_sleep_ms(100);
	}
	return true;
}

static cJSON *
forward_entry(const char *service, pid_t pid, const cJSON *p, const char *ip)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "service", service);
	cJSON_AddNumberToObject(e, "pid", (double)pid);
	cJSON_AddStringToObject(e, "address", ip);
	cJSON_AddNumberToObject(e, "local_port", phx_jnum(p, "host_port", 0));
	cJSON_AddNumberToObject(e, "remote_port", phx_jnum(p, "container_port", 0));
	return e;
}

/* one kubectl port-forward for service's published ports */
static bool
forward(struct deploy *d, const char *service, const cJSON *ports,
    cJSON *list, struct failure *f)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(d->kube_workloads, service);
	const char *ip = phx_jstr(ports->child, "host_ip");
	char *target = phx_asprintf("%s/%s", phx_jstr(w, "kind"), service);
	char *dir = phx_asprintf("%s/%s/logs", phx_state_dir(),
	    phx_jstr(d->state, "deployment_id")), *said = NULL;
	char *log = phx_asprintf("%s/port-forward-%s.log", dir, service);
	struct args a = { 0 }, pairs = { 0 };
	const cJSON *p;
	pid_t pid;
	bool ok;

	ip = ip && *ip && strcmp(ip, "0.0.0.0") != 0 ? ip : "127.0.0.1";
	for (char *c = target; *c && *c != '/'; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
	kubectl_args(d, &a);
	args_add(&a, "port-forward");
	args_add(&a, "--address");
	args_add(&a, ip);
	args_add(&a, target);
	cJSON_ArrayForEach(p, ports) {
		char *pair = phx_asprintf("%d:%d", (int)phx_jint(p, "host_port", 0,
		    0, 65535), (int)phx_jint(p, "container_port", 0, 0, 65535));
		args_add(&pairs, pair);
		args_add(&a, pair);
	}
	phx_mkdirs(dir);
	pid = spawn_detached(a.v, log);
	cJSON_ArrayForEach(p, ports)
		cJSON_AddItemToArray(list, forward_entry(service, pid, p, ip));
	ok = pid > 0 && forward_ready(pid, log, cJSON_GetArraySize(ports), &said);
	if (!ok) {
		f->service = phx_strdup(service);
		f->reason = phx_strdup("not_started");
		f->message = phx_asprintf("service %s: %s port-forward %s did not "
		    "start%s%s", service, d->kubectl, target, said && *said ?
		    ": " : "", said ? said : "");
	}
	for (size_t i = 0; i < pairs.n; i++)
		free((char *)pairs.v[i]);
	args_free(&pairs);
	args_free(&a);
	free(said);
	free(target);
	free(log);
	free(dir);
	return ok;
}

/* a port-forward for each service with published ports, in state.json
 * as they start; false, f filled, when one does not start */
bool
forwards_start(struct deploy *d, struct failure *f)
{
	cJSON *list = cJSON_CreateArray();
	const cJSON *svc, *p;
	bool ok = true;

	set_item(d->state, "port_forwards", list);
	cJSON_ArrayForEach(svc, phx_cfg(d->compose, "services")) {
		cJSON *ports = phx_compose_ports(svc, NULL), *mine;
		mine = cJSON_CreateArray();
		cJSON_ArrayForEach(p, ports)
			if (phx_jint(p, "host_port", 0, 0, 65535))
				cJSON_AddItemToArray(mine, cJSON_Duplicate(p, true));
		cJSON_ArrayForEach(p, mine)
			if (ok && port_taken(phx_jstr(p, "host_ip"),
			    (int)phx_jint(p, "host_port", 0, 0, 65535))) {
				fail_port_in_use(f, svc->string, phx_jstr(p, "host_ip"),
				    (int)phx_jint(p, "host_port", 0, 0, 65535));
				ok = false;
			}
		if (ok && cJSON_GetArraySize(mine))
			ok = forward(d, svc->string, mine, list, f);
		cJSON_Delete(mine);
		cJSON_Delete(ports);
	}
	state_save(d);
	return ok;
}

/* ends the port-forwards of list: only a process that is still a
 * kubectl port-forward (a pid may have been reused since) */
void
forwards_stop(const cJSON *list)
{
	const cJSON *e;
	pid_t last = 0;

	cJSON_ArrayForEach(e, list) {
		pid_t pid = (pid_t)phx_jint(e, "pid", 0, 0, INT32_MAX);
		char *path = phx_asprintf("/proc/%d/cmdline", (int)pid);
		size_t len = 0;
		char *cmd = pid > 1 && pid != last ? phx_read_file(path, &len) : NULL;
		bool ours = false;
		for (size_t i = 0; cmd && i + 12 <= len; i++)
			ours |= memcmp(cmd + i, "port-forward", 12) == 0;
		if (ours) {
			kill(-pid, SIGTERM);
			waitpid(pid, NULL, WNOHANG);
			phx_log(PHX_INFO, "port-forward of %s (pid %d) ended",
			    phx_jstr(e, "service"), (int)pid);
		}
		last = pid;
		free(cmd);
		free(path);
	}
}

/* every container's log, from kubectl logs, in STATE/ID/logs/WHEN/ */
void
kubectl_save_logs(struct deploy *d, const char *when, const cJSON *pods)
{
	char *dir = phx_asprintf("%s/%s/logs/%s", phx_state_dir(),
	    phx_deployment_id(), when);
	const cJSON *pod, *c;
	int n = 0;

	phx_mkdirs(dir);
	cJSON_ArrayForEach(pod, phx_cfg(pods, "items"))
		cJSON_ArrayForEach(c, phx_cfg(pod, "spec.containers")) {
			const char *pname = phx_jstr(phx_cfg(pod, "metadata"), "name");
			struct args a = { 0 };
			struct phx_run r;
			char *path;
			kubectl_args(d, &a);
			args_add(&a, "logs");
			args_add(&a, pname);
			args_add(&a, "-c");
			args_add(&a, phx_jstr(c, "name"));
			args_add(&a, "--timestamps");
			kubectl_run(&a, NULL, 0, &r);
			path = phx_asprintf("%s/%s_%s.log", dir, pname,
			    phx_jstr(c, "name"));
			write_redacted(path, phx_buf_str(&r.out));
			n++;
			free(path);
			phx_run_free(&r);
			args_free(&a);
		}
	phx_log(PHX_INFO, "logs of %d container(s) kept in %s", n, dir);
	free(dir);
}

/* a document naming doc's object, for kubectl delete */
static void
add_ref(struct phx_buf *in, const cJSON *doc)
{
	cJSON *ref = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(ref, "apiVersion", phx_jstr(doc, "apiVersion"));
	cJSON_AddStringToObject(ref, "kind", phx_jstr(doc, "kind"));
	cJSON_AddStringToObject(cJSON_AddObjectToObject(ref, "metadata"), "name",
	    phx_jstr(phx_cfg(doc, "metadata"), "name"));
	s = cJSON_PrintUnformatted(ref);
	phx_buf_printf(in, "---\n%s\n", s);
	free(s);
	cJSON_Delete(ref);
}

/* kubectl delete of docs (kind and name only: no Secret's value goes
 * back), but for the claims in keep, or every claim when keep_claims */
static bool
delete_docs(struct deploy *d, const cJSON *docs, const cJSON *keep,
    bool keep_claims)
{
	struct phx_buf in = { 0 };
	struct args a = { 0 };
	struct phx_run r;
	const cJSON *doc, *k;
	bool ok;

	cJSON_ArrayForEach(doc, docs) {
		const char *name = phx_jstr(phx_cfg(doc, "metadata"), "name");
		bool kept = false;
		if (strcmp(phx_jstr(doc, "kind"), "PersistentVolumeClaim") == 0) {
			kept = keep_claims;
			cJSON_ArrayForEach(k, keep)
				kept |= strcmp(k->valuestring, name) == 0;
		}
		if (!kept)
			add_ref(&in, doc);
	}
	kubectl_args(d, &a);
	args_add(&a, "delete");
	args_add(&a, "--ignore-not-found");
	args_add(&a, "--wait=false");
	args_add(&a, "-f");
	args_add(&a, "-");
	ok = kubectl_run(&a, phx_buf_str(&in), d->timeout_ms, &r);
	if (!ok)
		phx_log(PHX_ERROR, "%s delete: %s", d->kubectl, phx_buf_str(&r.err));
	phx_run_free(&r);
	args_free(&a);
	phx_buf_free(&in);
	return ok;
}

/* what a failed attempt applied goes, its logs kept first, and its
 * port-forwards; the claims there before stay */
bool
kubectl_clean(struct deploy *d, const char *when)
{
	cJSON *pods = kubectl_get(d, "pods", true);
	bool ok;

	if (cJSON_GetArraySize(phx_cfg(pods, "items")))
		kubectl_save_logs(d, when, pods);
	cJSON_Delete(pods);
	forwards_stop(phx_cfg(d->state, "port_forwards"));
	set_item(d->state, "port_forwards", cJSON_CreateArray());
	ok = delete_docs(d, phx_kube_docs(d->kube), d->claims_before, false);
	if (!ok)
		phx_emit_error("leftovers", "project %s: %s delete failed; the "
		    "objects it applied may be left", d->project, d->kubectl);
	else
		phx_log(PHX_INFO, "project %s: deleted what the attempt applied",
		    d->project);
	return ok;
}

static void
emit_removed(const cJSON *containers)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, containers) {
		cJSON *rec = phx_record_new("container");
		cJSON_AddStringToObject(rec, "service", phx_jstr(c, "service"));
		cJSON_AddStringToObject(rec, "container_id", phx_jstr(c, "id"));
		cJSON_AddStringToObject(rec, "name", phx_jstr(c, "name"));
		cJSON_AddStringToObject(rec, "state", "removed");
		phx_emit(rec);
	}
}

/* down of a cluster deployment: its logs kept, its port-forwards ended,
 * what its snapshot names deleted (claims only with --volumes) */
int
kubectl_down(struct deploy *d, const char *id, const cJSON *st, bool volumes)
{
	char *path = state_path(id, "compose.yaml");
	char *text = phx_read_file(path, NULL);
	cJSON *docs = text ? cJSON_Parse(text) : NULL, *rec;
	cJSON *pods = kubectl_get(d, "pods", true);
	bool ok;

	if (cJSON_GetArraySize(phx_cfg(pods, "items")))
		kubectl_save_logs(d, "down", pods);
	cJSON_Delete(pods);
	forwards_stop(phx_cfg(st, "port_forwards"));
	if (!docs)
		phx_log(PHX_ERROR, "%s: no manifests snapshot", path);
	ok = docs && delete_docs(d, docs, NULL, !volumes);
	if (ok)
		emit_removed(phx_cfg(st, "containers"));
	rec = phx_record_new("deployment");
	cJSON_AddStringToObject(rec, "status", ok ? "down" : "failed");
	cJSON_AddStringToObject(rec, "project", d->project);
	cJSON_AddStringToObject(rec, "engine", "kube");
	cJSON_AddStringToObject(rec, "kube_context", d->kube_context);
	if (!ok) {
		cJSON_AddStringToObject(rec, "reason", "leftovers");
		cJSON_AddStringToObject(rec, "message", "kubectl delete failed; "
		    "see standard error");
	}
	phx_emit(rec);
	cJSON_Delete(docs);
	free(text);
	free(path);
	return ok ? PHX_EXIT_OK : PHX_EXIT_FAIL;
}
