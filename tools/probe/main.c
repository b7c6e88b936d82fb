/* phx-probe: checks services concurrently (HTTP(S), TCP, PostgreSQL,
 * podman healthchecks) in one event loop and emits one health record per
 * service as soon as its verdict is known; every input line passes on.
 * This file: the command line, the configuration, the run's end. */
#include <getopt.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "probe.h"

struct probe_state probe = { .opt = { -1, -1, -1, false } };

/* what the command line asks for, besides the overrides in probe.opt */
struct args {
	struct phx_config_opts copts;
	const char *services;
	bool all, no_input;
	int64_t deadline;
	int jobs;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-hknqVvw] [-c file] [-d deadline] [-i interval] "
	    "[-j jobs] [-r retries] [-s service,...] [-t timeout] [-a] "
	    "[[name=]target ...]\n", phx_progname);
}

static void
load_defaults(void)
{
	settings_defaults(&probe.dflt, probe.cfg);
	probe.concurrency = (int)phx_cfg_int(probe.cfg, "probe.concurrency", 1,
	    MAX_COUNT);
	phx_podman_setup(probe.cfg);
	phx_recovery_policy(probe.cfg, "health", NULL);   /* dies if invalid */
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
	phx_exit(status);
}

/* returns the index of the first operand */
static int
parse_options(int argc, char *argv[], struct args *a)
{
	static const struct option longopts[] = {
		PHX_OPT_LONG,
		{ "all", no_argument, NULL, 'a' },
		{ "deadline", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'i' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "no-input", no_argument, NULL, 'n' },
		{ "retries", required_argument, NULL, 'r' },
		{ "services", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "wait", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "ad:i:j:knr:s:t:w" PHX_OPT_SHORT,
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': a->all = true; break;
		case 'd': a->deadline = duration_arg(optarg, "--deadline"); break;
		case 'i':
			probe.opt.interval = duration_arg(optarg, "--interval");
			break;
		case 'j': a->jobs = count_arg(optarg, "--jobs"); break;
		case 'k': probe.opt.insecure = true; break;
		case 'n': a->no_input = true; break;
		case 'r': probe.opt.retries = count_arg(optarg, "--retries"); break;
		case 's': a->services = optarg; break;
		case 't':
			probe.opt.timeout = duration_arg(optarg, "--timeout");
			break;
		case 'w': probe.wait = true; break;
		default: phx_opt_common(ch, &a->copts, usage);
		}
	}
	return optind;
}

/* the configuration, the defaults, libcurl and the signals */
static void
setup(struct args *a, int ntargets, char *targets[])
{
	int64_t deadline = a->deadline;

	phx_out_hold();
	phx_config_fail_pass("probe", a->no_input ? PHX_STDIN_NO :
	    phx_stdin_want(ntargets, targets));
	probe.cfg = phx_config_load(&a->copts);
	phx_config_on_error(NULL);
	free(a->copts.files);
	load_defaults();
	if (a->jobs)
		probe.concurrency = a->jobs;
	if (deadline < 0)
		deadline = phx_cfg_int(probe.cfg, "probe.deadline", 0, MAX_MS);
	if (deadline == 0 && probe.wait)
		deadline = phx_cfg_int(probe.cfg, "deployment.timeout", 0,
		    MAX_MS);
	deadline = min64(deadline, MAX_MS);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    !(probe.multi = curl_multi_init()))
		phx_die(PHX_EXIT_ENV, "cannot initialise libcurl");
	phx_signal_fd();
	phx_signal_catch(NULL);
	probe.deadline_ms = deadline;
	probe.min_uptime_ms = phx_cfg_int(probe.cfg, "probe.min_uptime", 0, MAX_MS);
}

/* the command-line targets, the services asked for, and the input:
 * with neither targets nor input, every configured service */
static void
add_services(struct args *a, int ntargets, char *targets[])
{
	bool adhoc, dash = false;

	/* like cat and grep: operands, not stdin, unless one is "-" */
	for (int i = 0; i < ntargets; i++)
		if (strcmp(targets[i], "-") == 0)
			dash = true;
		else
			add_target(targets[i]);
	if (ntargets > 0 && !dash)
		a->no_input = true;
	adhoc = ntargets > 0 || a->services || a->all;
	if (!a->no_input && (probe.in = phx_stream_open(dash ?
	    PHX_STDIN_YES : PHX_STDIN_AUTO)))
		phx_reader_nonblock(probe.in);
	else if (!adhoc)
		a->all = true;
	if (a->services || a->all)
		add_config_services(a->services, a->all);
}

/* unhealthy services that fail the run: not those let go under the
 * recovery policy `continue`; the counts of both kinds of recovery */
static int
failing(cJSON *cnt)
{
	int n = 0, continued = 0, recovered = 0;

	for (size_t i = 0; i < probe.nsvcs; i++) {
		const struct service *s = probe.svcs[i];
		n += s->emitted && !s->healthy && !s->continued;
		continued += s->continued;
		recovered += s->recovered;
	}
	if (recovered)
		cJSON_AddNumberToObject(cnt, "recovered", recovered);
	if (continued)
		cJSON_AddNumberToObject(cnt, "continued", continued);
	return n;
}

/* the end of the probe phase; returns the exit status */
static int
phase_end(void)
{
	int64_t t0 = ensure_phase_start();
	cJSON *cnt;
	int status;

	if (phx_signal) {
		phx_phase_end("probe", t0, "error", NULL);
		phx_log(PHX_ERROR, "interrupted by signal %d", (int)phx_signal);
		return phx_signal_status();
	}
	cnt = cJSON_CreateObject();
	cJSON_AddNumberToObject(cnt, phx_health_name(true), probe.healthy);
	cJSON_AddNumberToObject(cnt, phx_health_name(false), probe.unhealthy);
	status = probe.input_errors ? PHX_EXIT_USAGE :
	    failing(cnt) ? PHX_EXIT_FAIL : PHX_EXIT_OK;
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
	setup(&a, argc - first, argv + first);
	add_services(&a, argc - first, argv + first);
	if (!probe.in)
		ensure_phase_start();
	for (size_t i = 0; i < probe.nsvcs; i++)
		service_start(probe.svcs[i]);
	run_loop();
	if (phx_signal)
		abort_all();
	else
		watch_finish();
	finish(phase_end());
}
