/* where phx-probe's watch (events.c) gets Podman's container events: a
 * `podman events` child, and, once its debug log names the file of
 * Podman's file events logger, that file read in place every
 * FILE_POLL_MS.  podman events polls the same file every 250 ms: most of
 * the time from a container's death to its record (125 ms on average,
 * 156 ms at the median of tests/bench/watch.sh), beside the 50 ms Podman
 * takes to write the event.  The file holds every event since it was
 * made: read from its start, it has all that the child would print, so
 * the child ends once the file is open. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe.h"

#define FILE_POLL_MS 20
#define LINE_MAX_BYTES (1024 * 1024)
/* logrus's debug line naming the file: msg="Reading events from file \"P\"" */
#define FILE_SAYS "Reading events from file \\\""

static struct child events = { .fd = -1 };
static struct {
	int fd;
	char *path;
	off_t off;
	dev_t dev;
	ino_t ino;
	struct phx_buf buf;
	int64_t next;
} file = { .fd = -1 };
static char *project;
static bool file_taken;   /* the child was ended for the file */

void
child_end(struct child *ch)
{
	phx_run_kill(&ch->run);
	if (ch->fd >= 0)
		close(ch->fd);
	ch->fd = -1;
}

bool
child_drain(struct child *ch)
{
	char buf[8192];
	ssize_t n;

	while ((n = read(ch->fd, buf, sizeof buf)) > 0)
		phx_buf_add(&ch->out, buf, (size_t)n);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	child_end(ch);
	return false;
}

void
evsrc_begin(const char *proj, const char *label)
{
	char *filter = phx_asprintf("label=%s=%s", label, proj);
	const char *args[] = { "events", "--log-level=debug", "--format", "json",
	    "--filter", filter, "--filter", "type=container", NULL };

	project = phx_strdup(proj);
	if (!phx_podman_start(args, NULL, &events.run, &events.fd))
		phx_log(PHX_WARN, "cannot run %s events: %s", phx_podman_program(),
		    strerror(events.run.exec_errno));
	else
		phx_log(PHX_DEBUG, "watching the containers of project %s", proj);
	free(filter);
}

/* the file the child named, open from its start; the child is no longer
 * needed */
static void
file_open(const char *said, size_t len)
{
	const char *end = memchr(said, '\\', len);
	struct stat st;

	if (!end || file.fd >= 0)
		return;
	file.path = phx_asprintf("%.*s", (int)(end - said), said);
	if ((file.fd = open(file.path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(file.fd, &st) < 0) {
		phx_log(PHX_DEBUG, "%s: %s: podman events it is", file.path,
		    strerror(errno));
		if (file.fd >= 0)
			close(file.fd);
		file.fd = -1;
		return;
	}
	file.dev = st.st_dev;
	file.ino = st.st_ino;
	phx_log(PHX_DEBUG, "reading Podman's events from %s", file.path);
	file_taken = true;
	child_end(&events);
}

/* one line of the child: an event, the file's name, or its log */
static void
child_line(const char *line, size_t len)
{
	const char *said = len ? memmem(line, len, FILE_SAYS,
	    strlen(FILE_SAYS)) : NULL;
	cJSON *ev;

	if (said) {
		said += strlen(FILE_SAYS);
		file_open(said, len - (size_t)(said - line));
	} else if (len && *line == '{' && (ev = cJSON_ParseWithLength(line, len))) {
		watch_event(ev);
		cJSON_Delete(ev);
	} else if (len && (strncmp(line, "time=", 5) != 0 ||
	    memmem(line, len, "level=warn", 10) ||
	    memmem(line, len, "level=error", 11) ||
	    memmem(line, len, "level=fatal", 11)))
		phx_log(PHX_WARN, "podman events: %.*s", (int)len, line);
}

/* the whole lines of b, each to fn; the rest kept */
static void
lines(struct phx_buf *b, void (*fn)(const char *, size_t))
{
	char *line = b->data, *nl;
	size_t left = b->len;

	while (left && (nl = memchr(line, '\n', left))) {
		fn(line, (size_t)(nl - line));
		left -= (size_t)(nl - line) + 1;
		line = nl + 1;
	}
	if (left > LINE_MAX_BYTES)
		left = 0;
	if (left)
		memmove(b->data, line, left);
	b->len = left;
}

static void
on_child(void)
{
	bool open = child_drain(&events);

	lines(&events.out, child_line);
	if (!open && !file_taken)
		phx_log(PHX_WARN, "podman events ended: containers are no longer "
		    "watched");
	phx_out_flush();
}

/* one line of the file: an event of the project's containers, found
 * by its name before it is parsed (the file has every project's) */
static void
file_line(const char *line, size_t len)
{
	cJSON *ev;
	const char *type, *proj;

	if (!memmem(line, len, project, strlen(project)) ||
	    !(ev = cJSON_ParseWithLength(line, len)))
		return;
	type = phx_jstr(ev, "Type");
	proj = phx_jstr(cJSON_GetObjectItemCaseSensitive(ev, "Attributes"),
	    WATCH_PROJECT_LABEL);
	if (type && strcmp(type, "container") == 0 && proj &&
	    strcmp(proj, project) == 0)
		watch_event(ev);
	cJSON_Delete(ev);
}

/* what was added to the file since; a file replaced or cut (a newer
 * Podman rotates it) is read again from its start: the events already
 * taken are known by their times */
static void
file_read(void)
{
	char chunk[65536];
	struct stat st;
	ssize_t n;

	if (stat(file.path, &st) == 0 && (st.st_ino != file.ino ||
	    st.st_dev != file.dev)) {
		int fd = open(file.path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			close(file.fd);
			file.fd = fd;
			file.dev = st.st_dev;
			file.ino = st.st_ino;
			file.off = 0;
			file.buf.len = 0;
		}
	} else if (fstat(file.fd, &st) == 0 && st.st_size < file.off) {
		file.off = 0;
		file.buf.len = 0;
	}
	while ((n = pread(file.fd, chunk, sizeof chunk, file.off)) > 0) {
		file.off += n;
		phx_buf_add(&file.buf, chunk, (size_t)n);
		lines(&file.buf, file_line);
	}
	phx_out_flush();
}

size_t
evsrc_fds(struct curl_waitfd *fds, size_t n)
{
	if (events.fd >= 0)
		fds[n++] = (struct curl_waitfd){ events.fd, CURL_WAIT_POLLIN, 0 };
	return n;
}

bool
evsrc_ready(int fd)
{
	if (fd < 0 || fd != events.fd)
		return false;
	on_child();
	return true;
}

/* ms until the file is read again; INT64_MAX when there is none */
int64_t
evsrc_timeout(int64_t now)
{
	return file.fd < 0 ? INT64_MAX : file.next > now ? file.next - now : 0;
}

void
evsrc_poll(int64_t now)
{
	if (file.fd < 0 || now < file.next)
		return;
	file_read();
	file.next = now + FILE_POLL_MS;
}

/* the run ends: what the source has now */
void
evsrc_finish(void)
{
	if (events.fd >= 0)
		on_child();
	if (file.fd >= 0)
		file_read();
	child_end(&events);
}

void
evsrc_stop(void)
{
	child_end(&events);
	if (file.fd >= 0)
		close(file.fd);
	file.fd = -1;
	phx_buf_free(&events.out);
	phx_buf_free(&file.buf);
	free(file.path);
	free(project);
}
