/* the aggregates' upkeep, and the views of them every output shares */
#include <stdlib.h>
#include <string.h>

#include "report.h"

const char *
svc_state_name(int state)
{
	return state == SVC_UNKNOWN ? "unknown" :
	    phx_health_name(state == SVC_HEALTHY);
}

/* keeps s in a list of at most MAX_ERRORS, once; past that counts it in
 * *more (when given) */
void
add_bounded(char **list, size_t *n, unsigned long *more, char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(list[i], s) == 0) {
			free(s);
			return;
		}
	if (*n < MAX_ERRORS)
		list[(*n)++] = s;
	else {
		free(s);
		if (more)
			(*more)++;
	}
}

/* each service's state from its checks; caller frees */
unsigned char *
service_states(const struct agg *agg)
{
	unsigned char *st = phx_calloc(agg->nservices + 1, 1);

	for (size_t i = 0; i < agg->nchecks; i++) {
		const struct check *c = &agg->checks[i];
		if (!phx_healthy(c->status))
			st[c->svc] = SVC_UNHEALTHY;
		else if (st[c->svc] == SVC_UNKNOWN)
			st[c->svc] = SVC_HEALTHY;
	}
	return st;
}

/* the check that speaks for a service: its first HTTP check, else its first */
const struct check **
primary_checks(const struct agg *agg)
{
	const struct check **p = phx_calloc(agg->nservices + 1, sizeof *p);

	for (size_t i = 0; i < agg->nchecks; i++) {
		const struct check *c = &agg->checks[i];
		if (!p[c->svc] || (strcmp(c->kind, "http") == 0 &&
		    strcmp(p[c->svc]->kind, "http") != 0))
			p[c->svc] = c;
	}
	return p;
}

char *
test_key(const struct test *t)
{
	return *t->suite ? phx_asprintf("%s/%s", t->suite, t->name)
	    : phx_strdup(t->name);
}

bool
is_running(const struct container *c)
{
	return c->state && strcmp(c->state, "running") == 0;
}

/* a one-shot job's container that exited 0 (phx-records(5)) */
bool
is_completed(const struct container *c)
{
	return c->state && strcmp(c->state, "completed") == 0;
}

double
duration_seconds(const struct agg *agg)
{
	return agg->min_ts >= 0 ?
	    (double)(agg->max_ts - agg->min_ts) / 1000.0 : 0;
}

static void
entries_free(struct agg *agg)
{
	for (size_t i = 0; i < agg->nservices; i++) {
		free(agg->services[i].name);
		free(agg->services[i].image);
		free(agg->services[i].container);
	}
	for (size_t i = 0; i < agg->nchecks; i++) {
		struct check *c = &agg->checks[i];
		free(c->kind); free(c->target); free(c->status);
		free(c->reason); free(c->message);
	}
	for (size_t i = 0; i < agg->ntests; i++) {
		struct test *t = &agg->tests[i];
		free(t->suite); free(t->name); free(t->status); free(t->step);
		free(t->reason); free(t->message);
	}
	for (size_t i = 0; i < agg->nfindings; i++) {
		struct finding *f = &agg->findings[i];
		free(f->id); free(f->cis); free(f->where); free(f->status);
		free(f->severity); free(f->title); free(f->message);
		free(f->category); free(f->remediation); free(f->evidence);
	}
	for (size_t i = 0; i < agg->ncontainers; i++) {
		struct container *c = &agg->containers[i];
		free(c->name); free(c->service); free(c->state);
		free(c->health);
	}
	for (size_t i = 0; i < agg->nphases; i++) {
		free(agg->phases[i].name); free(agg->phases[i].source);
		free(agg->phases[i].status);
	}
	for (size_t i = 0; i < agg->nrecoveries; i++) {
		struct recovery *v = &agg->recoveries[i];
		free(v->category); free(v->action); free(v->subject);
		free(v->container); free(v->why); free(v->outcome);
	}
}

bool
continued(const struct agg *agg, const char *category, const char *subject)
{
	for (size_t i = 0; subject && i < agg->nrecoveries; i++) {
		const struct recovery *v = &agg->recoveries[i];
		if (same_str(v->category, category) &&
		    same_str(v->action, "continue") && same_str(v->subject, subject))
			return true;
	}
	return false;
}

unsigned long
recoveries_with(const struct agg *agg, const char *outcome)
{
	unsigned long n = 0;

	for (size_t i = 0; i < agg->nrecoveries; i++)
		n += same_str(agg->recoveries[i].outcome, outcome);
	return n;
}

void
agg_free(struct agg *agg)
{
	entries_free(agg);
	for (size_t i = 0; i < agg->nports; i++) {
		free(agg->ports[i].service); free(agg->ports[i].host_ip);
		free(agg->ports[i].protocol);
	}
	for (size_t i = 0; i < agg->ninput_errors; i++)
		free(agg->input_errors[i]);
	for (size_t i = 0; i < agg->nrecord_errors; i++)
		free(agg->record_errors[i]);
	for (int i = 0; i < MAX_TYPES; i++)
		free(agg->st.type_names[i]);
	free(agg->dep.status); free(agg->dep.project);
	free(agg->dep.compose_file); free(agg->dep.reason);
	free(agg->dep.message);
	free(agg->deploy_error.text); free(agg->deploy_error.message);
	free(agg->deploy_error.service);
	table_free(&agg->services_t); table_free(&agg->checks_t);
	table_free(&agg->tests_t); table_free(&agg->findings_t);
	table_free(&agg->containers_t); table_free(&agg->phases_t);
	table_free(&agg->recoveries_t); free(agg->recoveries);
	free(agg->services); free(agg->checks); free(agg->tests);
	free(agg->findings); free(agg->containers); free(agg->phases);
}
