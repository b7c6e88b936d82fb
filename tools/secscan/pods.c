/* The pod checks: each container of each pod spec in Kubernetes
 * manifests against the Pod Security Standards' restricted profile and
 * the matching CIS Kubernetes Benchmark items, with kube-score's and
 * Polaris's names for them in the rules' descriptions.  A finding points
 * at the manifest line of the field it judges (of the container, when the
 * field is missing). */
#include <stdlib.h>
#include <string.h>

#include "secscan.h"

struct pod {
	const struct phx_kube *k;
	const cJSON *spec, *c;      /* pod spec, container */
	struct subject s;
};

/* the line of field (a path under the container, then the pod spec) */
static void
at(struct pod *p, const cJSON *item)
{
	unsigned line = 0;
	const char *file = item ? phx_kube_where(p->k, item, true, &line) : NULL;

	if (!file)
		file = phx_kube_where(p->k, cJSON_GetObjectItemCaseSensitive(p->c,
		    "name"), true, &line);
	p->s.file = file;
	p->s.line = line;
}

/* the container's securityContext field, else the pod's */
static const cJSON *
effective(const struct pod *p, const char *path)
{
	const cJSON *v = phx_cfg(cJSON_GetObjectItemCaseSensitive(p->c,
	    "securityContext"), path);

	return v ? v : phx_cfg(cJSON_GetObjectItemCaseSensitive(p->spec,
	    "securityContext"), path);
}

static void
judge(struct pod *p, int r, const cJSON *item, bool ok, const char *field,
    const char *fmt_ok, const char *fmt_bad)
{
	at(p, item);
	finding(r, &p->s, ok ? PHX_ST_PASS : PHX_ST_FAIL, SEV_RULE, field,
	    item ? cJSON_Duplicate(item, true) : NULL, "%s %s: %s",
	    p->s.target, p->s.container, ok ? fmt_ok : fmt_bad);
}

static bool
drops_all(const cJSON *drop)
{
	const cJSON *d;

	cJSON_ArrayForEach(d, drop)
		if (cJSON_IsString(d) && strcmp(d->valuestring, "ALL") == 0)
			return true;
	return false;
}

static bool
adds_only_bind(const cJSON *add)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, add)
		if (!cJSON_IsString(a) || strcmp(a->valuestring, "NET_BIND_SERVICE") != 0)
			return false;
	return true;
}

static void
check_container(struct pod *p)
{
	const cJSON *nr = effective(p, "runAsNonRoot"), *uid = effective(p, "runAsUser");
	const cJSON *sc = cJSON_GetObjectItemCaseSensitive(p->c, "securityContext");
	const cJSON *esc = phx_cfg(sc, "allowPrivilegeEscalation");
	const cJSON *caps = phx_cfg(sc, "capabilities");
	const char *seccomp = phx_jstr(effective(p, "seccompProfile"), "type");
	const cJSON *ro = phx_cfg(sc, "readOnlyRootFilesystem");
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(p->c, "resources");
	const cJSON *priv = phx_cfg(sc, "privileged");

	judge(p, R_K_NONROOT, nr, cJSON_IsTrue(nr) && !(cJSON_IsNumber(uid) &&
	    uid->valuedouble == 0), "securityContext.runAsNonRoot",
	    "runs as non-root", "runAsNonRoot is not true (or runAsUser is 0)");
	judge(p, R_K_ESCALATION, esc, cJSON_IsFalse(esc),
	    "securityContext.allowPrivilegeEscalation",
	    "privilege escalation disallowed",
	    "allowPrivilegeEscalation is not false");
	judge(p, R_K_CAPS, caps, drops_all(phx_cfg(caps, "drop")) &&
	    adds_only_bind(phx_cfg(caps, "add")), "securityContext.capabilities",
	    "drops ALL capabilities", "capabilities.drop lacks ALL, or add "
	    "holds more than NET_BIND_SERVICE");
	judge(p, R_K_SECCOMP, effective(p, "seccompProfile"), seccomp &&
	    (strcmp(seccomp, "RuntimeDefault") == 0 ||
	    strcmp(seccomp, "Localhost") == 0), "securityContext.seccompProfile",
	    "seccomp profile RuntimeDefault or Localhost",
	    "no RuntimeDefault or Localhost seccompProfile");
	judge(p, R_K_READONLY, ro, cJSON_IsTrue(ro),
	    "securityContext.readOnlyRootFilesystem", "read-only root filesystem",
	    "readOnlyRootFilesystem is not true");
	judge(p, R_K_RESOURCES, res, phx_cfg(res, "requests.cpu") &&
	    phx_cfg(res, "requests.memory") && phx_cfg(res, "limits.cpu") &&
	    phx_cfg(res, "limits.memory"), "resources",
	    "requests and limits CPU and memory",
	    "lacks a CPU or memory request or limit");
	judge(p, R_K_PRIVILEGED, priv, !cJSON_IsTrue(priv),
	    "securityContext.privileged", "not privileged", "privileged");
}

/* the pod-level checks, told on its first container */
static void
check_pod(struct pod *p)
{
	static const struct { int r; const char *field; } host[] = {
		{ R_K_HOSTNET, "hostNetwork" }, { R_K_HOSTPID, "hostPID" },
		{ R_K_HOSTIPC, "hostIPC" },
	};
	const cJSON *v, *hp = NULL;

	for (size_t i = 0; i < sizeof host / sizeof *host; i++) {
		const cJSON *it = cJSON_GetObjectItemCaseSensitive(p->spec,
		    host[i].field);
		judge(p, host[i].r, it, !cJSON_IsTrue(it), host[i].field,
		    "no host namespace", "shares the host's namespace");
	}
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(p->spec, "volumes"))
		if (!hp && cJSON_GetObjectItemCaseSensitive(v, "hostPath"))
			hp = cJSON_GetObjectItemCaseSensitive(v, "hostPath");
	judge(p, R_K_HOSTPATH, hp, !hp, "volumes.hostPath", "no hostPath volume",
	    "mounts a hostPath volume");
}

void
scan_manifests(const char *path)
{
	static const char *const lists[] = { "containers", "initContainers" };
	char *err = NULL;
	struct phx_kube *k = phx_kube_load(path, &err);
	const cJSON *doc, *c;

	if (!k) {
		phx_log(PHX_ERROR, "%s", err);
		secscan.errors++;
		free(err);
		return;
	}
	cJSON_ArrayForEach(doc, phx_kube_docs(k)) {
		struct pod p = { k, phx_kube_pod_spec(doc), NULL, { 0 } };
		char *target;
		if (!p.spec)
			continue;
		target = phx_asprintf("%s/%s", phx_jstr(doc, "kind"),
		    phx_jstr(phx_cfg(doc, "metadata"), "name"));
		p.s.service = phx_jstr(phx_cfg(doc, "metadata"), "name");
		p.s.target = target;
		for (size_t i = 0; i < 2; i++)
			cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(p.spec,
			    lists[i])) {
				p.c = c;
				p.s.container = phx_jstr(c, "name");
				check_container(&p);
				if (i == 0 && c == cJSON_GetArrayItem(
				    cJSON_GetObjectItemCaseSensitive(p.spec, lists[0]), 0))
					check_pod(&p);
			}
		free(target);
	}
	phx_kube_free(k);
}
