/* phx-probe's health records: one per service, once all its checks
 * have a verdict; and the start of the probe phase. */
#include <math.h>
#include <string.h>

#include "probe.h"

static bool phase_started;
static int64_t phase_t0;

/* the phase starts with the first input or record; returns its start */
int64_t
ensure_phase_start(void)
{
	if (!phase_started) {
		phase_started = true;
		phase_t0 = phx_phase_start("probe");
	}
	return phase_t0;
}

static void
add_tls(cJSON *o, const struct check *c)
{
	cJSON *t;
	char ts[32];

	if (!c->http.tls_seen)
		return;
	t = cJSON_AddObjectToObject(o, "tls");
	if (c->http.tls_version[0])
		cJSON_AddStringToObject(t, "version", c->http.tls_version);
	cJSON_AddBoolToObject(t, "verified", c->http.tls_verified);
	cJSON_AddBoolToObject(t, "insecure", c->set.insecure);
	if (c->http.not_after) {
		phx_ts_format(c->http.not_after, ts);
		cJSON_AddStringToObject(t, "not_after", ts);
		cJSON_AddNumberToObject(t, "days_to_expiry",
		    floor((double)(c->http.not_after - phx_wall_ms()) / 86400000.0));
	}
}

static const char *
kind_name(const struct check *c)
{
	return c->odd_kind ? c->odd_kind : kind_names[c->kind];
}

static void
add_result(cJSON *o, struct check *c)
{
	phx_add_ref(o, "check", kind_name(c));
	phx_add_ref(o, "target", c->target);
	phx_add_ref(o, "status", phx_health_name(c->healthy));
	phx_add_int(o, "attempts", c->attempts);
	phx_add_int(o, "response_time_ms", c->response_ms);
	if (c->status_code)
		phx_add_int(o, "status_code", c->status_code);
	if (!c->healthy) {
		cJSON_AddStringToObject(o, "reason", c->reason ? c->reason : "protocol");
		cJSON_AddStringToObject(o, "message", c->message ? c->message : "");
	}
	phx_add_int(o, "duration_ms", c->duration_ms);
	add_tls(o, c);
	if (c->cond_results) {   /* emitted once: the record takes them */
		cJSON_AddItemToObjectCS(o, "conditions", c->cond_results);
		c->cond_results = NULL;
	}
}

static void
add_none(cJSON *rec)
{
	cJSON_AddStringToObject(rec, "check", "none");
	cJSON_AddStringToObject(rec, "target", "");
	phx_add_ref(rec, "status", phx_health_name(false));
	cJSON_AddNumberToObject(rec, "attempts", 0);
	cJSON_AddNumberToObject(rec, "response_time_ms", 0);
	cJSON_AddStringToObject(rec, "reason", "skipped");
	cJSON_AddStringToObject(rec, "message", "no checks defined");
}

/* several checks: one verdict, the first failure's reason, every result */
static void
add_summary(cJSON *rec, const struct service *s)
{
	const struct check *first = s->checks[0], *bad = NULL;
	struct phx_buf kinds = { 0 };
	int64_t rt = 0, dur = 0;
	int attempts = 0;
	long code = 0;
	cJSON *arr;

	for (size_t i = 0; i < s->nchecks; i++) {
		const struct check *c = s->checks[i];
		phx_buf_printf(&kinds, "%s%s", i ? "+" : "", kind_name(c));
		if (!c->healthy && !bad)
			bad = c;
		rt = c->response_ms > rt ? c->response_ms : rt;
		dur = c->duration_ms > dur ? c->duration_ms : dur;
		attempts = c->attempts > attempts ? c->attempts : attempts;
		if (!code && c->status_code)
			code = c->status_code;
	}
	if (bad)    /* the status that goes with the reason */
		code = bad->status_code;
	cJSON_AddStringToObject(rec, "check", phx_buf_str(&kinds));
	cJSON_AddStringToObject(rec, "target", first->target);
	phx_add_ref(rec, "status", phx_health_name(!bad));
	phx_add_int(rec, "attempts", attempts);
	phx_add_int(rec, "response_time_ms", rt);
	if (code)
		phx_add_int(rec, "status_code", code);
	if (bad) {
		cJSON_AddStringToObject(rec, "reason", bad->reason ? bad->reason : "protocol");
		cJSON_AddStringToObject(rec, "message", bad->message ? bad->message : "");
	}
	phx_add_int(rec, "duration_ms", dur);
	arr = cJSON_AddArrayToObject(rec, "checks");
	for (size_t i = 0; i < s->nchecks; i++) {
		cJSON *o = cJSON_CreateObject();
		add_result(o, s->checks[i]);
		cJSON_AddItemToArray(arr, o);
	}
	phx_buf_free(&kinds);
}

/* a service's verdict; after a confirm pass only a changed one */
void
service_emit(struct service *s)
{
	bool healthy = s->nchecks > 0, again = s->confirming;
	cJSON *rec;

	for (size_t i = 0; i < s->nchecks; i++)
		healthy = healthy && s->checks[i]->healthy;
	probe.pending--;
	s->confirming = false;
	if (again && healthy) {
		phx_log(PHX_DEBUG, "%s: still healthy", s->name);
		return;
	}
	recover_verdict(s, healthy);
	rec = phx_record_new("health");
	phx_add_ref(rec, "service", s->name);
	if (s->nchecks == 1)
		add_result(rec, s->checks[0]);
	else if (s->nchecks > 1)
		add_summary(rec, s);
	else
		add_none(rec);
	if (again) {
		cJSON_AddBoolToObject(rec, "was_healthy", true);
		probe.healthy--;
	}
	ensure_phase_start();
	phx_emit(rec);
	s->emitted = true;
	s->healthy = healthy;
	s->healthy_at = phx_now_ms();
	if (healthy)
		probe.healthy++;
	else
		probe.unhealthy++;
	/* with a phx-report downstream it says it, from the record */
	if (!phx_log_streamed())
		phx_log(healthy ? PHX_DEBUG : PHX_INFO, "%s: %s%s", s->name,
		    phx_health_name(healthy), again ? ", after being healthy" : "");
}

/* something the service's container did (it exited, restarted, was
 * killed) makes the service unhealthy now, whatever its checks said:
 * a service still waiting gets its verdict without further attempts; a
 * healthy one a second record with was_healthy; an unhealthy one none */
void
service_fail(struct service *s, const char *reason, const char *message)
{
	bool waiting = s->ndone < s->nchecks;
	/* a healthcheck that says unhealthy is one check's verdict: a check
	 * that failed on its own (a 500) keeps its reason; what the
	 * container did (exited, restarted, killed) explains every check */
	bool own_stands = strcmp(reason, "unhealthy") == 0;

	if (!waiting && (!s->emitted || !s->healthy))
		return;
	/* every check says it, the ones that passed too: the container
	 * they passed against is not the one there now */
	for (size_t i = 0; i < s->nchecks; i++)
		if (s->checks[i]->state == S_DONE) {
			s->checks[i]->healthy = false;
			set_message(s->checks[i], reason, "%s", message);
		}
	if (!waiting) {
		s->confirming = true;
		probe.pending++;
		service_emit(s);
		return;
	}
	for (size_t i = 0; i < s->nchecks; i++) {
		struct check *c = s->checks[i];
		bool own = own_stands && (c->reason || (c->kept.valid &&
		    !c->kept.ok));
		if (c->state == S_DONE)
			continue;
		check_cancel(c);
		if (own && !c->reason)
			result_restore(c);
		else if (!own)
			set_message(c, reason, "%s", message);
		verdict(c, false);
	}
}
