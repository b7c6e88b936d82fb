/* phx-secscan: security checks of a deployment's containers, from what
 * Podman itself reports (podman inspect, info, network inspect, the OCI
 * runtime config), as finding records; see phx-secscan(1).  Scanning
 * starts when the input ends: by then upstream stages have confirmed the
 * containers run and the TLS endpoints answer. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "secscan.h"

struct secscan_state secscan;

/* the deployment as the stream tells it: its last record (a retried
 * attempt fails too, only the last counts) and its phase's end */
static struct {
	char *status, *reason, *message;
	bool phase_failed;
} upstream;

static void
note_deployment(const cJSON *rec)
{
	free(upstream.status);
	free(upstream.reason);
	free(upstream.message);
	upstream.status = phx_jstr(rec, "status") ?
	    phx_strdup(phx_jstr(rec, "status")) : NULL;
	upstream.reason = phx_jstr(rec, "reason") ?
	    phx_strdup(phx_jstr(rec, "reason")) : NULL;
	upstream.message = phx_jstr(rec, "message") ?
	    phx_strdup(phx_jstr(rec, "message")) : NULL;
}

static bool
deployment_failed(void)
{
	return (upstream.status && strcmp(upstream.status, "failed") == 0) ||
	    upstream.phase_failed;
}

/* the stack never came up: scanning what is not there would report the
 * deployment's failure again as findings; one SKIP note points upstream */
static void
skip_upstream(void)
{
	bool known = upstream.status && strcmp(upstream.status, "failed") == 0 &&
	    upstream.reason;
	char *msg = phx_asprintf("not scanned: the deployment failed upstream"
	    "%s%s%s%s%s", known ? " (" : "", known ? upstream.reason : "",
	    known && upstream.message ? ": " : "",
	    known && upstream.message ? upstream.message : "", known ? ")" : "");
	cJSON *rec = phx_record_new("finding"), *ev;

	cJSON_AddStringToObject(rec, "id", "PHX-SEC-000");
	cJSON_AddStringToObject(rec, "status", "SKIP");
	cJSON_AddStringToObject(rec, "severity", "LOW");
	cJSON_AddStringToObject(rec, "reason", "upstream");
	cJSON_AddStringToObject(rec, "title", "The deployment's containers");
	cJSON_AddStringToObject(rec, "message", msg);
	ev = cJSON_AddObjectToObject(rec, "evidence");
	cJSON_AddStringToObject(ev, "field", "record deployment.status");
	cJSON_AddStringToObject(ev, "value", "failed");
	phx_emit(rec);
	phx_log(PHX_INFO, "%s", msg);
	free(msg);
	secscan.counts[PHX_ST_SKIP]++;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: phx-secscan [-hqVv] [-c FILE] [-f COMPOSE] [-k MANIFESTS] [-p PROJECT] "
	    "[-t HOST:PORT] [--fail-on SEVERITY] [--sarif FILE] [--scanner NAME] "
	    "[CONTAINER ...]\n");
}

static void scan(void);

/* what the stream tells: containers, https endpoints, the compose file */
static void
note_record(const struct phx_input *in)
{
	const cJSON *rec = in->json, *ck;
	const char *svc = phx_jstr(rec, "service");

	if (strcmp(in->type, "phase") == 0 && phx_jstr(rec, "phase") &&
	    strcmp(phx_jstr(rec, "phase"), "deploy") == 0 &&
	    phx_jstr(rec, "status")) {
		upstream.phase_failed = strcmp(phx_jstr(rec, "status"), "ok") != 0;
		/* the stack is up and every container is known: scanned now,
		 * while the checks and tests upstream still run, not after */
		if (!upstream.phase_failed && !deployment_failed() &&
		    !secscan.scan_done && phx_cfg_bool(secscan.cfg,
		    "deployment.security_validation")) {
			scan();
			secscan.scan_done = true;
		}
	}
	if (strcmp(in->type, "deployment") == 0) {
		note_deployment(rec);
		if (phx_jstr(rec, "compose_file")) {
			free(secscan.stream_compose);
			secscan.stream_compose = phx_strdup(phx_jstr(rec, "compose_file"));
		}
		if (phx_jstr(rec, "manifests")) {
			free(secscan.stream_manifests);
			secscan.stream_manifests = phx_strdup(phx_jstr(rec, "manifests"));
		}
		if (phx_jstr(rec, "project")) {
			free(secscan.stream_project);
			secscan.stream_project = phx_strdup(phx_jstr(rec, "project"));
		}
		return;
	}
	if (strcmp(in->type, "service") != 0)
		return;
	if (phx_jstr(rec, "container_id"))
		add_target(phx_jstr(rec, "container_id"), svc, false);
	else if (phx_jstr(rec, "container_name"))
		add_target(phx_jstr(rec, "container_name"), svc, false);
	cJSON_ArrayForEach(ck, cJSON_GetObjectItemCaseSensitive(rec, "checks")) {
		const char *kind = phx_jstr(ck, "kind"), *url = phx_jstr(ck, "target");
		if (kind && url && strcmp(kind, "http") == 0 &&
		    strncmp(url, "https://", 8) == 0)
			add_tls(svc, url, NULL);
	}
	if (svc)
		add_tls_from_config(svc);
}

static void
see_line(const struct phx_input *in, enum phx_rd kind)
{
	if (kind == PHX_RD_RECORD)
		note_record(in);
}

static void
scan(void)
{
	const char *manifests = secscan.manifests ? secscan.manifests
	    : secscan.stream_manifests;

	if (secscan.project)
		add_project(secscan.project);
	if (manifests)
		scan_manifests(manifests);
	if (!secscan.targets && !secscan.tls)
		return;
	if (secscan.targets) {
		load_engine();
		if (!secscan.info)
			return;
		inspect_targets();
		networks_prefetch();
		engine_containers();
		if (phx_podman_missing())
			return;
	}
	if (secscan.targets) {
		/* a kube deployment's networks are its pods', declared by no
		 * compose file */
		for (const struct target *t = secscan.targets; t && !secscan.compose &&
		    !secscan.stream_manifests; t = t->next)
			if (t->service)
				load_compose(false);
		check_rootless();
	}
	for (const struct target *t = secscan.targets; t; t = t->next) {
		scan_container(t);
		if (t->service)
			add_tls_from_config(t->service);
	}
	for (const struct tls_target *tt = secscan.tls; tt; tt = tt->next)
		scan_tls(tt);
	if (secscan.targets)
		scan_images();
}

/* the command line: endpoints (-t) and containers are added only once
 * the configuration is loaded, since it names the CA file */
struct cli {
	struct phx_config_opts copts;
	const char *fail_on;
	const char *tls[64];
	size_t ntls;
};

static void
parse_options(int argc, char *argv[], struct cli *cli)
{
	static const struct option longopts[] = {
		PHX_OPT_LONG,
		{ "file", required_argument, NULL, 'f' },
		{ "compose-file", required_argument, NULL, 'f' },
		{ "project", required_argument, NULL, 'p' },
		{ "manifests", required_argument, NULL, 'k' },
		{ "tls", required_argument, NULL, 't' },
		{ "fail-on", required_argument, NULL, 'F' },
		{ "sarif", required_argument, NULL, 'S' },
		{ "scanner", required_argument, NULL, 'X' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "f:k:p:t:" PHX_OPT_SHORT, longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'f': secscan.compose_file = optarg; break;
		case 'k': secscan.manifests = optarg; break;
		case 'p': secscan.project = optarg; break;
		case 't':
			if (cli->ntls == sizeof cli->tls / sizeof *cli->tls)
				phx_die(PHX_EXIT_USAGE, "too many -t endpoints");
			cli->tls[cli->ntls++] = optarg;
			break;
		case 'F': cli->fail_on = optarg; break;
		case 'S': secscan.sarif = optarg; break;
		case 'X': secscan.scanner = optarg; break;
		default: phx_opt_common(ch, &cli->copts, usage);
		}
	}
}

static void
configure(struct cli *cli, int nargs, char **args)
{
	phx_config_fail_pass("secscan", phx_stdin_want(nargs, args));
	secscan.cfg = phx_config_load(&cli->copts);
	phx_config_on_error(NULL);
	free(cli->copts.files);
	apply_rules();
	secscan.fail_on = cli->fail_on ? phx_fail_on(cli->fail_on, "--fail-on") :
	    phx_fail_on(phx_cfg_str(secscan.cfg, "security.fail_on"),
	    "security.fail_on");
	if (!secscan.scanner)
		secscan.scanner = phx_cfg_str(secscan.cfg, "security.scanner");
	if (strcmp(secscan.scanner, "auto") && strcmp(secscan.scanner, "trivy") &&
	    strcmp(secscan.scanner, "grype") && strcmp(secscan.scanner, "none"))
		phx_die(PHX_EXIT_USAGE, "scanner: expected auto, trivy, grype or "
		    "none, got \"%s\"", secscan.scanner);
	phx_podman_setup(secscan.cfg);
	if (secscan.compose_file)
		load_compose(true);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		phx_die(PHX_EXIT_ENV, "curl_global_init failed");
	if (secscan.sarif)
		sarif_begin();
	for (size_t i = 0; i < cli->ntls; i++)
		add_tls(NULL, cli->tls[i], NULL);
}

/* the phase's end record, with the counts; returns the exit status */
static int
finish(int64_t started)
{
	cJSON *counts = cJSON_CreateObject();
	int status;

	cJSON_AddNumberToObject(counts, "containers", secscan.scanned);
	/* best first, as the phase record always listed them */
	for (int i = PHX_ST_PASS; i >= PHX_ST_FAIL; i--) {
		const char *name = phx_status_names[i];
		char key[8];
		size_t j;
		for (j = 0; name[j] && j < sizeof key - 1; j++)
			key[j] = (char)tolower((unsigned char)name[j]);
		key[j] = '\0';
		cJSON_AddNumberToObject(counts, key, secscan.counts[i]);
	}
	cJSON_AddNumberToObject(counts, "ignored", secscan.ignored);
	status = phx_podman_missing() ? PHX_EXIT_ENV :
	    secscan.missing_argv ? PHX_EXIT_USAGE :
	    secscan.failed || secscan.errors ? PHX_EXIT_FAIL : PHX_EXIT_OK;
	phx_phase_end("secscan", started, status == PHX_EXIT_OK ? "ok" :
	    status == PHX_EXIT_FAIL && !secscan.errors ? "failed" : "error", counts);
	return status;
}

static void
cleanup(void)
{
	free_targets();
	free_tls();
	cJSON_Delete(secscan.compose);
	cJSON_Delete(secscan.compose_lines);
	free(secscan.compose_why);
	engine_free();
	cJSON_Delete(secscan.cfg);
	free(secscan.stream_compose);
	free(secscan.stream_project);
	free(secscan.stream_manifests);
	free(upstream.status);
	free(upstream.reason);
	free(upstream.message);
	curl_global_cleanup();
}

int
main(int argc, char *argv[])
{
	struct cli cli = { 0 };
	int64_t started;
	int status;

	phx_init(argv[0]);
	parse_options(argc, argv, &cli);
	configure(&cli, argc - optind, argv + optind);
	/* like cat and grep: operands, not stdin, unless one is "-" */
	for (int i = optind; i < argc; i++)
		if (strcmp(argv[i], "-") != 0)
			add_target(argv[i], NULL, true);
	if (phx_cfg_bool(secscan.cfg, "deployment.security_validation"))
		engine_prefetch();
	started = phx_stream_pass("secscan", phx_stdin_want(argc - optind,
	    argv + optind), see_line);
	if (secscan.scan_done)
		;
	else if (deployment_failed())
		skip_upstream();
	else if (phx_cfg_bool(secscan.cfg, "deployment.security_validation"))
		scan();
	else
		phx_log(PHX_INFO, "security validation is off "
		    "(deployment.security_validation)");
	if (phx_podman_missing())
		phx_emit_error("podman", "%s could not be run; no container scanned",
		    phx_podman_program());
	if (secscan.sarif && !write_sarif(!phx_podman_missing() && !secscan.errors))
		secscan.errors++;
	status = finish(started);
	cleanup();
	phx_exit(status);
}
