/* phx-probe's watch of a deployment's containers (wait mode): Podman's
 * events (evsrc.c) in the event loop; a container that dies, restarts,
 * is OOM-killed or turns unhealthy is a container record at once and
 * makes its service unhealthy.  At the end, one podman inspect of them
 * all gives each container's final record. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe.h"

#define SERVICE_LABEL "com.docker.compose.service"

struct watched {
	char *id, *name, *service;
	int64_t mem_limit;      /* bytes, 0 none, -1 not known yet */
	char *policy;           /* restart policy, NULL not known yet */
	char *health;
	char *cause;            /* why it last stopped */
	int restarts, exit_code;
	int64_t last_ns;        /* the latest event taken */
	bool inspecting, oom;
};

static char *project;
/* when the deployment began, ns: podman's file logger replays events of
 * the containers an earlier deployment of the project had, under the
 * same names (a demo run twice), and those are not this one's */
static int64_t since_ns;
static struct watched **conts;
static size_t nconts;
static struct child inspect = { .fd = -1 };
/* the final inspect, begun as the stream ends; taken at the end unless a
 * container died, restarted or joined since */
static struct child final = { .fd = -1 };
/* the last start of a container of each service the watch saw, on
 * phx_now_ms's clock */
static struct started {
	char *service;
	int64_t at;
} *starts;
static size_t nstarts;
static unsigned long changes, changes_at_final;
static size_t nconts_at_final;
static bool final_started;

static struct watched *
watched_find(const char *id, const char *name)
{
	for (size_t i = 0; i < nconts; i++) {
		struct watched *w = conts[i];
		if ((id && w->id && strcmp(id, w->id) == 0) ||
		    (name && w->name && strcmp(name, w->name) == 0))
			return w;
	}
	return NULL;
}

static void
set_str(char **dst, const char *s)
{
	if (!s || (*dst && strcmp(*dst, s) == 0))
		return;
	free(*dst);
	*dst = phx_strdup(s);
}

static struct watched *
watched_learn(const char *service, const char *id, const char *name)
{
	struct watched *w = watched_find(id, name);

	if (!id && !name)
		return NULL;
	if (!w) {
		w = phx_calloc(1, sizeof *w);
		w->mem_limit = -1;
		conts = phx_reallocarray(conts, nconts + 1, sizeof *conts);
		conts[nconts++] = w;
	}
	set_str(&w->service, service);
	set_str(&w->id, id);
	set_str(&w->name, name);
	return w;
}

/* what podman inspect says of a container, in w */
static void
take_inspect(struct watched *w, const cJSON *info)
{
	const char *h = phx_jstr(phx_cfg(info, "State.Health"), "Status");
	int restarts = (int)phx_jint(info, "RestartCount", 0, 0, INT_MAX);

	set_str(&w->id, phx_jstr(info, "Id"));
	set_str(&w->name, phx_jstr(info, "Name"));
	w->mem_limit = phx_jint(phx_cfg(info, "HostConfig"), "Memory", 0, 0, INT64_MAX);
	set_str(&w->policy, phx_jstr(phx_cfg(info, "HostConfig.RestartPolicy"),
	    "Name") ? phx_jstr(phx_cfg(info, "HostConfig.RestartPolicy"),
	    "Name") : "");
	if (!w->health)
		set_str(&w->health, h && *h ? h : "none");
	if (restarts > w->restarts)
		w->restarts = restarts;
}

static const char *const inspect_args[] = { "container", "inspect", NULL };

/* each container's id (its name when the id is not known): all of them,
 * or only those whose policy is not known nor being asked; malloc'd,
 * NULL-terminated, *n of them */
static const char **
operands(bool unknown_only, size_t *n)
{
	const char **ops = phx_calloc(nconts + 1, sizeof *ops);

	*n = 0;
	for (size_t i = 0; i < nconts; i++) {
		if (unknown_only && (conts[i]->policy || conts[i]->inspecting))
			continue;
		conts[i]->inspecting = unknown_only;
		ops[(*n)++] = conts[i]->id ? conts[i]->id : conts[i]->name;
	}
	return ops;
}

/* the memory limit and restart policy of the containers not read yet,
 * in one podman inspect, before any of them dies */
static void
prefetch(void)
{
	const char **ops;
	size_t n;

	if (!project || inspect.run.pid > 0)
		return;
	ops = operands(true, &n);
	inspect.out.len = 0;
	if (n && !phx_podman_start(inspect_args, ops, &inspect.run, &inspect.fd))
		phx_log(PHX_WARN, "cannot run %s inspect: %s", phx_podman_program(),
		    strerror(inspect.run.exec_errno));
	free(ops);
}

/* the array podman inspect printed: its errors share the pipe, so a
 * warning may come before it and "no such container" after */
static cJSON *
inspect_array(const struct phx_buf *b)
{
	const char *p = b->data, *end;

	if (!p)
		return NULL;
	end = p + b->len;
	while (p && p < end && *p != '[')
		if ((p = memchr(p, '\n', (size_t)(end - p))))
			p++;
	if (!p || p >= end)
		return NULL;
	return cJSON_ParseWithLengthOpts(p, (size_t)(end - p), NULL, false);
}

static void
on_inspect(void)
{
	cJSON *arr, *info;

	if (child_drain(&inspect))
		return;
	arr = inspect_array(&inspect.out);
	cJSON_ArrayForEach(info, arr) {
		struct watched *w = watched_find(phx_jstr(info, "Id"),
		    phx_jstr(info, "Name"));
		if (w)
			take_inspect(w, info);
	}
	cJSON_Delete(arr);
	for (size_t i = 0; i < nconts; i++)
		if (conts[i]->inspecting && !conts[i]->policy)
			set_str(&conts[i]->policy, "");   /* gone: not asked again */
	for (size_t i = 0; i < nconts; i++)
		conts[i]->inspecting = false;
	prefetch();
}

static int64_t event_ns(const char *t);
static void start_seen(const char *svc, int64_t ns);

static void
watch_begin(const char *proj)
{
	project = phx_strdup(proj);
	evsrc_begin(proj, WATCH_PROJECT_LABEL);
	prefetch();
}

/* every record of the stream: a deployment names the project to watch,
 * service and container records its containers */
void
watch_record(const char *type, const cJSON *rec)
{
	const char *status, *proj;

	if (!probe.wait)   /* before any look-up: every record comes here */
		return;
	status = phx_jstr(rec, "status");
	proj = phx_jstr(rec, "project");
	if (strcmp(type, "deployment") == 0 && proj && *proj && !project &&
	    status && (strcmp(status, "starting") == 0 ||
	    strcmp(status, "running") == 0)) {
		/* from the deployment's start, but never before now: a
		 * stored stream read again is a new run, and what happened to
		 * its containers before it (a restart by hand) is not of it.
		 * Their restart counts still come with the final inspect */
		int64_t now_ns = phx_wall_ms() * 1000000;
		since_ns = event_ns(phx_jstr(rec, "ts")) - (int64_t)phx_jint(rec,
		    "duration_ms", 0, 0, INT64_MAX / 2000000) * 1000000;
		if (since_ns < now_ns)
			since_ns = now_ns;
		watch_begin(proj);
	}
	else if (strcmp(type, "service") == 0)
		watched_learn(phx_jstr(rec, "service"),
		    phx_jstr(rec, "container_id"), phx_jstr(rec, "container_name"));
	else if (strcmp(type, "container") == 0)
		watched_learn(phx_jstr(rec, "service"),
		    phx_jstr(rec, "container_id"), phx_jstr(rec, "name"));
	else
		return;
	prefetch();
}

size_t
watch_fds(struct curl_waitfd *fds, size_t n)
{
	n = evsrc_fds(fds, n);
	if (inspect.fd >= 0)
		fds[n++] = (struct curl_waitfd){ inspect.fd, CURL_WAIT_POLLIN, 0 };
	if (final.fd >= 0)
		fds[n++] = (struct curl_waitfd){ final.fd, CURL_WAIT_POLLIN, 0 };
	return n;
}

/* the stream has ended: the containers' final inspect runs beside the
 * confirm pass instead of after it */
void
watch_final_start(void)
{
	const char **ops;
	size_t n;

	if (!project || !nconts || final_started)
		return;
	ops = operands(false, &n);
	final.out.len = 0;
	final_started = phx_podman_start(inspect_args, ops, &final.run,
	    &final.fd);
	if (!final_started)
		final.fd = -1;
	changes_at_final = changes;
	nconts_at_final = nconts;
	free(ops);
}

/* what the early final inspect printed, when still true of the
 * containers; NULL: ask again */
static cJSON *
final_inspect(void)
{
	if (!final_started)
		return NULL;
	if (final.fd >= 0) {
		(void)fcntl(final.fd, F_SETFL,
		    fcntl(final.fd, F_GETFL) & ~O_NONBLOCK);
		while (final.fd >= 0 && child_drain(&final))
			;
	}
	child_end(&final);
	if (changes != changes_at_final || nconts != nconts_at_final)
		return NULL;
	return inspect_array(&final.out);
}

static cJSON *
container_rec(const struct watched *w, const char *event, const char *state)
{
	cJSON *rec = phx_record_new("container");

	cJSON_AddStringToObject(rec, "service", w->service ? w->service : "");
	if (w->id)
		cJSON_AddStringToObject(rec, "container_id", w->id);
	if (w->name)
		cJSON_AddStringToObject(rec, "name", w->name);
	cJSON_AddStringToObject(rec, "state", state);
	if (strcmp(state, "running") != 0 && strcmp(state, "missing") != 0)
		phx_add_int(rec, "exit_code", w->exit_code);
	phx_add_int(rec, "restarts", w->restarts);
	cJSON_AddStringToObject(rec, "health", w->health ? w->health : "none");
	if (w->mem_limit > 0)
		phx_add_int(rec, "mem_limit_bytes", w->mem_limit);
	if (w->policy && *w->policy)
		cJSON_AddStringToObject(rec, "restart_policy", w->policy);
	if (event)
		cJSON_AddStringToObject(rec, "event", event);
	return rec;
}

static void
emit_event(const struct watched *w, const char *event, const char *state,
    const char *ts)
{
	cJSON *rec = container_rec(w, event, state);

	if (w->oom)
		cJSON_AddBoolToObject(rec, "oom_killed", true);
	if (ts)
		cJSON_AddStringToObject(rec, "event_ts", ts);
	if (w->cause && strcmp(state, "running") != 0)
		cJSON_AddStringToObject(rec, "cause", w->cause);
	phx_emit(rec);
}

static void
fail_service(struct watched *w, bool live, const char *reason,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* the service of w fails, unless the recovery policy restarts w: then
 * the events of that restart, and any before it, are not taken */
static void
fail_service(struct watched *w, bool live, const char *reason,
    const char *fmt, ...)
{
	struct service *s = w->service ? service_find(w->service) : NULL;
	char msg[1024];
	va_list ap;

	/* a service with no record yet is phx-deploy's to confirm; after the
	 * input ended without one it has no verdict to wait for, and a
	 * restart would hold the run open for good */
	if (!s || s->early)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* with a phx-report downstream it says it, from the health record */
	if (!phx_log_streamed())
		phx_log(PHX_INFO, "%s: %s", s->name, msg);
	if (recover_fault(s, w->id ? w->id : w->name, reason, msg, live)) {
		w->last_ns = phx_wall_ms() * 1000000;
		w->oom = false;
		return;
	}
	service_fail(s, reason, msg);
}

/* podman's event time, RFC 3339 with nanoseconds, as nanoseconds since
 * the epoch; 0 when it does not parse */
static int64_t
event_ns(const char *t)
{
	struct tm tm = { 0 };
	int64_t frac = 0, scale = 1000000000;
	int used = 0, oh = 0, om = 0;
	const char *p;

	if (!t || sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &used) != 6)
		return 0;
	p = t + used;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
	if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 &&
	    *p == '-')
		oh = -oh, om = -om;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return ((int64_t)timegm(&tm) - oh * 3600 - om * 60) * 1000000000 + frac;
}

/* the container an event is about: one the stream named, or a new
 * container of a service being checked (a compose service label) */
static struct watched *
watched_for(const cJSON *ev)
{
	const char *id = phx_jstr(ev, "ID"), *name = phx_jstr(ev, "Name");
	const char *svc = phx_jstr(cJSON_GetObjectItemCaseSensitive(ev,
	    "Attributes"), SERVICE_LABEL);
	struct watched *w = watched_find(id, name);
	struct service *s = svc ? service_find(svc) : NULL;

	/* a service started early is watched from its record on: until
	 * then its containers are phx-deploy's to confirm (an attempt that
	 * fails removes them) */
	if (w || !s || s->early)
		return w;
	w = watched_learn(svc, id, name);
	prefetch();
	return w;
}

static bool
will_restart(const struct watched *w, int code)
{
	if (!w->policy)
		return false;
	return strcmp(w->policy, "always") == 0 ||
	    strcmp(w->policy, "unless-stopped") == 0 ||
	    (strcmp(w->policy, "on-failure") == 0 && code != 0);
}

static void
on_died(struct watched *w, const cJSON *ev, const char *ts)
{
	w->exit_code = (int)phx_jint(ev, "ContainerExitCode", 0, INT_MIN, INT_MAX);
	free(w->cause);
	w->cause = exit_cause(w->exit_code, w->oom, w->mem_limit);
	if (w->exit_code == 0 && service_is_job(w->service)) {
		emit_event(w, "died", "completed", ts);
		return;
	}
	emit_event(w, "died", "exited", ts);
	if (!will_restart(w, w->exit_code))
		fail_service(w, true, w->oom ? "oom" : "exited",
		    "container %s %s", w->name, w->cause);
}

static void
on_health(struct watched *w, const cJSON *ev, const char *ts)
{
	const char *h = phx_jstr(ev, "health_status");

	if (!h)
		h = phx_jstr(ev, "HealthStatus");
	if (!h || !*h || (w->health && strcmp(w->health, h) == 0))
		return;
	set_str(&w->health, h);
	emit_event(w, "health_status", "running", ts);
	if (strcmp(h, "unhealthy") == 0)
		fail_service(w, true, "unhealthy", "container %s: its healthcheck "
		    "reports unhealthy", w->name);
}

void
watch_event(const cJSON *ev)
{
	const char *st = phx_jstr(ev, "Status"), *ts = phx_jstr(ev, "Time");
	struct watched *w;
	int64_t ns = event_ns(ts);
	char mine[32];

	if (st && strcmp(st, "start") == 0) {
		const char *svc = phx_jstr(cJSON_GetObjectItemCaseSensitive(ev,
		    "Attributes"), SERVICE_LABEL);
		if (svc && (!ns || ns >= since_ns))
			start_seen(svc, ns);
		service_early(svc, phx_jstr(ev, "Name"));
		return;
	}
	if (!st || (strcmp(st, "died") != 0 && strcmp(st, "restart") != 0 &&
	    strcmp(st, "oom") != 0 && strcmp(st, "health_status") != 0))
		return;
	/* podman's file logger may repeat earlier events */
	if ((ns && ns < since_ns) || !(w = watched_for(ev)) ||
	    (ns && ns <= w->last_ns))
		return;
	w->last_ns = ns ? ns : w->last_ns;
	if (strcmp(st, "health_status") != 0)
		changes++;
	if (ns) {
		phx_ts_format(ns / 1000000, mine);
		ts = mine;
		phx_log(PHX_DEBUG, "%s: %s, %lld ms ago", w->name, st,
		    (long long)(phx_wall_ms() - ns / 1000000));
	}
	if (strcmp(st, "died") == 0)
		on_died(w, ev, ts);
	else if (strcmp(st, "restart") == 0) {
		w->restarts++;
		emit_event(w, "restarted", "running", ts);
		fail_service(w, true, "restarted", "container %s restarted after it %s",
		    w->name, w->cause ? w->cause : "stopped");
		w->oom = false;
	} else if (strcmp(st, "oom") == 0) {
		w->oom = true;
		w->exit_code = 128 + SIGKILL;
		free(w->cause);
		w->cause = exit_cause(128 + SIGKILL, w->oom, w->mem_limit);
		emit_event(w, "oom", "exited", ts);
		fail_service(w, true, "oom", "container %s %s", w->name, w->cause);
	} else
		on_health(w, ev, ts);
}

/* a container of service svc started at ns (its event's time; 0 not
 * known: now) */
static void
start_seen(const char *svc, int64_t ns)
{
	int64_t now = phx_now_ms(), ago = ns ? phx_wall_ms() - ns / 1000000 : 0;
	size_t i = 0;

	while (i < nstarts && strcmp(starts[i].service, svc) != 0)
		i++;
	if (i == nstarts) {
		starts = phx_reallocarray(starts, ++nstarts, sizeof *starts);
		starts[i].service = phx_strdup(svc);
	}
	starts[i].at = now - (ago > 0 ? ago : 0);
}

/* whether a container of s may stop and start again by itself: its
 * restart policy (podman inspect's, else the compose file's; neither
 * known: it may), or it already stopped once in the run */
static bool
may_restart(const struct service *s)
{
	const char *p = NULL;

	for (size_t i = 0; i < nconts; i++) {
		const struct watched *w = conts[i];
		if (!w->service || strcmp(w->service, s->name) != 0)
			continue;
		if (w->restarts > 0 || w->cause)
			return true;
		if (w->policy && (!p || !*p))
			p = w->policy;
	}
	if (!p)
		p = compose_restart(s->name);
	return !p || (*p && strcmp(p, "no") != 0);
}

/* when the confirm pass of s may start (0: any time): probe.min_uptime
 * after its container's last start, when that container may restart by
 * itself or phx restarted it.  A crash loop answers between its deaths,
 * so its answers do not count until it stayed up; any other container
 * that dies is seen by the watch, which runs until the verdict */
int64_t
watch_hold_until(const struct service *s)
{
	size_t i = 0;

	while (i < nstarts && strcmp(starts[i].service, s->name) != 0)
		i++;
	if (i == nstarts || !probe.min_uptime_ms ||
	    (!s->restarted && !may_restart(s)))
		return 0;
	return starts[i].at + probe.min_uptime_ms;
}

/* an fd of ours is ready; false when it is not ours */
bool
watch_ready(int fd)
{
	if (fd < 0)
		return false;
	if (evsrc_ready(fd))
		return true;
	if (fd == inspect.fd)
		on_inspect();
	else if (fd == final.fd)
		(void)child_drain(&final);
	else
		return false;
	return true;
}

/* a container's last record, from podman inspect (NULL: it is gone);
 * a restart or a stop during the run makes its service unhealthy */
static void
final_record(struct watched *w, const cJSON *info)
{
	const cJSON *st = phx_cfg(info, "State");
	const char *state = info ? phx_jstr(st, "Status") : NULL;
	bool stopped;
	cJSON *rec;

	state = state ? state : "missing";
	stopped = strcmp(state, "exited") == 0 || strcmp(state, "stopped") == 0;
	if (info) {
		take_inspect(w, info);
		w->exit_code = (int)phx_jint(st, "ExitCode", 0, INT_MIN, INT_MAX);
		w->oom = w->oom || phx_jbool(st, "OOMKilled", false);
		if (stopped && w->exit_code == 0 && service_is_job(w->service)) {
			state = "completed";
			stopped = false;
		} else if (stopped) {
			free(w->cause);
			w->cause = exit_cause(w->exit_code, w->oom, w->mem_limit);
		}
	}
	rec = container_rec(w, NULL, state);
	cJSON_AddBoolToObject(rec, "oom_killed", w->oom);
	if (stopped && w->cause)
		cJSON_AddStringToObject(rec, "cause", w->cause);
	phx_emit(rec);
	if (w->restarts > 0)
		fail_service(w, false, "restarted", "container %s restarted %d times "
		    "during the run%s%s", w->name, w->restarts,
		    w->cause ? "; the last time it " : "", w->cause ? w->cause : "");
	else if (stopped)
		fail_service(w, false, w->oom ? "oom" : "exited",
		    "container %s %s", w->name, w->cause);
	else if (strcmp(state, "running") != 0 && strcmp(state, "completed") != 0)
		fail_service(w, false, "exited", "container %s is %s", w->name,
		    state);
}

/* the end of the run: the events already there, then each container's
 * final state from one podman inspect of them all */
void
watch_finish(void)
{
	struct phx_run run;
	const char **ops;
	cJSON *arr = NULL;
	size_t n, nconts_final = nconts;

	if (!project)
		return;
	evsrc_finish();
	child_end(&inspect);
	if (!nconts)
		return;
	ops = operands(false, &n);
	memset(&run, 0, sizeof run);
	/* some containers gone: podman fails but prints the others */
	if (!(arr = final_inspect())) {
		phx_podman(inspect_args, ops, &run, NULL);
		if (!run.exec_failed && !run.timed_out)
			arr = cJSON_ParseWithLength(run.out.data ?
			    run.out.data : "", run.out.len);
	}
	if (!cJSON_IsArray(arr)) {
		phx_log(PHX_WARN, "%s inspect failed: no final container records",
		    phx_podman_program());
		nconts_final = 0;
	}
	for (size_t i = 0; i < nconts_final; i++) {
		const cJSON *info = NULL, *it;
		cJSON_ArrayForEach(it, arr)
			if (watched_find(phx_jstr(it, "Id"), phx_jstr(it, "Name")) ==
			    conts[i])
				info = it;
		final_record(conts[i], info);
	}
	cJSON_Delete(arr);
	phx_run_free(&run);
	free(ops);
}

void
watch_stop(void)
{
	evsrc_stop();
	child_end(&inspect);
	child_end(&final);
	phx_buf_free(&inspect.out);
	phx_buf_free(&final.out);
	for (size_t i = 0; i < nconts; i++) {
		struct watched *w = conts[i];
		free(w->id);
		free(w->name);
		free(w->service);
		free(w->policy);
		free(w->health);
		free(w->cause);
		free(w);
	}
	free(conts);
	for (size_t i = 0; i < nstarts; i++)
		free(starts[i].service);
	free(starts);
	free(project);
}
