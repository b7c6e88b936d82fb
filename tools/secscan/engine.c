/* What the engine itself reports (podman info, ps, network inspect). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secscan.h"

static cJSON *networks;         /* name -> podman network inspect object */
static struct phx_run info_run; /* podman info, started early */
static int info_fd = -1;
static const char *const info_args[] = { "info", "--format", "json", NULL };

/* podman info tells nothing of the deployment: it runs while the stream
 * passes instead of after it (the slowest of the engine's calls).  A
 * podman that cannot be found is left for a scan that needs it to say. */
void
engine_prefetch(void)
{
	char *path = phx_which(phx_podman_program());

	if (path && !phx_podman_start(info_args, NULL, &info_run, &info_fd))
		info_fd = -1;
	free(path);
}

/* what a podman call begun earlier printed, parsed from the line where
 * its JSON starts with open ('{' or '['): its errors share the pipe.
 * NULL when it failed or did not start; then the call is made again. */
static cJSON *
collect(struct phx_run *run, int *fd, char open)
{
	struct phx_buf b = { 0 };
	char buf[8192], nl[3] = { '\n', open, '\0' };
	const char *s, *obj;
	cJSON *j = NULL;
	ssize_t n;

	if (*fd < 0)
		return NULL;
	(void)fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK);
	while ((n = read(*fd, buf, sizeof buf)) > 0 ||
	    (n < 0 && errno == EINTR && !phx_signal))
		if (n > 0)
			phx_buf_add(&b, buf, (size_t)n);
	close(*fd);
	*fd = -1;
	phx_run_reap(run, true);
	s = phx_buf_str(&b);
	obj = *s == open ? s : strstr(s, nl);
	if (run->status == 0 && obj)
		j = cJSON_Parse(obj);
	phx_buf_free(&b);
	phx_run_free(run);
	return j;
}

static const char *const ps_args[] = { "ps", "--format", "json", NULL };
static struct phx_run ps_run;
static int ps_fd = -1;

/* podman info; then podman ps of every running container begins, to run
 * beside the containers' inspect (engine_containers() takes it) */
void
load_engine(void)
{
	char *why = NULL;

	secscan.info = collect(&info_run, &info_fd, '{');
	if (!secscan.info)
		secscan.info = phx_podman_json(info_args, NULL, &why);
	if (!secscan.info) {
		phx_log(PHX_ERROR, "%s", why);
		free(why);
		return;
	}
	if (!phx_podman_start(ps_args, NULL, &ps_run, &ps_fd))
		ps_fd = -1;
}

void
engine_containers(void)
{
	char *why = NULL;

	secscan.containers = collect(&ps_run, &ps_fd, '[');
	if (!secscan.containers)
		secscan.containers = phx_podman_json(ps_args, NULL, &why);
	if (!secscan.containers) {
		phx_log(PHX_WARN, "%s", why);
		free(why);
	}
}

/* the engine's default capability set, as podman info reports it */
cJSON *
default_caps(void)
{
	const char *s = jpath_str(secscan.info, "host.security.capabilities");
	cJSON *caps = cJSON_CreateArray();
	char *copy, *save = NULL;

	if (!s)
		return caps;
	copy = phx_strdup(s);
	for (char *c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save))
		add_unique(caps, c);
	free(copy);
	return caps;
}

static const char *const net_args[] = { "network", "inspect", NULL };
static struct phx_run net_run;
static int net_fd = -1;

/* one podman network inspect of every network the targets are on, begun
 * beside ps; when one is gone the batch fails and each is asked alone */
void
networks_prefetch(void)
{
	cJSON *names = cJSON_CreateArray();
	const cJSON *it;
	const char **ops;
	size_t n = 0;

	for (const struct target *t = secscan.targets; t; t = t->next)
		cJSON_ArrayForEach(it, jpath(t->inspect, "NetworkSettings.Networks"))
			add_unique(names, it->string);
	ops = phx_calloc((size_t)cJSON_GetArraySize(names) + 1, sizeof *ops);
	cJSON_ArrayForEach(it, names)
		ops[n++] = it->valuestring;
	if (n && !phx_podman_start(net_args, ops, &net_run, &net_fd))
		net_fd = -1;
	free(ops);
	cJSON_Delete(names);
}

const cJSON *
network_info(const char *name)
{
	const cJSON *n;
	const char *ops[] = { name, NULL };
	char *why = NULL;
	cJSON *arr;

	if (!networks)
		networks = cJSON_CreateObject();
	if (net_fd >= 0 && (arr = collect(&net_run, &net_fd, '['))) {
		cJSON *obj;
		while ((obj = cJSON_DetachItemFromArray(arr, 0)))
			if (phx_jstr(obj, "name") && !cJSON_GetObjectItemCaseSensitive(
			    networks, phx_jstr(obj, "name")))
				cJSON_AddItemToObject(networks, phx_jstr(obj, "name"), obj);
			else
				cJSON_Delete(obj);
		cJSON_Delete(arr);
	}
	if ((n = cJSON_GetObjectItemCaseSensitive(networks, name)))
		return n;
	arr = phx_podman_json(net_args, ops, &why);
	if (!arr) {
		phx_log(PHX_WARN, "%s", why);
		free(why);
		cJSON_AddItemToObject(networks, name, cJSON_CreateObject());
	} else {
		cJSON_AddItemToObject(networks, name,
		    cJSON_DetachItemFromArray(arr, 0));
		cJSON_Delete(arr);
	}
	return cJSON_GetObjectItemCaseSensitive(networks, name);
}

void
engine_free(void)
{
	if (info_fd >= 0) {
		close(info_fd);
		phx_run_kill(&info_run);
		phx_run_free(&info_run);
	}
	if (ps_fd >= 0) {
		close(ps_fd);
		phx_run_kill(&ps_run);
		phx_run_free(&ps_run);
	}
	if (net_fd >= 0) {
		close(net_fd);
		phx_run_kill(&net_run);
		phx_run_free(&net_run);
	}
	cJSON_Delete(secscan.info);
	cJSON_Delete(secscan.containers);
	cJSON_Delete(networks);
}
