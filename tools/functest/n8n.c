/* phx-functest: n8n, a webhook workflow through the public API v1 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <curl/curl.h>

#include "functest.h"

#define CLEANUP_MS 10000            /* n8n clean-up runs even past the deadline */
#define WEBHOOK_RETRY_MS 5000       /* 404 right after activation: registration lag */
#define EXECUTION_WAIT_MS 15000     /* running executions are not listed yet */
#define BUSY_BACKOFF_MS 4000        /* longest wait between 409 retries */

struct n8n {
	char *base, *id, *path, nonce[33];
	struct curl_slist *api;   /* X-N8N-API-KEY and JSON */
	struct http h;
};

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

static cJSON *
n8n_workflow(const struct test_run *r, const struct n8n *n)
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
n8n_create(struct test_run *r, struct n8n *n)
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
n8n_post_action(struct test_run *r, struct n8n *n, const char *action)
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
n8n_check_echo(struct test_run *r, struct n8n *n, const char *url)
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
n8n_webhook(struct test_run *r, struct n8n *n)
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
		phx_sleep_ms(POLL_MS);
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
n8n_execution_state(struct test_run *r, struct n8n *n, const char *url)
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
n8n_executions(struct test_run *r, struct n8n *n)
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
		phx_sleep_ms(POLL_MS);
	}
	if (state == 0)
		fail(r, "executions", "timeout", "no finished execution of workflow "
		    "%s listed by GET %s (is saving successful executions off?)",
		    n->id, url);
	free(url);
	return state == 1;
}

/* n8n 2.x answers 409 "Workflow is still being unpublished" to a delete
 * right after deactivate: retry, waiting longer each time, while the
 * test's time lasts; the last answer is the one judged */
static void
n8n_delete(struct test_run *r, struct n8n *n, const char *url)
{
	int64_t wait = POLL_MS, started = phx_now_ms();
	int tries = 1;

	http_call(r, "DELETE", url, n->api, NULL, &n->h);
	while (n->h.rc == CURLE_OK && n->h.status == 409 && left_ms(r) > wait) {
		phx_log(PHX_DEBUG, "DELETE %s: HTTP 409, again in %lld ms", url,
		    (long long)wait);
		if (!phx_sleep_ms(wait))
			break;   /* a signal: the run is ending */
		wait = wait * 2 > BUSY_BACKOFF_MS ? BUSY_BACKOFF_MS : wait * 2;
		http_call(r, "DELETE", url, n->api, NULL, &n->h);
		tries++;
	}
	if (n->h.rc == CURLE_OK && n->h.status == 409) {
		char *s = snippet(&n->h.body);
		fail(r, "delete", "busy", "DELETE %s: HTTP 409 after %d tries in "
		    "%lld ms: %s", url, tries, (long long)(phx_now_ms() - started), s);
		free(s);
	} else if (n->h.rc == CURLE_OK && n->h.status == 404)
		phx_log(PHX_WARN, "DELETE %s: workflow already gone", url);
	else
		expect_status(r, "delete", "DELETE", url, &n->h, 200);
}

/* deactivate and delete, also after a failure, with time of its own;
 * after a failure only the first one is reported */
static void
n8n_cleanup(struct test_run *r, struct n8n *n)
{
	char *url = phx_asprintf("%s/api/v1/workflows/%s", n->base, n->id);
	struct test_run quiet = *r;
	struct test_run *c = passed(r) ? r : &quiet;

	quiet.status = PHX_TEST_PASSED;
	c->cleaning = true;
	/* after a failure the clean-up has its 10 s, not the test's time:
	 * a failed test does not wait out n8n's 409s */
	if (c != r || c->deadline < phx_now_ms() + CLEANUP_MS)
		c->deadline = phx_now_ms() + CLEANUP_MS;
	n8n_post_action(c, n, "deactivate");
	n8n_delete(c, n, url);
	if (!passed(c) && c != r)
		phx_log(PHX_WARN, "could not delete n8n workflow %s (%s); delete "
		    "it by hand", n->id, quiet.message);
	if (c == r) {
		r->deadline = quiet.deadline;   /* restore */
		r->cleaning = false;
	}
	free(url);
}

void
n8n_test(struct test_run *r)
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
