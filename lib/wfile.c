/* Files phx writes, written so that nothing planted can redirect them:
 * the bytes go to a fresh temporary name that open() creates itself
 * (O_CREAT|O_EXCL|O_NOFOLLOW: a symlink or file already there is never
 * followed, truncated or chmod'ed), and rename() puts it in place, which
 * replaces a symlink at the target rather than writing through it.
 * Readers see the old file or the whole new one, never half. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "phx.h"

struct phx_wfile {
	FILE *fp;
	char *path;
	char *tmp;
	mode_t mode;
	struct phx_wfile *next;   /* files not yet committed or aborted */
};

/* a process that dies (phx_die, a signal) leaves no temporary behind */
static struct phx_wfile *volatile open_files;

void
phx_wfile_unlink_all(void)
{
	for (struct phx_wfile *w = open_files; w; w = w->next)
		unlink(w->tmp);
}

static void
at_exit(void)
{
	phx_wfile_unlink_all();
}

static void
track(struct phx_wfile *w)
{
	static bool registered;

	if (!registered && atexit(at_exit) == 0)
		registered = true;
	w->next = open_files;
	open_files = w;
}

static void
untrack(struct phx_wfile *w)
{
	struct phx_wfile *volatile *pp = &open_files;

	while (*pp && *pp != w)
		pp = &(*pp)->next;
	if (*pp)
		*pp = w->next;
}

/* mkstemp with O_NOFOLLOW and O_CLOEXEC spelt out: PATH.tmp.XXXXXX */
static int
create_tmp(const char *path, char **tmp)
{
	static unsigned counter;
	struct timespec ts;

	for (int tries = 0; tries < 100; tries++) {
		unsigned long mix;
		int fd;

		clock_gettime(CLOCK_REALTIME, &ts);
		mix = (unsigned long)ts.tv_nsec * 2654435761u ^
		    (unsigned long)getpid() << 16 ^ ++counter * 40503u;
		*tmp = phx_asprintf("%s.tmp.%06lx", path, mix & 0xffffff);
		fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		free(*tmp);
		*tmp = NULL;
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

struct phx_wfile *
phx_wfile_open(const char *path, mode_t mode)
{
	struct phx_wfile *w = phx_calloc(1, sizeof *w);
	int fd = create_tmp(path, &w->tmp);

	if (fd < 0 || !(w->fp = fdopen(fd, "w"))) {
		int saved = errno;

		if (fd >= 0) {
			close(fd);
			unlink(w->tmp);
		}
		free(w->tmp);
		free(w);
		errno = saved;
		return NULL;
	}
	w->path = phx_strdup(path);
	w->mode = mode & 0777;
	track(w);
	return w;
}

FILE *
phx_wfile_fp(struct phx_wfile *w)
{
	return w->fp;
}

static void
wfile_free(struct phx_wfile *w)
{
	untrack(w);
	free(w->tmp);
	free(w->path);
	free(w);
}

bool
phx_wfile_commit(struct phx_wfile *w)
{
	/* the mode is set on the descriptor: the umask has no say, and no
	 * name is looked up again before the rename */
	bool ok = fflush(w->fp) != EOF && !ferror(w->fp) &&
	    fchmod(fileno(w->fp), w->mode) == 0;
	int saved = errno;

	if (fclose(w->fp) == EOF && ok) {
		ok = false;
		saved = errno;
	}
	if (ok && rename(w->tmp, w->path) < 0) {
		ok = false;
		saved = errno;
	}
	if (!ok)
		unlink(w->tmp);
	wfile_free(w);
	errno = saved;
	return ok;
}

void
phx_wfile_abort(struct phx_wfile *w)
{
	int saved = errno;

	if (!w)
		return;
	fclose(w->fp);
	unlink(w->tmp);
	wfile_free(w);
	errno = saved;
}

bool
phx_write_file(const char *path, const void *data, size_t len)
{
	struct phx_wfile *w = phx_wfile_open(path, 0600);

	if (!w)
		return false;
	if (len && fwrite(data, 1, len, w->fp) != len) {
		phx_wfile_abort(w);
		return false;
	}
	return phx_wfile_commit(w);
}

/* the file at path must be one we may trust: a regular file of ours with
 * no other name (a hard link to someone else's file would be as bad as a
 * symlink) */
static bool
own_plain_file(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return false;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1) {
		errno = S_ISREG(st.st_mode) ? EPERM : EINVAL;
		return false;
	}
	return true;
}

int
phx_open_append(const char *path, mode_t mode)
{
	int flags = O_RDWR | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	int fd = open(path, flags | O_CREAT | O_EXCL, 0600);
	bool created = fd >= 0;

	if (fd < 0 && errno == EEXIST)
		fd = open(path, flags);
	if (fd < 0)
		return -1;
	if (!own_plain_file(fd) ||
	    (created && fchmod(fd, mode & 0777) < 0) ||
	    fcntl(fd, F_SETFL, O_APPEND) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}
