/* Unit tests for libphx, emitting TAP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phx.h"

static int ntest, nfail;

static void
ok(int cond, const char *name)
{
	ntest++;
	if (!cond)
		nfail++;
	printf("%sok %d - %s\n", cond ? "" : "not ", ntest, name);
}

static void
is_str(const char *got, const char *want, const char *name)
{
	int same = got && want ? strcmp(got, want) == 0 : got == want;

	ok(same, name);
	if (!same)
		printf("# got \"%s\"\n# want \"%s\"\n", got ? got : "(null)",
		    want ? want : "(null)");
}

static void
test_durations(void)
{
	ok(phx_duration_ms("30") == 30000, "duration: bare number is seconds");
	ok(phx_duration_ms("1.5s") == 1500, "duration: 1.5s");
	ok(phx_duration_ms("500ms") == 500, "duration: 500ms");
	ok(phx_duration_ms("2m") == 120000, "duration: 2m");
	ok(phx_duration_ms("1h") == 3600000, "duration: 1h");
	ok(phx_duration_ms("abc") == -1, "duration: garbage rejected");
	ok(phx_duration_ms("-1") == -1, "duration: negative rejected");
	ok(phx_duration_ms("3x") == -1, "duration: unknown unit rejected");
}

static void
test_time(void)
{
	char ts[32];

	phx_ts_format(1790000000123, ts);
	is_str(ts, "2026-09-21T14:13:20.123Z", "ts: RFC 3339 with ms, UTC");
	ok(phx_ts_parse(ts) == 1790000000123, "ts: parse round-trips");
	ok(phx_ts_parse("2026-09-21T16:13:20.123+02:00") == 1790000000123,
	    "ts: offsets are honoured");
	ok(phx_ts_parse("yesterday") == -1, "ts: garbage rejected");
	phx_ts_format(1790000000007, ts);
	is_str(ts, "2026-09-21T14:13:20.007Z", "ts: same second, other ms");
	phx_ts_format(1790000061999, ts);
	is_str(ts, "2026-09-21T14:14:21.999Z", "ts: next minute");
	phx_ts_format(0, ts);
	is_str(ts, "1970-01-01T00:00:00.000Z", "ts: the epoch");
}

static void
test_ints(void)
{
	static const struct { int64_t v; const char *json; } cases[] = {
		{ 0, "{\"n\":0}" }, { 7, "{\"n\":7}" }, { -42, "{\"n\":-42}" },
		{ 1234567890123, "{\"n\":1234567890123}" },
		{ INT64_MAX, "{\"n\":9223372036854775807}" },
		{ INT64_MIN, "{\"n\":-9223372036854775808}" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		cJSON *o = cJSON_CreateObject(), *back;
		char *s;

		phx_add_int(o, "n", cases[i].v);
		s = cJSON_PrintUnformatted(o);
		is_str(s, cases[i].json, "int: printed as JSON digits");
		back = cJSON_Parse(s);
		ok(cJSON_IsNumber(cJSON_GetObjectItem(back, "n")),
		    "int: reads back as a JSON number");
		cJSON_Delete(back);
		cJSON_Delete(o);
		free(s);
	}
}

static void
test_redact(void)
{
	char *r;

	phx_secret_add("s3cr3t-value");
	phx_secret_add("a\"b\\c-quoted");
	r = phx_redact("{\"msg\":\"token s3cr3t-value here\"}");
	is_str(r, "{\"msg\":\"token *** here\"}", "redact: known value");
	free(r);
	r = phx_redact("{\"m\":\"a\\\"b\\\\c-quoted\"}");
	is_str(r, "{\"m\":\"***\"}", "redact: JSON-escaped value");
	free(r);
	r = phx_redact("postgresql://phoenix:hunter22@db:5432/revenue");
	is_str(r, "postgresql://phoenix:***@db:5432/revenue",
	    "redact: password inside a URL");
	free(r);
	r = phx_redact("host=db user=x password=hunter22 dbname=y");
	is_str(r, "host=db user=x password=*** dbname=y",
	    "redact: password= in a DSN");
	free(r);
	ok(phx_redact_mem("nothing here", 12, NULL) == NULL,
	    "redact: NULL when nothing matched");
	r = phx_redact("http://user@host/x");
	is_str(r, "http://user@host/x", "redact: userinfo without password kept");
	free(r);
	ok(phx_is_secret_name("N8N_API_KEY"), "secret name: *_API_KEY");
	ok(phx_is_secret_name("REVENUE_DB_PASSWORD"), "secret name: *_PASSWORD");
	ok(phx_is_secret_name("WINDMILL_TOKEN"), "secret name: *_TOKEN");
	ok(!phx_is_secret_name("PHX_PORT_DB"), "secret name: ordinary name");
	ok(!phx_is_secret_name("BYPASS"), "secret name: word inside a word");
	phx_secrets_clear();
}

static void
test_ids(void)
{
	ok(phx_valid_deployment_id("deploy_20261127_120000"), "id: valid");
	ok(phx_valid_deployment_id("deploy_20261127_120000_2"), "id: suffixed");
	ok(!phx_valid_deployment_id("../etc"), "id: path rejected");
	ok(!phx_valid_deployment_id("deploy_x/../../y_zzzzzzzz"),
	    "id: slash rejected");
}

static void
test_reader(void)
{
	static const char input[] =
	    "{\"v\":1,\"type\":\"health\",\"deployment_id\":\"deploy_20261127_120000\"}\n"
	    "not json\n"
	    "{\"foreign\":true}\n"
	    "\n"
	    "{\"v\":1,\"type\":\"test\"}\r\n"
	    "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\n"
	    "{\"v\":1,\"type\":\"last\"}";
	enum phx_rd want[] = { PHX_RD_RECORD, PHX_RD_INVALID, PHX_RD_FOREIGN,
	    PHX_RD_FOREIGN, PHX_RD_RECORD, PHX_RD_LONG, PHX_RD_LONG,
	    PHX_RD_RECORD, PHX_RD_EOF };
	struct phx_input in;
	struct phx_reader *r;
	int fds[2], i = 0, good = 1;
	struct phx_buf got = { 0 };

	if (pipe(fds) < 0 || write(fds[1], input, sizeof input - 1) < 0)
		abort();
	close(fds[1]);
	r = phx_reader_new(fds[0], "pipe", 80);
	for (;;) {
		enum phx_rd rd = phx_reader_next(r, &in);
		if (i < (int)(sizeof want / sizeof *want) && rd != want[i]) {
			printf("# line %d: got %d want %d\n", i, rd, want[i]);
			good = 0;
		}
		i++;
		if (rd == PHX_RD_EOF)
			break;
		phx_buf_add(&got, in.line, in.len);
		if (in.newline)
			phx_buf_add(&got, "\n", 1);
	}
	ok(good && i == 9, "reader: classifies every kind of line");
	ok(got.len == sizeof input - 1 && memcmp(got.data, input, got.len) == 0,
	    "reader: the bytes handed back are the bytes read");
	is_str(phx_deployment_id(), "deploy_20261127_120000",
	    "reader: adopts the stream's deployment id");
	ok(phx_reader_invalid(r) == 2, "reader: counts invalid and long lines");
	phx_buf_free(&got);
	phx_reader_free(r);
	close(fds[0]);
	phx_set_deployment_id(NULL);
}

static void
test_run(void)
{
	const char *argv1[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	const char *argv2[] = { "sh", "-c", "sleep 5 & sleep 5", NULL };
	const char *argv3[] = { "/nonexistent/cmd", NULL };
	struct phx_run a = { .argv = argv1 }, b = { .argv = argv2, .timeout_ms = 200 };
	struct phx_run c = { .argv = argv3 };
	char *t;

	phx_run(&a);
	ok(a.status == 3, "run: exit status");
	is_str(a.out.data, "out\n", "run: stdout captured");
	is_str(a.err.data, "err\n", "run: stderr captured");
	phx_run(&b);
	ok(b.timed_out && b.duration_ms < 3000, "run: timeout kills the group");
	ok(!phx_run(&c) && c.exec_failed, "run: exec failure reported");
	t = phx_tail_lines("a\nb\nc\nd\n", 8, 2);
	is_str(t, "c\nd\n", "tail: last two lines");
	free(t);
	phx_run_free(&a);
	phx_run_free(&b);
	phx_run_free(&c);
}

/* checks: entry and config as JSON (the merged configuration's form, so
 * durations in ms), the check objects as one JSON line */
static void
is_checks(const char *cfg, const char *entry, const char *container,
    bool declared, const char *want, const char *name)
{
	cJSON *c = cJSON_Parse(cfg), *e = entry ? cJSON_Parse(entry) : NULL;
	cJSON *got = phx_service_checks(c, e, container, declared);
	char *s = cJSON_PrintUnformatted(got);

	is_str(s, want, name);
	free(s);
	cJSON_Delete(got);
	cJSON_Delete(e);
	cJSON_Delete(c);
}

static void
test_checks(void)
{
	static const char cfg[] = "{\"probe\":{\"timeout\":7000,\"retries\":2,"
	    "\"backoff\":{\"initial\":100,\"max\":900,\"multiplier\":3},"
	    "\"expected_status\":[200],\"insecure\":false,\"interval\":250}}";
	static const char timing[] = "\"timeout_ms\":7000,\"retries\":2,"
	    "\"backoff_initial_ms\":100,\"backoff_max_ms\":900,"
	    "\"backoff_multiplier\":3,\"interval_ms\":250";
	char want[1024];

	is_checks("{}", "{\"url\":\"http://h/x\",\"method\":\"POST\","
	    "\"headers\":{\"X-Probe\":\"yes\"},\"body\":\"ping\"}", NULL, false,
	    "[{\"kind\":\"http\",\"target\":\"http://h/x\",\"method\":\"POST\","
	    "\"headers\":{\"X-Probe\":\"yes\"},\"body\":\"ping\"}]",
	    "checks: method, headers and body carried");
	snprintf(want, sizeof want, "[{\"kind\":\"http\",\"target\":\"http://h/\","
	    "\"expected_status\":[200,204],\"insecure\":false,%s}]", timing);
	is_checks(cfg, "{\"url\":\"http://h/\",\"expected_status\":[200,204]}",
	    NULL, false, want, "checks: the probe section's defaults, the entry wins");
	is_checks(cfg, "{\"url\":\"http://h/\",\"retries\":9,\"backoff\":"
	    "{\"max\":50}}", NULL, false, "[{\"kind\":\"http\",\"target\":"
	    "\"http://h/\",\"expected_status\":[200],\"insecure\":false,"
	    "\"timeout_ms\":7000,\"retries\":9,\"backoff_initial_ms\":100,"
	    "\"backoff_max_ms\":50,\"backoff_multiplier\":3,\"interval_ms\":250}]",
	    "checks: an entry's setting overrides its default alone");
	snprintf(want, sizeof want, "[{\"kind\":\"tcp\",\"target\":\"h:1\"},"
	    "{\"kind\":\"healthcheck\",\"target\":\"p_web_1\"}]");
	is_checks("{}", "{\"host\":\"h\",\"port\":1}", "p_web_1", true, want,
	    "checks: a declared healthcheck runs by default");
	is_checks("{}", "{\"host\":\"h\",\"port\":1,\"healthcheck\":false}",
	    "p_web_1", true, "[{\"kind\":\"tcp\",\"target\":\"h:1\"}]",
	    "checks: healthcheck: false opts out");
	is_checks("{}", "{\"host\":\"h\",\"port\":1}", "p_web_1", false,
	    "[{\"kind\":\"tcp\",\"target\":\"h:1\"}]",
	    "checks: no healthcheck where none is declared");
	is_checks("{}", "{\"port\":1,\"healthcheck\":true,\"container\":\"c\"}",
	    "p_web_1", false, "[{\"kind\":\"tcp\",\"target\":\"localhost:1\"},"
	    "{\"kind\":\"healthcheck\",\"target\":\"c\"}]",
	    "checks: healthcheck: true, on the entry's container");
	is_checks("{}", "{\"healthcheck\":true}", NULL, false, "[]",
	    "checks: no healthcheck without a container");
	is_checks("{}", NULL, "p_web_1", true,
	    "[{\"kind\":\"healthcheck\",\"target\":\"p_web_1\"}]",
	    "checks: no entry, a declared healthcheck");
	snprintf(want, sizeof want, "[{\"kind\":\"postgres\",\"target\":"
	    "\"localhost:5432\",\"dbname\":\"d\",\"user\":\"u\",\"password_env\":"
	    "\"PW\",\"sslmode\":\"disable\",\"query\":\"SELECT 2\",%s}]", timing);
	is_checks(cfg, "{\"type\":\"postgres\",\"dbname\":\"d\",\"user\":\"u\","
	    "\"password\":\"hunter22\",\"password_env\":\"PW\",\"sslmode\":"
	    "\"disable\",\"query\":\"SELECT 2\",\"method\":\"GET\"}", NULL, false,
	    want, "checks: postgres, its fields, port 5432, no password");
	snprintf(want, sizeof want, "[{\"kind\":\"tcp\",\"target\":\"[::1]:6379\","
	    "\"conditions\":[\"[CONNECTED] == true\"],%s}]", timing);
	is_checks(cfg, "{\"host\":\"::1\",\"port\":6379,\"conditions\":"
	    "[\"[CONNECTED] == true\"],\"body\":\"x\"}", NULL, false, want,
	    "checks: tcp from host and port, no http fields");
	is_checks(cfg, "{\"url\":\"http://h/\",\"enabled\":false}", "p_web_1",
	    true, "[]", "checks: a disabled entry has none");
	is_checks("{}", "{\"type\":\"healthcheck\",\"retries\":3}", "p_web_1",
	    true, "[{\"kind\":\"healthcheck\",\"target\":\"p_web_1\","
	    "\"retries\":3}]", "checks: type: healthcheck, once");
	is_checks("{}", "{\"type\":\"https\",\"url\":\"https://h/\"}", NULL,
	    false, "[{\"kind\":\"http\",\"target\":\"https://h/\"}]",
	    "checks: type https is kind http");
}

static void
test_declared(void)
{
	cJSON *svc, *info;

	svc = cJSON_Parse("{\"healthcheck\":{\"test\":[\"CMD\",\"true\"]}}");
	ok(phx_declares_healthcheck(svc, NULL), "healthcheck: compose test");
	cJSON_Delete(svc);
	svc = cJSON_Parse("{\"healthcheck\":{\"test\":[\"NONE\"]}}");
	info = cJSON_Parse("{\"Config\":{\"Healthcheck\":{\"Test\":"
	    "[\"CMD-SHELL\",\"true\"]}}}");
	ok(!phx_declares_healthcheck(svc, info), "healthcheck: NONE in compose");
	cJSON_Delete(svc);
	svc = cJSON_Parse("{\"healthcheck\":{\"disable\":true}}");
	ok(!phx_declares_healthcheck(svc, info), "healthcheck: disable: true");
	cJSON_Delete(svc);
	ok(phx_declares_healthcheck(NULL, info), "healthcheck: the image's");
	cJSON_Delete(info);
	info = cJSON_Parse("{\"Config\":{\"Healthcheck\":{\"Test\":[\"NONE\"]}}}");
	ok(!phx_declares_healthcheck(NULL, info), "healthcheck: image NONE");
	cJSON_Delete(info);
	ok(!phx_declares_healthcheck(NULL, NULL), "healthcheck: none at all");
}

int
main(int argc, char **argv)
{
	phx_init(argv[0]);
	if (argc >= 2 && strcmp(argv[1], "pass") == 0) {
		/* phx-unit pass [MAXLINE]: the reader and phx_pass, alone */
		struct phx_reader *r = phx_reader_new(0, "stdin",
		    argc > 2 ? (size_t)atol(argv[2]) : 0);
		struct phx_input in;
		while (phx_reader_next(r, &in) != PHX_RD_EOF)
			phx_pass(&in);
		phx_reader_free(r);
		if (argc > 3)   /* then a record of our own */
			phx_emit(phx_record_new(argv[3]));
		phx_exit(PHX_EXIT_OK);
	}
	if (argc >= 2 && strcmp(argv[1], "config") == 0) {
		/* phx-unit config [FILE...]: the merged configuration */
		struct phx_config_opts o = { (const char **)argv + 2,
		    (size_t)(argc - 2) };
		cJSON *cfg = phx_config_load(&o);
		char *s = cJSON_Print(cfg), *clean = phx_redact(s);
		puts(clean);
		free(clean);
		free(s);
		cJSON_Delete(cfg);
		phx_exit(PHX_EXIT_OK);
	}
	phx_log_quieter();
	phx_log_quieter();
	test_durations();
	test_time();
	test_ints();
	test_redact();
	test_ids();
	test_reader();
	test_run();
	test_checks();
	test_declared();
	printf("1..%d\n", ntest);
	return nfail ? 1 : 0;
}
