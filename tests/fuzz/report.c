/* phx-report from ingest to every output, in-process: the input is its
 * stream (on a memfd), the JSON report must parse, JUnit, metrics, the
 * console summary and the passed-on stream go nowhere */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"
#include "report.h"

static FILE *devnull;

int
LLVMFuzzerInitialize(int *argc, char **argv[])
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	(void)argc;
	phx_init((*argv)[0]);
	phx_secrets_clear();
	unsetenv("PHX_DEPLOYMENT_ID");
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
	    !(devnull = fdopen(fd, "w")))
		phx_edie(PHX_EXIT_ENV, "/dev/null");
	return 0;
}

/* one renderer into out, which goes to f */
static void
render(FILE *f, void (*fn)(struct out *, const struct agg *,
    const struct result *), const struct agg *agg, const struct result *r)
{
	struct out o = { .f = { f }, .n = 1 };

	fn(&o, agg, r);
	out_close(&o);
	fflush(f);
}

static void
outputs(const struct agg *agg, struct result *r, int64_t started)
{
	char *json = NULL;
	size_t jlen = 0;
	FILE *mem = open_memstream(&json, &jlen);
	cJSON *parsed;

	if (!mem)
		phx_edie(PHX_EXIT_ENV, "open_memstream");
	render(mem, report_write, agg, r);
	fclose(mem);
	if (!(parsed = cJSON_ParseWithLength(json, jlen)))
		fuzz_fail("the JSON report does not parse: %.300s", json);
	cJSON_Delete(parsed);
	free(json);
	render(devnull, junit_write, agg, r);
	render(devnull, prometheus_write, agg, r);
	text_print(agg, r, true);
	emit_verdict(r, started);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agg agg = { .min_ts = -1, .max_ts = -1 };
	struct result r = { .fail_on = 3 };
	struct progress pg = { 0 };
	int fd = fuzz_memfd(data, size);
	struct phx_reader *rd = phx_reader_new(fd, "fuzz", MAX_LINE);
	int64_t started = 0;

	ingest(&agg, rd, "fuzz", NULL, true, &pg, &started);
	phx_reader_free(rd);
	close(fd);
	fuzz_pass_end();
	settle_id(&agg, false);
	judge(&agg, &r);
	outputs(&agg, &r, started);
	result_free(&r);
	agg_free(&agg);
	phx_secrets_clear();
	phx_set_deployment_id(NULL);
	return 0;
}
