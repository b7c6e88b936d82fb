/* phx-functest: options, signals, and the order of the phases */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>

#include <curl/curl.h>

#include "functest.h"

struct functest functest;

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-hqVv] [-c file] [-s suite]...\n", phx_progname);
}

static void
on_signal(int sig)
{
	functest.stop_signal = sig;
}

/* no SA_RESTART: a signal ends the sleeps and waits it interrupts */
static void
catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static void
parse_options(int argc, char *argv[], struct phx_config_opts *copts,
    char ***only, size_t *nonly)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "test-suite", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		PHX_LOG_FORMAT_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:hqs:vV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			copts->files = phx_reallocarray(copts->files,
			    copts->nfiles + 1, sizeof *copts->files);
			copts->files[copts->nfiles++] = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(PHX_EXIT_OK);
		case 'q':
			phx_log_quieter();
			break;
		case 's':
			*only = phx_reallocarray(*only, *nonly + 1, sizeof **only);
			(*only)[(*nonly)++] = optarg;
			break;
		case 'v':
			phx_log_louder();
			break;
		case PHX_OPT_LOG_FORMAT: phx_log_format_arg(optarg); break;
		case 'V':
			phx_version();
		default:
			usage(stderr);
			exit(PHX_EXIT_USAGE);
		}
	}
	if (optind < argc) {
		usage(stderr);
		exit(PHX_EXIT_USAGE);
	}
}

/* the phase's end record with the counts; returns the exit status */
static int
end_phase(int64_t started)
{
	const unsigned *counts = functest.counts;
	int status = counts[1] || counts[3] ? PHX_EXIT_FAIL : PHX_EXIT_OK;
	cJSON *cnt;

	if (functest.stop_signal)
		status = 128 + functest.stop_signal;
	cnt = cJSON_CreateObject();
	cJSON_AddNumberToObject(cnt, "passed", counts[0]);
	cJSON_AddNumberToObject(cnt, "failed", counts[1]);
	cJSON_AddNumberToObject(cnt, "skipped", counts[2]);
	cJSON_AddNumberToObject(cnt, "error", counts[3]);
	phx_phase_end("functest", started, functest.stop_signal ? "error" :
	    status ? "failed" : "ok", cnt);
	return status;
}

static void
free_all(cJSON *cfg)
{
	free_suites();
	free_healths();
	cJSON_Delete(cfg);
	phx_set_deployment_id(NULL);
	phx_secrets_clear();
}

int
main(int argc, char *argv[])
{
	struct phx_config_opts copts = { 0 };
	char **only = NULL;
	size_t nonly = 0;
	int64_t started;
	cJSON *cfg;
	int status;

	phx_init(argv[0]);
	parse_options(argc, argv, &copts, &only, &nonly);
	cfg = phx_config_load(&copts);
	free(copts.files);
	load_suites(cfg, only, nonly);
	free(only);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		phx_die(PHX_EXIT_ENV, "curl_global_init failed");
	/* orphans of a killed test come to us, so we can reap them */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	started = read_stream();
	apply_health();
	catch_signals();
	run_all(cfg);
	status = end_phase(started);
	curl_global_cleanup();
	free_all(cfg);
	phx_exit(status);
}
