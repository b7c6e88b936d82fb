/* The state directory: one folder per deployment id holding the
 * snapshots, the stored stream, logs and reports.  0700/0600. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "phx.h"

static char *state_dir;

const char *
phx_state_dir(void)
{
	const char *env = getenv("PHX_STATE_DIR");

	if (state_dir)
		return state_dir;
	return env && *env ? env : ".phx";
}

void
phx_set_state_dir(const char *dir)
{
	free(state_dir);
	state_dir = dir ? phx_strdup(dir) : NULL;
}

void
phx_mkdirs(const char *path)
{
	char *p = phx_strdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			phx_edie(PHX_EXIT_ENV, "%s", p);
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		phx_edie(PHX_EXIT_ENV, "%s", p);
	free(p);
}

bool
phx_valid_deployment_id(const char *id)
{
	size_t n;

	if (!id || strncmp(id, "deploy_", 7) != 0)
		return false;
	n = strlen(id);
	if (n < 22 || n > 64)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		    *p == '_'))
			return false;
	return true;
}

char *
phx_claim_deployment_id(void)
{
	char base[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(base, sizeof base, "deploy_%Y%m%d_%H%M%S", &tm);
	phx_mkdirs(phx_state_dir());
	/* mkdir is atomic: two deployments in the same second get _2, _3 */
	for (int n = 1; n < 10000; n++) {
		char *id = n == 1 ? phx_strdup(base) : phx_asprintf("%s_%d", base, n);
		char *dir = phx_asprintf("%s/%s", phx_state_dir(), id);
		int rc = mkdir(dir, 0700);

		free(dir);
		if (rc == 0)
			return id;
		free(id);
		if (errno != EEXIST)
			phx_edie(PHX_EXIT_ENV, "%s", phx_state_dir());
	}
	phx_die(PHX_EXIT_ENV, "%s: cannot claim a deployment id", phx_state_dir());
}

char *
phx_deployment_path(const char *id, const char *name)
{
	return name ? phx_asprintf("%s/%s/%s", phx_state_dir(), id, name)
	    : phx_asprintf("%s/%s", phx_state_dir(), id);
}

bool
phx_write_file(const char *path, const void *data, size_t len)
{
	char *tmp = phx_asprintf("%s.tmp.%ld", path, (long)getpid());
	const char *p = data;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok = fd >= 0;

	while (ok && len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ok = false;
		else {
			p += n;
			len -= (size_t)n;
		}
	}
	if (fd >= 0 && close(fd) < 0)
		ok = false;
	if (ok && rename(tmp, path) < 0)
		ok = false;
	if (!ok) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
	}
	free(tmp);
	return ok;
}

char *
phx_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct phx_buf b = { 0 };
	char chunk[65536];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		phx_buf_add(&b, chunk, n);
	if (ferror(f)) {
		int saved = errno;
		fclose(f);
		phx_buf_free(&b);
		errno = saved;
		return NULL;
	}
	fclose(f);
	phx_buf_str(&b);
	if (len)
		*len = b.len;
	return b.data;
}
