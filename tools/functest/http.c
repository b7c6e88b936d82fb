/* phx-functest: HTTP calls of a test (libcurl) and their checks */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "functest.h"

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	phx_buf_add(arg, p, size * n);
	return size * n;
}

/* children we exec must not inherit our connections */
static curl_socket_t
open_cloexec(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	(void)arg;
	(void)purpose;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* a signal stops the test at hand, but not the clean-up after it */
static int
interrupted(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	const struct test_run *r = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return phx_signal && !r->cleaning;
}

void
headers_free(struct curl_slist *h)
{
	for (struct curl_slist *p = h; p; p = p->next)
		phx_wipe(p->data, strlen(p->data));   /* may hold a key */
	curl_slist_free_all(h);
}

bool
http_call(struct test_run *r, const char *method, const char *url,
    struct curl_slist *headers, const char *body, struct http *h)
{
	CURL *c = r->curl;
	int64_t left = left_ms(r);

	phx_buf_free(&h->body);
	memset(h, 0, sizeof *h);
	r->last_status = 0;
	if (phx_signal && !r->cleaning) {
		h->rc = CURLE_ABORTED_BY_CALLBACK;
		snprintf(h->err, sizeof h->err, "interrupted by signal %d",
		    (int)phx_signal);
		return false;
	}
	if (left <= 0) {
		h->rc = CURLE_OPERATION_TIMEDOUT;
		snprintf(h->err, sizeof h->err, "the test's time is up");
		return false;
	}
	curl_easy_reset(c);   /* keeps the connection cache */
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "phx-functest/" PHX_VERSION);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &h->body);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_cloexec);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)left);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(left < 10000 ? left : 10000));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, interrupted);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, r);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (strcmp(method, "GET") != 0 && !(body && strcmp(method, "POST") == 0))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	h->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
	r->last_status = h->status;
	phx_buf_str(&h->body);
	phx_log(PHX_DEBUG, "%s %s: %ld %s", method, url, h->status,
	    h->rc ? curl_easy_strerror(h->rc) : "");
	return h->rc == CURLE_OK;
}

/* true when the call answered with status want; else the failure is set */
bool
expect_status(struct test_run *r, const char *step, const char *method,
    const char *url, struct http *h, long want)
{
	char *body;

	if (h->rc == CURLE_ABORTED_BY_CALLBACK) {
		cannot_run(r, step, "interrupted", "%s %s: interrupted by signal %d",
		    method, url, (int)phx_signal);
		return false;
	}
	if (h->rc != CURLE_OK) {
		fail(r, step, phx_curl_reason(h->rc), "%s %s: %s", method, url,
		    *h->err ? h->err : curl_easy_strerror(h->rc));
		return false;
	}
	if (h->status == want)
		return true;
	body = snippet(&h->body);
	if (h->status == 401 || h->status == 403)
		fail(r, step, "auth", "%s %s: HTTP %ld (credentials refused): %s",
		    method, url, h->status, body);
	else
		fail(r, step, "status", "%s %s: HTTP %ld, want %ld: %s", method,
		    url, h->status, want, body);
	free(body);
	return false;
}

cJSON *
parse_json_body(const struct http *h)
{
	return h->body.data ? cJSON_ParseWithLength(h->body.data, h->body.len) : NULL;
}

char *
base_url(const struct test *t)
{
	char *b = phx_strdup(opt_str(t, "base_url", ""));
	size_t n = strlen(b);

	while (n && b[n - 1] == '/')
		b[--n] = '\0';
	return b;
}
