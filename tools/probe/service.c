/* phx-probe's services: each one's checks, found by name; a service
 * record on the input starts its checks at once. */
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

static void *byname;         /* tsearch(3) tree of the services, by name */
/* the configuration's service entries by name, made at the first look-up:
 * one is looked up for every service and record, and a list walk each
 * made a 10,000-service configuration quadratic */
static void *cfg_byname;
static bool cfg_indexed;
static size_t capsvcs;

static void nothing_to_free(void *p) { (void)p; }

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct service *)a)->name,
	    ((const struct service *)b)->name);
}

struct service *
service_find(const char *name)
{
	struct service key = { .name = (char *)name };
	void *found = tfind(&key, &byname, by_name);

	return found ? *(struct service **)found : NULL;
}

struct service *
service_new(const char *name)
{
	struct service *s = phx_calloc(1, sizeof *s);

	s->name = phx_strdup(name);
	if (probe.nsvcs == capsvcs) {
		capsvcs = capsvcs ? capsvcs * 2 : 64;
		probe.svcs = phx_reallocarray(probe.svcs, capsvcs,
		    sizeof *probe.svcs);
	}
	probe.svcs[probe.nsvcs++] = s;
	if (!tsearch(s, &byname, by_name))
		phx_die(PHX_EXIT_ENV, "out of memory");
	probe.pending++;
	return s;
}

void
service_add_check(struct service *s, struct check *c)
{
	s->checks = phx_reallocarray(s->checks, s->nchecks + 1, sizeof *s->checks);
	s->checks[s->nchecks++] = c;
}

/* in wait mode a declared healthcheck (a podman exec, ~0.4 s of CPU on
 * a host where the stack is starting) waits until a check of the
 * service's own endpoints passes: before that it could only fail */
static bool
behind_endpoints(const struct service *s, const struct check *c)
{
	if (!probe.wait || c->kind != K_HC)
		return false;
	for (size_t i = 0; i < s->nchecks; i++)
		if (s->checks[i]->kind != K_HC && s->checks[i]->state != S_DONE)
			return true;
	return false;
}

static void
check_start(struct service *s, struct check *c, int64_t now)
{
	c->started = now;
	if (c->invalid) {
		if (s->adhoc)
			phx_log(PHX_ERROR, "%s: %s", s->name, c->invalid);
		else
			phx_log(PHX_ERROR, "stdin:%lu: service %s: %s",
			    s->lineno, s->name, c->invalid);
		probe.input_errors++;
		set_message(c, "skipped", "invalid check: %s", c->invalid);
		verdict(c, false);
	} else if (behind_endpoints(s, c))
		check_hold(c);
	else
		queue_push(c);
}

void
service_start(struct service *s)
{
	int64_t now = phx_now_ms();

	if (!s->nchecks) {
		service_emit(s);
		return;
	}
	/* the deadline bounds probing, not what came before it: in a
	 * pipeline the clock starts when the first service (or the first
	 * container of a configured one) arrives */
	if (probe.deadline_ms > 0 && !probe.deadline_at)
		probe.deadline_at = now + probe.deadline_ms;
	for (size_t i = 0; i < s->nchecks; i++)
		check_start(s, s->checks[i], now);
}

/* the deployment's compose file (its first deployment record names it),
 * for the healthchecks it declares; NULL when there is none to read */
static cJSON *compose;
static bool compose_read;

static void
on_deployment_record(const cJSON *rec)
{
	const char *path = phx_jstr(rec, "compose_file");
	char *err = NULL;

	if (compose_read || !probe.wait || !path)
		return;
	compose_read = true;
	if (!(compose = phx_compose_load(path, &err)))
		phx_log(PHX_DEBUG, "%s: healthchecks known at the record", err);
	free(err);
}

bool
service_is_job(const char *name)
{
	return phx_compose_is_job(compose, name);
}

/* the restart policy the compose file gives service name ("" none), or
 * NULL when it does not say: no compose file, or not that service */
const char *
compose_restart(const char *name)
{
	return phx_compose_restart(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(compose, "services"), name));
}

/* wait mode: a container of a configured service started (podman
 * events), so its checks start now, built from the configuration and the
 * compose file as phx-deploy builds them; its record, when it comes, adds
 * what only the image tells (its own healthcheck) and releases the
 * verdict */
void
service_early(const char *name, const char *container)
{
	const cJSON *e = config_entry(name), *j;
	struct service *s;
	cJSON *checks;

	if (!probe.wait || !probe.in || !e || service_find(name) ||
	    !phx_jbool(e, "enabled", true))
		return;
	checks = phx_service_checks(probe.cfg, e, container,
	    phx_declares_healthcheck(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(compose, "services"), name), NULL));
	if (cJSON_GetArraySize(checks)) {
		phx_log(PHX_DEBUG, "%s: its container started: checking", name);
		s = service_new(name);
		s->early = true;
		cJSON_ArrayForEach(j, checks)
			service_add_check(s, check_new(s, j, e, &probe.dflt));
		service_start(s);
	}
	cJSON_Delete(checks);
}

static bool
has_check(const struct service *s, const struct check *c)
{
	for (size_t i = 0; i < s->nchecks; i++)
		if (s->checks[i]->kind == c->kind &&
		    strcmp(s->checks[i]->url, c->url) == 0)
			return true;
	return false;
}

/* the record of a service started early: its checks that are not
 * running yet start now; then its verdict may go out */
static void
adopt(struct service *s, const cJSON *checks, unsigned long lineno)
{
	int64_t now = phx_now_ms();
	const cJSON *j;

	s->lineno = lineno;
	cJSON_ArrayForEach(j, checks) {
		struct check *c = check_new(s, j, config_entry(s->name),
		    &probe.dflt);
		if (has_check(s, c)) {
			check_free(c);
			continue;
		}
		service_add_check(s, c);
		check_start(s, c, now);
	}
	s->early = false;
	if (s->ndone == s->nchecks)
		service_emit(s);
}

/* the stream ended: a service whose container started but whose record
 * never came (the deployment failed) is not reported */
static void
drop_early(void)
{
	for (size_t i = 0; i < probe.nsvcs; i++) {
		struct service *s = probe.svcs[i];
		if (!s->early)
			continue;
		for (size_t k = 0; k < s->nchecks; k++) {
			struct check *c = s->checks[k];
			if (c->state == S_DONE)
				continue;
			check_cancel(c);
			set_message(c, "skipped", "no service record");
			verdict(c, false);
		}
		probe.pending--;
		phx_log(PHX_DEBUG, "%s: no service record: not reported", s->name);
	}
}

static void
service_free(struct service *s)
{
	for (size_t i = 0; i < s->nchecks; i++)
		check_free(s->checks[i]);
	free(s->checks);
	recover_free(s);
	free(s->name);
	free(s);
}

void
services_free(void)
{
	for (size_t i = 0; i < probe.nsvcs; i++)
		service_free(probe.svcs[i]);
	tdestroy(byname, nothing_to_free);
	tdestroy(cfg_byname, nothing_to_free);
	cfg_byname = NULL;
	cfg_indexed = false;
	cJSON_Delete(compose);
	free(probe.svcs);
}

static int
entry_by_name(const void *a, const void *b)
{
	return strcmp(((const cJSON *)a)->string, ((const cJSON *)b)->string);
}

const cJSON *
config_entry(const char *name)
{
	cJSON key = { .string = (char *)name };
	const cJSON *e;
	void *found;

	if (!cfg_indexed) {
		/* the first of a name, as cJSON's own look-up finds */
		cJSON_ArrayForEach(e, phx_cfg(probe.cfg, "services"))
			if (e->string)
				(void)tsearch(e, &cfg_byname, entry_by_name);
		cfg_indexed = true;
	}
	found = tfind(&key, &cfg_byname, entry_by_name);
	return found ? *(const cJSON **)found : NULL;
}

/* a service record: its checks start now */
static void
on_service_record(const cJSON *rec, unsigned long lineno)
{
	const char *name = phx_jstr(rec, "service");
	const cJSON *checks = cJSON_GetObjectItemCaseSensitive(rec, "checks"), *j;
	struct service *s;

	if (!name || !*name) {
		phx_log(PHX_ERROR, "stdin:%lu: service record without \"service\"",
		    lineno);
		probe.input_errors++;
		return;
	}
	if ((s = service_find(name))) {
		if (s->early)
			adopt(s, checks, lineno);
		else
			phx_log(PHX_DEBUG, "stdin:%lu: %s is checked already",
			    lineno, name);
		return;
	}
	s = service_new(name);
	s->lineno = lineno;
	cJSON_ArrayForEach(j, checks)
		service_add_check(s, check_new(s, j, config_entry(name),
		    &probe.dflt));
	service_start(s);
}

void
read_input(void)
{
	struct phx_input in;
	enum phx_rd rd;

	while ((rd = phx_reader_next(probe.in, &in)) != PHX_RD_AGAIN) {
		if (rd == PHX_RD_EOF) {
			phx_reader_free(probe.in);
			probe.in = NULL;
			drop_early();
			if (probe.wait)
				watch_final_start();
			ensure_phase_start();
			return;
		}
		ensure_phase_start();
		phx_pass(&in);
		if (rd == PHX_RD_RECORD && strcmp(in.type, "service") == 0)
			on_service_record(in.json, in.lineno);
		if (rd == PHX_RD_RECORD && strcmp(in.type, "deployment") == 0)
			on_deployment_record(in.json);
		if (rd == PHX_RD_RECORD)
			watch_record(in.type, in.json);
	}
}
