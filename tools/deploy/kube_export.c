/* export-kube ID: the running compose deployment ID as Kubernetes
 * manifests, for --engine kube here or kubectl on a cluster.  Each
 * container is `podman kube generate`d on its own into a Pod named after
 * its service; phx adds the compose healthcheck as readiness and liveness
 * probes, and takes every secret out: an env entry with a secret's name
 * or value becomes a secretKeyRef to the Secret phx-secrets, whose keys
 * are left empty for phx-deploy to fill from the environment.  Written to
 * STATE/ID/kube.yaml. */
#include <stdlib.h>
#include <string.h>

#include "deploy.h"
#include "phx_yaml.h"

#define EXPORT_SECRET "phx-secrets"

/* a compose healthcheck as a Kubernetes exec probe */
static cJSON *
probe_of(const cJSON *info)
{
	const cJSON *hc = phx_cfg(info, "Config.Healthcheck"), *t, *a;
	const char *kind;
	cJSON *probe, *cmd = cJSON_CreateArray();

	t = cJSON_GetObjectItemCaseSensitive(hc, "Test");
	kind = cJSON_IsString(cJSON_GetArrayItem(t, 0)) ?
	    cJSON_GetArrayItem(t, 0)->valuestring : "";
	if (strcmp(kind, "CMD-SHELL") == 0 && cJSON_IsString(cJSON_GetArrayItem(t, 1))) {
		cJSON_AddItemToArray(cmd, cJSON_CreateString("/bin/sh"));
		cJSON_AddItemToArray(cmd, cJSON_CreateString("-c"));
		cJSON_AddItemToArray(cmd, cJSON_CreateString(
		    cJSON_GetArrayItem(t, 1)->valuestring));
	} else if (strcmp(kind, "CMD") == 0) {
		for (a = cJSON_GetArrayItem(t, 1); a; a = a->next)
			cJSON_AddItemToArray(cmd, cJSON_Duplicate(a, true));
	}
	if (!cJSON_GetArraySize(cmd)) {
		cJSON_Delete(cmd);
		return NULL;
	}
	probe = cJSON_CreateObject();
	cJSON_AddItemToObject(cJSON_AddObjectToObject(probe, "exec"), "command", cmd);
	/* podman keeps nanoseconds */
	cJSON_AddNumberToObject(probe, "periodSeconds", phx_jnum(hc, "Interval",
	    10e9) / 1e9 >= 1 ? phx_jnum(hc, "Interval", 10e9) / 1e9 : 10);
	cJSON_AddNumberToObject(probe, "timeoutSeconds", phx_jnum(hc, "Timeout",
	    3e9) / 1e9 >= 1 ? phx_jnum(hc, "Timeout", 3e9) / 1e9 : 1);
	cJSON_AddNumberToObject(probe, "failureThreshold",
	    phx_jnum(hc, "Retries", 3) >= 1 ? phx_jnum(hc, "Retries", 3) : 3);
	return probe;
}

/* the entrypoint compose gave, from the podman run command line
 * podman-compose wrote (podman kube generate and inspect join it into
 * one string, which loses an `sh -c SCRIPT` entrypoint's script) */
static cJSON *
entrypoint_of(const cJSON *info)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, phx_cfg(info, "Config.CreateCommand")) {
		const char *v = cJSON_IsString(a) ? a->valuestring : "";
		cJSON *ep;
		if (strncmp(v, "--entrypoint=", 13) == 0)
			v += 13;
		else if (strcmp(v, "--entrypoint") == 0 && cJSON_IsString(a->next))
			v = a->next->valuestring;
		else
			continue;
		ep = cJSON_Parse(v);
		if (cJSON_IsArray(ep))
			return ep;
		cJSON_Delete(ep);
		ep = cJSON_CreateArray();
		cJSON_AddItemToArray(ep, cJSON_CreateString(v));
		return ep;
	}
	return NULL;
}

/* compose's tmpfs mounts come out of podman kube generate as hostPath
 * "tmpfs": memory-backed emptyDirs */
static void
fix_tmpfs(cJSON *spec)
{
	cJSON *v;

	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(spec, "volumes")) {
		const char *path = phx_jstr(phx_cfg(v, "hostPath"), "path");
		if (!path || strcmp(path, "tmpfs") != 0)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(v, "hostPath");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(v, "emptyDir"),
		    "medium", "Memory");
	}
}

/* id -u or id -g in the running container; -1 when unknown */
static long
container_id(const char *name, const char *flag)
{
	static const char *args[] = { "exec", NULL };
	const char *ops[] = { name, "id", flag, NULL };
	struct phx_run r;
	long v = -1;

	if (phx_podman(args, ops, &r, NULL) && r.out.len)
		v = strtol(phx_buf_str(&r.out), NULL, 10);
	phx_run_free(&r);
	return v;
}

/* the user compose ran the container as, by number (a name like
 * "postgres" is not in the generated Pod): podman kube play makes the
 * pod's emptyDirs writable for runAsUser and fsGroup only */
static void
keep_user(cJSON *pod, cJSON *c, const char *name)
{
	long uid = container_id(name, "-u"), gid = container_id(name, "-g");
	cJSON *sc;

	if (uid < 0 || gid < 0)
		return;
	sc = cJSON_GetObjectItemCaseSensitive(c, "securityContext");
	if (!cJSON_IsObject(sc))
		set_item(c, "securityContext", sc = cJSON_CreateObject());
	set_num(sc, "runAsUser", (double)uid);
	set_num(sc, "runAsGroup", (double)gid);
	sc = (cJSON *)phx_cfg(pod, "spec.securityContext");
	if (!cJSON_IsObject(sc))
		set_item((cJSON *)phx_cfg(pod, "spec"), "securityContext",
		    sc = cJSON_CreateObject());
	/* at the pod's level too: podman 4.3 sets an emptyDir's owner from
	 * the pod's, and each generated pod holds one container */
	set_num(sc, "runAsUser", (double)uid);
	set_num(sc, "runAsGroup", (double)gid);
	set_num(sc, "fsGroup", (double)gid);
}

/* PATH as the container had it: podman run gives a container without
 * one a default, podman kube play does not, and kube generate leaves it
 * out (the phx-node image sets none: node is not found) */
static void
keep_path(cJSON *c, const cJSON *info)
{
	const cJSON *e;
	cJSON *env;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "env"))
		if (phx_jstr(e, "name") && strcmp(phx_jstr(e, "name"), "PATH") == 0)
			return;
	cJSON_ArrayForEach(e, phx_cfg(info, "Config.Env")) {
		cJSON *item;
		if (!cJSON_IsString(e) || strncmp(e->valuestring, "PATH=", 5) != 0)
			continue;
		if (!cJSON_IsArray(env = cJSON_GetObjectItemCaseSensitive(c, "env")))
			set_item(c, "env", env = cJSON_CreateArray());
		item = cJSON_CreateObject();
		cJSON_AddStringToObject(item, "name", "PATH");
		cJSON_AddStringToObject(item, "value", e->valuestring + 5);
		cJSON_AddItemToArray(env, item);
		return;
	}
}

/* secrets out of the container's env, into the Secret's empty keys */
static void
take_secrets(cJSON *c, cJSON *keys)
{
	cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "env")) {
		const char *name = phx_jstr(e, "name"), *val = phx_jstr(e, "value");
		char *red = val && *val ? phx_redact(val) : NULL;
		/* an empty one stays: phx-deploy would find it unset */
		bool secret = name && red && (strcmp(red, val) != 0 ||
		    phx_is_secret_name(name));
		free(red);
		if (!secret)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(e, "value");
		cJSON *ref = cJSON_AddObjectToObject(cJSON_AddObjectToObject(e,
		    "valueFrom"), "secretKeyRef");
		cJSON_AddStringToObject(ref, "name", EXPORT_SECRET);
		cJSON_AddStringToObject(ref, "key", name);
		if (!cJSON_GetObjectItemCaseSensitive(keys, name))
			cJSON_AddStringToObject(keys, name, "");
	}
}

/* the container's Pod, from podman kube generate; NULL, warned, on failure */
static cJSON *
generate(const cJSON *info, const char *service, cJSON *keys)
{
	static const char *args[] = { "kube", "generate", NULL };
	const char *ops[] = { phx_jstr(info, "Name"), NULL };
	struct phx_yaml *y = NULL;
	struct phx_run r;
	char *why = NULL, *err = NULL;
	cJSON *pod = NULL, *c, *probe, *ep;
	const cJSON *doc, *root = NULL;

	if (phx_podman(args, ops, &r, &why))
		y = phx_yaml_parse(ops[0], r.out.data ? r.out.data : "", r.out.len,
		    PHX_YAML_TYPED | PHX_YAML_STREAM | PHX_YAML_RAW, NULL, &err);
	phx_wipe(r.out.data, r.out.len);   /* it held the env's values */
	phx_run_free(&r);
	if (y)
		root = phx_yaml_root(y);
	cJSON_ArrayForEach(doc, root)
		if (!pod && strcmp(phx_jstr(doc, "kind") ? phx_jstr(doc, "kind") : "",
		    "Pod") == 0)
			pod = cJSON_Duplicate(doc, true);
	phx_yaml_free(y);
	if (!pod)
		phx_log(PHX_WARN, "%s: %s", ops[0], why ? why : err ? err : "no Pod");
	free(why);
	free(err);
	if (!pod)
		return NULL;
	set_str((cJSON *)phx_cfg(pod, "metadata"), "name", service);
	c = cJSON_GetArrayItem((cJSON *)phx_cfg(pod, "spec.containers"), 0);
	set_str(c, "name", service);
	if ((ep = entrypoint_of(info))) {
		set_item(c, "command", ep);
		if (cJSON_IsArray(phx_cfg(info, "Config.Cmd")))
			set_item(c, "args", cJSON_Duplicate(phx_cfg(info,
			    "Config.Cmd"), true));
	}
	fix_tmpfs((cJSON *)phx_cfg(pod, "spec"));
	keep_path(c, info);
	keep_user(pod, c, ops[0]);
	take_secrets(c, keys);
	if ((probe = probe_of(info))) {
		set_item(c, "livenessProbe", cJSON_Duplicate(probe, true));
		set_item(c, "readinessProbe", probe);
	}
	return pod;
}

static char *
manifests_text(const cJSON *docs)
{
	char *yaml = phx_yaml_dump(docs), *out;

	if (!yaml)
		return NULL;
	out = phx_asprintf("# phx-deploy export-kube: podman kube generate, with "
	    "the compose healthchecks\n# as probes and the secrets in the Secret "
	    EXPORT_SECRET " (filled from the environment)\n%s", yaml);
	free(yaml);
	return out;
}

int
cmd_export_kube(struct deploy *d, const char *id)
{
	cJSON *st = known_state(id), *ps, *ids, *infos, *docs, *secret, *keys, *rec;
	const cJSON *i;
	char *path, *text;
	bool ok;

	settings(d, phx_jstr(st, "project"));
	need_tools(d, false);
	ps = project_ps(d);
	ids = ids_of(ps, "Id");
	infos = inspect(ids);
	docs = cJSON_CreateArray();
	secret = cJSON_CreateObject();
	cJSON_AddStringToObject(secret, "apiVersion", "v1");
	cJSON_AddStringToObject(secret, "kind", "Secret");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(secret, "metadata"),
	    "name", EXPORT_SECRET);
	keys = cJSON_AddObjectToObject(secret, "stringData");
	cJSON_AddItemToArray(docs, secret);
	cJSON_ArrayForEach(i, infos) {
		const char *svc = phx_podman_label(i, PHX_LABEL_SERVICE);
		cJSON *pod = svc ? generate(i, svc, keys) : NULL;
		if (pod)
			cJSON_AddItemToArray(docs, pod);
	}
	path = state_path(id, "kube.yaml");
	text = manifests_text(docs);
	ok = cJSON_GetArraySize(docs) > 1 && text &&
	    phx_write_file(path, text, strlen(text));
	rec = phx_record_new("deployment");
	cJSON_AddStringToObject(rec, "status", ok ? "exported" : "failed");
	cJSON_AddStringToObject(rec, "project", d->project);
	cJSON_AddStringToObject(rec, "manifests", path);
	cJSON_AddNumberToObject(rec, "pods", cJSON_GetArraySize(docs) - 1);
	if (!ok)
		cJSON_AddStringToObject(rec, "reason", cJSON_GetArraySize(docs) > 1 ?
		    "environment" : "not_running");
	phx_set_deployment_id(id);
	phx_emit(rec);
	phx_log(ok ? PHX_INFO : PHX_ERROR, "%s: %d pod(s)%s", path,
	    cJSON_GetArraySize(docs) - 1, ok ? "" : ", not written");
	free(text);
	free(path);
	cJSON_Delete(docs);
	cJSON_Delete(infos);
	cJSON_Delete(ids);
	cJSON_Delete(ps);
	cJSON_Delete(st);
	return ok ? PHX_EXIT_OK : PHX_EXIT_FAIL;
}
