/* INT, TERM and HUP: every stage stops on them the same way.  The
 * handler only records the signal (and wakes a poll loop through a
 * self-pipe); the stage winds down and exits 128+N.  A stage with
 * nothing to wind down but files to remove asks for a cleanup that runs
 * in the handler, after which the signal kills it as usual. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "phx.h"

volatile sig_atomic_t phx_signal;

static int wake[2] = { -1, -1 };
static void (*volatile sig_cleanup)(void);

static void
on_signal(int sig)
{
	int saved = errno;

	if (sig_cleanup) {
		sig_cleanup();
		signal(sig, SIG_DFL);
		raise(sig);
	}
	phx_signal = sig;
	if (wake[1] >= 0 && write(wake[1], "", 1) < 0)
		errno = saved;   /* the pipe is full: the loop is awake */
	errno = saved;
}

/* no SA_RESTART: a signal ends the waits it interrupts */
void
phx_signal_catch(void (*cleanup)(void))
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	sig_cleanup = cleanup;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
		sigaction(sigs[i], &sa, NULL);
}

int
phx_signal_fd(void)
{
	if (wake[0] < 0 && pipe2(wake, O_CLOEXEC | O_NONBLOCK) < 0)
		phx_edie(PHX_EXIT_ENV, "pipe");
	return wake[0];
}

int
phx_signal_status(void)
{
	return phx_signal ? 128 + (int)phx_signal : 0;
}

bool
phx_sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return !phx_signal;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (!phx_signal && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return !phx_signal;
}
