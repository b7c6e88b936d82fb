/* Reading a file that a record or podman names: only a regular file, and
 * only so much of it.  A record naming /dev/zero, a FIFO or a huge file
 * must not hang or exhaust the scan. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secscan.h"

/* NULL with a malloc'd reason in *why */
char *
read_regular(const char *path, size_t *len, char **why)
{
	/* O_NONBLOCK: opening a FIFO would wait for a writer */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct phx_buf b = { 0 };
	struct stat st;
	char chunk[65536];
	ssize_t n = 0;

	if (fd < 0 || fstat(fd, &st) != 0) {
		*why = phx_asprintf("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SECSCAN_FILE_MAX) {
		*why = phx_asprintf("%s: %s", path, !S_ISREG(st.st_mode) ?
		    "not a regular file" : "larger than 4 MiB");
		close(fd);
		return NULL;
	}
	/* the size limit holds for a file that grows while it is read */
	while (b.len <= SECSCAN_FILE_MAX &&
	    ((n = read(fd, chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR)))
		if (n > 0)
			phx_buf_add(&b, chunk, (size_t)n);
	if (n < 0 || b.len > SECSCAN_FILE_MAX) {
		*why = phx_asprintf("%s: %s", path, n < 0 ? strerror(errno) :
		    "larger than 4 MiB");
		close(fd);
		phx_buf_free(&b);
		return NULL;
	}
	close(fd);
	phx_buf_str(&b);
	if (len)
		*len = b.len;
	return b.data;
}
