/* phx-probe's event loop: curl's multi handle polls its own sockets and
 * ours (stdin, the signal pipe, postgres and healthcheck attempts). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "probe.h"

#define REAP_MS 10

static int
loop_timeout(int64_t now)
{
	int64_t t = min64(1000, evsrc_timeout(now));

	if (probe.waiting)
		t = min64(t, probe.waiting->due - now);
	for (struct check *c = probe.polled; c; c = c->pnext)
		t = min64(t, c->kind == K_HC && c->hc.pipefd < 0 ? REAP_MS :
		    c->attempt_deadline - now);
	/* past it, only confirmations run: they have their own timeouts */
	if (probe.deadline_at > now)
		t = min64(t, probe.deadline_at - now);
	return t < 0 ? 0 : (int)t;
}

/* fds: the signal pipe, stdin, podman events and two inspects, then one per
 * postgres/healthcheck attempt */
static size_t
build_fds(struct curl_waitfd **fds, struct check ***owners, size_t *cap)
{
	size_t n = 0;

	for (struct check *c = probe.polled; c; c = c->pnext)
		n++;
	if (n + 5 > *cap) {
		*cap = n + 5;
		free(*fds);
		free(*owners);
		*fds = phx_calloc(*cap, sizeof **fds);
		*owners = phx_calloc(*cap, sizeof **owners);
	}
	n = 0;
	(*fds)[n++] = (struct curl_waitfd){ phx_signal_fd(), CURL_WAIT_POLLIN, 0 };
	if (probe.in)
		(*fds)[n++] = (struct curl_waitfd){ phx_reader_fd(probe.in),
		    CURL_WAIT_POLLIN, 0 };
	n = watch_fds(*fds, n);
	for (size_t i = 0; i < n; i++)
		(*owners)[i] = NULL;
	for (struct check *c = probe.polled; c; c = c->pnext) {
		int fd = c->kind == K_PG ? PQsocket(c->pg.conn) : c->hc.pipefd;
		if (fd < 0)
			continue;
		(*owners)[n] = c;
		(*fds)[n++] = (struct curl_waitfd){ fd, c->kind == K_PG ?
		    (short)((c->pg.events & POLLIN ? CURL_WAIT_POLLIN : 0) |
		    (c->pg.events & POLLOUT ? CURL_WAIT_POLLOUT : 0)) :
		    CURL_WAIT_POLLIN, 0 };
	}
	return n;
}

static void
handle_fds(struct curl_waitfd *fds, struct check **owners, size_t n)
{
	char drain[64];

	if (fds[0].revents && read(phx_signal_fd(), drain, sizeof drain) < 0)
		errno = 0;
	for (size_t i = 1; i < n; i++) {
		struct check *c = owners[i];
		if (!fds[i].revents)
			continue;
		if (!c) {
			if (!watch_ready(fds[i].fd))
				read_input();
		} else if (c->kind == K_PG && c->state == S_RUNNING && c->pg.conn)
			pg_step(c);
		else if (c->kind == K_HC && c->hc.pipefd >= 0) {
			hc_read(c);
			hc_reap(c);
		}
	}
}

void
run_loop(void)
{
	struct curl_waitfd *fds = NULL;
	struct check **owners = NULL;
	size_t cap = 0;

	while (!phx_signal) {
		int still;
		int64_t now;
		size_t n;

		curl_multi_perform(probe.multi, &still);
		harvest_curl();
		now = phx_now_ms();
		expire_polled(now);
		evsrc_poll(now);
		start_due(now);
		if (!probe.in && probe.pending == 0 && (!probe.wait ||
		    probe.confirmed || !confirm_start(now)))
			break;
		n = build_fds(&fds, &owners, &cap);
		phx_out_flush();
		curl_multi_poll(probe.multi, fds, (unsigned)n, loop_timeout(now),
		    NULL);
		handle_fds(fds, owners, n);
	}
	free(fds);
	free(owners);
}

/* a signal: stop every attempt; no verdict for what was cut short */
void
abort_all(void)
{
	for (size_t i = 0; i < probe.nsvcs; i++)
		for (size_t k = 0; k < probe.svcs[i]->nchecks; k++) {
			struct check *c = probe.svcs[i]->checks[k];
			if (c->state != S_RUNNING)
				continue;
			if (c->http.easy)
				curl_multi_remove_handle(probe.multi,
				    c->http.easy);
			if (c->kind == K_PG)
				pg_close(c);
			if (c->kind == K_HC)
				hc_kill(c);
		}
}
