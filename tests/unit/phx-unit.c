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

/* every result the tools' transfers can end in, and its record reason */
static void
test_curl_reason(void)
{
	static const struct { CURLcode rc; const char *reason; } cases[] = {
		{ CURLE_COULDNT_RESOLVE_HOST, "dns" },
		{ CURLE_COULDNT_RESOLVE_PROXY, "dns" },
		{ CURLE_COULDNT_CONNECT, "refused" },
		{ CURLE_OPERATION_TIMEDOUT, "timeout" },
		{ CURLE_SSL_CONNECT_ERROR, "tls" },
		{ CURLE_PEER_FAILED_VERIFICATION, "tls" },
		{ CURLE_SSL_CERTPROBLEM, "tls" },
		{ CURLE_SSL_CIPHER, "tls" },
		{ CURLE_SSL_CACERT_BADFILE, "tls" },
		{ CURLE_SSL_ISSUER_ERROR, "tls" },
		{ CURLE_SSL_PINNEDPUBKEYNOTMATCH, "tls" },
		{ CURLE_SSL_INVALIDCERTSTATUS, "tls" },
		{ CURLE_SSL_CRL_BADFILE, "tls" },
		{ CURLE_SSL_CLIENTCERT, "tls" },
		{ CURLE_SSL_ENGINE_NOTFOUND, "tls" },
		{ CURLE_SSL_ENGINE_SETFAILED, "tls" },
		{ CURLE_SSL_ENGINE_INITFAILED, "tls" },
		{ CURLE_SSL_SHUTDOWN_FAILED, "tls" },
		{ CURLE_USE_SSL_FAILED, "tls" },
		{ CURLE_UNSUPPORTED_PROTOCOL, "protocol" },
		{ CURLE_URL_MALFORMAT, "protocol" },
		{ CURLE_WEIRD_SERVER_REPLY, "protocol" },
		{ CURLE_HTTP2, "protocol" },
		{ CURLE_PARTIAL_FILE, "protocol" },
		{ CURLE_WRITE_ERROR, "protocol" },
		{ CURLE_SEND_ERROR, "protocol" },
		{ CURLE_RECV_ERROR, "protocol" },
		{ CURLE_GOT_NOTHING, "protocol" },
		{ CURLE_TOO_MANY_REDIRECTS, "protocol" },
		{ CURLE_BAD_CONTENT_ENCODING, "protocol" },
		{ CURLE_HTTP_RETURNED_ERROR, "protocol" },
		{ CURLE_ABORTED_BY_CALLBACK, "protocol" },
	};
	static const char *const documented[] = {
		"dns", "refused", "timeout", "tls", "protocol",
	};
	int undocumented = 0;

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char name[96];
		snprintf(name, sizeof name, "curl reason: %s",
		    curl_easy_strerror(cases[i].rc));
		is_str(phx_curl_reason(cases[i].rc), cases[i].reason, name);
	}
	for (int rc = CURLE_OK; rc < CURL_LAST; rc++) {
		const char *got = phx_curl_reason((CURLcode)rc);
		size_t j = 0;
		while (j < sizeof documented / sizeof *documented &&
		    strcmp(got, documented[j]) != 0)
			j++;
		undocumented += j == sizeof documented / sizeof *documented;
	}
	ok(!undocumented, "curl reason: every result maps to a documented reason");
}

static void
test_curl_not_after(void)
{
	static const struct { const char *line; time_t want; } cases[] = {
		{ "Expire date:Dec 12 00:58:01 2026 GMT", 1797037081 },
		{ "Expire date:Mar  5 12:00:00 2031 GMT", 1930478400 },
		{ "Expire date: Mar 5 12:00:00 2031", 1930478400 },
		{ "Expire date:2031-03-05 12:00:00 GMT", 1930478400 },
		{ "Expire date:", -1 },
		{ "Expire date:soon", -1 },
		{ "Expire date:Mar 5 2031", -1 },
		{ "Expire date:Mar  5 12:00:00 2031 CET", -1 },
		{ "Start date:Mar  5 12:00:00 2031 GMT", -1 },
	};
	struct curl_certinfo ci = { 0, NULL };
	struct curl_slist *cert[2] = { NULL, NULL };
	time_t got = 0;

	ok(!phx_curl_not_after(NULL, &got), "not_after: no certinfo");
	ok(!phx_curl_not_after(&ci, &got), "not_after: no certificate");
	ci.certinfo = cert;
	ci.num_of_certs = 1;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char name[96];
		bool found;
		cert[0] = curl_slist_append(NULL, "Subject:CN = localhost");
		cert[0] = curl_slist_append(cert[0], cases[i].line);
		got = 0;
		found = phx_curl_not_after(&ci, &got);
		snprintf(name, sizeof name, "not_after: \"%s\"", cases[i].line);
		ok(cases[i].want < 0 ? !found : found && got == cases[i].want,
		    name);
		if (found && got != cases[i].want)
			printf("# got %lld\n", (long long)got);
		curl_slist_free_all(cert[0]);
	}
	/* the peer's certificate is the first; its issuer's must not count */
	cert[0] = curl_slist_append(NULL, "Subject:CN = localhost");
	cert[1] = curl_slist_append(NULL, "Expire date:Dec 12 00:58:01 2026 GMT");
	ci.num_of_certs = 2;
	ok(!phx_curl_not_after(&ci, &got), "not_after: only the peer's certificate");
	curl_slist_free_all(cert[0]);
	curl_slist_free_all(cert[1]);
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
	test_curl_reason();
	test_curl_not_after();
	printf("1..%d\n", ntest);
	return nfail ? 1 : 0;
}
