/* Running podman: the one wrapper every stage uses.  The program and
 * the timeout come from the configuration; "--" goes before operands so
 * a name like "--latest" or "--help" is never read as an option (and
 * names from records are checked before they get here); a failure is
 * told by the last meaningful line of podman's stderr, redacted. */
#include <stdlib.h>
#include <string.h>

#include "phx.h"

static struct {
	const char *program;
	int64_t timeout_ms;
	bool missing;
} podman = { "podman", PHX_PODMAN_TIMEOUT_MS, false };

void
phx_podman_setup(const cJSON *cfg)
{
	podman.program = phx_cfg_str(cfg, "deployment.podman");
	podman.timeout_ms = phx_cfg_int(cfg, "deployment.podman_timeout", 1,
	    INT64_MAX);
}

const char *
phx_podman_program(void)
{
	return podman.program;
}

bool
phx_podman_missing(void)
{
	return podman.missing;
}

/* "Error: x" and "... error ..." lines say why; other lines (progress,
 * warnings) only when nothing better is there */
static bool
says_error(const char *l)
{
	return strncmp(l, "Error", 5) == 0 || strstr(l, "error") != NULL;
}

char *
phx_error_line(const struct phx_buf *err)
{
	char *t = phx_tail_lines(err->data ? err->data : "", err->len, 8);
	char *best = NULL, *save = NULL, *out;
	bool best_says = false;

	for (char *l = strtok_r(t, "\r\n", &save); l;
	    l = strtok_r(NULL, "\r\n", &save)) {
		if (!*l || (best_says && !says_error(l)))
			continue;
		best = l;
		best_says = says_error(l);
	}
	if (best && strncmp(best, "Error: ", 7) == 0)
		best += 7;
	out = phx_redact(best ? best : "");
	free(t);
	return out;
}

bool
phx_podman_valid_name(const char *s)
{
	size_t n;

	if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
	    (*s >= '0' && *s <= '9')))
		return false;
	n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_.-");
	return s[n] == '\0' && n <= 253;
}

bool
phx_podman_valid_id(const char *s)
{
	size_t n = s ? strspn(s, "0123456789abcdef") : 0;

	return s && s[n] == '\0' && n >= 12 && n <= 64;
}

static void
log_command(const char *const *argv)
{
	struct phx_buf b = { 0 };

	if (!phx_log_enabled(PHX_DEBUG))
		return;
	for (const char *const *a = argv; *a; a++)
		phx_buf_printf(&b, "%s%s", a == argv ? "" : " ", *a);
	phx_log(PHX_DEBUG, "running %s", phx_buf_str(&b));
	phx_buf_free(&b);
}

static char *
failure(const struct phx_run *run, const char *const *args)
{
	char *e, *why;

	if (run->exec_failed)
		return phx_asprintf("%s: %s", podman.program,
		    strerror(run->exec_errno));
	if (run->timed_out)
		return phx_asprintf("%s %s: timed out after %lld ms",
		    podman.program, args[0], (long long)run->timeout_ms);
	e = phx_error_line(&run->err);
	why = phx_asprintf("%s %s%s%s: %s", podman.program, args[0],
	    args[1] && *args[1] != '-' ? " " : "",
	    args[1] && *args[1] != '-' ? args[1] : "",
	    *e ? e : "failed");
	free(e);
	return why;
}

/* podman ARGS -- OPERANDS, malloc'd; the strings are the caller's */
static const char **
podman_argv(const char *const *args, const char *const *operands)
{
	size_t na = 0, no = 0, k = 0;
	const char **argv;

	while (args[na])
		na++;
	while (operands && operands[no])
		no++;
	argv = phx_calloc(na + no + 3, sizeof *argv);
	argv[k++] = podman.program;
	for (size_t i = 0; i < na; i++)
		argv[k++] = args[i];
	if (no)
		argv[k++] = "--";
	for (size_t i = 0; i < no; i++)
		argv[k++] = operands[i];
	log_command(argv);
	return argv;
}

bool
phx_podman(const char *const *args, const char *const *operands,
    struct phx_run *run, char **why)
{
	return phx_podman_stdin(args, operands, NULL, run, why);
}

bool
phx_podman_stdin(const char *const *args, const char *const *operands,
    const char *input, struct phx_run *run, char **why)
{
	const char **argv = podman_argv(args, operands);
	bool ok;

	memset(run, 0, sizeof *run);
	run->argv = argv;
	run->stdin_data = input;
	run->timeout_ms = podman.timeout_ms;
	/* the output is data (inspect of a batch of containers, ps of
	 * thousands): kept whole, far past phx_run's default 1 MiB */
	run->keep = PHX_PODMAN_KEEP;
	phx_run(run);
	run->argv = NULL;
	free(argv);
	if (run->exec_failed)
		podman.missing = true;
	ok = !run->exec_failed && !run->timed_out && run->status == 0;
	if (why)
		*why = ok ? NULL : failure(run, args);
	return ok;
}

bool
phx_podman_start(const char *const *args, const char *const *operands,
    struct phx_run *run, int *fd)
{
	const char **argv = podman_argv(args, operands);
	bool ok;

	memset(run, 0, sizeof *run);
	run->argv = argv;
	ok = phx_run_start(run, fd);   /* posix_spawn copied argv */
	run->argv = NULL;
	free(argv);
	if (!ok)
		podman.missing = true;
	return ok;
}

cJSON *
phx_podman_json(const char *const *args, const char *const *operands,
    char **why)
{
	struct phx_run run;
	cJSON *out = NULL;

	if (phx_podman(args, operands, &run, why) &&
	    !(out = cJSON_ParseWithLength(run.out.data, run.out.len)))
		*why = phx_asprintf("%s %s: output is not JSON", podman.program,
		    args[0]);
	phx_run_free(&run);
	return out;
}

cJSON *
phx_podman_project_ps(const char *project, char **why)
{
	const char *args[] = { "ps", "-a", "--format", "json", "--filter", NULL,
	    NULL };
	char *filter;
	cJSON *list;

	if (!phx_podman_valid_name(project)) {
		*why = phx_asprintf("invalid project name \"%s\"", project);
		return NULL;
	}
	filter = phx_asprintf("label=%s=%s", PHX_LABEL_PROJECT, project);
	args[5] = filter;
	list = phx_podman_json(args, NULL, why);
	free(filter);
	if (list && !cJSON_IsArray(list)) {
		cJSON_Delete(list);
		*why = phx_asprintf("%s ps: output is not a list", podman.program);
		return NULL;
	}
	return list;
}

const char *
phx_podman_label(const cJSON *ps_entry, const char *key)
{
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(ps_entry, "Labels");

	if (!labels)   /* an inspect object keeps them in its Config */
		labels = phx_cfg(ps_entry, "Config.Labels");
	return phx_jstr(labels, key);
}

static void
add_ports(cJSON *out, const cJSON *ports)
{
	const cJSON *p, *b;

	cJSON_ArrayForEach(p, ports) {
		const char *slash = strchr(p->string, '/');
		cJSON_ArrayForEach(b, p) {
			cJSON *o = cJSON_CreateObject();
			const char *ip = phx_jstr(b, "HostIp");
			const char *hp = phx_jstr(b, "HostPort");
			cJSON_AddStringToObject(o, "host_ip", ip ? ip : "");
			cJSON_AddNumberToObject(o, "host_port", hp ? atoi(hp) : 0);
			cJSON_AddNumberToObject(o, "container_port", atoi(p->string));
			cJSON_AddStringToObject(o, "protocol", slash ? slash + 1 : "tcp");
			cJSON_AddItemToArray(out, o);
		}
	}
}

cJSON *
phx_podman_ports(const cJSON *info, const char **field)
{
	cJSON *out = cJSON_CreateArray();

	add_ports(out, phx_cfg(info, "NetworkSettings.Ports"));
	if (field)
		*field = "NetworkSettings.Ports";
	if (!cJSON_GetArraySize(out)) {
		/* a container never started has no runtime ports */
		add_ports(out, phx_cfg(info, "HostConfig.PortBindings"));
		if (field && cJSON_GetArraySize(out))
			*field = "HostConfig.PortBindings";
	}
	return out;
}
