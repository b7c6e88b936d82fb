/* phx-functest: end-to-end functional tests of the running stack.
 * Reads the stream (passing every line on), remembers health verdicts,
 * then runs the suites of tests.yaml: n8n workflows through the public
 * API, Windmill scripts by path, and automation commands.  One thread per
 * suite (tests of a suite in order, on one reused curl handle) and one
 * `test` record per test as soon as it is known.
 *
 * The tool's private header: what its files share. */
#ifndef FUNCTEST_H
#define FUNCTEST_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "phx.h"

#define POLL_MS 250
#define SNIPPET 200                 /* of a response body, into a message */

enum kind { K_N8N, K_WINDMILL, K_COMMAND };

struct suite {
	const char *name;
	const cJSON *conf;
	enum kind kind;
	const char *service;     /* whose health decides a skip */
	char *secret;            /* API key or token; wiped at exit */
	const char *skip_reason; /* unhealthy, disabled: skip every test */
	char *skip_message;
	const char *upstream_reason;
	bool go_on;              /* recovery.functional: continue (phx(7)) */
};

struct test {
	struct suite *suite;
	const cJSON *conf;       /* the test's mapping, or NULL (implicit) */
	char *name;
	regex_t out_re, err_re;
	bool has_out_re, has_err_re;
};

struct test_run {            /* one test being run, and its outcome */
	struct test *t;
	CURL *curl;
	int64_t started, deadline;
	enum phx_test status;    /* zero: passed, until something fails */
	const char *step, *reason;
	char message[1024];
	long last_status;        /* of the last HTTP call */
	long http_status;        /* of the call the failure is about */
	bool has_exit;
	int exit_code;
	char *output, *errout;
	bool cleaning;           /* n8n clean-up: not interrupted by a signal */
};

struct http {
	CURLcode rc;
	long status;
	struct phx_buf body;
	char err[CURL_ERROR_SIZE];
};

/* set up by main.c and suite.c, read by the threads running the tests */
struct functest {
	struct suite *suites;
	size_t nsuites;
	struct test *tests;
	size_t ntests;
	unsigned counts[PHX_TEST_N];   /* by status */
	unsigned continued;            /* failures let go: recovery continue */
};

extern struct functest functest;

/* suite.c: the configuration; opt() is a test's setting, else its suite's */
const cJSON *opt(const struct test *t, const char *key);
const char *opt_str(const struct test *t, const char *key, const char *dflt);
void load_suites(const cJSON *cfg, char **only, size_t nonly);
void free_suites(void);

/* stream.c: the stream and its health verdicts */
int64_t read_stream(void);
void apply_health(void);
void free_healths(void);

/* run.c: running the tests */
void run_all(const cJSON *cfg);
int64_t left_ms(const struct test_run *r);

/* outcome.c: a test's outcome and record; the first failure is kept */
void outcome(struct test_run *r, enum phx_test status, const char *step,
    const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void fail(struct test_run *r, const char *step, const char *reason,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void cannot_run(struct test_run *r, const char *step, const char *reason,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
bool passed(const struct test_run *r);
void emit_result(struct test_run *r);
void sanitize_utf8(char *s);
char *snippet(const struct phx_buf *b);

/* http.c: HTTP calls (libcurl) */
bool http_call(struct test_run *r, const char *method, const char *url,
    struct curl_slist *headers, const char *body, struct http *h);
bool expect_status(struct test_run *r, const char *step, const char *method,
    const char *url, struct http *h, long want);
cJSON *parse_json_body(const struct http *h);
void headers_free(struct curl_slist *h);
char *base_url(const struct test *t);

/* the kinds of test */
void n8n_test(struct test_run *r);
void windmill_test(struct test_run *r);
void command_test(struct test_run *r);

#endif
