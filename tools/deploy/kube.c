/* The kube engine: Kubernetes manifests run by `podman kube play`.  The
 * manifests become a compose-like view (d->compose: each workload a
 * service with its image, published ports and healthcheck) so that the
 * compose engine's confirmation, diagnosis, records and clean-up serve
 * both; and the stream podman reads on its standard input, in which
 * workloads are named PROJECT-NAME and labelled with the project and the
 * service as podman-compose labels its containers (so everything found
 * by label works unchanged), Secrets and claims are renamed the same way,
 * and host ports are moved by the phx.dev/host-ports annotation. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

#define HOST_PORTS "phx.dev/host-ports"

bool
kube_is_workload(const char *kind)
{
	static const char *const kinds[] = { "Pod", "Deployment", "StatefulSet",
		"DaemonSet", "ReplicaSet" };

	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		if (strcmp(kind, kinds[i]) == 0)
			return true;
	return false;
}

char *
kube_scoped(const struct deploy *d, const char *name)
{
	return phx_asprintf("%s-%s", d->project, name);
}

static void
rename_item(const struct deploy *d, cJSON *obj, const char *key)
{
	const char *name = phx_jstr(obj, key);

	if (name) {
		char *s = kube_scoped(d, name);
		set_str(obj, key, s);
		free(s);
	}
}

/* Secrets, claims and ConfigMaps are podman objects of their own,
 * shared by name (a ConfigMap is played as the volume of its name):
 * PROJECT-NAME, so that two deployments of one set of manifests do not
 * share them */
static void
rename_refs(const struct deploy *d, cJSON *spec)
{
	static const char *const lists[] = { "containers", "initContainers" };
	cJSON *c, *e, *v;

	for (size_t i = 0; i < 2; i++)
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, lists[i])) {
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "env")) {
				rename_item(d, (cJSON *)phx_cfg(e,
				    "valueFrom.secretKeyRef"), "name");
				rename_item(d, (cJSON *)phx_cfg(e,
				    "valueFrom.configMapKeyRef"), "name");
			}
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "envFrom")) {
				rename_item(d, cJSON_GetObjectItemCaseSensitive(e,
				    "secretRef"), "name");
				rename_item(d, cJSON_GetObjectItemCaseSensitive(e,
				    "configMapRef"), "name");
			}
		}
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(spec, "volumes")) {
		rename_item(d, cJSON_GetObjectItemCaseSensitive(v, "secret"),
		    "secretName");
		rename_item(d, cJSON_GetObjectItemCaseSensitive(v,
		    "persistentVolumeClaim"), "claimName");
		rename_item(d, cJSON_GetObjectItemCaseSensitive(v, "configMap"),
		    "name");
	}
}

/* podman 4.3 plays an emptyDir as the named volume of its name, shared
 * by every pod with an emptyDir of that name ("tmp"): one pod's files
 * and owner showed in another's (PostgreSQL found /run/postgresql owned
 * by another pod's user).  In a cluster an emptyDir is the pod's own:
 * here it is PROJECT-WORKLOAD-NAME */
static void
scope_empty_dirs(const struct deploy *d, const char *workload, cJSON *spec)
{
	static const char *const lists[] = { "containers", "initContainers" };
	cJSON *v, *c, *m;

	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(spec, "volumes")) {
		const char *name = phx_jstr(v, "name");
		char *scoped;
		if (!name || !cJSON_GetObjectItemCaseSensitive(v, "emptyDir"))
			continue;
		scoped = phx_asprintf("%s-%s-%s", d->project, workload, name);
		for (size_t i = 0; i < 2; i++)
			cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec,
			    lists[i]))
				cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(c,
				    "volumeMounts"))
					if (phx_jstr(m, "name") &&
					    strcmp(phx_jstr(m, "name"), name) == 0)
						set_str(m, "name", scoped);
		set_str(v, "name", scoped);
		free(scoped);
	}
}

/* "8080=PHX_PORT_CORE,...": the variable that moves containerPort's
 * host port, as ${PHX_PORT_CORE:-8080} does in the compose file */
static int
moved_port(const char *ann, int cport, int hport)
{
	char key[16];
	const char *p;

	snprintf(key, sizeof key, "%d=", cport);
	for (p = ann; p && (p = strstr(p, key)); p++) {
		if (p != ann && p[-1] != ',' && p[-1] != ' ')
			continue;
		char *var = phx_asprintf("%.*s", (int)strcspn(p + strlen(key),
		    ", "), p + strlen(key));
		const char *val = getenv(var);
		free(var);
		return val && *val ? atoi(val) : hport;
	}
	return hport;
}

void
kube_move_ports(const char *ann, cJSON *spec)
{
	cJSON *c, *p;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, "containers"))
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(c, "ports")) {
			int hp = (int)phx_jint(p, "hostPort", 0, 0, 65535);
			if (hp && ann)
				set_num(p, "hostPort", moved_port(ann,
				    (int)phx_jint(p, "containerPort", 0, 0, 65535), hp));
		}
}

cJSON *
kube_obj_at(cJSON *parent, const char *key)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, key);

	if (!cJSON_IsObject(o)) {
		o = cJSON_CreateObject();
		set_item(parent, key, o);
	}
	return o;
}

/* the workload as podman runs it */
static cJSON *
play_doc(const struct deploy *d, const cJSON *doc)
{
	cJSON *copy = cJSON_Duplicate(doc, true), *meta, *labels, *spec;
	const char *name = phx_jstr(phx_cfg(doc, "metadata"), "name");
	bool pod = strcmp(phx_jstr(doc, "kind"), "Pod") == 0;

	if (!pod)   /* podman 4 plays Pods and Deployments only */
		set_str(copy, "kind", "Deployment");
	rename_item(d, kube_obj_at(copy, "metadata"), "name");
	meta = pod ? kube_obj_at(copy, "metadata") : kube_obj_at(kube_obj_at(
	    kube_obj_at(copy, "spec"), "template"), "metadata");
	labels = kube_obj_at(meta, "labels");
	set_str(labels, PHX_LABEL_PROJECT, d->project);
	set_str(labels, PHX_LABEL_SERVICE, name);
	spec = (cJSON *)phx_kube_pod_spec(copy);
	if (spec) {
		rename_refs(d, spec);
		scope_empty_dirs(d, name, spec);
		kube_move_ports(phx_jstr(phx_cfg(copy, "metadata.annotations"),
		    HOST_PORTS), spec);
	}
	return copy;
}

/* the compose service a workload stands for: image, ports, healthcheck */
static cJSON *
service_view(const cJSON *copy)
{
	const cJSON *spec = phx_kube_pod_spec(copy), *c, *p;
	cJSON *svc = cJSON_CreateObject(), *ports = cJSON_CreateArray();
	const cJSON *first = cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(spec, "containers"), 0);
	const cJSON *live = phx_cfg(first, "livenessProbe.exec.command");

	const char *name = phx_jstr(phx_cfg(copy, "metadata"), "name");
	char *cname = phx_asprintf("%s%s-%s", name, strcmp(phx_jstr(copy, "kind"),
	    "Pod") == 0 ? "" : "-pod-0", phx_jstr(first, "name"));

	if (phx_jstr(first, "image"))
		cJSON_AddStringToObject(svc, "image", phx_jstr(first, "image"));
	/* podman's names: POD-CONTAINER, a Deployment's pod NAME-pod-0 */
	cJSON_AddStringToObject(svc, "container_name", cname);
	cJSON_AddStringToObject(svc, "network_mode", "pod");
	free(cname);
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, "containers"))
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(c, "ports")) {
			int hp = (int)phx_jint(p, "hostPort", 0, 0, 65535);
			const char *ip = phx_jstr(p, "hostIP");
			char *s;
			if (!hp)
				continue;
			s = phx_asprintf("%s%s%d:%d", ip ? ip : "", ip ? ":" : "",
			    hp, (int)phx_jint(p, "containerPort", 0, 0, 65535));
			cJSON_AddItemToArray(ports, cJSON_CreateString(s));
			free(s);
		}
	cJSON_AddItemToObject(svc, "ports", ports);
	if (cJSON_IsArray(live)) {
		cJSON *test = cJSON_Duplicate(live, true);
		cJSON_InsertItemInArray(test, 0, cJSON_CreateString("CMD"));
		cJSON_AddItemToObject(cJSON_AddObjectToObject(svc, "healthcheck"),
		    "test", test);
	}
	return svc;
}

/* the manifests as state.json's snapshot keeps them: Secret values out */
static char *
snapshot(const cJSON *docs)
{
	cJSON *copy = cJSON_Duplicate(docs, true), *doc, *v;
	char *text;

	cJSON_ArrayForEach(doc, copy) {
		if (strcmp(phx_jstr(doc, "kind"), "Secret") != 0)
			continue;
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "data"))
			cJSON_SetValuestring(v, "");
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "stringData"))
			cJSON_SetValuestring(v, "");
	}
	text = cJSON_Print(copy);
	cJSON_Delete(copy);
	return text;
}

/* one document of the stream podman reads */
static void
add_play(struct phx_buf *play, const cJSON *doc)
{
	char *s = cJSON_PrintUnformatted(doc);

	phx_buf_printf(play, "---\n%s\n", s);
	free(s);
}

static void
add_workload(struct deploy *d, const cJSON *doc, struct phx_buf *play)
{
	const char *name = phx_jstr(phx_cfg(doc, "metadata"), "name");
	cJSON *services = cJSON_GetObjectItemCaseSensitive(d->compose, "services");
	cJSON *copy;

	if (cJSON_GetObjectItemCaseSensitive(services, name))
		deploy_fail(d, PHX_EXIT_USAGE, "manifests_invalid", "%s: two "
		    "workloads are named %s", d->compose_path, name);
	if (!phx_kube_pod_spec(doc) || !cJSON_GetArraySize(phx_cfg(
	    phx_kube_pod_spec(doc), "containers")))
		deploy_fail(d, PHX_EXIT_USAGE, "manifests_invalid", "%s: %s %s "
		    "has no containers", d->compose_path, phx_jstr(doc, "kind"), name);
	copy = d->kube_context ? kubectl_cluster_doc(d, doc) : play_doc(d, doc);
	cJSON_AddItemToObject(services, name, service_view(copy));
	if (d->kube_context) {
		/* on a cluster: no podman container, no healthcheck to run
		 * (the kubelet runs the probes) */
		cJSON *svc = cJSON_GetObjectItemCaseSensitive(services, name);
		cJSON_DeleteItemFromObjectCaseSensitive(svc, "container_name");
		cJSON_DeleteItemFromObjectCaseSensitive(svc, "healthcheck");
		cJSON_DeleteItemFromObjectCaseSensitive(svc, "network_mode");
	}
	cJSON_AddItemToObject(d->kube_workloads, name, cJSON_Duplicate(copy, true));
	add_play(play, copy);
	cJSON_Delete(copy);
}

/* reads the manifests (a file or a folder): d->compose, the stream */
void
kube_load(struct deploy *d, const char *path)
{
	struct phx_buf play = { 0 };
	char *err = NULL, real[PATH_MAX];
	const cJSON *doc;

	d->compose_path = phx_strdup(realpath(path, real) ? real : path);
	d->kube = phx_kube_load(path, &err);
	if (!d->kube)
		deploy_fail(d, PHX_EXIT_USAGE, "manifests_invalid", "%s", err);
	d->compose_dir = phx_strdup(d->compose_path);
	d->compose = cJSON_CreateObject();
	cJSON_AddObjectToObject(d->compose, "services");
	d->kube_workloads = cJSON_CreateObject();
	d->kube_volumes = cJSON_CreateArray();
	cJSON_ArrayForEach(doc, phx_kube_docs(d->kube)) {
		const char *kind = phx_jstr(doc, "kind");
		if (kube_is_workload(kind))
			add_workload(d, doc, &play);
		else if (strcmp(kind, "ConfigMap") == 0) {
			cJSON *copy = cJSON_Duplicate(doc, true);
			rename_item(d, kube_obj_at(copy, "metadata"), "name");
			if (phx_jstr(phx_cfg(copy, "metadata"), "name"))
				cJSON_AddItemToArray(d->kube_volumes, cJSON_CreateString(
				    phx_jstr(phx_cfg(copy, "metadata"), "name")));
			add_play(&play, copy);
			cJSON_Delete(copy);
		}
		else if (strcmp(kind, "Secret") != 0 &&
		    strcmp(kind, "PersistentVolumeClaim") != 0)
			phx_log(PHX_DEBUG, "%s %s: not run by podman kube play",
			    kind, phx_jstr(phx_cfg(doc, "metadata"), "name"));
	}
	if (!cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d->compose,
	    "services")))
		deploy_fail(d, PHX_EXIT_USAGE, "manifests_invalid", "%s: no Pod, "
		    "Deployment, StatefulSet, DaemonSet or ReplicaSet in it", path);
	d->kube_play = phx_strdup(phx_buf_str(&play));
	phx_buf_free(&play);
	d->compose_text = snapshot(phx_kube_docs(d->kube));
	d->compose_len = strlen(d->compose_text);
}
