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
	fprintf(f, "usage: %s [-hnqVv] [-c config] [--engine compose|kube [--kube-context name]] [-f compose|manifests] [-p project] up | down [--volumes] id | rollback id | export-kube id | status [id] | restart service\n",
	    phx_progname);
}

/* the command line, once parsed */
struct options {
	struct phx_config_opts copts;   /* -c, in order */
	const char *compose, *project, *engine, *kube_context;
	char **args;                    /* the subcommand and its operands */
	int nargs;
	bool volumes;                   /* down: the named volumes too */
};

/* dies on a usage error; o->copts.files is the caller's to free */
static void
parse_options(int argc, char *argv[], struct options *o)
{
	enum { O_VOLUMES = 256, O_KUBE_CONTEXT };
	static const struct option longopts[] = {
		PHX_OPT_LONG,
		{ "dry-run", no_argument, NULL, 'n' },
		{ "engine", required_argument, NULL, 'E' },
		{ "file", required_argument, NULL, 'f' },
		{ "kube-context", required_argument, NULL, O_KUBE_CONTEXT },
		{ "project", required_argument, NULL, 'p' },
		{ "volumes", no_argument, NULL, O_VOLUMES },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd;
	int ch;

	memset(o, 0, sizeof *o);
	while ((ch = getopt_long(argc, argv, "f:np:" PHX_OPT_SHORT, longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'E': o->engine = optarg; break;
		case 'f': o->compose = optarg; break;
		case 'n': deploy_globals.dry_run = true; break;
		case 'p': o->project = optarg; break;
		case O_VOLUMES: o->volumes = true; break;
		case O_KUBE_CONTEXT: o->kube_context = optarg; break;
		default: phx_opt_common(ch, &o->copts, usage);
		}
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	cmd = o->nargs > 0 ? o->args[0] : NULL;
	if (!cmd || (strcmp(cmd, "up") == 0 && o->nargs != 1) ||
	    ((strcmp(cmd, "down") == 0 || strcmp(cmd, "rollback") == 0 ||
	    strcmp(cmd, "export-kube") == 0 ||
	    strcmp(cmd, "restart") == 0) && o->nargs != 2) ||
	    (strcmp(cmd, "status") == 0 && o->nargs > 2) ||
	    (o->volumes && strcmp(cmd, "down") != 0)) {
		usage(stderr);
		free(o->copts.files);
		phx_exit(PHX_EXIT_USAGE);
	}
}

static int
run_command(struct deploy *d, const struct options *o)
{
	const char *cmd = o->args[0];

	const char *engine = o->engine ? o->engine
	    : phx_cfg_str(d->cfg, "deployment.engine");

	if (strcmp(engine, "kube") != 0 && strcmp(engine, "compose") != 0) {
		phx_log(PHX_ERROR, "engine %s: compose or kube", engine);
		return PHX_EXIT_USAGE;
	}
	if (o->kube_context && (strcmp(engine, "kube") != 0 ||
	    strcmp(cmd, "up") != 0 || !*o->kube_context)) {
		phx_log(PHX_ERROR, "--kube-context: a name, with --engine kube up");
		return PHX_EXIT_USAGE;
	}
	d->kube_context = o->kube_context;
	d->engine_kube = strcmp(engine, "kube") == 0;
	if (strcmp(cmd, "up") == 0 && d->engine_kube)
		return kube_cmd_up(d, o->compose, o->project);
	if (strcmp(cmd, "up") == 0)
		return cmd_up(d, o->compose, o->project);
	if (strcmp(cmd, "down") == 0)
		return cmd_down(d, o->args[1], o->volumes);
	if (strcmp(cmd, "export-kube") == 0)
		return cmd_export_kube(d, o->args[1]);
	if (strcmp(cmd, "rollback") == 0)
		return cmd_rollback(d, o->args[1], o->compose);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(d, o->nargs > 1 ? o->args[1] : NULL);
	if (strcmp(cmd, "restart") == 0)
		return cmd_restart(d, o->args[1], o->project);
	phx_log(PHX_ERROR, "%s: unknown command", cmd);
	usage(stderr);
	return PHX_EXIT_USAGE;
}

/* the deployment being set up, for config_failed */
static struct deploy *loading;

/* a configuration that cannot be read fails the deployment it was for:
 * a record says so, as for a compose file that cannot be read */
static void __attribute__((noreturn))
config_failed(const char *msg)
{
	deploy_fail(loading, PHX_EXIT_USAGE, "config_invalid", "%s", msg);
}

int
main(int argc, char *argv[])
{
	struct options o;
	struct deploy d = { 0 };
	int status;

	phx_init(argv[0]);
	parse_options(argc, argv, &o);
	input_open();
	if (strcmp(o.args[0], "up") == 0)
		d.phase = "deploy";
	else if (strcmp(o.args[0], "rollback") == 0)
		d.phase = "rollback";
	d.project = o.project;
	loading = &d;
	phx_config_on_error(config_failed);
	d.cfg = phx_config_load(&o.copts);
	phx_config_on_error(NULL);
	d.phase = NULL;
	d.project = NULL;
	free(o.copts.files);
	phx_set_state_dir(phx_cfg_str(d.cfg, "deployment.state_dir"));
	status = run_command(&d, &o);
	input_close();
	deploy_free(&d);
	phx_set_state_dir(NULL);
	phx_set_deployment_id(NULL);
	phx_secrets_clear();
	phx_exit(status);
}
