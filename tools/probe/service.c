/* phx-probe's services: each one's checks, found by name; a service
 * record on the input starts its checks at once. */
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

static void *byname;         /* tsearch(3) tree of the services, by name */
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

void
service_start(struct service *s)
{
	int64_t now = phx_now_ms();

	if (!s->nchecks) {
		service_emit(s);
		return;
	}
	/* the deadline bounds probing, not what came before it: in a
	 * pipeline the clock starts when the first service arrives */
	if (probe.deadline_ms > 0 && !probe.deadline_at)
		probe.deadline_at = now + probe.deadline_ms;
	for (size_t i = 0; i < s->nchecks; i++) {
		struct check *c = s->checks[i];
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
		} else
			queue_push(c);
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
	free(probe.svcs);
}

const cJSON *
config_entry(const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(phx_cfg(probe.cfg, "services"),
	    name);
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
		phx_log(PHX_DEBUG, "stdin:%lu: %s is checked already", lineno, name);
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
			ensure_phase_start();
			return;
		}
		ensure_phase_start();
		phx_pass(&in);
		if (rd == PHX_RD_RECORD && strcmp(in.type, "service") == 0)
			on_service_record(in.json, in.lineno);
		if (rd == PHX_RD_RECORD)
			watch_record(in.type, in.json);
	}
}
