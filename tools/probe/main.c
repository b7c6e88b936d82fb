/* phx-probe: checks services concurrently (HTTP(S), TCP, PostgreSQL,
 * podman healthchecks) in one event loop and emits one health record per
 * service as soon as its verdict is known; every input line passes on.
 * This file: the command line, the configuration, the run's end. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "probe.h"

struct probe_state probe = { .opt = { -1, -1, -1, false } };

/* what the command line asks for, besides the overrides in probe.opt */
struct args {
	const char *files[16];
	size_t nfiles;
	const char *services;
	bool all, no_input;
	int64_t deadline;
	int jobs;
};

static void
usage(FILE *f, int status)
{
	fprintf(f, "usage: %s [-hknqVvw] [-c file] [-d deadline] [-i interval] "
	    "[-j jobs] [-r retries] [-s service,...] [-t timeout] [-a] "
	    "[[name=]target ...]\n", phx_progname);
	exit(status);
}

static void
load_defaults(void)
{
	struct settings *d = &probe.dflt;
	const cJSON *section = phx_cfg(probe.cfg, "probe");

	d->timeout = 30000;
	d->retries = 5;
	d->binit = 1000;
	d->bmax = 30000;
	d->mult = 2;
	d->interval = 500;
	d->nexpected = 1;
	d->expected[0] = 200;
	settings_from_config(d, section);
	probe.concurrency = (int)clamp_num(phx_cfg_num(section, "concurrency",
	    32), 1, MAX_COUNT, 32);
	probe.podman = phx_cfg_str(probe.cfg, "deployment.podman", "podman");
}

static int64_t
duration_arg(const char *s, const char *what)
{
	int64_t ms = phx_duration_ms(s);

	if (ms < 0)
		phx_die(PHX_EXIT_USAGE, "%s: not a duration: %s", what, s);
	return ms;
}

static int
count_arg(const char *s, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 1 || v > MAX_COUNT)
		phx_die(PHX_EXIT_USAGE, "%s: not a positive number: %s", what, s);
	return (int)v;
}

static void
finish(int status)
{
	watch_stop();
	services_free();
	phx_reader_free(probe.in);
	http_cleanup();
	curl_multi_cleanup(probe.multi);
	curl_global_cleanup();
	cJSON_Delete((cJSON *)probe.cfg);
	phx_secrets_clear();
	signals_close();
	phx_exit(status);
}

/* returns the index of the first operand */
static int
parse_options(int argc, char *argv[], struct args *a)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "config", required_argument, NULL, 'c' },
		{ "deadline", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "interval", required_argument, NULL, 'i' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "no-input", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "retries", required_argument, NULL, 'r' },
		{ "services", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "wait", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "ac:d:hi:j:knqr:s:t:vVw", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a': a->all = true; break;
		case 'c':
			if (a->nfiles == sizeof a->files / sizeof *a->files)
				phx_die(PHX_EXIT_USAGE, "too many -c files");
			a->files[a->nfiles++] = optarg;
			break;
		case 'd': a->deadline = duration_arg(optarg, "--deadline"); break;
		case 'h': usage(stdout, PHX_EXIT_OK); break;
		case 'i':
			probe.opt.interval = duration_arg(optarg, "--interval");
			break;
		case 'j': a->jobs = count_arg(optarg, "--jobs"); break;
		case 'k': probe.opt.insecure = true; break;
		case 'n': a->no_input = true; break;
		case 'q': phx_log_quieter(); break;
		case 'r': probe.opt.retries = count_arg(optarg, "--retries"); break;
		case 's': a->services = optarg; break;
		case 't':
			probe.opt.timeout = duration_arg(optarg, "--timeout");
			break;
		case 'v': phx_log_louder(); break;
		case 'V': phx_version(); break;
		case 'w': probe.wait = true; break;
		default: usage(stderr, PHX_EXIT_USAGE);
		}
	}
	return optind;
}

/* the configuration, the defaults, libcurl and the signals */
static void
setup(struct args *a)
{
	struct phx_config_opts copts = { a->files, a->nfiles };
	int64_t deadline = a->deadline;

	phx_out_hold();
	probe.cfg = phx_config_load(&copts);
	load_defaults();
	if (a->jobs)
		probe.concurrency = a->jobs;
	if (deadline < 0)
		deadline = clamp_num(phx_cfg_num(probe.cfg, "probe.deadline",
		    0), 0, MAX_MS, 0);
	if (deadline == 0 && probe.wait)
		deadline = clamp_num(phx_cfg_num(probe.cfg,
		    "deployment.timeout", 300000), 0, MAX_MS, 300000);
	deadline = min64(deadline, MAX_MS);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    !(probe.multi = curl_multi_init()))
		phx_die(PHX_EXIT_ENV, "cannot initialise libcurl");
	setup_signals();
	probe.deadline_ms = deadline;
}

/* the command-line targets, the services asked for, and the input:
 * with neither targets nor input, every configured service */
static void
add_services(struct args *a, int ntargets, char *targets[])
{
	bool adhoc;

	for (int i = 0; i < ntargets; i++)
		add_target(targets[i]);
	adhoc = ntargets > 0 || a->services || a->all;
	if (!a->no_input && !isatty(STDIN_FILENO)) {
		probe.in = phx_reader_new(STDIN_FILENO, "stdin", 0);
		phx_reader_nonblock(probe.in);
	} else if (!adhoc)
		a->all = true;
	if (a->services || a->all)
		add_config_services(a->services, a->all);
}

/* the end of the probe phase; returns the exit status */
static int
phase_end(void)
{
	int64_t t0 = ensure_phase_start();
	cJSON *cnt;
	int status;

	if (probe.signo) {
		phx_phase_end("probe", t0, "error", NULL);
		phx_log(PHX_ERROR, "interrupted by signal %d", (int)probe.signo);
		return 128 + probe.signo;
	}
	cnt = cJSON_CreateObject();
	cJSON_AddNumberToObject(cnt, "healthy", probe.healthy);
	cJSON_AddNumberToObject(cnt, "unhealthy", probe.unhealthy);
	status = probe.input_errors ? PHX_EXIT_USAGE :
	    probe.unhealthy ? PHX_EXIT_FAIL : PHX_EXIT_OK;
	phx_phase_end("probe", t0, status == PHX_EXIT_OK ? "ok" :
	    status == PHX_EXIT_FAIL ? "failed" : "error", cnt);
	return status;
}

int
main(int argc, char *argv[])
{
	struct args a = { .deadline = -1 };
	int first;

	phx_init(argv[0]);
	first = parse_options(argc, argv, &a);
	setup(&a);
	add_services(&a, argc - first, argv + first);
	if (!probe.in)
		ensure_phase_start();
	for (size_t i = 0; i < probe.nsvcs; i++)
		service_start(probe.svcs[i]);
	run_loop();
	if (probe.signo)
		abort_all();
	else
		watch_finish();
	finish(phase_end());
}
