/* confirming with podman that every service runs */
#include <stdio.h>
#include <string.h>

#include "deploy.h"

static bool
restarts_itself(const cJSON *svc)
{
	const char *r = phx_compose_restart(svc);

	return r && *r;
}

/* nanoseconds-since-epoch of State.StartedAt, in ms */
int64_t
started_ms(const cJSON *info)
{
	const char *s = phx_jstr(phx_cfg(info, "State"), "StartedAt");
	char buf[40];
	size_t n;

	if (!s)
		return 0;
	/* phx_ts_parse wants at most milliseconds */
	n = strcspn(s, ".");
	if (n >= 20 || !s[n])
		return phx_ts_parse(s);
	snprintf(buf, sizeof buf, "%.*s.%.3s%s", (int)n, s, s + n + 1,
	    s + n + 1 + strspn(s + n + 1, "0123456789"));
	return phx_ts_parse(buf);
}

/* S_DONE: a one-shot job's container exited 0 */
enum svc_state { S_RUNNING, S_DONE, S_PENDING, S_FAILED };

static enum svc_state
classify_job(const char *st, const cJSON *c)
{
	if (strcmp(st, "exited") == 0 || strcmp(st, "stopped") == 0)
		return phx_jnum(c, "ExitCode", -1) == 0 ? S_DONE : S_FAILED;
	/* podman-compose starts it with the rest: not done yet */
	return strcmp(st, "dead") == 0 ? S_FAILED : S_PENDING;
}

static enum svc_state
classify(const struct deploy *d, const cJSON *svc, const cJSON *c)
{
	const char *st = c ? phx_jstr(c, "State") : NULL;

	if (!st)
		return S_FAILED;
	if (phx_compose_is_job(d->compose, svc->string))
		return classify_job(st, c);
	if (strcmp(st, "running") == 0)
		return S_RUNNING;
	if (strcmp(st, "exited") == 0 || strcmp(st, "stopped") == 0)
		return restarts_itself(svc) ? S_PENDING : S_FAILED;
	if (strcmp(st, "created") == 0 || strcmp(st, "configured") == 0 ||
	    strcmp(st, "dead") == 0)
		return S_FAILED;
	return S_PENDING;   /* restarting, stopping, paused, initialized */
}

/* waits until every service has a container that has been running for
 * SETTLE_MS, a service fails, the deadline passes or a signal comes;
 * on UP_OK *infos holds podman inspect of the project's containers */
enum outcome
confirm(struct deploy *d, int64_t deadline, const struct phx_run *pc,
    cJSON **infos, struct failure *f)
{
	const cJSON *services = cJSON_GetObjectItemCaseSensitive(d->compose, "services");

	*infos = NULL;
	for (;;) {
		cJSON *ps = project_ps(d), *ids, *info;
		const cJSON *svc, *bad = NULL;
		bool pending = false;
		int64_t youngest = 0;

		cJSON_ArrayForEach(svc, services) {
			enum svc_state s = classify(d, svc, container_of(ps, svc->string));
			if (s == S_FAILED && !bad)
				bad = svc;
			pending |= s == S_PENDING;
		}
		if (!bad && pending && phx_now_ms() < deadline && !phx_signal) {
			cJSON_Delete(ps);
			phx_sleep_ms(POLL_MS);
			if (phx_signal)
				return UP_INTERRUPTED;
			continue;
		}
		ids = ids_of(ps, "Id");
		cJSON_Delete(d->stats);
		d->stats = NULL;
		/* all running: this may be the last inspect, so the running
		 * record's stats are taken beside it */
		info = bad || pending ? inspect(ids) :
		    inspect_and_stats(ids, &d->stats);
		cJSON_Delete(ids);
		if (phx_signal) {
			cJSON_Delete(ps);
			cJSON_Delete(info);
			return UP_INTERRUPTED;
		}
		if (bad || pending) {
			if (!bad)   /* the deadline passed */
				cJSON_ArrayForEach(svc, services)
					if (classify(d, svc, container_of(ps, svc->string)) >= S_PENDING) {
						bad = svc;
						break;
					}
			diagnose(d, bad->string, bad, info_by_id(info, phx_jstr(
			    container_of(ps, bad->string), "Id")), pc, f);
			cJSON_Delete(ps);
			cJSON_Delete(info);
			return UP_FAILED;
		}
		cJSON_ArrayForEach(svc, services) {
			const cJSON *i = info_by_id(info, phx_jstr(
			    container_of(ps, svc->string), "Id"));
			int64_t s = phx_compose_is_job(d->compose, svc->string) ? 0 :
			    started_ms(i);
			if (s > youngest)
				youngest = s;
		}
		cJSON_Delete(ps);
		if (youngest && phx_wall_ms() - youngest < SETTLE_MS &&
		    phx_now_ms() < deadline) {
			cJSON_Delete(info);
			phx_sleep_ms(SETTLE_MS - (phx_wall_ms() - youngest));
			if (phx_signal)
				return UP_INTERRUPTED;
			continue;
		}
		*infos = info;
		return UP_OK;
	}
}
