/* The containers to scan: from the command line, a project or the
 * stream, each with its podman inspect object and OCI runtime config. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "secscan.h"

/* a podman container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*) or id (hex, a
 * subset): anything else, "--latest" say, would reach podman as an option */
static bool
valid_ref(const char *ref)
{
	size_t n = strspn(ref, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");

	return isalnum((unsigned char)ref[0]) && ref[n] == '\0' && n <= 255;
}

void
add_target(const char *ref, const char *service, bool from_argv)
{
	struct target *t, **tail = &secscan.targets;

	if (!valid_ref(ref)) {
		phx_emit_error("invalid", "container \"%.64s\"%s%s: not a container "
		    "name or id; not scanned", ref, service ? " of service " : "",
		    service ? service : "");
		phx_log(PHX_ERROR, "container \"%.64s\": not a container name or id",
		    ref);
		if (from_argv)
			secscan.missing_argv = true;
		else
			secscan.errors++;
		return;
	}
	for (t = secscan.targets; t; tail = &t->next, t = t->next)
		if (strcmp(t->ref, ref) == 0)
			return;
	t = phx_calloc(1, sizeof *t);
	t->ref = phx_strdup(ref);
	t->service = service ? phx_strdup(service) : NULL;
	t->from_argv = from_argv;
	*tail = t;
}

void
add_project(const char *project)
{
	char *why = NULL;
	cJSON *list = phx_podman_project_ps(project, &why);
	const cJSON *c;

	if (!list) {
		phx_emit_error("podman", "%s", why);
		phx_log(PHX_ERROR, "%s", why);
		secscan.errors++;
		free(why);
		return;
	}
	if (!cJSON_GetArraySize(list)) {
		phx_emit_error("missing", "project %s has no containers", project);
		phx_log(PHX_ERROR, "project %s has no containers", project);
		secscan.missing_argv = true;
	}
	cJSON_ArrayForEach(c, list)
		if (phx_jstr(c, "Id"))
			add_target(phx_jstr(c, "Id"),
			    phx_podman_label(c, PHX_LABEL_SERVICE), true);
	cJSON_Delete(list);
}

static void
adopt_inspect(struct target *t, cJSON *obj)
{
	const char *oci, *svc;
	char *text, *why = NULL;

	t->inspect = obj;
	t->name = jpath_str(t->inspect, "Name");
	t->project = phx_podman_label(t->inspect, PHX_LABEL_PROJECT);
	svc = phx_podman_label(t->inspect, PHX_LABEL_SERVICE);
	if (!t->service && svc)
		t->service = phx_strdup(svc);
	/* the runtime config tells which namespaces really exist; podman 4.3's
	 * inspect reports IpcMode "shareable" even for --ipc host */
	oci = jpath_str(t->inspect, "OCIConfigPath");
	if (oci && (text = read_regular(oci, NULL, &why))) {
		t->oci = cJSON_Parse(text);
		free(text);
	} else if (oci) {
		phx_log(PHX_WARN, "%s; namespaces as podman inspect reports them",
		    why);
		free(why);
	}
}

static bool
inspect_target(struct target *t, char **why)
{
	static const char *args[] = { "container", "inspect", NULL };
	const char *ops[] = { t->ref, NULL };
	cJSON *arr = phx_podman_json(args, ops, why), *obj;

	if (!arr)
		return false;
	obj = cJSON_DetachItemFromArray(arr, 0);
	cJSON_Delete(arr);
	if (!cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		*why = phx_asprintf("%s: podman returned no container", t->ref);
		return false;
	}
	adopt_inspect(t, obj);
	return true;
}

/* one podman call per INSPECT_BATCH containers; when one is gone,
 * podman fails its batch and each is asked alone for its own error */
#define INSPECT_BATCH 200

static void
inspect_batch(struct target *first)
{
	static const char *args[] = { "container", "inspect", NULL };
	const char *ops[INSPECT_BATCH + 1] = { NULL };
	size_t n = 0;
	char *why = NULL;
	cJSON *arr;

	for (struct target *t = first; t && n < INSPECT_BATCH; t = t->next)
		ops[n++] = t->ref;
	arr = phx_podman_json(args, ops, &why);
	free(why);
	if (cJSON_GetArraySize(arr) == (int)n)
		for (struct target *t = first; n--; t = t->next)
			adopt_inspect(t, cJSON_DetachItemFromArray(arr, 0));
	cJSON_Delete(arr);
}

/* reports a target that cannot be scanned, unlinks and frees it */
static void
drop_target(struct target **pp, const char *reason, const char *why)
{
	struct target *t = *pp;

	phx_emit_error(reason, "container %s%s%s: %s", t->ref,
	    t->service ? " of service " : "", t->service ? t->service : "", why);
	phx_log(PHX_ERROR, "container %s: %s", t->ref, why);
	if (t->from_argv)
		secscan.missing_argv = true;
	else
		secscan.errors++;
	*pp = t->next;
	cJSON_Delete(t->inspect);
	free(t->ref);
	free(t->service);
	free(t);
}

void
inspect_targets(void)
{
	struct target **pp = &secscan.targets;

	/* "--latest" would inspect whatever container is newest */
	while (*pp)
		if (!phx_podman_valid_name((*pp)->ref))
			drop_target(pp, "invalid", "invalid container name or id; "
			    "not inspected");
		else
			pp = &(*pp)->next;
	for (struct target *t = secscan.targets; t && !phx_podman_missing();) {
		inspect_batch(t);
		for (int i = 0; t && i < INSPECT_BATCH; i++)
			t = t->next;
	}
	for (pp = &secscan.targets; *pp && !phx_podman_missing();) {
		char *why = NULL;
		if ((*pp)->inspect || inspect_target(*pp, &why))
			pp = &(*pp)->next;
		else if (!phx_podman_missing())
			drop_target(pp, "missing", why);
		free(why);
	}
}

void
free_targets(void)
{
	while (secscan.targets) {
		struct target *t = secscan.targets;
		secscan.targets = t->next;
		cJSON_Delete(t->inspect);
		cJSON_Delete(t->oci);
		free(t->ref);
		free(t->service);
		free(t);
	}
}

/* 1: the runtime config creates namespace TYPE, 0: it shares the host's,
 * -1: unknown */
int
oci_ns(const struct target *t, const char *type)
{
	const cJSON *ns = jpath(t->oci, "linux.namespaces"), *it;

	if (!cJSON_IsArray(ns))
		return -1;
	cJSON_ArrayForEach(it, ns)
		if (phx_jstr(it, "type") && strcmp(phx_jstr(it, "type"), type) == 0)
			return 1;
	return 0;
}

cJSON *
oci_ns_list(const struct target *t)
{
	const cJSON *ns = jpath(t->oci, "linux.namespaces"), *it;
	cJSON *out = cJSON_CreateArray();

	cJSON_ArrayForEach(it, ns)
		if (phx_jstr(it, "type"))
			add_unique(out, phx_jstr(it, "type"));
	return out;
}
