/* phx-functest: Windmill, run a script by path and check its result */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "functest.h"

struct windmill {
	char *jobs;               /* {base}/api/w/{ws} */
	const char *path;
	char *args;
	struct curl_slist *auth;
	struct http h;
};

/* the subset of got that want describes: objects by key, the rest equal */
static bool
json_matches(const cJSON *want, const cJSON *got)
{
	const cJSON *w;

	if (!got)
		return false;
	if (!cJSON_IsObject(want))
		return cJSON_Compare(want, got, true);
	if (!cJSON_IsObject(got))
		return false;
	cJSON_ArrayForEach(w, want)
		if (!json_matches(w, cJSON_GetObjectItemCaseSensitive(got, w->string)))
			return false;
	return true;
}

/* the job's own failure: {"error":{"name":...,"message":...}} */
static const char *
windmill_error(const cJSON *result)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(result, "error");
	const char *m = phx_jstr(e, "message");

	if (m)
		return m;
	return cJSON_IsString(e) ? e->valuestring : e ? "the job failed" : NULL;
}

static void
windmill_check(struct test_run *r, const char *step, const cJSON *result)
{
	const cJSON *want = opt(r->t, "expect");
	const char *err = windmill_error(result);
	char *got;

	if (err) {
		fail(r, step, "script", "script %s failed: %s",
		    opt_str(r->t, "script_path", "?"), err);
		return;
	}
	if (!want || json_matches(want, result))
		return;
	got = result ? cJSON_PrintUnformatted(result) : phx_strdup("nothing");
	if (strlen(got) > SNIPPET)
		strcpy(got + SNIPPET - 3, "...");
	sanitize_utf8(got);
	fail(r, step, "result", "script %s returned %s, which does not match "
	    "expect", opt_str(r->t, "script_path", "?"), got);
	free(got);
}

/* the new job's UUID: text/plain, or a JSON string from a proxy */
static char *
job_uuid(const struct http *h)
{
	const char *s = h->body.data ? h->body.data : "";
	size_t n;

	s += strspn(s, " \t\r\n\"");
	n = strspn(s, "0123456789abcdefABCDEF-");
	return n >= 32 ? phx_asprintf("%.*s", (int)n, s) : NULL;
}

/* poll jobs_u/get until the job is a CompletedJob */
static void
windmill_async(struct test_run *r, struct windmill *w)
{
	char *url = phx_asprintf("%s/jobs/run/p/%s", w->jobs, w->path), *id, *get;
	const cJSON *result;
	cJSON *job = NULL;

	http_call(r, "POST", url, w->auth, w->args, &w->h);
	if (w->h.rc == CURLE_OK && w->h.status == 200)
		w->h.status = 201;
	if (!expect_status(r, "run_async", "POST", url, &w->h, 201)) {
		free(url);
		return;
	}
	free(url);
	id = job_uuid(&w->h);
	if (!id) {
		char *b = snippet(&w->h.body);
		fail(r, "run_async", "protocol", "no job id in the answer: %s", b);
		free(b);
		return;
	}
	get = phx_asprintf("%s/jobs_u/get/%s", w->jobs, id);
	for (;;) {
		http_call(r, "GET", get, w->auth, NULL, &w->h);
		if (!expect_status(r, "poll", "GET", get, &w->h, 200))
			break;
		job = parse_json_body(&w->h);
		if (strcmp(phx_jstr(job, "type") ? phx_jstr(job, "type") : "",
		    "CompletedJob") == 0)
			break;
		cJSON_Delete(job);
		job = NULL;
		if (left_ms(r) <= POLL_MS) {
			fail(r, "poll", "timeout", "job %s of %s did not complete in time",
			    id, w->path);
			break;
		}
		phx_sleep_ms(POLL_MS);
	}
	result = cJSON_GetObjectItemCaseSensitive(job, "result");
	if (job && !phx_jbool(job, "success", false))
		fail(r, "poll", "script", "job %s of %s failed: %s", id, w->path,
		    windmill_error(result) ? windmill_error(result) : "no message");
	else if (job)
		windmill_check(r, "poll", result);
	cJSON_Delete(job);
	free(get);
	free(id);
}

/* run_wait_result: 200 with the result, 422 (or 200 with "error") when the
 * job failed; a server-side wait timeout falls back to async polling */
static void
windmill_sync(struct test_run *r, struct windmill *w)
{
	char *url = phx_asprintf("%s/jobs/run_wait_result/p/%s", w->jobs, w->path);
	cJSON *result;

	http_call(r, "POST", url, w->auth, w->args, &w->h);
	if (w->h.rc == CURLE_OK && w->h.status == 400 && w->h.body.data &&
	    strstr(w->h.body.data, "timeout")) {
		phx_log(PHX_INFO, "%s: the server stopped waiting (%s), polling the job",
		    url, w->h.body.data);
		free(url);
		windmill_async(r, w);
		return;
	}
	if (w->h.rc == CURLE_OK && w->h.status == 422) {
		result = parse_json_body(&w->h);
		if (!windmill_error(result)) {
			char *s = snippet(&w->h.body);
			fail(r, "run", "script", "script %s failed: %s", w->path, s);
			free(s);
		} else
			windmill_check(r, "run", result);
		cJSON_Delete(result);
	} else if (w->h.rc == CURLE_OK && w->h.status == 404) {
		char *s = snippet(&w->h.body);
		fail(r, "run", "not_found", "POST %s: HTTP 404: %s", url, s);
		free(s);
	} else if (expect_status(r, "run", "POST", url, &w->h, 200)) {
		result = parse_json_body(&w->h);
		if (!result && w->h.body.len)   /* a bare string result */
			result = cJSON_CreateString(w->h.body.data);
		windmill_check(r, "run", result);
		cJSON_Delete(result);
	}
	free(url);
}

void
windmill_test(struct test_run *r)
{
	struct windmill w = { 0 };
	const cJSON *args = opt(r->t, "args");
	char *base, *ws, *hdr;

	if (!r->t->suite->secret) {
		cannot_run(r, "config", "config", "no token: set %s",
		    opt_str(r->t, "token_env", "token"));
		return;
	}
	base = base_url(r->t);
	ws = curl_easy_escape(r->curl, opt_str(r->t, "workspace", ""), 0);
	w.jobs = phx_asprintf("%s/api/w/%s", base, ws);
	curl_free(ws);
	free(base);
	w.path = opt_str(r->t, "script_path", "");
	w.args = args ? cJSON_PrintUnformatted(args) : phx_strdup("{}");
	hdr = phx_asprintf("Authorization: Bearer %s", r->t->suite->secret);
	w.auth = curl_slist_append(NULL, hdr);
	phx_free_secret(hdr);
	w.auth = curl_slist_append(w.auth, "Content-Type: application/json");
	w.auth = curl_slist_append(w.auth, "Accept: application/json");
	if (strcmp(opt_str(r->t, "mode", "sync"), "async") == 0)
		windmill_async(r, &w);
	else
		windmill_sync(r, &w);
	headers_free(w.auth);
	phx_buf_free(&w.h.body);
	free(w.args);
	free(w.jobs);
}
