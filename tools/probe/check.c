/* phx-probe's checks: built from their record form, with their settings
 * (defaults, configuration, record, command line); freed at the end. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

#define STATUS_MIN 100
#define STATUS_MAX 599
#define MAX_MULT 1000.0

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

/* the attempt just over finished: what it said stands */
void
result_keep(struct check *c, bool ok)
{
	struct result *k = &c->kept;

	free(k->message);
	cJSON_Delete(k->cond_results);
	*k = (struct result){ true, ok, c->reason,
	    c->message ? phx_strdup(c->message) : NULL, c->status_code,
	    c->response_ms, cJSON_Duplicate(c->cond_results, true) };
}

/* the deadline cut the attempt short: the last finished one speaks */
void
result_restore(struct check *c)
{
	const struct result *k = &c->kept;

	free(c->message);
	cJSON_Delete(c->cond_results);
	c->reason = k->reason;
	c->message = k->message ? phx_strdup(k->message) : NULL;
	c->status_code = k->status_code;
	c->response_ms = k->response_ms;
	c->cond_results = cJSON_Duplicate(k->cond_results, true);
}

/* a number or an array of them, each clamped; NaN is left out, and
 * nothing left keeps what there was */
static void
expected_from(struct settings *s, const cJSON *es)
{
	long codes[MAX_EXPECTED];
	size_t n = 0;
	const cJSON *it, *arr = cJSON_IsArray(es) ? es : NULL;

	if (cJSON_IsNumber(es) && !isnan(es->valuedouble))
		codes[n++] = (long)phx_num_int(es->valuedouble, 0, STATUS_MIN,
		    STATUS_MAX);
	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsNumber(it) && !isnan(it->valuedouble) &&
		    n < MAX_EXPECTED)
			codes[n++] = (long)phx_num_int(it->valuedouble, 0,
			    STATUS_MIN, STATUS_MAX);
	if (!n)
		return;
	memcpy(s->expected, codes, n * sizeof *codes);
	s->nexpected = n;
}

typedef double number_getter(const cJSON *obj, const char *key, double dflt);

/* the numbers of keys[]: timeout, retries, backoff initial, maximum and
 * multiplier, interval; each clamped to its range (see phx-records(5)) */
static void
settings_read(struct settings *s, const cJSON *obj, number_getter *get,
    const char *const keys[6])
{
	double mult = get(obj, keys[4], s->mult);

	s->timeout = phx_num_int(get(obj, keys[0], (double)s->timeout),
	    s->timeout, 1, MAX_MS);
	s->retries = (int)phx_num_int(get(obj, keys[1], s->retries),
	    s->retries, 1, MAX_COUNT);
	s->binit = phx_num_int(get(obj, keys[2], (double)s->binit), s->binit,
	    0, MAX_MS);
	s->bmax = phx_num_int(get(obj, keys[3], (double)s->bmax), s->bmax, 0,
	    MAX_MS);
	if (!isnan(mult))
		s->mult = mult < 1 ? 1 : mult > MAX_MULT ? MAX_MULT : mult;
	s->interval = phx_num_int(get(obj, keys[5], (double)s->interval),
	    s->interval, 1, MAX_MS);
}

/* the configuration always holds every key of probe (its defaults) */
static double
cfg_num(const cJSON *cfg, const char *path, double unused)
{
	(void)unused;
	return phx_cfg_num(cfg, path);
}

void
settings_defaults(struct settings *s, const cJSON *cfg)
{
	static const char *const keys[6] = { "probe.timeout", "probe.retries",
	    "probe.backoff.initial", "probe.backoff.max",
	    "probe.backoff.multiplier", "probe.interval" };

	settings_read(s, cfg, cfg_num, keys);
	s->insecure = phx_cfg_bool(cfg, "probe.insecure");
	/* what an empty expected_status leaves, as it always has */
	s->nexpected = 1;
	s->expected[0] = 200;
	expected_from(s, phx_cfg(cfg, "probe.expected_status"));
}

/* a check object of a service record: timeout_ms, backoff_initial_ms... */
static void
settings_from_record(struct settings *s, const cJSON *j)
{
	static const char *const keys[6] = { "timeout_ms", "retries",
	    "backoff_initial_ms", "backoff_max_ms", "backoff_multiplier",
	    "interval_ms" };

	settings_read(s, j, phx_jnum, keys);
	s->insecure = phx_jbool(j, "insecure", s->insecure);
	expected_from(s, cJSON_GetObjectItemCaseSensitive(j, "expected_status"));
}

static void
settings_from_options(struct settings *s)
{
	if (probe.opt.timeout >= 0)
		s->timeout = phx_num_int((double)probe.opt.timeout, 1, 1, MAX_MS);
	if (probe.opt.retries >= 0)
		s->retries = probe.opt.retries;
	if (probe.opt.interval >= 0)
		s->interval = phx_num_int((double)probe.opt.interval, 1, 1, MAX_MS);
	if (probe.opt.insecure)
		s->insecure = true;
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

	if (phx_log_enabled(PHX_DEBUG)) {   /* -v: what is checked, exactly */
		char *s = cJSON_PrintUnformatted(j);
		phx_log(PHX_DEBUG, "%s: check %s", svc->name, s);
		free(s);
	}
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
	free(c->kept.message);
	cJSON_Delete(c->kept.cond_results);
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
