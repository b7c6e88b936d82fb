/* phx-deploy: bring a compose stack up on Podman, confirm it with Podman
 * itself (podman-compose 1.0.3 exits 0 even when a container failed),
 * record every deployment in the state directory, tear it down, roll it
 * back.  The first stage of phx-deploy | phx-probe | ... | phx-report.
 * This file: options and the choice of subcommand. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

struct deploy_globals deploy_globals;

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-hnqVv] [-c config] [-f compose] [-p project] up | down id | rollback id | status [id] | restart service\n",
	    phx_progname);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "project", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char **files = phx_calloc((size_t)argc + 1, sizeof *files);
	struct phx_config_opts copts = { files, 0 };
	struct deploy d = { 0 };
	const char *compose = NULL, *project = NULL, *cmd;
	int ch, status;

	phx_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "c:f:hnp:qvV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': files[copts.nfiles++] = optarg; break;
		case 'f': compose = optarg; break;
		case 'h': usage(stdout); free(files); phx_exit(PHX_EXIT_OK);
		case 'n': deploy_globals.dry_run = true; break;
		case 'p': project = optarg; break;
		case 'q': phx_log_quieter(); break;
		case 'v': phx_log_louder(); break;
		case 'V': free(files); phx_version();
		default: usage(stderr); free(files); phx_exit(PHX_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	cmd = argc > 0 ? argv[0] : NULL;
	if (!cmd || (strcmp(cmd, "up") == 0 && argc != 1) ||
	    ((strcmp(cmd, "down") == 0 || strcmp(cmd, "rollback") == 0 ||
	    strcmp(cmd, "restart") == 0) && argc != 2) ||
	    (strcmp(cmd, "status") == 0 && argc > 2)) {
		usage(stderr);
		free(files);
		phx_exit(PHX_EXIT_USAGE);
	}
	d.cfg = phx_config_load(&copts);
	free(files);
	phx_set_state_dir(phx_cfg_str(d.cfg, "deployment.state_dir", ".phx"));
	input_open();
	if (strcmp(cmd, "up") == 0)
		status = cmd_up(&d, compose, project);
	else if (strcmp(cmd, "down") == 0)
		status = cmd_down(&d, argv[1]);
	else if (strcmp(cmd, "rollback") == 0)
		status = cmd_rollback(&d, argv[1]);
	else if (strcmp(cmd, "status") == 0)
		status = cmd_status(&d, argc > 1 ? argv[1] : NULL);
	else if (strcmp(cmd, "restart") == 0)
		status = cmd_restart(&d, argv[1], project);
	else {
		phx_log(PHX_ERROR, "%s: unknown command", cmd);
		usage(stderr);
		status = PHX_EXIT_USAGE;
	}
	input_close();
	deploy_free(&d);
	phx_set_state_dir(NULL);
	phx_set_deployment_id(NULL);
	phx_secrets_clear();
	phx_exit(status);
}
