/* phx-probe's healthcheck checks: "podman healthcheck run", a child
 * process started by lib (posix_spawn, its own process group) whose
 * output comes through a non-blocking pipe the event loop polls. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe.h"

#define OUTPUT_MAX 4096

void
hc_start(struct check *c)
{
	static const char *args[] = { "healthcheck", "run", NULL };
	const char *ops[] = { c->hc.container, NULL };

	c->out.len = 0;
	if (!phx_podman_start(args, ops, &c->hc.run, &c->hc.pipefd)) {
		attempt_failed(c, "protocol", "cannot run %s: %s",
		    phx_podman_program(), strerror(c->hc.run.exec_errno));
		return;
	}
	c->pnext = probe.polled;
	probe.polled = c;
}

static void
hc_finish(struct check *c)
{
	char *last = phx_tail_lines(c->out.data ? c->out.data : "", c->out.len, 1);
	int status = c->hc.run.status;

	list_remove(&probe.polled, c, true);
	c->response_ms = phx_now_ms() - c->attempt_started;
	trim(last);
	if (status == 0)
		judge(c);
	else if (status == 1)
		attempt_failed(c, "status", "podman healthcheck run %s: %s",
		    c->hc.container, *last ? trim(last) : "unhealthy");
	else
		attempt_failed(c, "protocol", "podman healthcheck run %s: exit %d%s%s",
		    c->hc.container, status, *last ? ": " : "", trim(last));
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
	if (c->hc.pipefd < 0 && c->hc.run.pid > 0 && phx_run_reap(&c->hc.run, false))
		hc_finish(c);
}

void
hc_kill(struct check *c)
{
	phx_run_kill(&c->hc.run);
	if (c->hc.pipefd >= 0)
		close(c->hc.pipefd);
	c->hc.pipefd = -1;
	list_remove(&probe.polled, c, true);
}
