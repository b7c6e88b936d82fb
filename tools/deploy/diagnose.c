/* what went wrong with a service, and the error record saying it */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deploy.h"

/* an error that will be the same on the next attempt is not retried:
 * only a container that stopped or never came up, for no cause known to
 * last, or a pull the registry did not answer in time */
bool
failure_retried(const struct failure *f)
{
	static const char *const transient[] = { "exited", "timeout",
		"not_created", "not_started", "image_pull" };

	for (size_t i = 0; i < sizeof transient / sizeof *transient; i++)
		if (f->reason && strcmp(f->reason, transient[i]) == 0)
			return true;
	return false;
}

void
failure_free(struct failure *f)
{
	free(f->service);
	free(f->reason);
	free(f->message);
	free(f->image);
	free(f->log_tail);
	free(f->container);
	cJSON_Delete(f->crec);
	memset(f, 0, sizeof *f);
}

bool
port_taken(const char *ip, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;
	bool taken;

	memset(&ss, 0, sizeof ss);
	if (ip && strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1)
			return false;
		len = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, ip && *ip ? ip : "0.0.0.0", &s4->sin_addr) != 1)
			return false;
		len = sizeof *s4;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	taken = bind(fd, (struct sockaddr *)&ss, len) < 0 && errno == EADDRINUSE;
	close(fd);
	return taken;
}

/* the failure of a service whose host port another process holds, said
 * the same whether found before podman-compose ran or after */
void
fail_port_in_use(struct failure *f, const char *service, const char *ip,
    int port)
{
	f->reason = phx_strdup("port_in_use");
	f->port = port;
	f->message = phx_asprintf("service %s: port %s%s%d is already in use "
	    "on the host", service, ip && *ip ? ip : "", ip && *ip ? ":" : "",
	    port);
}

/* the last line of podman-compose's stderr that mentions needle */
static char *
compose_says(const struct phx_run *pc, const char *needle)
{
	const char *p = NULL, *q = pc->err.data, *b, *e;

	while (q && (q = strstr(q, needle)))
		p = q++;
	if (!p)
		return NULL;
	for (b = p; b > pc->err.data && b[-1] != '\n'; b--)
		;
	e = strchr(p, '\n');
	return phx_asprintf("%.*s", (int)(e ? e - b : (long)strlen(b)), b);
}

/* podman-compose's words for a container it could not create that will
 * not be created on the next attempt either */
static const struct {
	const char *says, *reason;
} not_created_causes[] = {
	{ "missing networks", "network_unknown" },
	{ "External network", "network_unknown" },
	{ "network not found", "network_unknown" },
	{ "mount option", "mount_invalid" },
	{ "invalid mount", "mount_invalid" },
	{ "invalid volume", "mount_invalid" },
	{ "statfs", "mount_invalid" },
};

static void
diagnose_missing(const char *name, const cJSON *svc,
    const struct phx_run *pc, struct failure *f, bool kube)
{
	const char *image = phx_jstr(svc, "image");
	char *why;

	f->image = phx_strdup(image);
	f->crec = missing_record(name, NULL);
	if (!podman_exists("image", image)) {
		why = compose_says(pc, image);
		/* a registry that did not answer in time may answer later */
		f->reason = phx_strdup(why && strstr(why, "timeout") ?
		    "image_pull" : "image_missing");
		f->message = phx_asprintf("service %s: image %s is not available "
		    "locally and could not be pulled%s%s%s", name, image,
		    why ? " (" : "", why ? why : "", why ? ")" : "");
		free(why);
		return;
	}
	why = phx_error_line(&pc->err);
	for (size_t i = 0; i < sizeof not_created_causes /
	    sizeof *not_created_causes && !f->reason; i++)
		if (strstr(why, not_created_causes[i].says))
			f->reason = phx_strdup(not_created_causes[i].reason);
	if (!f->reason)
		f->reason = phx_strdup("not_created");
	f->message = phx_asprintf("service %s: %s created no container%s%s",
	    name, kube ? "podman kube play" : "podman-compose",
	    *why ? ": " : "", why);
	free(why);
}

static void
diagnose_not_started(const char *name, const cJSON *info,
    const struct phx_run *pc, struct failure *f)
{
	const cJSON *p;
	cJSON *ports = phx_podman_ports(info, NULL);
	const char *err = phx_jstr(phx_cfg(info, "State"), "Error");

	cJSON_ArrayForEach(p, ports) {
		const char *ip = phx_jstr(p, "host_ip");
		int port = (int)phx_jint(p, "host_port", 0, INT_MIN, INT_MAX);
		if (port && port_taken(ip, port)) {
			fail_port_in_use(f, name, ip, port);
			break;
		}
	}
	cJSON_Delete(ports);
	if (!f->reason) {
		char *said = compose_says(pc, "address already in use");
		if (said) {
			f->reason = phx_strdup("port_in_use");
			f->message = phx_asprintf("service %s: %s", name, said);
			free(said);
		} else {
			char *e = phx_error_line(&pc->err);
			f->reason = phx_strdup("not_started");
			f->message = phx_asprintf("service %s: container was created "
			    "but did not start%s%s", name, (err && *err) || *e ? ": " : "",
			    err && *err ? err : e);
			free(e);
		}
	}
}

/* an exit code above 128 is a signal's: 137 is SIGKILL, which is what
 * the OOM killer sends (podman's OOMKilled is not to be trusted: it says
 * false for a container killed at its memory limit) */
static char *
exit_meaning(int code, double mem_limit)
{
	static const char *const names[] = { NULL, "SIGHUP", "SIGINT",
		"SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
		"SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM",
		"SIGTERM" };
	int sig = code - 128;
	char *limit;

	if (code == 137) {
		limit = mem_limit >= 1048576 ? phx_asprintf("; its memory limit is "
		    "%.0f MiB", mem_limit / 1048576) : mem_limit > 0 ?
		    phx_asprintf("; its memory limit is %.0f bytes", mem_limit)
		    : phx_strdup("; it has no memory limit");
		char *s = phx_asprintf(" (killed by SIGKILL, as the OOM killer "
		    "kills%s)", limit);
		free(limit);
		return s;
	}
	if (sig > 0 && sig < (int)(sizeof names / sizeof *names))
		return phx_asprintf(" (killed by %s)", names[sig]);
	if (sig > 0 && sig < 65)
		return phx_asprintf(" (killed by signal %d)", sig);
	return phx_strdup("");
}

void
diagnose(struct deploy *d, const char *name, const cJSON *svc,
    const cJSON *info, const struct phx_run *pc, struct failure *f)
{
	const char *state = phx_jstr(phx_cfg(info, "State"), "Status");

	f->service = phx_strdup(name);
	if (!info) {
		diagnose_missing(name, svc, pc, f, d->kube != NULL);
		return;
	}
	f->container = phx_strdup(phx_jstr(info, "Name"));
	f->image = phx_strdup(phx_jstr(info, "ImageName") ?
	    phx_jstr(info, "ImageName") : phx_jstr(svc, "image"));
	f->crec = container_record(name, info, NULL);
	if (state && (strcmp(state, "created") == 0 ||
	    strcmp(state, "configured") == 0)) {
		diagnose_not_started(name, info, pc, f);
		return;
	}
	f->exit_code = (int)phx_jint(phx_cfg(info, "State"), "ExitCode", 0,
	    INT_MIN, INT_MAX);
	f->mem_limit = phx_jint(phx_cfg(info, "HostConfig"), "Memory", 0, 0,
	    INT64_MAX);
	f->log_tail = container_log(f->container, d->log_lines, false);
	cJSON_AddStringToObject(f->crec, "log_tail", f->log_tail);
	if (state && (strcmp(state, "exited") == 0 || strcmp(state, "stopped") == 0 ||
	    strcmp(state, "dead") == 0)) {
		char *last = phx_tail_lines(f->log_tail, strlen(f->log_tail), 3);
		size_t n = strlen(last);
		while (n && last[n - 1] == '\n')
			last[--n] = '\0';
		for (char *c = last; *c; c++)
			if (*c == '\n')
				*c = ';';
		char *how = exit_meaning(f->exit_code, f->mem_limit);
		f->reason = phx_strdup("exited");
		f->message = phx_asprintf("service %s: container %s exited with code "
		    "%d%s%s%s", name, f->container, f->exit_code, how,
		    *last ? "; last log: " : "", last);
		free(how);
		free(last);
	} else {
		f->reason = phx_strdup("timeout");
		f->message = phx_asprintf("service %s: container %s is %s, not running, "
		    "after %lld s", name, f->container, state ? state : "missing",
		    (long long)d->timeout_ms / 1000);
	}
}

void
emit_failure(struct deploy *d, const struct failure *f, int attempt)
{
	cJSON *rec;

	if (f->crec)
		phx_emit(cJSON_Duplicate(f->crec, true));
	rec = phx_record_new("error");
	cJSON_AddStringToObject(rec, "reason", f->reason);
	cJSON_AddStringToObject(rec, "message", f->message);
	if (f->service)
		cJSON_AddStringToObject(rec, "service", f->service);
	if (f->container)
		cJSON_AddStringToObject(rec, "container", f->container);
	if (f->image)
		cJSON_AddStringToObject(rec, "image", f->image);
	if (strcmp(f->reason, "exited") == 0) {
		cJSON_AddNumberToObject(rec, "exit_code", f->exit_code);
		if (f->exit_code > 128 && f->exit_code < 193)
			cJSON_AddNumberToObject(rec, "signal", f->exit_code - 128);
		if (f->mem_limit > 0)
			cJSON_AddNumberToObject(rec, "mem_limit_bytes", f->mem_limit);
	}
	if (f->port)
		cJSON_AddNumberToObject(rec, "port", f->port);
	if (f->log_tail)
		cJSON_AddStringToObject(rec, "log_tail", f->log_tail);
	cJSON_AddNumberToObject(rec, "attempt", attempt);
	phx_emit(rec);
	phx_log(PHX_ERROR, "attempt %d of %d: %s", attempt, d->attempts, f->message);
}
