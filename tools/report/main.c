/* phx-report: the last stage.  Reads the whole record stream, keeps one
 * aggregate per service, check, test, finding and container (never the
 * records themselves, so memory stays flat however long the stream),
 * and turns them into the verdict, the JSON report, a console summary,
 * JUnit XML and Prometheus metrics.  The raw stream is stored beside the
 * report so any format can be rendered again later. */
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

enum format { F_TEXT, F_JSON, F_JUNIT, F_PROMETHEUS, F_NDJSON, F_TAP,
    F_MARKDOWN };

struct opts {
	enum format format;
	const char *output, *junit, *metrics, *input, *id;
	bool store, verbose, allow_empty, annotations;
	const char *fail_on;
};

static const char *format_names[] = { "text", "json", "junit", "prometheus",
    "ndjson", "tap", "markdown", NULL };

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-hnqvV] [-c config] "
	    "[-f text|json|junit|prometheus|ndjson|tap|markdown] "
	    "[-o file] [--junit file] [--metrics file] [--fail-on severity] "
	    "[--allow-empty] [--annotations github] "
	    "[--deployment-id id | file]\n", phx_progname);
}

static int
parse_format(const char *s)
{
	for (int i = 0; format_names[i]; i++)
		if (strcmp(s, format_names[i]) == 0)
			return i;
	phx_log(PHX_ERROR, "unknown format \"%s\" (text, json, junit, "
	    "prometheus, ndjson, tap, markdown)", s);
	usage(stderr);
	phx_exit(PHX_EXIT_USAGE);
}

static void
parse_args(int argc, char **argv, struct opts *o, struct phx_config_opts *co)
{
	enum { O_JUNIT = 256, O_METRICS, O_FAIL_ON, O_ALLOW_EMPTY,
		O_ANNOTATIONS };
	static const struct option longopts[] = {
		PHX_OPT_LONG,
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "deployment-id", required_argument, NULL, 'd' },
		{ "no-store", no_argument, NULL, 'n' },
		{ "junit", required_argument, NULL, O_JUNIT },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "fail-on", required_argument, NULL, O_FAIL_ON },
		{ "allow-empty", no_argument, NULL, O_ALLOW_EMPTY },
		{ "annotations", required_argument, NULL, O_ANNOTATIONS },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "f:o:d:n" PHX_OPT_SHORT, longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'f': o->format = (enum format)parse_format(optarg); break;
		case 'o': o->output = optarg; break;
		case 'd': o->id = optarg; break;
		case 'n': o->store = false; break;
		case 'v': o->verbose = true; phx_opt_common(c, co, usage); break;
		case O_JUNIT: o->junit = optarg; break;
		case O_METRICS: o->metrics = optarg; break;
		case O_FAIL_ON: o->fail_on = optarg; break;
		case O_ALLOW_EMPTY: o->allow_empty = true; break;
		case O_ANNOTATIONS:
			if (strcmp(optarg, "github") != 0)
				phx_die(PHX_EXIT_USAGE, "--annotations: \"%s\" is "
				    "not github", optarg);
			o->annotations = true;
			break;
		default: phx_opt_common(c, co, usage);
		}
	}
	if (argc - optind > 1 || (argc - optind == 1 && o->id)) {
		usage(stderr);
		phx_exit(PHX_EXIT_USAGE);
	}
	/* a saved stream is read, not stored again: only a stage in a
	 * pipeline (standard input) leaves a run in the state directory */
	if (argc - optind == 1 && strcmp(argv[optind], "-") != 0) {
		o->input = argv[optind];
		o->store = false;
	}
}

/* the stream to read: a file, a stored run, or standard input */
static int
open_input(const struct opts *o, char **name)
{
	int fd;

	if (o->id) {
		if (!phx_valid_deployment_id(o->id))
			phx_die(PHX_EXIT_USAGE, "%s: not a deployment id", o->id);
		phx_set_deployment_id(o->id);
		*name = phx_deployment_path(o->id, "stream.ndjson");
	} else if (o->input)
		*name = phx_strdup(o->input);
	else {
		if (isatty(STDIN_FILENO))
			phx_die(PHX_EXIT_USAGE, "no input: standard input is a "
			    "terminal (give a file or --deployment-id)");
		*name = phx_strdup("stdin");
		return STDIN_FILENO;
	}
	if ((fd = open(*name, O_RDONLY | O_CLOEXEC)) < 0)
		phx_edie(PHX_EXIT_USAGE, "%s", *name);
	return fd;
}

/* a pipe or socket: a run in progress, not a stored stream */
static bool
live_input(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && !S_ISREG(st.st_mode) && !isatty(fd);
}

/* the JSON report (state directory, -o, -f json), JUnit, metrics */
static bool
write_outputs(const struct opts *o, const struct agg *agg,
    const struct result *r)
{
	mode_t mask = umask(0);
	struct out rep = { 0 }, junit = { 0 }, prom = { 0 }, other = { 0 };
	bool ok = true;

	umask(mask);
	if (o->store && r->report_path)
		ok &= out_file(&rep, r->report_path, 0600);
	if (o->output)
		ok &= out_file(&rep, o->output, 0600);
	if (o->format == F_JSON)
		out_stdout(&rep);
	if (o->junit)
		ok &= out_file(&junit, o->junit, 0600);
	if (o->format == F_JUNIT)
		out_stdout(&junit);
	/* node_exporter reads the textfile as another user; it holds no secret */
	if (o->metrics)
		ok &= out_file(&prom, o->metrics, 0644 & ~mask);
	if (o->format == F_PROMETHEUS)
		out_stdout(&prom);
	if (o->format == F_TAP || o->format == F_MARKDOWN || o->annotations)
		out_stdout(&other);
	if (rep.n)
		report_write(&rep, agg, r);
	ok &= out_close(&rep);
	if (junit.n)
		junit_write(&junit, agg, r);
	ok &= out_close(&junit);
	if (prom.n)
		prometheus_write(&prom, agg, r);
	ok &= out_close(&prom);
	if (o->format == F_TAP)
		tap_write(&other, agg, r);
	else if (o->format == F_MARKDOWN)
		markdown_write(&other, agg, r);
	if (o->annotations && o->format != F_TEXT)
		annotations_write(&other, agg, r);
	if (other.n)
		ok &= out_close(&other);
	return ok;
}

/* after the console summary, which writes standard output itself */
static bool
annotate_stdout(const struct agg *agg, const struct result *r)
{
	struct out o = { 0 };

	out_stdout(&o);
	annotations_write(&o, agg, r);
	return out_close(&o);
}

static int report(struct opts *o, struct result *r);

/* the run config_broken judges */
static struct opts *broken_opts;
static struct result *broken_result;

/* a configuration that cannot be read does not lose the stream: it is
 * judged by the built-in defaults (and the options), INCOMPLETE at best */
static void __attribute__((noreturn))
config_broken(const char *msg)
{
	struct result *r = broken_result;
	int status;

	phx_log(PHX_ERROR, "%s", msg);
	r->config_error = phx_strdup(msg);
	r->fail_on = phx_fail_on(broken_opts->fail_on ? broken_opts->fail_on :
	    "HIGH", "--fail-on");
	r->allow_empty = broken_opts->allow_empty;
	status = report(broken_opts, r);
	phx_exit(status > PHX_EXIT_USAGE ? status : PHX_EXIT_USAGE);
}

/* options, then the configuration they name */
static void
configure(int argc, char **argv, struct opts *o, struct result *r)
{
	struct phx_config_opts co = { 0 };
	cJSON *cfg;

	parse_args(argc, argv, o, &co);
	broken_opts = o;
	broken_result = r;
	phx_config_on_error(config_broken);
	cfg = phx_config_load(&co);
	phx_config_on_error(NULL);
	phx_set_state_dir(phx_cfg_str(cfg, "deployment.state_dir"));
	r->fail_on = o->fail_on ? phx_fail_on(o->fail_on, "--fail-on") :
	    phx_fail_on(phx_cfg_str(cfg, "security.fail_on"),
	    "security.fail_on");
	r->allow_empty = o->allow_empty ||
	    phx_cfg_bool(cfg, "report.allow_empty");
	cJSON_Delete(cfg);
	free(co.files);
}

/* folds the whole stream into agg, storing it unless told not to;
 * returns when the report phase started (ndjson format only) */
static int64_t
read_stream(const struct opts *o, struct agg *agg)
{
	struct progress pg = { 0 };
	struct phx_reader *rd;
	FILE *store = NULL;
	int64_t started = 0;
	char *name;
	int fd;

	fd = open_input(o, &name);
	/* a signal stops the reading; what was read is judged and kept */
	phx_signal_fd();
	phx_signal_catch(NULL);
	if (o->store && !o->id)
		store = store_open();
	pg.on = isatty(STDERR_FILENO) && phx_log_enabled(PHX_INFO);
	pg.relay = live_input(fd);
	pg.lines = !pg.on && phx_log_enabled(PHX_INFO) && pg.relay;
	pg.t0 = phx_now_ms();
	rd = phx_reader_new(fd, name, MAX_LINE);
	/* a read that blocks would not see a signal: poll waits for both */
	phx_reader_nonblock(rd);
	ingest(agg, rd, name, store, o->format == F_NDJSON, &pg, &started);
	phx_reader_free(rd);
	if (fd != STDIN_FILENO)
		close(fd);
	free(name);

	settle_id(agg, o->store);
	if (store)
		store_close(store, phx_deployment_id());
	phx_signal_catch(store_cleanup);
	return started;
}

/* reads, judges, writes; returns the exit status */
static int
report(struct opts *o, struct result *r)
{
	struct agg agg = { .min_ts = -1, .max_ts = -1 };
	int64_t started;
	int status;
	bool ok;

	started = read_stream(o, &agg);
	r->interrupted = phx_signal;
	if (o->store)
		r->report_path = phx_deployment_path(phx_deployment_id(),
		    "report.json");
	else if (o->output)
		r->report_path = phx_strdup(o->output);
	judge(&agg, r);
	ok = write_outputs(o, &agg, r);
	if (o->format == F_TEXT)
		text_print(&agg, r, o->verbose);
	if (o->format == F_TEXT && o->annotations)
		ok &= annotate_stdout(&agg, r);
	else if (o->format == F_NDJSON)
		emit_verdict(r, started);
	status = ok || r->interrupted ? result_exit(r) : PHX_EXIT_ENV;
	result_free(r);
	agg_free(&agg);
	phx_secrets_clear();
	phx_set_deployment_id(NULL);
	phx_set_state_dir(NULL);
	return status;
}

int
main(int argc, char **argv)
{
	struct opts o = { .format = F_TEXT, .store = true };
	struct result r = { 0 };

	phx_init(argv[0]);
	/* the stages' log records come to us: ours are not records */
	phx_log_stderr();
	configure(argc, argv, &o, &r);
	phx_exit(report(&o, &r));
}
