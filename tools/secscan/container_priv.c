/* What a container may do beyond its process's user: privileged mode,
 * capabilities, security options, seccomp, the host's namespaces. */
#include <stdlib.h>
#include <string.h>

#include "secscan.h"

void
check_privileged(const struct target *t, const struct subject *s)
{
	const cJSON *v = jpath(t->inspect, "HostConfig.Privileged");

	if (cJSON_IsTrue(v))
		finding(R_PRIVILEGED, s, PHX_ST_FAIL, SEV_RULE, ".HostConfig.Privileged",
		    dup_or_null(v), "privileged: every capability, every device, "
		    "no seccomp");
	else
		finding(R_PRIVILEGED, s, PHX_ST_PASS, SEV_RULE, ".HostConfig.Privileged",
		    dup_or_null(v), "not privileged");
}

/* podman 4.3 derives CapAdd/CapDrop from the bounding set (a privileged
 * container shows CapAdd []), so the sets themselves are the evidence */
void
check_caps(const struct target *t, const struct subject *s)
{
	static const char *sets[] = { "HostConfig.CapAdd", "EffectiveCaps",
	    "BoundingCaps" };
	cJSON *dflt = default_caps(), *extra = cJSON_CreateArray();
	cJSON *kept = cJSON_CreateArray(), *first = NULL;
	const char *first_set = NULL;
	const cJSON *it;
	char *list;

	for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
		cJSON *mine = cJSON_CreateArray();
		cJSON_ArrayForEach(it, jpath(t->inspect, sets[i])) {
			if (!cJSON_IsString(it))
				continue;
			if (phx_jhas(dflt, it->valuestring)) {
				if (i > 0)
					add_unique(kept, it->valuestring);
				continue;
			}
			add_unique(mine, it->valuestring);
			add_unique(extra, it->valuestring);
		}
		if (!first && cJSON_GetArraySize(mine)) {
			first = mine;
			first_set = sets[i];
		} else
			cJSON_Delete(mine);
	}
	list = join(extra);
	if (first) {
		char *field = phx_asprintf(".%s", first_set);
		finding(R_CAPADD, s, PHX_ST_FAIL, SEV_RULE, field, first,
		    "capabilities beyond the engine's default set: %s", list);
		free(field);
	} else
		finding(R_CAPADD, s, PHX_ST_PASS, SEV_RULE, ".HostConfig.CapAdd",
		    dup_or_null(jpath(t->inspect, "HostConfig.CapAdd")),
		    "no capability beyond the engine's default set");
	free(list);
	list = join(kept);
	if (cJSON_GetArraySize(kept))
		finding(R_CAPDEFAULT, s, PHX_ST_INFO, SEV_RULE, ".BoundingCaps",
		    cJSON_Duplicate(kept, true), "keeps %d of the engine's %d "
		    "default capabilities: %s", cJSON_GetArraySize(kept),
		    cJSON_GetArraySize(dflt), list);
	else
		finding(R_CAPDEFAULT, s, PHX_ST_PASS, SEV_RULE, ".BoundingCaps",
		    cJSON_CreateArray(), "no capability left in the bounding set");
	free(list);
	cJSON_Delete(dflt);
	cJSON_Delete(extra);
	cJSON_Delete(kept);
}

static bool
secopt(const struct target *t, const char *prefix)
{
	const cJSON *it;
	size_t n = strlen(prefix);

	cJSON_ArrayForEach(it, jpath(t->inspect, "HostConfig.SecurityOpt"))
		if (cJSON_IsString(it) && strncmp(it->valuestring, prefix, n) == 0 &&
		    !strstr(it->valuestring + n, "false"))
			return true;
	return false;
}

void
check_secopts(const struct target *t, const struct subject *s)
{
	const cJSON *opts = jpath(t->inspect, "HostConfig.SecurityOpt");
	const cJSON *ro = jpath(t->inspect, "HostConfig.ReadonlyRootfs");

	if (secopt(t, "no-new-privileges"))
		finding(R_NNP, s, PHX_ST_PASS, SEV_RULE, ".HostConfig.SecurityOpt",
		    dup_or_null(opts), "no-new-privileges is set");
	else
		finding(R_NNP, s, PHX_ST_FAIL, SEV_RULE, ".HostConfig.SecurityOpt",
		    dup_or_null(opts), "no-new-privileges is not set: setuid "
		    "binaries can raise privileges");
	if (cJSON_IsTrue(ro))
		finding(R_READONLY, s, PHX_ST_PASS, SEV_RULE, ".HostConfig.ReadonlyRootfs",
		    dup_or_null(ro), "root filesystem is read-only");
	else
		finding(R_READONLY, s, PHX_ST_FAIL, SEV_RULE, ".HostConfig.ReadonlyRootfs",
		    dup_or_null(ro), "root filesystem is writable");
}

void
check_seccomp(const struct target *t, const struct subject *s)
{
	const cJSON *opts = jpath(t->inspect, "HostConfig.SecurityOpt");
	bool priv = cJSON_IsTrue(jpath(t->inspect, "HostConfig.Privileged"));

	if (secopt(t, "seccomp=unconfined") || secopt(t, "seccomp:unconfined"))
		finding(R_SECCOMP, s, PHX_ST_FAIL, SEV_RULE, ".HostConfig.SecurityOpt",
		    dup_or_null(opts), "seccomp is disabled (seccomp=unconfined)");
	else if (priv)
		finding(R_SECCOMP, s, PHX_ST_FAIL, SEV_RULE, ".HostConfig.Privileged",
		    cJSON_CreateTrue(), "privileged containers run without seccomp");
	else if (cJSON_IsFalse(jpath(secscan.info, "host.security.seccompEnabled")))
		finding(R_SECCOMP, s, PHX_ST_FAIL, SEV_RULE,
		    "podman info .host.security.seccompEnabled", cJSON_CreateFalse(),
		    "the engine has seccomp disabled");
	else
		finding(R_SECCOMP, s, PHX_ST_PASS, SEV_RULE, ".HostConfig.SecurityOpt",
		    dup_or_null(opts), "seccomp profile in force");
}

void
check_hostns(const struct target *t, const struct subject *s, int r,
    const char *field, const char *ocitype, const char *what)
{
	const char *mode = jpath_str(t->inspect, field);
	int own = oci_ns(t, ocitype);
	char *evfield = phx_asprintf(".%s", field);

	if (mode && strcmp(mode, "host") == 0)
		finding(r, s, PHX_ST_FAIL, SEV_RULE, evfield, cJSON_CreateString(mode),
		    "shares the host's %s namespace", what);
	else if (own == 0)
		finding(r, s, PHX_ST_FAIL, SEV_RULE, "OCIConfigPath linux.namespaces",
		    oci_ns_list(t), "shares the host's %s namespace: the runtime "
		    "config creates no %s namespace (podman inspect says %s "
		    "\"%s\")", what, ocitype, field + strlen("HostConfig."),
		    mode ? mode : "");
	else
		finding(r, s, PHX_ST_PASS, SEV_RULE, evfield,
		    mode ? cJSON_CreateString(mode) : cJSON_CreateNull(),
		    "own %s namespace", what);
	free(evfield);
}
