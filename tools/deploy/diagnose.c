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

static bool
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

static void
diagnose_missing(const char *name, const cJSON *svc,
    const struct phx_run *pc, struct failure *f)
{
	const char *image = phx_jstr(svc, "image");

	f->image = phx_strdup(image);
	if (!image_exists(image)) {
		char *why = compose_says(pc, image);
		f->reason = phx_strdup("image_missing");
		f->message = phx_asprintf("service %s: image %s is not available "
		    "locally and could not be pulled%s%s%s", name, image,
		    why ? " (" : "", why ? why : "", why ? ")" : "");
		free(why);
	} else {
		char *e = phx_error_line(&pc->err);
		f->reason = phx_strdup("not_created");
		f->message = phx_asprintf("service %s: podman-compose created no "
		    "container%s%s", name, *e ? ": " : "", e);
		free(e);
	}
	f->crec = missing_record(name, NULL);
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
			f->reason = phx_strdup("port_in_use");
			f->port = port;
			f->message = phx_asprintf("service %s: port %s%s%d is already "
			    "in use on the host", name, ip && *ip ? ip : "",
			    ip && *ip ? ":" : "", port);
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

void
diagnose(struct deploy *d, const char *name, const cJSON *svc,
    const cJSON *info, const struct phx_run *pc, struct failure *f)
{
	const char *state = phx_jstr(phx_cfg(info, "State"), "Status");

	f->service = phx_strdup(name);
	if (!info) {
		diagnose_missing(name, svc, pc, f);
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
		f->reason = phx_strdup("exited");
		f->message = phx_asprintf("service %s: container %s exited with code "
		    "%d%s%s", name, f->container, f->exit_code, *last ? "; last log: " : "",
		    last);
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
	if (strcmp(f->reason, "exited") == 0)
		cJSON_AddNumberToObject(rec, "exit_code", f->exit_code);
	if (f->port)
		cJSON_AddNumberToObject(rec, "port", f->port);
	if (f->log_tail)
		cJSON_AddStringToObject(rec, "log_tail", f->log_tail);
	cJSON_AddNumberToObject(rec, "attempt", attempt);
	phx_emit(rec);
	phx_log(PHX_ERROR, "attempt %d of %d: %s", attempt, d->attempts, f->message);
}
