/* Which user a container's process runs as, in which user namespace. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secscan.h"

/* a user's uid from the container's own /etc/passwd; podman cp works on
 * stopped containers too and runs nothing inside the container */
static long
passwd_uid(const struct target *t, const char *user, char **why)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = phx_asprintf("%s/phx-secscan.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	char *src = NULL, *dst = NULL, *text = NULL, *save = NULL;
	struct phx_run run;
	long uid = -1;

	if (!mkdtemp(dir)) {
		*why = phx_asprintf("%s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	src = phx_asprintf("%s:/etc/passwd", jpath_str(t->inspect, "Id"));
	dst = phx_asprintf("%s/passwd", dir);
	{
		static const char *args[] = { "cp", NULL };
		const char *ops[] = { src, dst, NULL };
		if (phx_podman(args, ops, &run, why))
			text = read_regular(dst, NULL, why);
		phx_run_free(&run);
	}
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l;
	    l = strtok_r(NULL, "\n", &save)) {
		char *f[4] = { 0 }, *p = l;
		for (int i = 0; i < 4 && p; i++) {
			f[i] = p;
			if ((p = strchr(p, ':')))
				*p++ = '\0';
		}
		if (f[2] && strcmp(f[0], user) == 0) {
			uid = strtol(f[2], NULL, 10);
			break;
		}
	}
	if (text && uid < 0 && !*why)
		*why = phx_asprintf("no user \"%s\" in the image's /etc/passwd", user);
	unlink(dst);
	rmdir(dir);
	free(text);
	free(src);
	free(dst);
	free(dir);
	return uid;
}

/* returns the uid the process runs as, -1 when unknown */
long
check_user(const struct target *t, const struct subject *s)
{
	const char *user = jpath_str(t->inspect, "Config.User");
	char name[256], *end, *why = NULL;
	long uid;

	if (!user)
		user = "";
	snprintf(name, sizeof name, "%.*s", (int)strcspn(user, ":"), user);
	if (!*name) {
		finding(R_USER, s, PHX_ST_FAIL, SEV_RULE, ".Config.User",
		    cJSON_CreateString(user),
		    "no user set: the process runs as root (uid 0)");
		return 0;
	}
	uid = strtol(name, &end, 10);
	if (*end || end == name) {
		uid = passwd_uid(t, name, &why);
		if (uid < 0 && strcmp(name, "root") == 0)
			uid = 0;
	}
	if (uid < 0)
		finding(R_USER, s, PHX_ST_WARN, SEV_RULE, ".Config.User",
		    cJSON_CreateString(user), "user \"%s\" could not be resolved: %s",
		    name, why ? why : "unknown");
	else if (uid == 0)
		finding(R_USER, s, PHX_ST_FAIL, SEV_RULE, ".Config.User",
		    cJSON_CreateString(user), "runs as root (user \"%s\" is uid 0)",
		    user);
	else
		finding(R_USER, s, PHX_ST_PASS, SEV_RULE, ".Config.User",
		    cJSON_CreateString(user), "runs as uid %ld%s%s%s", uid,
		    isdigit((unsigned char)*name) ? "" : " (",
		    isdigit((unsigned char)*name) ? "" : name,
		    isdigit((unsigned char)*name) ? "" : ")");
	free(why);
	return uid;
}

void
check_userns(const struct target *t, const struct subject *s, long uid)
{
	const char *mode = jpath_str(t->inspect, "HostConfig.UsernsMode");
	const cJSON *map = jpath(t->inspect, "HostConfig.IDMappings.UidMap");
	int own = oci_ns(t, "user");

	if (!mode)
		mode = "";
	if (cJSON_IsTrue(jpath(secscan.info, "host.security.rootless")))
		finding(R_USERNS, s, PHX_ST_PASS, SEV_RULE, ".HostConfig.UsernsMode",
		    cJSON_CreateString(mode), "rootless engine: container uids map "
		    "to the user's subordinate ids");
	else if (own == 1 || (own < 0 && *mode && strcmp(mode, "host") != 0))
		finding(R_USERNS, s, PHX_ST_PASS, SEV_RULE,
		    ".HostConfig.IDMappings.UidMap", dup_or_null(map),
		    "own user namespace (UsernsMode \"%s\")", mode);
	else
		finding(R_USERNS, s, PHX_ST_WARN, SEV_RULE, ".HostConfig.UsernsMode",
		    cJSON_CreateString(mode), "shares the host's user namespace on "
		    "a rootful engine: uid %ld in the container is uid %ld on the "
		    "host", uid < 0 ? 0 : uid, uid < 0 ? 0 : uid);
}
