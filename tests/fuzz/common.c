/* what the harnesses share */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_LSAN 1
#endif
#elif defined(__SANITIZE_ADDRESS__)
#define FUZZ_LSAN 1
#endif
#ifdef FUZZ_LSAN
#include <sanitizer/lsan_interface.h>
#endif

static int capture_fd = -1;

int
fuzz_memfd(const void *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) ||
	    lseek(fd, 0, SEEK_SET) < 0)
		phx_edie(PHX_EXIT_ENV, "memfd");
	return fd;
}

void
fuzz_stdout_capture(void)
{
	capture_fd = fuzz_memfd("", 0);
	fflush(stdout);
	if (dup2(capture_fd, STDOUT_FILENO) < 0)
		phx_edie(PHX_EXIT_ENV, "dup2");
}

char *
fuzz_stdout_take(size_t *len)
{
	struct phx_buf b = { 0 };
	char chunk[65536];
	ssize_t n;

	fflush(stdout);
	if (lseek(capture_fd, 0, SEEK_SET) < 0)
		phx_edie(PHX_EXIT_ENV, "lseek");
	while ((n = read(capture_fd, chunk, sizeof chunk)) > 0)
		phx_buf_add(&b, chunk, (size_t)n);
	if (n < 0 || ftruncate(capture_fd, 0) < 0 ||
	    lseek(capture_fd, 0, SEEK_SET) < 0)
		phx_edie(PHX_EXIT_ENV, "capture");
	*len = b.len;
	phx_buf_str(&b);
	return b.data;
}

void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz property failed: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void
fuzz_pass_end(void)
{
	struct phx_input end = { .line = "", .len = 0, .newline = true };

	phx_pass(&end);
}

void
fuzz_leaks_ignore(bool on)
{
#ifdef FUZZ_LSAN
	if (on)
		__lsan_disable();
	else
		__lsan_enable();
#else
	(void)on;
#endif
}
