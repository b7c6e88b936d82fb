/* The state directory: one folder per deployment id holding the
 * snapshots, the stored stream, logs and reports.  0700/0600, and ours
 * alone: one that another user owns or may write in is refused. */
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
static bool state_checked;   /* found ours alone, or made so */

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
	state_checked = false;
}

/* a directory phx made: 0700 whatever the umask (mkdir's mode is masked
 * by it, fchmod's is not).  Opened without following a symlink, so a
 * name swapped in since the mkdir is not what gets the chmod. */
static void
made_private(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || fchmod(fd, 0700) < 0)
		phx_edie(PHX_EXIT_ENV, "%s", path);
	close(fd);
}

/* true when it made path, false when path was there */
static bool
make_dir(const char *path)
{
	if (mkdir(path, 0700) == 0) {
		made_private(path);
		return true;
	}
	if (errno != EEXIST)
		phx_edie(PHX_EXIT_ENV, "%s", path);
	return false;
}

static void
make_dirs(const char *path)
{
	char *p = phx_strdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/' || s[-1] == '/')
			continue;
		*s = '\0';
		make_dir(p);
		*s = '/';
	}
	make_dir(p);
	free(p);
}

/* Whoever may write in the state directory may plant a symlink where phx
 * writes, or a snapshot phx-deploy would run: it must be ours alone.
 * A symlink to it is the user's choice, as long as the user made it. */
static void
state_check(const char *dir)
{
	struct stat st;
	uid_t me = geteuid();

	if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode) && st.st_uid != me &&
	    st.st_uid != 0)
		phx_die(PHX_EXIT_USAGE, "state directory %s is a symlink owned by "
		    "uid %ld: refused; set PHX_STATE_DIR to a directory of your "
		    "own", dir, (long)st.st_uid);
	if (stat(dir, &st) < 0)
		phx_edie(PHX_EXIT_ENV, "state directory %s", dir);
	if (!S_ISDIR(st.st_mode))
		phx_die(PHX_EXIT_USAGE, "state directory %s is not a directory", dir);
	if (st.st_uid != me)
		phx_die(PHX_EXIT_USAGE, "state directory %s belongs to uid %ld, not "
		    "to uid %ld: refused; set PHX_STATE_DIR to a directory of your "
		    "own", dir, (long)st.st_uid, (long)me);
	if (st.st_mode & 022)
		phx_die(PHX_EXIT_USAGE, "state directory %s is writable by group "
		    "or others (mode %04o): refused; fix with chmod 700 %s", dir,
		    (unsigned)(st.st_mode & 07777), dir);
}

void
phx_state_prepare(void)
{
	const char *dir = phx_state_dir();

	if (state_checked)
		return;
	make_dirs(dir);
	state_check(dir);
	state_checked = true;
}

/* reading from the state directory trusts it as much as writing does;
 * one that is not there yet is made when something is written */
static void
state_trust(void)
{
	struct stat st;

	if (state_checked || (stat(phx_state_dir(), &st) < 0 && errno == ENOENT))
		return;
	state_check(phx_state_dir());
	state_checked = true;
}

/* a path inside the state directory (or the directory itself) */
static bool
in_state_dir(const char *path)
{
	const char *dir = phx_state_dir();
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

void
phx_mkdirs(const char *path)
{
	if (in_state_dir(path))
		phx_state_prepare();
	make_dirs(path);
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
	phx_state_prepare();
	/* mkdir is atomic: two deployments in the same second get _2, _3 */
	for (int n = 1; n < 10000; n++) {
		char *id = n == 1 ? phx_strdup(base) : phx_asprintf("%s_%d", base, n);
		char *dir = phx_asprintf("%s/%s", phx_state_dir(), id);
		int rc = mkdir(dir, 0700);

		if (rc == 0)
			made_private(dir);
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
	state_trust();
	return name ? phx_asprintf("%s/%s/%s", phx_state_dir(), id, name)
	    : phx_asprintf("%s/%s", phx_state_dir(), id);
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
