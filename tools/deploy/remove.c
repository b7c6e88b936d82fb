/* removing a project: containers, then networks, then volumes, by
 * the compose project label (podman-compose 1.0.3's down keeps the
 * network, and anonymous volumes go with their container: rm -v).
 * Named volumes are data: the caller says which ones stay, as compose's
 * down keeps them unless given -v. */
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

static void
remove_objects(const char *kind, const cJSON *names)
{
	static const char *rm[] = { "rm", "-f", "-v", "-t", STOP_TIMEOUT, NULL };
	const char *other[] = { kind, "rm", "-f", NULL };
	struct args ops = { 0 };
	const cJSON *n;
	struct phx_run r;

	if (!cJSON_GetArraySize(names))
		return;
	cJSON_ArrayForEach(n, names)
		args_add(&ops, n->valuestring);
	podman_run(strcmp(kind, "container") == 0 ? rm : other, ops.v, &r);
	phx_run_free(&r);
	args_free(&ops);
}

static cJSON *
ps_names(const cJSON *ps)
{
	cJSON *names = cJSON_CreateArray();
	const cJSON *c;

	cJSON_ArrayForEach(c, ps) {
		const cJSON *n = cJSON_GetArrayItem(
		    cJSON_GetObjectItemCaseSensitive(c, "Names"), 0);
		const char *id = phx_jstr(c, "Id");
		if (cJSON_IsString(n) || id)
			cJSON_AddItemToArray(names, cJSON_CreateString(
			    cJSON_IsString(n) ? n->valuestring : id));
	}
	return names;
}

/* the kube engine's ConfigMap volumes that exist, added to vols */
static void
add_kube_volumes(const struct deploy *d, cJSON *vols)
{
	static const char *args[] = { "volume", "ls", "--format", "{{.Name}}",
	    NULL };
	struct phx_run r;
	char *out, *save = NULL;

	if (!cJSON_GetArraySize(d->kube_volumes))
		return;
	if (podman_run(args, NULL, &r)) {
		out = phx_strdup(phx_buf_str(&r.out));
		for (char *l = strtok_r(out, "\n", &save); l;
		    l = strtok_r(NULL, "\n", &save))
			if (phx_jhas(d->kube_volumes, l) && !phx_jhas(vols, l))
				cJSON_AddItemToArray(vols, cJSON_CreateString(l));
		free(out);
	}
	phx_run_free(&r);
}

/* the project's volumes not named in keep (keep NULL: every one) */
static cJSON *
volumes_to_remove(struct deploy *d, const cJSON *keep)
{
	cJSON *vols = project_objects(d, "volume"), *n;

	add_kube_volumes(d, vols);
	n = vols->child;

	while (n) {
		cJSON *next = n->next;
		if (keep && phx_jhas(keep, n->valuestring))
			cJSON_Delete(cJSON_DetachItemViaPointer(vols, n));
		n = next;
	}
	return vols;
}

/* the pods of the project (the kube engine's: podman kube play puts the
 * pod's labels on the pod), each with its infra container */
static void
remove_pods(struct deploy *d)
{
	char *filter = phx_asprintf("label=%s=%s", PHX_LABEL_PROJECT, d->project);
	const char *args[] = { "pod", "ls", "-q", "--filter", filter, NULL };
	static const char *rm[] = { "pod", "rm", "-f", "-t", STOP_TIMEOUT, NULL };
	struct args ops = { 0 };
	struct phx_run r;
	char *out, *save = NULL;

	podman_run(args, NULL, &r);
	out = phx_strdup(phx_buf_str(&r.out));
	phx_run_free(&r);
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		args_add(&ops, l);
	if (ops.n) {
		podman_run(rm, ops.v, &r);
		phx_run_free(&r);
	}
	args_free(&ops);
	free(out);
	free(filter);
}

/* what is left, as {"containers":[...],"networks":[...],"volumes":[...]} */
static cJSON *
leftovers(struct deploy *d, const cJSON *keep)
{
	cJSON *left = cJSON_CreateObject(), *ps = project_ps(d);

	cJSON_AddItemToObject(left, "containers", ps_names(ps));
	cJSON_AddItemToObject(left, "networks", project_objects(d, "network"));
	cJSON_AddItemToObject(left, "volumes", volumes_to_remove(d, keep));
	cJSON_Delete(ps);
	return left;
}

int
count_left(const cJSON *left)
{
	const cJSON *it;
	int n = 0;

	cJSON_ArrayForEach(it, left)
		n += cJSON_GetArraySize(it);
	return n;
}

static void
print_manual(struct deploy *d, const cJSON *left)
{
	static const char *kinds[][2] = { { "containers", "rm -f" },
	    { "networks", "network rm -f" }, { "volumes", "volume rm -f" } };
	const char *cc = getenv("CONTAINERS_CONF");
	char *prefix = cc && *cc ? phx_asprintf("CONTAINERS_CONF=%s ", cc)
	    : phx_strdup("");

	phx_log(PHX_ERROR, "project %s: could not remove everything; remove the rest by hand:",
	    d->project);
	for (size_t k = 0; k < 3; k++) {
		const cJSON *n;
		cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(left, kinds[k][0]))
			phx_log(PHX_ERROR, "  %s%s %s %s", prefix, d->podman,
			    kinds[k][1], n->valuestring);
	}
	free(prefix);
}

/* removes everything of the project but the volumes named in keep, and
 * checks; returns what is left (NULL when nothing), having printed the
 * commands to remove it */
cJSON *
remove_project(struct deploy *d, int *removed, const cJSON *keep)
{
	cJSON *ps = project_ps(d), *names = ps_names(ps), *left;
	int tries;

	removed[0] = cJSON_GetArraySize(names);
	remove_pods(d);
	remove_objects("container", names);
	cJSON_Delete(names);
	cJSON_Delete(ps);
	for (tries = 0; tries < 2; tries++) {
		cJSON *nets = project_objects(d, "network");
		cJSON *vols = volumes_to_remove(d, keep);
		if (tries == 0) {
			removed[1] = cJSON_GetArraySize(nets);
			removed[2] = cJSON_GetArraySize(vols);
		}
		remove_objects("network", nets);
		remove_objects("volume", vols);
		cJSON_Delete(nets);
		cJSON_Delete(vols);
		left = leftovers(d, keep);
		if (!count_left(left)) {
			cJSON_Delete(left);
			return NULL;
		}
		/* a container that appeared late, or was busy: once more */
		remove_objects("container",
		    cJSON_GetObjectItemCaseSensitive(left, "containers"));
		cJSON_Delete(left);
	}
	left = leftovers(d, keep);
	if (!count_left(left)) {
		cJSON_Delete(left);
		return NULL;
	}
	print_manual(d, left);
	return left;
}
