/* phx-probe's healthcheck checks: "podman healthcheck run", a child
 * process whose output comes through a non-blocking pipe. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

#define OUTPUT_MAX 4096

void
hc_start(struct check *c)
{
	const char *argv[] = { probe.podman, "healthcheck", "run",
	    c->hc.container, NULL };
	int fds[2], nul;

	c->out.len = 0;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		attempt_failed(c, "protocol", "pipe: %s", strerror(errno));
		return;
	}
	if ((c->hc.pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		attempt_failed(c, "protocol", "fork: %s", strerror(errno));
		return;
	}
	if (c->hc.pid == 0) {
		setpgid(0, 0);
		nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close_range(3, ~0U, 0);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	c->hc.pipefd = fds[0];
	fcntl(c->hc.pipefd, F_SETFL, O_NONBLOCK);
	c->pnext = probe.polled;
	probe.polled = c;
}

static void
hc_finish(struct check *c, int status)
{
	char *last = phx_tail_lines(c->out.data ? c->out.data : "", c->out.len, 1);

	list_remove(&probe.polled, c, true);
	c->hc.pid = 0;
	c->response_ms = phx_now_ms() - c->attempt_started;
	trim(last);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		judge(c);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
		attempt_failed(c, "status", "podman healthcheck run %s: %s",
		    c->hc.container, *last ? trim(last) : "unhealthy");
	else
		attempt_failed(c, "protocol", "podman healthcheck run %s: exit %d%s%s",
		    c->hc.container, WIFEXITED(status) ? WEXITSTATUS(status) :
		    128 + WTERMSIG(status), *last ? ": " : "", trim(last));
	free(last);
}

void
hc_read(struct check *c)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(c->hc.pipefd, buf, sizeof buf)) > 0)
		if (c->out.len < OUTPUT_MAX)
			phx_buf_add(&c->out, buf, (size_t)n);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		close(c->hc.pipefd);
		c->hc.pipefd = -1;
	}
}

/* the pipe closed: the child is gone or about to be */
void
hc_reap(struct check *c)
{
	int status;

	if (c->hc.pipefd < 0 && waitpid(c->hc.pid, &status, WNOHANG) == c->hc.pid)
		hc_finish(c, status);
}

void
hc_kill(struct check *c)
{
	if (c->hc.pid > 0) {
		kill(-c->hc.pid, SIGKILL);
		kill(c->hc.pid, SIGKILL);
		waitpid(c->hc.pid, NULL, 0);
	}
	if (c->hc.pipefd >= 0)
		close(c->hc.pipefd);
	c->hc.pipefd = -1;
	c->hc.pid = 0;
	list_remove(&probe.polled, c, true);
}
