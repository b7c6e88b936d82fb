/* what a container's exit code says, for phx-probe's watch (events.c) */
#include <signal.h>
#include <stdio.h>

#include "probe.h"

/* "6 MiB", "1.5 GiB" */
static void
fmt_bytes(int64_t v, char out[32])
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	size_t u = 0;

	while (d >= 1024 && u + 1 < sizeof units / sizeof *units) {
		d /= 1024;
		u++;
	}
	snprintf(out, 32, d == (double)(int64_t)d ? "%.0f %s" : "%.1f %s", d,
	    units[u]);
}

static const char *
signal_name(int sig)
{
	static const struct { int sig; const char *name; } names[] = {
		{ SIGHUP, "SIGHUP" }, { SIGINT, "SIGINT" }, { SIGQUIT, "SIGQUIT" },
		{ SIGILL, "SIGILL" }, { SIGABRT, "SIGABRT" }, { SIGBUS, "SIGBUS" },
		{ SIGFPE, "SIGFPE" }, { SIGKILL, "SIGKILL" }, { SIGSEGV, "SIGSEGV" },
		{ SIGPIPE, "SIGPIPE" }, { SIGALRM, "SIGALRM" }, { SIGTERM, "SIGTERM" },
	};

	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (names[i].sig == sig)
			return names[i].name;
	return NULL;
}

/* what an exit code says: 137 is SIGKILL, the OOM killer's signal
 * (Podman may report OOMKilled false even so): the limit says whether
 * memory was the likely cause */
char *
exit_cause(int code, bool oom, int64_t mem_limit)
{
	struct phx_buf b = { 0 };
	char lim[32];
	const char *sig = code > 128 ? signal_name(code - 128) : NULL;

	if (mem_limit > 0)
		fmt_bytes(mem_limit, lim);
	if (oom)
		phx_buf_printf(&b, "was killed by the OOM killer (exit code %d)",
		    code);
	else
		phx_buf_printf(&b, "exited with code %d", code);
	if (sig && !oom)
		phx_buf_printf(&b, ": killed by %s%s", sig, code == 128 + SIGKILL ?
		    ", as the OOM killer does" : "");
	if ((oom || code == 128 + SIGKILL) && mem_limit > 0)
		phx_buf_printf(&b, "; memory limit %s", lim);
	return b.data;
}
