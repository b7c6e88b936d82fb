/* Running podman, and what the engine itself reports (podman info,
 * ps, network inspect). */
#include <stdlib.h>
#include <string.h>

#include "secscan.h"

#define PODMAN_TIMEOUT_MS 60000
/* podman's output kept: a batch of INSPECT_BATCH inspect objects, or ps
 * of many thousand containers, is far above phx_run's default 1 MiB */
#define PODMAN_KEEP ((size_t)256 << 20)

static cJSON *networks;         /* name -> podman network inspect object */

/* the reason podman gave, from the last line of its stderr */
static char *
podman_error(const struct phx_run *run, const char **argv, size_t n)
{
	char *tail = phx_tail_lines(run->err.data, run->err.len, 1);
	const char *msg = tail;
	size_t l = strlen(tail);
	/* "podman container inspect", "podman cp": the command, no operand */
	bool sub = n > 2 && argv[2][0] != '-';
	char *why;

	while (l && (tail[l - 1] == '\n' || tail[l - 1] == '\r'))
		tail[--l] = '\0';
	if (strncmp(msg, "Error: ", 7) == 0)
		msg += 7;
	why = phx_asprintf("%s %s%s%s: %s", secscan.podman, argv[1],
	    sub ? " " : "", sub ? argv[2] : "", *msg ? msg : "failed");
	free(tail);
	return why;
}

/* runs podman ARGS...; false with a reason in *why (malloc'd) on failure */
bool
podman(const char *const *args, struct phx_run *run, char **why)
{
	const char **argv;
	size_t n = 0;
	bool ok = false;

	while (args[n])
		n++;
	argv = phx_calloc(n + 2, sizeof *argv);
	argv[0] = secscan.podman;
	memcpy(argv + 1, args, n * sizeof *args);
	n++;
	memset(run, 0, sizeof *run);
	run->argv = argv;
	run->timeout_ms = PODMAN_TIMEOUT_MS;
	run->keep = PODMAN_KEEP;
	if (!phx_run(run)) {
		secscan.podman_missing = true;
		*why = phx_asprintf("%s: %s", secscan.podman, strerror(run->exec_errno));
	} else if (run->timed_out)
		*why = phx_asprintf("%s %s: timed out", secscan.podman, argv[1]);
	else if (run->status != 0)
		*why = podman_error(run, argv, n);
	else
		ok = true;
	run->argv = NULL;
	free(argv);
	return ok;
}

cJSON *
podman_json(const char *const *args, char **why)
{
	struct phx_run run;
	cJSON *out = NULL;

	*why = NULL;
	if (podman(args, &run, why) &&
	    !(out = cJSON_ParseWithLength(run.out.data, run.out.len)))
		*why = phx_asprintf("%s %s: output is not JSON%s", secscan.podman,
		    args[0], run.out.len >= PODMAN_KEEP ? " (more than 256 MiB)" : "");
	phx_run_free(&run);
	return out;
}

void
load_engine(void)
{
	static const char *info[] = { "info", "--format", "json", NULL };
	static const char *ps[] = { "ps", "--format", "json", NULL };
	char *why = NULL;

	secscan.info = podman_json(info, &why);
	if (!secscan.info) {
		phx_log(PHX_ERROR, "%s", why);
		free(why);
		return;
	}
	secscan.containers = podman_json(ps, &why);
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

const cJSON *
network_info(const char *name)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(networks, name);
	const char *args[] = { "network", "inspect", "--", name, NULL };
	char *why = NULL;
	cJSON *arr;

	if (n)
		return n;
	if (!networks)
		networks = cJSON_CreateObject();
	arr = podman_json(args, &why);
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
	cJSON_Delete(secscan.info);
	cJSON_Delete(secscan.containers);
	cJSON_Delete(networks);
}
