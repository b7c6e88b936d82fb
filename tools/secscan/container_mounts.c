/* Host paths and engine sockets mounted into a container. */
#include <stdlib.h>
#include <string.h>

#include "secscan.h"

/* /var/run is /run on every current distribution */
static char *
norm_path(const char *p)
{
	if (strncmp(p, "/var/run/", 9) == 0 || strcmp(p, "/var/run") == 0)
		return phx_asprintf("/run%s", p + 8);
	return phx_strdup(p);
}

static bool
path_within(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return strcmp(p, "/") == 0;
	return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

static bool
engine_socket(const char *src)
{
	static const char *sockets[] = { "/run/podman/podman.sock",
	    "/run/docker.sock", "/run/containerd/containerd.sock",
	    "/run/crio/crio.sock" };
	const char *base = strrchr(src, '/');

	base = base ? base + 1 : src;
	if (strcmp(base, "docker.sock") == 0 || strcmp(base, "podman.sock") == 0 ||
	    strcmp(base, "containerd.sock") == 0 || strcmp(base, "crio.sock") == 0)
		return true;
	/* a directory above a socket exposes it too */
	for (size_t i = 0; i < sizeof sockets / sizeof *sockets; i++)
		if (path_within(sockets[i], src) || strcmp(src, "/") == 0)
			return true;
	return false;
}

static cJSON *
mount_evidence(const cJSON *m)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "Source", phx_jstr(m, "Source"));
	cJSON_AddStringToObject(e, "Destination",
	    phx_jstr(m, "Destination") ? phx_jstr(m, "Destination") : "");
	cJSON_AddBoolToObject(e, "RW", phx_jbool(m, "RW", true));
	return e;
}

void
check_mounts(const struct target *t, const struct subject *s)
{
	const cJSON *dirs = phx_cfg(secscan.cfg, "security.sensitive_mounts"), *m, *d;
	cJSON *bad = cJSON_CreateArray(), *sock = cJSON_CreateArray();
	struct phx_buf bm = { 0 }, bs = { 0 };

	cJSON_ArrayForEach(m, jpath(t->inspect, "Mounts")) {
		const char *src = phx_jstr(m, "Source");
		char *p;
		if (!src || !phx_jstr(m, "Type") || strcmp(phx_jstr(m, "Type"), "bind"))
			continue;
		p = norm_path(src);
		cJSON_ArrayForEach(d, dirs)
			if (cJSON_IsString(d) && path_within(p, d->valuestring)) {
				cJSON_AddItemToArray(bad, mount_evidence(m));
				phx_buf_printf(&bm, "%s%s -> %s (%s)", bm.len ? ", " : "",
				    src, phx_jstr(m, "Destination"),
				    phx_jbool(m, "RW", true) ? "read-write" : "read-only");
				break;
			}
		if (engine_socket(p)) {
			cJSON_AddItemToArray(sock, mount_evidence(m));
			phx_buf_printf(&bs, "%s%s -> %s", bs.len ? ", " : "", src,
			    phx_jstr(m, "Destination"));
		}
		free(p);
	}
	if (cJSON_GetArraySize(bad))
		finding(R_MOUNTS, s, PHX_ST_FAIL, SEV_RULE, ".Mounts", bad,
		    "sensitive host paths mounted: %s", phx_buf_str(&bm));
	else {
		cJSON_Delete(bad);
		finding(R_MOUNTS, s, PHX_ST_PASS, SEV_RULE, ".Mounts", cJSON_CreateArray(),
		    "no sensitive host path mounted");
	}
	if (cJSON_GetArraySize(sock))
		finding(R_SOCKET, s, PHX_ST_FAIL, SEV_RULE, ".Mounts", sock,
		    "container engine socket mounted: %s: full control of the "
		    "host", phx_buf_str(&bs));
	else {
		cJSON_Delete(sock);
		finding(R_SOCKET, s, PHX_ST_PASS, SEV_RULE, ".Mounts", cJSON_CreateArray(),
		    "no container engine socket mounted");
	}
	phx_buf_free(&bm);
	phx_buf_free(&bs);
}
