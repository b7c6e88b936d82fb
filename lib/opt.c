/* The options every tool takes, handled once: -c FILE (--config, may
 * repeat, in order), -h (--help), -q (--quiet), -V (--version) and
 * -v (--verbose), --log-format FORMAT; a tool's getopt loop lists only its own. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "phx.h"

void
phx_opt_common(int ch, struct phx_config_opts *copts, void (*usage)(FILE *))
{
	switch (ch) {
	case 'c':
		copts->files = phx_reallocarray(copts->files, copts->nfiles + 1,
		    sizeof *copts->files);
		copts->files[copts->nfiles++] = optarg;
		return;
	case 'q':
		phx_log_quieter();
		return;
	case 'v':
		phx_log_louder();
		return;
	case PHX_OPT_LOG_FORMAT:
		phx_log_format_arg(optarg);
		return;
	case 'h':
		free(copts->files);
		usage(stdout);
		phx_exit(PHX_EXIT_OK);
	case 'V':
		free(copts->files);
		phx_version();
	default:
		/* getopt_long has said what was wrong */
		free(copts->files);
		usage(stderr);
		phx_exit(PHX_EXIT_USAGE);
	}
}
