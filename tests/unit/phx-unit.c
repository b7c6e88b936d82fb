/* Unit tests for libphx, emitting TAP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phx_yaml.h"

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

static void
expand_is(const char *in, const char *want, const char *name)
{
	char *err, *got = phx_yaml_expand(in, NULL, &err);

	is_str(got ? got : err, want, name);
	free(got);
	free(err);
}

static void
test_expand(void)
{
	cJSON *vars = cJSON_Parse("{\"PHXU_DOT\":\"dot\",\"PHXU_SET\":\"no\"}");
	char *err, *s;

	setenv("PHXU_SET", "v", 1);
	setenv("PHXU_EMPTY", "", 1);
	unsetenv("PHXU_UNSET");
	expand_is("${PHXU_UNSET-d}", "d", "expand: ${X-d}, unset: the default");
	expand_is("${PHXU_UNSET:-d}", "d", "expand: ${X:-d}, unset: the default");
	expand_is("${PHXU_EMPTY-d}", "", "expand: ${X-d}, set but empty: empty");
	expand_is("${PHXU_EMPTY:-d}", "",
	    "expand: ${X:-d}, set but empty: empty, as podman-compose 1.0.3");
	expand_is("${PHXU_SET:-d}/${PHXU_SET}", "v/v", "expand: set: its value");
	expand_is("$PHXU_SET.$PHXU_UNSET.", "v..", "expand: $X, unset is empty");
	expand_is("a$$b $${PHXU_SET}", "a$b ${PHXU_SET}", "expand: $$ is a $");
	expand_is("${PHXU_UNSET:?set it}", "PHXU_UNSET: set it",
	    "expand: ${X:?msg}, unset: the message");
	expand_is("${PHXU_UNSET?no}", "PHXU_UNSET: no", "expand: ${X?msg}, unset");
	expand_is("${PHXU_EMPTY:?no}", "", "expand: ${X:?msg}, set but empty: ok");
	expand_is("$ ${1} ${PHXU_SET", "$ ${1} ${PHXU_SET",
	    "expand: what is no reference stays");
	s = phx_yaml_expand("${PHXU_DOT}-${PHXU_SET}", vars, &err);
	is_str(s, "dot-v", "expand: vars after the environment");
	free(s);
	cJSON_Delete(vars);
}

/* text as YAML, printed as JSON, or the error */
static void
yaml_is(const char *text, int flags, const char *want, const char *name)
{
	char *err, *got;
	struct phx_yaml *y = phx_yaml_parse("t.yaml", text, strlen(text), flags,
	    NULL, &err);

	got = y ? cJSON_PrintUnformatted(phx_yaml_root(y)) : err;
	is_str(got, want, name);
	free(got);
	phx_yaml_free(y);
}

static void
test_yaml(void)
{
	struct phx_buf b = { 0 };

	yaml_is("[on, yes, Off, NO, true, y, n, ~, 8080, '8080', 0755, 1.5, 1e3, "
	    "1.0e+999]", PHX_YAML_TYPED,
	    "[true,true,false,false,true,\"y\",\"n\",null,8080,\"8080\",\"0755\","
	    "1.5,\"1e3\",\"1.0e+999\"]", "yaml: YAML 1.1 scalars as PyYAML types them");
	yaml_is("[on, 8080]", 0, "[\"on\",\"8080\"]", "yaml: untyped, all strings");
	yaml_is("b: &b {x: 1, y: 2}\nc: &c {z: 3}\nm:\n  <<: [*b, *c]\n  x: 9\n"
	    "n: {<<: *b, y: 0}\n", PHX_YAML_TYPED,
	    "{\"b\":{\"x\":1,\"y\":2},\"c\":{\"z\":3},\"m\":{\"x\":9,\"y\":2,\"z\":3},"
	    "\"n\":{\"y\":0,\"x\":1}}", "yaml: merge keys, explicit keys win");
	yaml_is("a:\n  b: 1\n  b: 2\n", 0,
	    "t.yaml:3:3: duplicate key \"b\" in a", "yaml: duplicate key");
	yaml_is("a: *nope\n", 0, "t.yaml:1:4: undefined alias *nope",
	    "yaml: undefined alias");
	yaml_is("args: &a [*a]\n", 0,
	    "t.yaml:1:11: alias *a is inside the node it names",
	    "limit: an alias inside its own node");
	phx_buf_addstr(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 8; i++) {
		phx_buf_printf(&b, "a%d: &a%d [", i, i);
		for (int j = 0; j < 10; j++)
			phx_buf_printf(&b, "%s*a%d", j ? ", " : "", i - 1);
		phx_buf_addstr(&b, "]\n");
	}
	yaml_is(b.data, 0, "t.yaml:5:45: alias *a3: more than 100000 nodes with "
	    "it (the limit)", "limit: billion laughs, nodes copied by aliases");
	b.len = 0;
	for (int i = 0; i < PHX_YAML_MAX_ALIASES + 2; i++)
		phx_buf_addstr(&b, i ? ", *a" : "[&a x");
	phx_buf_addstr(&b, "]");
	yaml_is(b.data, 0, "t.yaml:1:40008: more than 10000 aliases (the limit)",
	    "limit: alias uses");
	b.len = 0;
	for (int i = 0; i < 100000; i++)
		phx_buf_addstr(&b, "[");
	yaml_is(b.data, 0, "t.yaml:1:65: nested more than 64 deep (the limit)",
	    "limit: nesting depth");
	b.len = 0;
	phx_buf_addstr(&b, "a: &a ");
	for (int i = 0; i < 60; i++)
		phx_buf_addstr(&b, "[");
	for (int i = 0; i < 60; i++)
		phx_buf_addstr(&b, "]");
	phx_buf_addstr(&b, "\nb: [[[[[*a]]]]]\n");
	yaml_is(b.data, 0, "t.yaml:2:9: alias *a: nested more than 64 deep with "
	    "it (the limit)", "limit: nesting depth through an alias");
	b.len = 0;
	phx_buf_addstr(&b, "[");
	for (int i = 0; i < PHX_YAML_MAX_NODES; i++)
		phx_buf_addstr(&b, "1,");
	phx_buf_addstr(&b, "1]");
	yaml_is(b.data, 0, "t.yaml:1:200000: more than 100000 nodes (the limit)",
	    "limit: nodes");
	phx_buf_free(&b);
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
	test_expand();
	test_yaml();
	printf("1..%d\n", ntest);
	return nfail ? 1 : 0;
}
