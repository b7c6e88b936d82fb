/* phx-functest: running the tests, one thread per suite (tests of a
 * suite in order, on one reused curl handle) */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "functest.h"

#define TEST_TIMEOUT_MS 60000       /* per test, unless configured */

struct job {                 /* tests run in order by one thread */
	struct test **tests;
	size_t n;
	pthread_t thread;
};

static int64_t total_deadline;

int64_t
left_ms(const struct test_run *r)
{
	return r->deadline - phx_now_ms();
}

static int64_t
test_timeout(const struct test *t)
{
	const cJSON *v = opt(t, "timeout");

	return cJSON_IsNumber(v) && v->valuedouble > 0 ?
	    phx_num_int(v->valuedouble, TEST_TIMEOUT_MS, 1, INT64_MAX) :
	    TEST_TIMEOUT_MS;
}

static void
run_test(struct test *t, CURL *curl)
{
	struct test_run r = { .t = t, .curl = curl };
	struct suite *s = t->suite;

	r.started = phx_now_ms();
	r.deadline = r.started + test_timeout(t);
	if (r.deadline > total_deadline)
		r.deadline = total_deadline;
	if (phx_signal)
		cannot_run(&r, NULL, "interrupted", "not run: interrupted by signal %d",
		    (int)phx_signal);
	else if (s->skip_reason)
		outcome(&r, PHX_TEST_SKIPPED, NULL, s->skip_reason, "%s", s->skip_message);
	else if (t->conf && !phx_jbool(t->conf, "enabled", true))
		outcome(&r, PHX_TEST_SKIPPED, NULL, "disabled", "disabled in the configuration");
	else if (left_ms(&r) <= 0)
		cannot_run(&r, NULL, "deadline", "not run: the total deadline (tests.timeout) passed");
	else if (s->kind == K_N8N)
		n8n_test(&r);
	else if (s->kind == K_WINDMILL)
		windmill_test(&r);
	else
		command_test(&r);
	emit_result(&r);
	free(r.output);
	free(r.errout);
}

static void *
run_job(void *arg)
{
	struct job *j = arg;
	CURL *curl = curl_easy_init();

	if (!curl)
		phx_die(PHX_EXIT_ENV, "curl_easy_init failed");
	for (size_t i = 0; i < j->n; i++)
		run_test(j->tests[i], curl);
	curl_easy_cleanup(curl);
	return NULL;
}

static void
add_to_job(struct job **jobs, size_t *njobs, bool new_job, struct test *t)
{
	struct job *j;

	if (new_job || !*njobs) {
		*jobs = phx_reallocarray(*jobs, *njobs + 1, sizeof **jobs);
		memset(&(*jobs)[*njobs], 0, sizeof **jobs);
		(*njobs)++;
	}
	j = &(*jobs)[*njobs - 1];
	j->tests = phx_reallocarray(j->tests, j->n + 1, sizeof *j->tests);
	j->tests[j->n++] = t;
}

/* suites in parallel (tests.parallel), a suite's tests in order unless
 * the suite says parallel: true */
void
run_all(const cJSON *cfg)
{
	bool parallel = phx_cfg_bool(cfg, "tests.parallel");
	struct test *tests = functest.tests;
	struct job *jobs = NULL;
	size_t njobs = 0;

	total_deadline = phx_now_ms() +
	    phx_cfg_int(cfg, "tests.timeout", 0, INT64_MAX / 2);
	for (size_t i = 0; i < functest.ntests; i++) {
		bool first = i == 0 || tests[i].suite != tests[i - 1].suite;
		bool each = phx_jbool(tests[i].suite->conf, "parallel", false);
		add_to_job(&jobs, &njobs, parallel && (first || each), &tests[i]);
	}
	if (njobs == 1)
		run_job(&jobs[0]);
	else {
		for (size_t i = 0; i < njobs; i++)
			if ((errno = pthread_create(&jobs[i].thread, NULL, run_job, &jobs[i])))
				phx_edie(PHX_EXIT_ENV, "pthread_create");
		for (size_t i = 0; i < njobs; i++)
			pthread_join(jobs[i].thread, NULL);
	}
	for (size_t i = 0; i < njobs; i++)
		free(jobs[i].tests);
	free(jobs);
}
