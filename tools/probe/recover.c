/* phx-probe's recovery policy for health (phx(7) RECOVERY): a container
 * fault of a service (it exited, was OOM-killed, its healthcheck says
 * unhealthy) under `restart` restarts the container once and checks the
 * service again; `continue` lets an unhealthy service pass as a warning;
 * `abort`, and every critical service, fails.  Each action is a
 * recovery record, written before the health record it led to. */
#include <stdlib.h>
#include <string.h>

#include "probe.h"

/* podman restart's stop timeout: a container that ignores SIGTERM (a
 * shell as PID 1) is killed after this, not after podman's 10 s */
#define STOP_SECONDS "3"

static const char category[] = "health";

static enum phx_recover
policy(const struct service *s)
{
	return phx_recovery_policy(probe.cfg, category, config_entry(s->name));
}

/* each check of s starts again from its first attempt; s counts as
 * not yet judged */
static void
recheck(struct service *s)
{
	int64_t now = phx_now_ms();

	/* counted again, unless still counted: an early service's verdict
	 * waits for its record, and so does its count */
	if (s->ndone == s->nchecks && !s->early)
		probe.pending++;
	if (s->emitted) {
		if (s->healthy)
			probe.healthy--;
		else
			probe.unhealthy--;
	}
	s->emitted = s->healthy = s->confirming = false;
	s->ndone = 0;
	for (size_t i = 0; i < s->nchecks; i++) {
		struct check *c = s->checks[i];
		if (c->state != S_DONE)
			check_cancel(c);
		c->confirming = c->healthy = c->kept.valid = false;
		c->attempts = 0;
		c->started = now;
		queue_push(c);
	}
}

static void
emit_record(const struct service *s, const char *action,
    const char *container, const char *why, const char *outcome)
{
	cJSON *rec = phx_recovery_record(category, action, s->name, why);

	if (container)
		cJSON_AddStringToObject(rec, "container", container);
	if (policy(s) == PHX_RECOVER_ABORT && strcmp(action, "abort") == 0 &&
	    phx_jbool(config_entry(s->name), "critical", false))
		cJSON_AddBoolToObject(rec, "critical", true);
	cJSON_AddStringToObject(rec, "outcome", outcome);
	ensure_phase_start();
	phx_emit(rec);
}

static bool
restart(struct service *s, const char *container, const char *message)
{
	static const char *const args[] = { "restart", "--time", STOP_SECONDS,
	    NULL };
	const char *ops[] = { container, NULL };
	struct phx_run run;
	char *why = NULL;
	bool ok;

	if (!phx_podman_valid_id(container) && !phx_podman_valid_name(container))
		return false;
	phx_log(PHX_INFO, "%s: %s; restarting it (recovery.health: restart)",
	    s->name, message);
	ok = phx_podman(args, ops, &run, &why);
	phx_run_free(&run);
	s->restarted = true;
	if (!ok) {
		char *msg = phx_asprintf("%s; the restart failed: %s", message, why);
		emit_record(s, "restart", container, msg, "failed");
		free(msg);
		free(why);
		return false;
	}
	s->recovering = true;
	s->recovery_why = phx_strdup(message);
	s->recovery_container = phx_strdup(container);
	recheck(s);
	return true;
}

bool
recover_fault(struct service *s, const char *container, const char *reason,
    const char *message, bool live)
{
	enum phx_recover p = policy(s);

	if (p == PHX_RECOVER_RESTART && live && !s->restarted && container &&
	    strcmp(reason, "restarted") != 0)
		return restart(s, container, message);
	if (s->recovered) {   /* the restart did not hold: its record says so */
		char *why = phx_asprintf("%s, again after its restart", message);
		s->recovered = false;
		emit_record(s, "restart", container, why, "failed");
		free(why);
	}
	if (p == PHX_RECOVER_ABORT && !s->recovery_said) {
		s->recovery_said = true;
		emit_record(s, "abort", container, message, "failed");
	}
	return false;
}

/* before a service's health record: the outcome of its restart, and
 * under `continue` that its failure does not fail the run */
void
recover_verdict(struct service *s, bool healthy)
{
	const char *why = NULL;

	if (s->recovering) {
		emit_record(s, "restart", s->recovery_container, s->recovery_why,
		    healthy ? "recovered" : "failed");
		s->recovering = false;
		s->recovered = healthy;
	}
	if (healthy || s->continued || policy(s) != PHX_RECOVER_CONTINUE)
		return;
	for (size_t i = 0; i < s->nchecks && !why; i++)
		if (!s->checks[i]->healthy)
			why = s->checks[i]->message;
	s->continued = true;
	emit_record(s, "continue", NULL, why ? why : "no checks defined",
	    "continued");
}

void
recover_free(struct service *s)
{
	free(s->recovery_why);
	free(s->recovery_container);
}
