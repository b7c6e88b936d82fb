/* phx-probe's HTTP(S) and TCP checks, through libcurl's multi interface;
 * idle easy handles of HTTP checks are kept for the next attempts. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "probe.h"

#define BODY_MAX (1024 * 1024)

static CURL **pool;          /* idle easy handles: reuse saves their setup */
static size_t npool;

bool
setup_http(struct check *c, const cJSON *j)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "headers"), *it;

	if (strncmp(c->url, "http://", 7) != 0 &&
	    strncmp(c->url, "https://", 8) != 0)
		return false;
	if (phx_jstr(j, "method"))
		c->http.method = phx_strdup(phx_jstr(j, "method"));
	if (phx_jstr(j, "body"))
		c->http.body = phx_strdup(phx_jstr(j, "body"));
	if (phx_jstr(j, "ca_file"))
		c->http.ca_file = phx_strdup(phx_jstr(j, "ca_file"));
	cJSON_ArrayForEach(it, h) {
		char *line;
		if (!cJSON_IsString(it))
			continue;
		line = phx_asprintf("%s: %s", it->string, it->valuestring);
		c->http.headers = curl_slist_append(c->http.headers, line);
		free(line);
	}
	return true;
}

bool
setup_tcp(struct check *c)
{
	char *host, *port;
	const char *t = c->target;

	if (strncmp(t, "tcp://", 6) == 0)
		t += 6;
	if (!split_hostport(t, &host, &port))
		return false;
	free(c->url);
	c->url = strchr(host, ':') ? phx_asprintf("http://[%s]:%s", host, port)
	    : phx_asprintf("http://%s:%s", host, port);
	free(host);
	free(port);
	return true;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct check *c = arg;

	if (!c->want_body)
		return size * n;
	if (c->out.len + size * n > BODY_MAX) {
		c->http.too_big = true;
		return 0;
	}
	phx_buf_add(&c->out, p, size * n);
	return size * n;
}

/* the TLS version is only reachable while the connection is in use */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	static const char *(*ssl_version)(const void *);
	static bool looked;
	struct check *c = arg;
	struct curl_tlssessioninfo *ti = NULL;

	(void)p;
	if (!looked) {
		looked = true;
		*(void **)&ssl_version = dlsym(RTLD_DEFAULT, "SSL_get_version");
	}
	if (ssl_version && !c->http.tls_version[0] &&
	    curl_easy_getinfo(c->http.easy, CURLINFO_TLS_SSL_PTR, &ti) == CURLE_OK &&
	    ti && ti->backend == CURLSSLBACKEND_OPENSSL && ti->internals)
		snprintf(c->http.tls_version, sizeof c->http.tls_version, "%s",
		    ssl_version(ti->internals));
	return size * n;
}

static void
easy_setup(struct check *c)
{
	bool https = strncmp(c->url, "https://", 8) == 0;
	CURL *e = c->http.easy = c->kind == K_HTTP && npool ?
	    pool[--npool] : curl_easy_init();

	if (!e)
		phx_die(PHX_EXIT_ENV, "curl_easy_init failed");
	curl_easy_setopt(e, CURLOPT_URL, c->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, c);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->http.errbuf);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "phx-probe/" PHX_VERSION);
	if (c->kind == K_TCP) {
		curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
		return;
	}
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	if (c->http.method && strcmp(c->http.method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (c->http.method)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->http.method);
	if (c->http.body)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->http.body);
	if (c->http.headers)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->http.headers);
	if (!https)
		return;
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_CERTINFO, 1L);
	if (c->http.ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->http.ca_file);
	if (c->set.insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

void
http_start(struct check *c, int64_t now)
{
	int64_t budget = attempt_budget(c, now);

	if (!c->http.easy)
		easy_setup(c);
	c->http.errbuf[0] = '\0';
	c->out.len = 0;
	c->http.too_big = false;
	c->status_code = 0;
	curl_easy_setopt(c->http.easy, CURLOPT_TIMEOUT_MS, (long)budget);
	curl_easy_setopt(c->http.easy, CURLOPT_CONNECTTIMEOUT_MS, (long)budget);
	if (curl_multi_add_handle(probe.multi, c->http.easy) != CURLM_OK)
		phx_die(PHX_EXIT_ENV, "curl_multi_add_handle failed");
}

static void
tls_info(struct check *c)
{
	struct curl_certinfo *ci = NULL;
	long verify = 1;
	time_t not_after;

	c->http.tls_seen = true;
	if (curl_easy_getinfo(c->http.easy, CURLINFO_SSL_VERIFYRESULT,
	    &verify) == CURLE_OK)
		c->http.tls_verified = verify == 0 && !c->set.insecure;
	/* none on a reused connection: keep what the handshake said */
	if (curl_easy_getinfo(c->http.easy, CURLINFO_CERTINFO, &ci) == CURLE_OK &&
	    phx_curl_not_after(ci, &not_after))
		c->http.not_after = (int64_t)not_after * 1000;
}

/* curl's message without its timings, so equal failures read the same */
static const char *
curl_message(struct check *c, CURLcode rc)
{
	char *p;

	if (!c->http.errbuf[0])
		return curl_easy_strerror(rc);
	while ((p = strstr(c->http.errbuf, " after ")) &&
	    strspn(p + 7, "0123456789") > 0 &&
	    strncmp(p + 7 + strspn(p + 7, "0123456789"), " ms", 3) == 0) {
		char *rest = p + 7 + strspn(p + 7, "0123456789") + 3;
		memmove(p, rest, strlen(rest) + 1);
	}
	return c->http.errbuf;
}

static void
http_done(struct check *c, CURLcode rc)
{
	curl_off_t t = 0;

	curl_multi_remove_handle(probe.multi, c->http.easy);
	curl_easy_getinfo(c->http.easy, c->kind == K_TCP ? CURLINFO_CONNECT_TIME_T :
	    CURLINFO_TOTAL_TIME_T, &t);
	c->response_ms = (int64_t)(t / 1000);
	if (strncmp(c->url, "https://", 8) == 0 && (rc == CURLE_OK ||
	    strcmp(phx_curl_reason(rc), "tls") != 0))
		tls_info(c);
	else if (strncmp(c->url, "https://", 8) == 0)
		c->http.tls_seen = true, c->http.tls_verified = false;
	if (rc == CURLE_WRITE_ERROR && c->http.too_big) {
		attempt_failed(c, "protocol", "response body larger than %d bytes",
		    BODY_MAX);
		return;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		attempt_failed(c, "timeout", "no %s within %lld ms",
		    c->kind == K_TCP ? "connection" : "complete answer",
		    (long long)(c->attempt_deadline - c->attempt_started));
		return;
	}
	if (rc != CURLE_OK) {
		attempt_failed(c, phx_curl_reason(rc), "%s", curl_message(c, rc));
		return;
	}
	if (c->kind == K_HTTP)
		curl_easy_getinfo(c->http.easy, CURLINFO_RESPONSE_CODE,
		    &c->status_code);
	judge(c);
}

void
harvest_curl(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(probe.multi, &left))) {
		struct check *c = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
		http_done(c, m->data.result);
	}
}

/* a plain GET sets only what every check sets again: no reset needed */
static bool
plain_get(const struct check *c)
{
	return !c->http.method && !c->http.body && !c->http.headers &&
	    strncmp(c->url, "https://", 8) != 0;
}

/* connect-only handles keep their connection: those are not reused */
void
easy_release(struct check *c)
{
	if (!c->http.easy)
		return;
	if (c->kind == K_HTTP && npool < (size_t)probe.concurrency) {
		if (!plain_get(c))
			curl_easy_reset(c->http.easy);
		if (!pool)
			pool = phx_calloc((size_t)probe.concurrency,
			    sizeof *pool);
		pool[npool++] = c->http.easy;
	} else
		curl_easy_cleanup(c->http.easy);
	c->http.easy = NULL;
}

void
http_cleanup(void)
{
	for (size_t i = 0; i < npool; i++)
		curl_easy_cleanup(pool[i]);
	free(pool);
}
