/* phx-functest: options and the order of the phases */
#include <getopt.h>
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
parse_options(int argc, char *argv[], struct phx_config_opts *copts,
    char ***only, size_t *nonly)
{
	static const struct option longopts[] = {
		PHX_OPT_LONG,
		{ "test-suite", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "s:" PHX_OPT_SHORT, longopts,
	    NULL)) != -1) {
		switch (c) {
		case 's':
			*only = phx_reallocarray(*only, *nonly + 1, sizeof **only);
			(*only)[(*nonly)++] = optarg;
			break;
		default:
			phx_opt_common(c, copts, usage);
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
	int status = counts[PHX_TEST_FAILED] + counts[PHX_TEST_ERROR] >
	    functest.continued ? PHX_EXIT_FAIL : PHX_EXIT_OK;
	cJSON *cnt;

	if (phx_signal)
		status = phx_signal_status();
	cnt = cJSON_CreateObject();
	for (int i = 0; i < PHX_TEST_N; i++)
		cJSON_AddNumberToObject(cnt, phx_test_names[i], counts[i]);
	if (functest.continued)
		cJSON_AddNumberToObject(cnt, "continued", functest.continued);
	phx_phase_end("functest", started, phx_signal ? "error" :
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
	phx_config_fail_pass("functest", PHX_STDIN_AUTO);
	cfg = phx_config_load(&copts);
	phx_config_on_error(NULL);
	free(copts.files);
	load_suites(cfg, only, nonly);
	free(only);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		phx_die(PHX_EXIT_ENV, "curl_global_init failed");
	/* orphans of a killed test come to us, so we can reap them */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	started = read_stream();
	apply_health();
	phx_signal_catch(NULL);
	run_all(cfg);
	status = end_phase(started);
	curl_global_cleanup();
	free_all(cfg);
	phx_exit(status);
}
