/* phx-probe's checks: built from their record form, with their settings
 * (defaults, configuration, record, command line); freed at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

const char *const kind_names[] = { "http", "tcp", "postgres",
    "healthcheck" };

void
vset_message(struct check *c, const char *reason, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof msg, fmt, ap);
	free(c->message);
	c->message = phx_strdup(msg);
	c->reason = reason;
}

void
set_message(struct check *c, const char *reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_message(c, reason, fmt, ap);
	va_end(ap);
}

/* an empty array keeps what there was */
static void
expected_from_array(struct settings *s, const cJSON *es)
{
	const cJSON *it;

	if (!cJSON_IsArray(es) || cJSON_GetArraySize(es) == 0)
		return;
	s->nexpected = 0;
	cJSON_ArrayForEach(it, es)
		if (cJSON_IsNumber(it) && s->nexpected < MAX_EXPECTED)
			s->expected[s->nexpected++] = (long)it->valuedouble;
}

void
settings_from_config(struct settings *s, const cJSON *obj)
{
	s->timeout = (int64_t)phx_cfg_num(obj, "timeout", (double)s->timeout);
	s->retries = (int)phx_cfg_num(obj, "retries", s->retries);
	s->binit = (int64_t)phx_cfg_num(obj, "backoff.initial", (double)s->binit);
	s->bmax = (int64_t)phx_cfg_num(obj, "backoff.max", (double)s->bmax);
	s->mult = phx_cfg_num(obj, "backoff.multiplier", s->mult);
	s->interval = (int64_t)phx_cfg_num(obj, "interval", (double)s->interval);
	s->insecure = phx_cfg_bool(obj, "insecure", s->insecure);
	expected_from_array(s, phx_cfg(obj, "expected_status"));
}

/* a check object of a service record: timeout_ms, backoff_initial_ms... */
static void
settings_from_record(struct settings *s, const cJSON *j)
{
	const cJSON *es = cJSON_GetObjectItemCaseSensitive(j, "expected_status");

	s->timeout = (int64_t)phx_jnum(j, "timeout_ms", (double)s->timeout);
	s->retries = (int)phx_jnum(j, "retries", s->retries);
	s->binit = (int64_t)phx_jnum(j, "backoff_initial_ms", (double)s->binit);
	s->bmax = (int64_t)phx_jnum(j, "backoff_max_ms", (double)s->bmax);
	s->mult = phx_jnum(j, "backoff_multiplier", s->mult);
	s->interval = (int64_t)phx_jnum(j, "interval_ms", (double)s->interval);
	s->insecure = phx_jbool(j, "insecure", s->insecure);
	if (cJSON_IsNumber(es)) {
		s->nexpected = 1;
		s->expected[0] = (long)es->valuedouble;
	} else
		expected_from_array(s, es);
}

static void
settings_from_options(struct settings *s)
{
	if (probe.opt.timeout >= 0)
		s->timeout = probe.opt.timeout;
	if (probe.opt.retries >= 0)
		s->retries = probe.opt.retries;
	if (probe.opt.interval >= 0)
		s->interval = probe.opt.interval;
	if (probe.opt.insecure)
		s->insecure = true;
	if (s->retries < 1)
		s->retries = 1;
	if (s->timeout < 1)
		s->timeout = 1;
	if (s->mult < 1)
		s->mult = 1;
	if (s->interval < 1)
		s->interval = 1;
}

/* "host:port" or "[v6]:port" into its parts; false when malformed */
bool
split_hostport(const char *t, char **host, char **port)
{
	const char *colon = strrchr(t, ':');
	const char *h = t, *he = colon;

	if (!colon || !colon[1] || strspn(colon + 1, "0123456789") !=
	    strlen(colon + 1) || colon == t)
		return false;
	if (*t == '[' && colon[-1] == ']') {
		h++;
		he--;
	}
	*host = phx_strdup(h);
	(*host)[he - h] = '\0';
	*port = phx_strdup(colon + 1);
	return true;
}

static bool
parse_kind(const char *s, enum kind *k)
{
	if (!s || strcmp(s, "http") == 0 || strcmp(s, "https") == 0)
		*k = K_HTTP;
	else if (strcmp(s, "tcp") == 0)
		*k = K_TCP;
	else if (strcmp(s, "postgres") == 0 || strcmp(s, "postgresql") == 0)
		*k = K_PG;
	else if (strcmp(s, "healthcheck") == 0)
		*k = K_HC;
	else
		return false;
	return true;
}

/* a check from its record form (see phx-records(5)); entry is the
 * service's config entry, where a password may live.  An invalid check
 * is kept, with c->invalid saying why: it fails without being run. */
struct check *
check_new(struct service *svc, const cJSON *j, const cJSON *entry,
    const struct settings *base)
{
	struct check *c = phx_calloc(1, sizeof *c);
	const char *target = phx_jstr(j, "target");
	bool ok;

	c->svc = svc;
	c->hc.pipefd = -1;
	c->set = *base;
	settings_from_record(&c->set, j);
	settings_from_options(&c->set);
	c->target = phx_strdup(target ? target : "");
	c->url = phx_strdup(c->target);
	if (!parse_kind(phx_jstr(j, "kind"), &c->kind)) {
		c->odd_kind = phx_strdup(phx_jstr(j, "kind") ? phx_jstr(j, "kind") : "?");
		c->invalid = phx_asprintf("unknown check kind \"%s\"", c->odd_kind);
		return c;
	}
	if (!target || !*target) {
		c->invalid = phx_strdup("check without a target");
		return c;
	}
	switch (c->kind) {
	case K_HTTP: ok = setup_http(c, j); break;
	case K_TCP: ok = setup_tcp(c); break;
	case K_PG: ok = setup_pg(c, j, entry); break;
	default:
		/* "--help" would be podman's option, exit 0: healthy */
		if (!phx_podman_valid_name(target)) {
			c->invalid = phx_asprintf("invalid container name \"%s\"",
			    target);
			return c;
		}
		c->hc.container = phx_strdup(target);
		ok = true;
		break;
	}
	if (!ok) {
		c->invalid = phx_asprintf("bad %s target \"%s\"",
		    kind_names[c->kind], c->target);
		return c;
	}
	setup_conditions(c, cJSON_GetObjectItemCaseSensitive(j, "conditions"));
	return c;
}

void
check_free(struct check *c)
{
	free(c->target);
	free(c->url);
	free(c->http.method);
	free(c->http.body);
	free(c->http.ca_file);
	free(c->pg.query);
	free(c->hc.container);
	free(c->invalid);
	free(c->odd_kind);
	free(c->message);
	curl_slist_free_all(c->http.headers);
	conds_free(c);
	for (size_t i = 0; c->pg.keys[i]; i++) {
		free(c->pg.keys[i]);
		phx_free_secret(c->pg.vals[i]);
	}
	phx_buf_free(&c->out);
	cJSON_Delete(c->json);
	cJSON_Delete(c->cond_results);
	if (c->http.easy)
		curl_easy_cleanup(c->http.easy);
	free(c);
}
