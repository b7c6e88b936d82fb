/* phx-functest: end-to-end functional tests of the running stack.
 * Reads the stream (passing every line on), remembers health verdicts,
 * then runs the suites of tests.yaml: n8n workflows through the public
 * API, Windmill scripts by path, and automation commands.  One thread per
 * suite (tests of a suite in order, on one reused curl handle) and one
 * `test` record per test as soon as it is known. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "phx.h"

#define TEST_TIMEOUT_MS 60000       /* per test, unless configured */
#define CLEANUP_MS 10000            /* n8n clean-up runs even past the deadline */
#define WEBHOOK_RETRY_MS 5000       /* 404 right after activation: registration lag */
#define EXECUTION_WAIT_MS 15000     /* running executions are not listed yet */
#define POLL_MS 250
#define KEEP_OUTPUT (64 * 1024)     /* captured per stream */
#define OUTPUT_LINES 20             /* into the record */
#define OUTPUT_BYTES 2048
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
};

struct test {
	struct suite *suite;
	const cJSON *conf;       /* the test's mapping, or NULL (implicit) */
	char *name;
	regex_t out_re, err_re;
	bool has_out_re, has_err_re;
};

struct job {                 /* tests run in order by one thread */
	struct test **tests;
	size_t n;
	pthread_t thread;
};

struct run {                 /* one test being run, and its outcome */
	struct test *t;
	CURL *curl;
	int64_t started, deadline;
	const char *status, *step, *reason;
	char message[1024];
	long http_status;
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

struct health {
	char *service, *check, *status, *reason, *message, *source;
	struct health *next;
};

static struct suite *suites;
static size_t nsuites;
static struct test *tests;
static size_t ntests;
static struct health *healths;
static int64_t total_deadline;
static pthread_mutex_t emit_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned counts[4];   /* passed, failed, skipped, error */
static volatile sig_atomic_t stop_signal;

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-hqVv] [-c file] [-s suite]...\n", phx_progname);
}

/* ---- small helpers ---- */

static const cJSON *
opt(const struct test *t, const char *key)
{
	const cJSON *v = t->conf ? cJSON_GetObjectItemCaseSensitive(t->conf, key) : NULL;

	return v ? v : cJSON_GetObjectItemCaseSensitive(t->suite->conf, key);
}

static const char *
opt_str(const struct test *t, const char *key, const char *dflt)
{
	const cJSON *v = opt(t, key);

	return cJSON_IsString(v) ? v->valuestring : dflt;
}

static void
random_hex(char *out, size_t nbytes)
{
	unsigned char b[32];

	if (nbytes > sizeof b || getrandom(b, nbytes, 0) != (ssize_t)nbytes)
		phx_edie(PHX_EXIT_ENV, "getrandom");
	for (size_t i = 0; i < nbytes; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void
uuid4(char out[37])
{
	char h[33];

	random_hex(h, 16);
	h[12] = '4';
	h[16] = "89ab"[h[16] % 4];
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12,
	    h + 16, h + 20);
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int64_t
left_ms(const struct run *r)
{
	return r->deadline - phx_now_ms();
}

/* invalid UTF-8 and NULs become '?', so records stay valid JSON text */
static void
sanitize_utf8(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 :
		    (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
		int i;
		for (i = 1; n > 0 && i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				break;
		if (n < 0 || (n > 0 && i <= n)) {
			*p++ = '?';
			continue;
		}
		p += n + 1;
	}
}

static char *
snippet(const struct phx_buf *b)
{
	char *s = phx_asprintf("%.*s%s", (int)(b->len < SNIPPET ? b->len : SNIPPET),
	    b->data ? b->data : "", b->len > SNIPPET ? "..." : "");

	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	sanitize_utf8(s);
	return s;
}

/* ---- outcome ---- */

static void
voutcome(struct run *r, const char *status, const char *step,
    const char *reason, const char *fmt, va_list ap)
{
	if (strcmp(r->status, "passed") != 0)
		return;   /* the first failure is the one reported */
	r->status = status;
	r->step = step;
	r->reason = reason;
	vsnprintf(r->message, sizeof r->message, fmt, ap);
}

static void __attribute__((format(printf, 5, 6)))
outcome(struct run *r, const char *status, const char *step,
    const char *reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	voutcome(r, status, step, reason, fmt, ap);
	va_end(ap);
}

/* a check failed */
static void __attribute__((format(printf, 4, 5)))
fail(struct run *r, const char *step, const char *reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	voutcome(r, "failed", step, reason, fmt, ap);
	va_end(ap);
}

/* the test could not be run */
static void __attribute__((format(printf, 4, 5)))
cannot_run(struct run *r, const char *step, const char *reason,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	voutcome(r, "error", step, reason, fmt, ap);
	va_end(ap);
}

static bool passed(const struct run *r) { return strcmp(r->status, "passed") == 0; }

static void
emit_result(struct run *r)
{
	cJSON *rec = phx_record_new("test");
	int idx;

	cJSON_AddStringToObject(rec, "suite", r->t->suite->name);
	cJSON_AddStringToObject(rec, "name", r->t->name);
	cJSON_AddStringToObject(rec, "status", r->status);
	cJSON_AddNumberToObject(rec, "duration_ms",
	    (double)(phx_now_ms() - r->started));
	if (r->step)
		cJSON_AddStringToObject(rec, "step", r->step);
	if (r->http_status && !passed(r))
		cJSON_AddNumberToObject(rec, "http_status", (double)r->http_status);
	if (r->has_exit)
		cJSON_AddNumberToObject(rec, "exit_code", r->exit_code);
	if (r->reason)
		cJSON_AddStringToObject(rec, "reason", r->reason);
	if (r->t->suite->upstream_reason)
		cJSON_AddStringToObject(rec, "upstream_reason",
		    r->t->suite->upstream_reason);
	if (*r->message)
		cJSON_AddStringToObject(rec, "message", r->message);
	if (r->output)
		cJSON_AddStringToObject(rec, "output", r->output);
	if (r->errout)
		cJSON_AddStringToObject(rec, "stderr", r->errout);
	idx = passed(r) ? 0 : strcmp(r->status, "failed") == 0 ? 1 :
	    strcmp(r->status, "skipped") == 0 ? 2 : 3;
	pthread_mutex_lock(&emit_lock);
	counts[idx]++;
	phx_emit(rec);
	pthread_mutex_unlock(&emit_lock);
	if (passed(r))
		phx_log(PHX_DEBUG, "%s/%s: passed", r->t->suite->name, r->t->name);
	else
		phx_log(PHX_INFO, "%s/%s: %s%s%s: %s", r->t->suite->name,
		    r->t->name, r->status, r->step ? " at " : "",
		    r->step ? r->step : "", r->message);
}

/* ---- HTTP (libcurl) ---- */

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
	const struct run *r = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return stop_signal && !r->cleaning;
}

static void
headers_free(struct curl_slist *h)
{
	for (struct curl_slist *p = h; p; p = p->next)
		phx_wipe(p->data, strlen(p->data));   /* may hold a key */
	curl_slist_free_all(h);
}

static bool
http_call(struct run *r, const char *method, const char *url,
    struct curl_slist *headers, const char *body, struct http *h)
{
	CURL *c = r->curl;
	int64_t left = left_ms(r);

	phx_buf_free(&h->body);
	memset(h, 0, sizeof *h);
	r->http_status = 0;
	if (stop_signal && !r->cleaning) {
		h->rc = CURLE_ABORTED_BY_CALLBACK;
		snprintf(h->err, sizeof h->err, "interrupted by signal %d",
		    (int)stop_signal);
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
	r->http_status = h->status;   /* the record shows the last call's */
	phx_buf_str(&h->body);
	phx_log(PHX_DEBUG, "%s %s: %ld %s", method, url, h->status,
	    h->rc ? curl_easy_strerror(h->rc) : "");
	return h->rc == CURLE_OK;
}

static const char *
transport_reason(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		return "refused";
	case CURLE_OPERATION_TIMEDOUT:
		return "timeout";
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return "dns";
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
		return "tls";
	default:
		return "protocol";
	}
}

/* true when the call answered with status want; else the failure is set */
static bool
expect_status(struct run *r, const char *step, const char *method,
    const char *url, struct http *h, long want)
{
	char *body;

	if (h->rc == CURLE_ABORTED_BY_CALLBACK) {
		cannot_run(r, step, "interrupted", "%s %s: interrupted by signal %d",
		    method, url, (int)stop_signal);
		return false;
	}
	if (h->rc != CURLE_OK) {
		fail(r, step, transport_reason(h->rc), "%s %s: %s", method, url,
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

static cJSON *
parse_json_body(const struct http *h)
{
	return h->body.data ? cJSON_ParseWithLength(h->body.data, h->body.len) : NULL;
}

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

static char *
base_url(const struct test *t)
{
	char *b = phx_strdup(opt_str(t, "base_url", ""));
	size_t n = strlen(b);

	while (n && b[n - 1] == '/')
		b[--n] = '\0';
	return b;
}

/* ---- n8n: a webhook workflow through the public API v1 ---- */

struct n8n {
	char *base, *id, *path, nonce[33];
	struct curl_slist *api;   /* X-N8N-API-KEY and JSON */
	struct http h;
};

static cJSON *
n8n_workflow(const struct run *r, const struct n8n *n)
{
	cJSON *wf = cJSON_CreateObject(), *nodes, *node, *p, *conn, *main_, *out, *to;
	char id1[37], id2[37], hook[37];
	char *name = phx_asprintf("phx-functest %s %s", r->t->name, n->nonce);

	uuid4(id1);
	uuid4(id2);
	uuid4(hook);
	cJSON_AddStringToObject(wf, "name", name);
	free(name);
	nodes = cJSON_AddArrayToObject(wf, "nodes");
	node = cJSON_CreateObject();
	cJSON_AddStringToObject(node, "id", id1);
	cJSON_AddStringToObject(node, "name", "Webhook");
	cJSON_AddStringToObject(node, "type", "n8n-nodes-base.webhook");
	cJSON_AddNumberToObject(node, "typeVersion", 1);
	cJSON_AddItemToObject(node, "position", cJSON_CreateIntArray((int[]){ 0, 0 }, 2));
	/* without a webhookId n8n registers {id}/{node}/{path}, not {path} */
	if (cJSON_IsTrue(opt(r->t, "webhook_id")) || !opt(r->t, "webhook_id"))
		cJSON_AddStringToObject(node, "webhookId", hook);
	p = cJSON_AddObjectToObject(node, "parameters");
	cJSON_AddStringToObject(p, "httpMethod", "POST");
	cJSON_AddStringToObject(p, "path", n->path);
	cJSON_AddStringToObject(p, "responseMode", "lastNode");
	cJSON_AddStringToObject(p, "responseData", "firstEntryJson");
	cJSON_AddObjectToObject(p, "options");
	cJSON_AddItemToArray(nodes, node);
	node = cJSON_CreateObject();
	cJSON_AddStringToObject(node, "id", id2);
	cJSON_AddStringToObject(node, "name", "Done");
	cJSON_AddStringToObject(node, "type", "n8n-nodes-base.noOp");
	cJSON_AddNumberToObject(node, "typeVersion", 1);
	cJSON_AddItemToObject(node, "position", cJSON_CreateIntArray((int[]){ 220, 0 }, 2));
	cJSON_AddObjectToObject(node, "parameters");
	cJSON_AddItemToArray(nodes, node);
	conn = cJSON_AddObjectToObject(wf, "connections");
	main_ = cJSON_AddArrayToObject(cJSON_AddObjectToObject(conn, "Webhook"), "main");
	out = cJSON_CreateArray();
	to = cJSON_CreateObject();
	cJSON_AddStringToObject(to, "node", "Done");
	cJSON_AddStringToObject(to, "type", "main");
	cJSON_AddNumberToObject(to, "index", 0);
	cJSON_AddItemToArray(out, to);
	cJSON_AddItemToArray(main_, out);
	cJSON_AddObjectToObject(wf, "settings");   /* required; {} fits every 1.x */
	return wf;
}

/* a workflow or execution id: a string in practice, a number in the spec */
static char *
json_id(const cJSON *obj)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(obj, "id");

	if (cJSON_IsString(id))
		return phx_strdup(id->valuestring);
	if (cJSON_IsNumber(id))
		return phx_asprintf("%.0f", id->valuedouble);
	return NULL;
}

static bool
n8n_create(struct run *r, struct n8n *n)
{
	char *url = phx_asprintf("%s/api/v1/workflows", n->base);
	cJSON *wf = n8n_workflow(r, n), *resp;
	char *body = cJSON_PrintUnformatted(wf);
	bool ok;

	cJSON_Delete(wf);
	http_call(r, "POST", url, n->api, body, &n->h);
	free(body);
	/* n8n answers 200; accept 201 from anything REST-minded in front */
	if (n->h.rc == CURLE_OK && n->h.status == 201)
		n->h.status = 200;
	ok = expect_status(r, "create", "POST", url, &n->h, 200);
	if (ok) {
		resp = parse_json_body(&n->h);
		n->id = json_id(resp);
		cJSON_Delete(resp);
		if (!n->id) {
			fail(r, "create", "protocol", "POST %s: no workflow id in the answer", url);
			ok = false;
		}
	}
	free(url);
	return ok;
}

static bool
n8n_post_action(struct run *r, struct n8n *n, const char *action)
{
	char *url = phx_asprintf("%s/api/v1/workflows/%s/%s", n->base, n->id, action);
	struct curl_slist *h = curl_slist_append(NULL, n->api->data);
	bool ok;

	h = curl_slist_append(h, "Content-Type:");   /* no body: no type */
	h = curl_slist_append(h, "Accept: application/json");
	http_call(r, "POST", url, h, NULL, &n->h);
	headers_free(h);
	ok = expect_status(r, action, "POST", url, &n->h, 200);
	free(url);
	return ok;
}

static bool
n8n_check_echo(struct run *r, struct n8n *n, const char *url)
{
	cJSON *resp = parse_json_body(&n->h);
	const cJSON *body = cJSON_GetObjectItemCaseSensitive(resp, "body");
	const char *got = phx_jstr(body, "phx_functest");
	bool ok = got && strcmp(got, n->nonce) == 0;

	if (!ok) {
		char *s = snippet(&n->h.body);
		fail(r, "webhook", "response", "POST %s: the answer does not echo "
		    "body.phx_functest: %s", url, s);
		free(s);
	}
	cJSON_Delete(resp);
	return ok;
}

/* right after activation a webhook may not be registered yet: retry 404 */
static bool
n8n_webhook(struct run *r, struct n8n *n)
{
	char *url = phx_asprintf("%s/webhook/%s", n->base, n->path);
	char *body = phx_asprintf("{\"phx_functest\":\"%s\"}", n->nonce);
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	int64_t until = phx_now_ms() + WEBHOOK_RETRY_MS;
	bool ok = false;

	h = curl_slist_append(h, "Accept: application/json");
	for (;;) {
		http_call(r, "POST", url, h, body, &n->h);
		if (n->h.rc != CURLE_OK || n->h.status != 404 ||
		    phx_now_ms() + POLL_MS >= until || left_ms(r) <= POLL_MS)
			break;
		sleep_ms(POLL_MS);
	}
	if (n->h.rc == CURLE_OK && n->h.status == 404) {
		cJSON *resp = parse_json_body(&n->h);
		const char *msg = phx_jstr(resp, "message");
		fail(r, "webhook", "not_registered", "POST %s: HTTP 404 for %d s "
		    "after activation: %s", url, WEBHOOK_RETRY_MS / 1000,
		    msg ? msg : "not registered");
		cJSON_Delete(resp);
	} else if (expect_status(r, "webhook", "POST", url, &n->h, 200))
		ok = n8n_check_echo(r, n, url);
	headers_free(h);
	free(body);
	free(url);
	return ok;
}

/* 1: an execution succeeded, 0: none finished yet, -1: one failed */
static int
n8n_execution_state(struct run *r, struct n8n *n, const char *url)
{
	cJSON *resp = parse_json_body(&n->h);
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(resp, "data"), *e;
	int state = 0;

	if (!cJSON_IsArray(data)) {
		char *s = snippet(&n->h.body);
		fail(r, "executions", "protocol", "GET %s: no data array: %s", url, s);
		free(s);
		state = -1;
	}
	cJSON_ArrayForEach(e, data) {
		const char *st = phx_jstr(e, "status");
		char *id = json_id(e);
		if ((st && strcmp(st, "success") == 0) ||
		    (!st && phx_jbool(e, "finished", false)))
			state = 1;
		else if (st && (strcmp(st, "error") == 0 || strcmp(st, "crashed") == 0 ||
		    strcmp(st, "canceled") == 0) && state == 0) {
			fail(r, "executions", "execution", "execution %s of workflow "
			    "%s ended with status %s", id ? id : "?", n->id, st);
			state = -1;
		}
		free(id);
	}
	cJSON_Delete(resp);
	return state;
}

static bool
n8n_executions(struct run *r, struct n8n *n)
{
	char *url = phx_asprintf("%s/api/v1/executions?workflowId=%s&limit=20",
	    n->base, n->id);
	int64_t until = phx_now_ms() + EXECUTION_WAIT_MS;
	int state = 0;

	for (;;) {
		http_call(r, "GET", url, n->api, NULL, &n->h);
		if (!expect_status(r, "executions", "GET", url, &n->h, 200)) {
			state = -1;
			break;
		}
		if ((state = n8n_execution_state(r, n, url)) != 0)
			break;
		if (phx_now_ms() + POLL_MS >= until || left_ms(r) <= POLL_MS)
			break;
		sleep_ms(POLL_MS);
	}
	if (state == 0)
		fail(r, "executions", "timeout", "no finished execution of workflow "
		    "%s listed by GET %s (is saving successful executions off?)",
		    n->id, url);
	free(url);
	return state == 1;
}

/* deactivate and delete, also after a failure, with time of its own;
 * after a failure only the first one is reported */
static void
n8n_cleanup(struct run *r, struct n8n *n)
{
	char *url = phx_asprintf("%s/api/v1/workflows/%s", n->base, n->id);
	struct run quiet = *r;
	struct run *c = passed(r) ? r : &quiet;

	quiet.status = "passed";
	c->cleaning = true;
	if (c->deadline < phx_now_ms() + CLEANUP_MS)
		c->deadline = phx_now_ms() + CLEANUP_MS;
	n8n_post_action(c, n, "deactivate");
	http_call(c, "DELETE", url, n->api, NULL, &n->h);
	if (n->h.rc == CURLE_OK && n->h.status == 404)
		phx_log(PHX_WARN, "DELETE %s: workflow already gone", url);
	else if (!expect_status(c, "delete", "DELETE", url, &n->h, 200) && c != r)
		phx_log(PHX_WARN, "could not delete n8n workflow %s (%s); delete "
		    "it by hand", n->id, quiet.message);
	if (c == r) {
		r->deadline = quiet.deadline;   /* restore */
		r->cleaning = false;
	}
	free(url);
}

static void
n8n_test(struct run *r)
{
	struct n8n n = { 0 };
	char *hdr;

	if (!r->t->suite->secret) {
		cannot_run(r, "config", "config", "no API key: set %s",
		    opt_str(r->t, "api_key_env", "api_key"));
		return;
	}
	n.base = base_url(r->t);
	random_hex(n.nonce, 16);
	n.path = phx_asprintf("%s-%.12s", opt_str(r->t, "webhook_path",
	    "phx-functest"), n.nonce);
	hdr = phx_asprintf("X-N8N-API-KEY: %s", r->t->suite->secret);
	n.api = curl_slist_append(NULL, hdr);
	phx_free_secret(hdr);
	n.api = curl_slist_append(n.api, "Content-Type: application/json");
	n.api = curl_slist_append(n.api, "Accept: application/json");
	if (n8n_create(r, &n)) {
		if (n8n_post_action(r, &n, "activate") && n8n_webhook(r, &n))
			n8n_executions(r, &n);
		n8n_cleanup(r, &n);
	}
	headers_free(n.api);
	phx_buf_free(&n.h.body);
	free(n.base);
	free(n.id);
	free(n.path);
}

/* ---- Windmill: run a script by path and check its result ---- */

struct windmill {
	char *jobs;               /* {base}/api/w/{ws} */
	const char *path;
	char *args;
	struct curl_slist *auth;
	struct http h;
};

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
windmill_check(struct run *r, const char *step, const cJSON *result)
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
windmill_async(struct run *r, struct windmill *w)
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
		sleep_ms(POLL_MS);
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
windmill_sync(struct run *r, struct windmill *w)
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

static void
windmill_test(struct run *r)
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

/* ---- automation: commands, exec'd in their own process group ---- */

/* the tail of a captured stream, secrets masked, cut at a line start */
static char *
output_tail(const struct phx_buf *b)
{
	const char *s = b->data ? b->data : "";
	size_t len = b->len, rlen;
	char *masked, *tail;

	if (len >= KEEP_OUTPUT) {   /* cut by bytes: drop the partial line */
		const char *nl = memchr(s, '\n', len);
		len -= nl ? (size_t)(nl + 1 - s) : len;
		s = nl ? nl + 1 : s + b->len;
	}
	masked = phx_redact_mem(s, len, &rlen);
	tail = phx_tail_lines(masked ? masked : s, masked ? rlen : len, OUTPUT_LINES);
	free(masked);
	if (strlen(tail) > OUTPUT_BYTES) {
		char *cut = tail + strlen(tail) - OUTPUT_BYTES;
		memmove(tail, cut, strlen(cut) + 1);
	}
	sanitize_utf8(tail);
	if (!*tail) {
		free(tail);
		return NULL;
	}
	return tail;
}

/* a one-word command line is split at blanks: no quotes, no expansion */
static char **
command_argv(const struct test *t)
{
	const cJSON *cmd = opt(t, "command"), *it;
	const char *shell = opt_str(t, "shell", NULL);
	size_t n = 0, cap = (size_t)cJSON_GetArraySize(cmd) + 4;
	char **argv;

	if (cJSON_GetArraySize(cmd) == 1 && !shell) {
		char *copy = phx_strdup(cJSON_GetArrayItem(cmd, 0)->valuestring), *save;
		cap = strlen(copy) / 2 + 2;
		argv = phx_calloc(cap, sizeof *argv);
		for (char *w = strtok_r(copy, " \t\n", &save); w;
		    w = strtok_r(NULL, " \t\n", &save))
			argv[n++] = phx_strdup(w);
		free(copy);
		return argv;
	}
	argv = phx_calloc(cap, sizeof *argv);
	if (shell) {
		struct phx_buf line = { 0 };
		cJSON_ArrayForEach(it, cmd) {
			if (line.len)
				phx_buf_addstr(&line, " ");
			phx_buf_addstr(&line, it->valuestring);
		}
		argv[n++] = phx_strdup(shell);
		argv[n++] = phx_strdup("-c");
		argv[n++] = phx_strdup(phx_buf_str(&line));
		phx_buf_free(&line);
		return argv;
	}
	cJSON_ArrayForEach(it, cmd)
		argv[n++] = phx_strdup(it->valuestring);
	return argv;
}

static void
add_env(char ***env, size_t *n, const cJSON *dict)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, dict) {
		*env = phx_reallocarray(*env, *n + 2, sizeof **env);
		(*env)[(*n)++] = phx_asprintf("%s=%s", it->string, it->valuestring);
		(*env)[*n] = NULL;
	}
}

static void
free_strv(char **v)
{
	for (char **p = v; p && *p; p++)
		phx_free_secret(*p);   /* env values may be secrets */
	free(v);
}

/* a test's processes that outlived it: killed, and reaped (we are their
 * subreaper), so none is left running or as a zombie */
static void
reap_group(pid_t pgid)
{
	int64_t until = phx_now_ms() + 2000;

	if (pgid <= 0)
		return;
	kill(-pgid, SIGKILL);
	while (phx_now_ms() < until) {
		pid_t p = waitpid(-pgid, NULL, WNOHANG);
		if (p < 0)
			break;   /* ECHILD: none of them is ours */
		if (p == 0)
			sleep_ms(10);
	}
}

static void
check_output(struct run *r, const struct phx_run *run)
{
	struct test *t = r->t;

	if (t->has_out_re && regexec(&t->out_re, run->out.data ? run->out.data : "",
	    0, NULL, 0) != 0)
		fail(r, "stdout", "output", "stdout does not match /%s/",
		    opt_str(t, "expect_stdout", ""));
	else if (t->has_err_re && regexec(&t->err_re, run->err.data ?
	    run->err.data : "", 0, NULL, 0) != 0)
		fail(r, "stderr", "output", "stderr does not match /%s/",
		    opt_str(t, "expect_stderr", ""));
}

static void
command_test(struct run *r)
{
	struct phx_run run = { 0 };
	char **argv = command_argv(r->t), **env = NULL;
	size_t nenv = 0;
	int want = (int)phx_jnum(r->t->conf, "expect_exit",
	    phx_jnum(r->t->suite->conf, "expect_exit", 0));
	int64_t left = left_ms(r);

	if (left <= 0) {
		cannot_run(r, "run", "deadline", "no time left before the total deadline");
		free_strv(argv);
		return;
	}
	add_env(&env, &nenv, cJSON_GetObjectItemCaseSensitive(r->t->suite->conf, "env"));
	if (r->t->conf)
		add_env(&env, &nenv, cJSON_GetObjectItemCaseSensitive(r->t->conf, "env"));
	run.argv = (const char *const *)argv;
	run.env = (const char *const *)env;
	run.cwd = opt_str(r->t, "cwd", NULL);
	run.timeout_ms = left;
	run.keep = KEEP_OUTPUT;
	run.cancel = &stop_signal;
	if (!phx_run(&run))
		cannot_run(r, "exec", "exec", "cannot run %s: %s", argv[0],
		    strerror(run.exec_errno));
	reap_group(run.pid);
	if (!run.exec_failed) {
		r->output = output_tail(&run.out);
		r->errout = output_tail(&run.err);
		if (run.cancelled)
			cannot_run(r, "run", "interrupted", "%s killed with its process "
			    "group: interrupted by signal %d", argv[0], (int)stop_signal);
		else if (run.timed_out)
			fail(r, "run", "timeout", "%s killed after %lld ms with its "
			    "process group", argv[0], (long long)run.duration_ms);
		else if (run.status != want) {
			r->has_exit = true;
			r->exit_code = run.status;
			fail(r, "run", "exit", "%s exited with %d, want %d", argv[0],
			    run.status, want);
		} else
			check_output(r, &run);
	}
	phx_run_free(&run);
	free_strv(argv);
	free_strv(env);
}

/* ---- running ---- */

static int64_t
test_timeout(const struct test *t)
{
	const cJSON *v = opt(t, "timeout");

	return cJSON_IsNumber(v) && v->valuedouble > 0 ? (int64_t)v->valuedouble
	    : TEST_TIMEOUT_MS;
}

static void
run_test(struct test *t, CURL *curl)
{
	struct run r = { .t = t, .curl = curl, .status = "passed" };
	struct suite *s = t->suite;

	r.started = phx_now_ms();
	r.deadline = r.started + test_timeout(t);
	if (r.deadline > total_deadline)
		r.deadline = total_deadline;
	if (stop_signal)
		cannot_run(&r, NULL, "interrupted", "not run: interrupted by signal %d",
		    (int)stop_signal);
	else if (s->skip_reason)
		outcome(&r, "skipped", NULL, s->skip_reason, "%s", s->skip_message);
	else if (t->conf && !phx_jbool(t->conf, "enabled", true))
		outcome(&r, "skipped", NULL, "disabled", "disabled in the configuration");
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
static void
run_all(const cJSON *cfg)
{
	bool parallel = phx_cfg_bool(cfg, "tests.parallel", true);
	struct job *jobs = NULL;
	size_t njobs = 0;

	for (size_t i = 0; i < ntests; i++) {
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

static void
on_signal(int sig)
{
	stop_signal = sig;
}

/* no SA_RESTART: a signal ends the sleeps and waits it interrupts */
static void
catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* ---- configuration ---- */

static void __attribute__((noreturn, format(printf, 2, 3)))
config_die(const struct suite *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	phx_die(PHX_EXIT_USAGE, "tests.suites.%s: %s", s->name, msg);
}

static void
compile_re(struct test *t, const char *key, regex_t *re, bool *has)
{
	const char *pat = opt_str(t, key, NULL);
	int rc;

	if (!pat)
		return;
	if ((rc = regcomp(re, pat, REG_EXTENDED | REG_NOSUB | REG_NEWLINE))) {
		char buf[256];
		regerror(rc, re, buf, sizeof buf);
		config_die(t->suite, "%s: %s: %s", t->name, key, buf);
	}
	*has = true;
}

static void
check_test(struct test *t)
{
	struct suite *s = t->suite;
	const char *cwd = opt_str(t, "cwd", NULL);
	const char *path = opt_str(t, "script_path", NULL);
	const char *mode = opt_str(t, "mode", "sync");
	struct stat st;

	if (s->kind == K_COMMAND) {
		const cJSON *cmd = opt(t, "command");
		if (cJSON_GetArraySize(cmd) < 1 || !*cJSON_GetArrayItem(cmd, 0)->valuestring)
			config_die(s, "%s: needs a command", t->name);
		if (cwd && (stat(cwd, &st) < 0 || !S_ISDIR(st.st_mode)))
			config_die(s, "%s: cwd %s is not a directory", t->name, cwd);
		compile_re(t, "expect_stdout", &t->out_re, &t->has_out_re);
		compile_re(t, "expect_stderr", &t->err_re, &t->has_err_re);
		return;
	}
	if (!*opt_str(t, "base_url", ""))
		config_die(s, "needs a base_url");
	if (strncmp(opt_str(t, "base_url", ""), "http", 4) != 0)
		config_die(s, "base_url must be an http or https URL");
	if (s->kind == K_WINDMILL) {
		if (!*opt_str(t, "workspace", ""))
			config_die(s, "needs a workspace");
		if (!path || !*path || strspn(path, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./") != strlen(path))
			config_die(s, "%s: script_path must be a Windmill path such as "
			    "f/folder/name", t->name);
		if (strcmp(mode, "sync") != 0 && strcmp(mode, "async") != 0)
			config_die(s, "%s: mode must be sync or async", t->name);
		if (opt(t, "args") && !cJSON_IsObject(opt(t, "args")))
			config_die(s, "%s: args must be a mapping", t->name);
	}
	if (s->kind == K_N8N && strspn(opt_str(t, "webhook_path", "x"),
	    "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(opt_str(t,
	    "webhook_path", "x")))
		config_die(s, "%s: webhook_path: lower-case letters, digits, - and _ "
		    "only", t->name);
}

static void
add_test(struct suite *s, const cJSON *conf, const char *name)
{
	struct test *t;

	tests = phx_reallocarray(tests, ntests + 1, sizeof *tests);
	t = &tests[ntests++];
	memset(t, 0, sizeof *t);
	t->suite = s;
	t->conf = conf;
	t->name = phx_strdup(name);
	for (size_t i = 0; i + 1 < ntests; i++)
		if (tests[i].suite == s && strcmp(tests[i].name, name) == 0)
			config_die(s, "two tests named %s", name);
	check_test(t);
}

static void
add_tests(struct suite *s)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(s->conf, "tests"), *it;
	int i = 0;

	if (!cJSON_GetArraySize(list)) {
		if (s->kind == K_COMMAND)
			config_die(s, "a command suite needs tests");
		add_test(s, NULL, s->kind == K_N8N ? "webhook-workflow" : "script");
		return;
	}
	cJSON_ArrayForEach(it, list) {
		const char *name = phx_jstr(it, "name");
		char dflt[32];
		snprintf(dflt, sizeof dflt, "test-%d", ++i);
		add_test(s, it, name ? name : dflt);
	}
}

static bool
selected(const char *name, char **only, size_t nonly)
{
	if (!nonly)
		return true;
	for (size_t i = 0; i < nonly; i++)
		if (strcmp(only[i], name) == 0)
			return true;
	return false;
}

static void
load_suites(const cJSON *cfg, char **only, size_t nonly)
{
	const cJSON *all = phx_cfg(cfg, "tests.suites"), *it;

	for (size_t i = 0; i < nonly; i++)
		if (!cJSON_GetObjectItemCaseSensitive(all, only[i]))
			phx_die(PHX_EXIT_USAGE, "--test-suite %s: no such suite in "
			    "tests.suites", only[i]);
	suites = phx_calloc((size_t)cJSON_GetArraySize(all) + 1, sizeof *suites);
	cJSON_ArrayForEach(it, all) {
		struct suite *s = &suites[nsuites];
		const char *type = phx_jstr(it, "type");
		if (!selected(it->string, only, nonly))
			continue;
		s->name = it->string;
		s->conf = it;
		if (!type)
			config_die(s, "needs a type: n8n, windmill or command");
		if (strcmp(type, "n8n") == 0)
			s->kind = K_N8N;
		else if (strcmp(type, "windmill") == 0)
			s->kind = K_WINDMILL;
		else if (strcmp(type, "command") == 0)
			s->kind = K_COMMAND;
		else
			config_die(s, "type %s: want n8n, windmill or command", type);
		s->service = phx_jstr(it, "service");
		if (!s->service && s->kind != K_COMMAND)
			s->service = type;
		if (s->kind == K_N8N)
			s->secret = phx_cfg_secret(it, "api_key");
		else if (s->kind == K_WINDMILL)
			s->secret = phx_cfg_secret(it, "token");
		/* asked for by name, a disabled suite runs */
		if (!phx_jbool(it, "enabled", true) && !nonly) {
			s->skip_reason = "disabled";
			s->skip_message = phx_strdup("disabled in the configuration");
		}
		nsuites++;
		add_tests(s);
	}
}

/* ---- the stream ---- */

static char *
dup_or_null(const char *s)
{
	return s ? phx_strdup(s) : NULL;
}

/* the latest verdict per service and check */
static void
remember_health(const cJSON *rec)
{
	const char *service = phx_jstr(rec, "service");
	const char *check = phx_jstr(rec, "check") ? phx_jstr(rec, "check") : "";
	struct health *h;

	if (!service || !phx_jstr(rec, "status"))
		return;
	for (h = healths; h; h = h->next)
		if (strcmp(h->service, service) == 0 && strcmp(h->check, check) == 0)
			break;
	if (!h) {
		h = phx_calloc(1, sizeof *h);
		h->service = phx_strdup(service);
		h->check = phx_strdup(check);
		h->next = healths;
		healths = h;
	}
	free(h->status);
	free(h->reason);
	free(h->message);
	free(h->source);
	h->status = phx_strdup(phx_jstr(rec, "status"));
	h->reason = dup_or_null(phx_jstr(rec, "reason"));
	h->message = dup_or_null(phx_jstr(rec, "message"));
	h->source = dup_or_null(phx_jstr(rec, "source"));
}

static void
apply_health(void)
{
	for (size_t i = 0; i < nsuites; i++) {
		struct suite *s = &suites[i];
		if (!s->service || s->skip_reason)
			continue;
		for (struct health *h = healths; h; h = h->next) {
			if (strcmp(h->service, s->service) != 0 ||
			    strcmp(h->status, "healthy") == 0)
				continue;
			s->skip_reason = "unhealthy";
			s->upstream_reason = h->reason;
			s->skip_message = phx_asprintf("%s was reported %s upstream "
			    "(%s%s%s%s%s)", s->service, h->status,
			    h->source ? h->source : "unknown source",
			    h->reason ? ": " : "", h->reason ? h->reason : "",
			    h->message ? ": " : "", h->message ? h->message : "");
			break;
		}
	}
}

static bool
have_stream(void)
{
	struct stat st;

	return fstat(STDIN_FILENO, &st) == 0 && !isatty(STDIN_FILENO);
}

static void
handle_line(struct phx_input *in, enum phx_rd rd)
{
	if (rd == PHX_RD_RECORD && strcmp(in->type, "health") == 0)
		remember_health(in->json);
	phx_pass(in);
}

/* passes the stream on; returns the phase start time */
static int64_t
read_stream(void)
{
	struct phx_reader *rd;
	struct phx_input in;
	enum phx_rd r;
	int64_t started;

	if (!have_stream())
		return phx_phase_start("functest");
	rd = phx_reader_new(STDIN_FILENO, "stdin", 0);
	r = phx_reader_next(rd, &in);
	started = phx_phase_start("functest");
	for (; r != PHX_RD_EOF; r = phx_reader_next(rd, &in))
		handle_line(&in, r);
	phx_reader_free(rd);
	return started;
}

/* ---- main ---- */

static void
free_all(cJSON *cfg)
{
	for (size_t i = 0; i < ntests; i++) {
		free(tests[i].name);
		if (tests[i].has_out_re)
			regfree(&tests[i].out_re);
		if (tests[i].has_err_re)
			regfree(&tests[i].err_re);
	}
	free(tests);
	for (size_t i = 0; i < nsuites; i++) {
		if (suites[i].secret)
			phx_free_secret(suites[i].secret);
		free(suites[i].skip_message);
	}
	free(suites);
	while (healths) {
		struct health *h = healths->next;
		free(healths->service);
		free(healths->check);
		free(healths->status);
		free(healths->reason);
		free(healths->message);
		free(healths->source);
		free(healths);
		healths = h;
	}
	cJSON_Delete(cfg);
	phx_set_deployment_id(NULL);
	phx_secrets_clear();
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "test-suite", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct phx_config_opts copts = { 0 };
	char **only = NULL;
	size_t nonly = 0;
	int64_t started;
	cJSON *cfg, *cnt;
	int c, status;

	phx_init(argv[0]);
	while ((c = getopt_long(argc, argv, "c:hqs:vV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			copts.files = phx_reallocarray(copts.files, copts.nfiles + 1,
			    sizeof *copts.files);
			copts.files[copts.nfiles++] = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(PHX_EXIT_OK);
		case 'q':
			phx_log_quieter();
			break;
		case 's':
			only = phx_reallocarray(only, nonly + 1, sizeof *only);
			only[nonly++] = optarg;
			break;
		case 'v':
			phx_log_louder();
			break;
		case 'V':
			phx_version();
		default:
			usage(stderr);
			exit(PHX_EXIT_USAGE);
		}
	}
	if (optind < argc) {
		usage(stderr);
		exit(PHX_EXIT_USAGE);
	}
	cfg = phx_config_load(&copts);
	free(copts.files);
	load_suites(cfg, only, nonly);
	free(only);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		phx_die(PHX_EXIT_ENV, "curl_global_init failed");
	/* orphans of a killed test come to us, so we can reap them */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	started = read_stream();
	apply_health();
	catch_signals();
	total_deadline = phx_now_ms() + (int64_t)phx_cfg_num(cfg, "tests.timeout", 600000);
	run_all(cfg);
	status = counts[1] || counts[3] ? PHX_EXIT_FAIL : PHX_EXIT_OK;
	if (stop_signal)
		status = 128 + stop_signal;
	cnt = cJSON_CreateObject();
	cJSON_AddNumberToObject(cnt, "passed", counts[0]);
	cJSON_AddNumberToObject(cnt, "failed", counts[1]);
	cJSON_AddNumberToObject(cnt, "skipped", counts[2]);
	cJSON_AddNumberToObject(cnt, "error", counts[3]);
	phx_phase_end("functest", started, stop_signal ? "error" : status ?
	    "failed" : "ok", cnt);
	curl_global_cleanup();
	free_all(cfg);
	phx_exit(status);
}
