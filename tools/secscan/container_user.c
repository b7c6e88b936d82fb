/* Which user a container's process runs as, in which user namespace. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secscan.h"

/* podman cp of a container's /etc/passwd (it works on stopped
 * containers too and runs nothing inside); every one a scan needs is
 * begun at once, after the inspect, so that none waits for another */
struct pw_fetch {
	const struct target *t;
	struct phx_run run;
	int fd;
	char *dir, *dst, *why;
};
static struct pw_fetch *fetches;
static size_t nfetches;

static struct pw_fetch *
passwd_start(const struct target *t)
{
	static const char *args[] = { "cp", NULL };
	const char *tmp = getenv("TMPDIR");
	struct pw_fetch *f;
	char *src;

	fetches = phx_reallocarray(fetches, nfetches + 1, sizeof *fetches);
	f = memset(&fetches[nfetches++], 0, sizeof *fetches);
	f->t = t;
	f->fd = -1;
	f->dir = phx_asprintf("%s/phx-secscan.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir)) {
		f->why = phx_asprintf("%s: %s", f->dir, strerror(errno));
		return f;
	}
	src = phx_asprintf("%s:/etc/passwd", jpath_str(t->inspect, "Id"));
	f->dst = phx_asprintf("%s/passwd", f->dir);
	{
		const char *ops[] = { src, f->dst, NULL };
		if (!phx_podman_start(args, ops, &f->run, &f->fd)) {
			f->fd = -1;
			f->why = phx_asprintf("%s: %s", phx_podman_program(),
			    strerror(f->run.exec_errno));
		}
	}
	free(src);
	return f;
}

static bool
named_user(const struct target *t)
{
	const char *user = jpath_str(t->inspect, "Config.User");
	size_t n = user ? strcspn(user, ":") : 0;

	return n && strspn(user, "0123456789") < n;
}

void
passwd_prefetch(void)
{
	for (const struct target *t = secscan.targets; t; t = t->next)
		if (t->inspect && named_user(t))
			(void)passwd_start(t);
}

/* the copied file's text, NULL (*why) when the copy failed */
static char *
passwd_wait(struct pw_fetch *f, char **why)
{
	struct phx_buf b = { 0 };
	char buf[4096], *text = NULL;
	ssize_t n;

	if (f->fd >= 0) {
		(void)fcntl(f->fd, F_SETFL, fcntl(f->fd, F_GETFL) & ~O_NONBLOCK);
		while ((n = read(f->fd, buf, sizeof buf)) > 0 ||
		    (n < 0 && errno == EINTR && !phx_signal))
			if (n > 0)
				phx_buf_add(&b, buf, (size_t)n);
		close(f->fd);
		f->fd = -1;
		phx_run_reap(&f->run, true);
		if (f->run.status == 0)
			text = read_regular(f->dst, NULL, why);
		else {
			char *line = phx_error_line(&b);
			f->why = phx_asprintf("%s cp: %s", phx_podman_program(),
			    *line ? line : "failed");
			free(line);
		}
	}
	if (!text && !*why && f->why)
		*why = phx_strdup(f->why);
	phx_buf_free(&b);
	return text;
}

static void
passwd_done(struct pw_fetch *f)
{
	if (f->fd >= 0) {
		close(f->fd);
		phx_run_kill(&f->run);
	}
	phx_run_free(&f->run);
	if (f->dst)
		unlink(f->dst);
	rmdir(f->dir);
	free(f->dir);
	free(f->dst);
	free(f->why);
	f->dir = f->dst = f->why = NULL;
	f->fd = -1;
}

void
passwd_free(void)
{
	for (size_t i = 0; i < nfetches; i++)
		if (fetches[i].dir)
			passwd_done(&fetches[i]);
	free(fetches);
	fetches = NULL;
	nfetches = 0;
}

/* a user's uid from the container's own /etc/passwd */
static long
passwd_uid(const struct target *t, const char *user, char **why)
{
	struct pw_fetch *f = NULL;
	char *text, *save = NULL;
	long uid = -1;

	for (size_t i = 0; i < nfetches && !f; i++)
		if (fetches[i].t == t && fetches[i].dir)
			f = &fetches[i];
	if (!f)
		f = passwd_start(t);
	text = passwd_wait(f, why);
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l;
	    l = strtok_r(NULL, "\n", &save)) {
		char *fl[4] = { 0 }, *p = l;
		for (int i = 0; i < 4 && p; i++) {
			fl[i] = p;
			if ((p = strchr(p, ':')))
				*p++ = '\0';
		}
		if (fl[2] && strcmp(fl[0], user) == 0) {
			uid = strtol(fl[2], NULL, 10);
			break;
		}
	}
	if (text && uid < 0 && !*why)
		*why = phx_asprintf("no user \"%s\" in the image's /etc/passwd", user);
	passwd_done(f);
	free(text);
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
