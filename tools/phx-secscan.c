/* phx-secscan: security checks of a deployment's containers, from what
 * Podman itself reports (podman inspect, info, network inspect, the OCI
 * runtime config), as finding records; see phx-secscan(1).  Scanning
 * starts when the input ends: by then upstream stages have confirmed the
 * containers run and the TLS endpoints answer. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yaml.h>

#include "phx.h"

#define PODMAN_TIMEOUT_MS 60000
#define TLS_TIMEOUT_MS 10000
#define SCAN_TIMEOUT_MS 600000
#define LEGACY_CIPHERS "DEFAULT:@SECLEVEL=0"

enum status { ST_PASS, ST_INFO, ST_SKIP, ST_WARN, ST_FAIL, ST_N };
enum sev { SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL, SEV_NONE,
	SEV_RULE = -1 };

static const char *status_names[] = { "PASS", "INFO", "SKIP", "WARN", "FAIL" };
static const char *sev_names[] = { "LOW", "MEDIUM", "HIGH", "CRITICAL", "NONE" };
/* GitHub code scanning ranks SARIF results by this number */
static const char *sev_score[] = { "2.0", "5.5", "8.0", "9.5", "0.0" };

enum rule_id {
	R_ROOTLESS, R_USER, R_USERNS, R_PRIVILEGED, R_CAPADD, R_CAPDEFAULT,
	R_NNP, R_READONLY, R_HEALTH, R_HOSTNET, R_HOSTPID, R_HOSTIPC, R_HOSTUTS,
	R_SECCOMP, R_MOUNTS, R_SOCKET, R_NETDECL, R_NETDEFAULT, R_REACH,
	R_PORT, R_PRIVPORT, R_MEMORY, R_CPU, R_PIDS, R_TLSCHAIN, R_TLSHOST,
	R_TLSLEGACY, R_TLSEXPIRY, R_VULN, R_N
};

struct rule {
	const char *id, *cis, *title, *remediation;
	enum sev severity;
	bool enabled;
	bool forced;          /* severity set in security.yaml */
};

static struct rule rules[R_N] = {
	[R_ROOTLESS] = { "PHX-SEC-001", NULL, "Container engine runs rootless",
	    "Run Podman as an unprivileged user (rootless mode).", SEV_MEDIUM, true, false },
	[R_USER] = { "PHX-SEC-002", "4.1", "Container process runs as a non-root user",
	    "Set USER in the image or user: in the compose service to a non-zero uid.",
	    SEV_HIGH, true, false },
	[R_USERNS] = { "PHX-SEC-003", "5.31", "Container has its own user namespace",
	    "Map container uids away from the host's (--userns=auto, --uidmap) "
	    "or run the engine rootless.", SEV_MEDIUM, true, false },
	[R_PRIVILEGED] = { "PHX-SEC-004", "5.5", "Container is not privileged",
	    "Remove --privileged / privileged: true.", SEV_CRITICAL, true, false },
	[R_CAPADD] = { "PHX-SEC-005", "5.4",
	    "No capabilities beyond the engine's default set",
	    "Remove cap_add entries; grant only what the process needs.",
	    SEV_HIGH, true, false },
	[R_CAPDEFAULT] = { "PHX-SEC-006", "5.4",
	    "Default capabilities dropped",
	    "cap_drop: [ALL], then cap_add only what the process needs.",
	    SEV_LOW, true, false },
	[R_NNP] = { "PHX-SEC-007", "5.26", "no-new-privileges is set",
	    "Add security_opt: [no-new-privileges] (--security-opt no-new-privileges).",
	    SEV_MEDIUM, true, false },
	[R_READONLY] = { "PHX-SEC-008", "5.13", "Root filesystem is read-only",
	    "Set read_only: true (--read-only); mount tmpfs or volumes where "
	    "the process must write.", SEV_MEDIUM, true, false },
	[R_HEALTH] = { "PHX-SEC-009", "4.6", "A health check is defined",
	    "Add HEALTHCHECK to the image or healthcheck: to the service.",
	    SEV_LOW, true, false },
	[R_HOSTNET] = { "PHX-SEC-010", "5.10", "Host network namespace not shared",
	    "Remove network_mode: host (--network host).", SEV_HIGH, true, false },
	[R_HOSTPID] = { "PHX-SEC-011", "5.16", "Host PID namespace not shared",
	    "Remove pid: host (--pid host).", SEV_HIGH, true, false },
	[R_HOSTIPC] = { "PHX-SEC-012", "5.17", "Host IPC namespace not shared",
	    "Remove ipc: host (--ipc host).", SEV_MEDIUM, true, false },
	[R_HOSTUTS] = { "PHX-SEC-013", "5.21", "Host UTS namespace not shared",
	    "Remove uts: host (--uts host).", SEV_MEDIUM, true, false },
	[R_SECCOMP] = { "PHX-SEC-014", "5.22", "Seccomp profile is not disabled",
	    "Remove seccomp=unconfined from security_opt.", SEV_HIGH, true, false },
	[R_MOUNTS] = { "PHX-SEC-020", "5.6", "No sensitive host directory mounted",
	    "Do not bind-mount host system directories; use named volumes.",
	    SEV_HIGH, true, false },
	[R_SOCKET] = { "PHX-SEC-021", "5.32", "Container engine socket not mounted",
	    "Never mount the Podman or Docker socket into a container.",
	    SEV_CRITICAL, true, false },
	[R_NETDECL] = { "PHX-SEC-030", NULL,
	    "Attached only to the networks its compose service declares",
	    "Disconnect the container from undeclared networks "
	    "(podman network disconnect) and redeploy from the compose file.",
	    SEV_HIGH, true, false },
	[R_NETDEFAULT] = { "PHX-SEC-031", NULL,
	    "Not attached to the default podman network",
	    "Attach the service to a user-defined network.", SEV_MEDIUM, true, false },
	[R_REACH] = { "PHX-SEC-032", NULL,
	    "Reachable only by containers of its own project",
	    "Keep each project on its own networks; mark back-end networks "
	    "internal: true.", SEV_MEDIUM, true, false },
	[R_PORT] = { "PHX-SEC-040", "5.14",
	    "Published port bound to a specific host interface",
	    "Publish on 127.0.0.1 (\"127.0.0.1:HOST:CONTAINER\") unless the "
	    "port must be reached from other hosts.", SEV_HIGH, true, false },
	[R_PRIVPORT] = { "PHX-SEC-041", "5.8", "No privileged host port published",
	    "Publish on a host port above 1023.", SEV_LOW, true, false },
	[R_MEMORY] = { "PHX-SEC-050", "5.11", "Memory limit set",
	    "Set mem_limit (--memory).", SEV_MEDIUM, true, false },
	[R_CPU] = { "PHX-SEC-051", "5.12", "CPU limit set",
	    "Set cpus (--cpus).", SEV_MEDIUM, true, false },
	[R_PIDS] = { "PHX-SEC-052", "5.29", "PIDs limit set",
	    "Set pids_limit (--pids-limit); podman-compose 1.0.3 ignores "
	    "pids_limit, so lower the engine default (pids_limit in "
	    "containers.conf) instead.", SEV_MEDIUM, true, false },
	[R_TLSCHAIN] = { "PHX-SEC-060", NULL, "TLS certificate chain verifies",
	    "Serve a certificate issued by a CA the clients trust, with the "
	    "whole chain.", SEV_HIGH, true, false },
	[R_TLSHOST] = { "PHX-SEC-061", NULL, "TLS certificate matches the host name",
	    "Issue the certificate with the service's host name in "
	    "subjectAltName.", SEV_HIGH, true, false },
	[R_TLSLEGACY] = { "PHX-SEC-062", NULL, "TLS 1.0 and 1.1 refused",
	    "Set the server's minimum protocol to TLS 1.2.", SEV_MEDIUM, true, false },
	[R_TLSEXPIRY] = { "PHX-SEC-063", NULL, "TLS certificate not near expiry",
	    "Renew the certificate.", SEV_HIGH, true, false },
	[R_VULN] = { "PHX-SEC-070", NULL, "Image has no known vulnerabilities",
	    "Rebuild the image on updated packages.", SEV_HIGH, true, false },
};

/* what a finding is about */
struct subject {
	const char *service, *container, *target, *image;
};

struct target {
	char *ref;            /* what was asked for: container id or name */
	char *service;        /* compose service, when known */
	bool from_argv;
	cJSON *inspect;       /* podman inspect object */
	cJSON *oci;           /* the OCI runtime config, when readable */
	const char *name, *project;
	struct target *next;
};

struct tls_target {
	char *url, *service, *ca_file;
	struct tls_target *next;
};

static struct {
	cJSON *cfg;
	const char *podman;
	enum sev fail_on;
	const char *sarif;
	const char *compose_file;
	const char *project;
	const char *scanner;
	char *stream_compose, *stream_project;
	cJSON *compose;          /* the parsed compose file */
	cJSON *compose_lines;    /* service name -> line */
	cJSON *info;             /* podman info */
	cJSON *containers;       /* podman ps -a: everything, for reachability */
	cJSON *networks;         /* name -> podman network inspect object */
	cJSON *ignore;
	cJSON *results;          /* SARIF results */
	struct target *targets;
	struct tls_target *tls;
	int counts[ST_N];
	int ignored, errors, scanned;
	bool failed;             /* a FAIL at or above fail_on */
	bool missing_argv;       /* a container named on the command line is gone */
} S;

static void
usage(FILE *f)
{
	fprintf(f, "usage: phx-secscan [-hqVv] [-c FILE] [-f COMPOSE] [-p PROJECT] "
	    "[-t HOST:PORT] [--fail-on SEVERITY] [--sarif FILE] [--scanner NAME] "
	    "[CONTAINER ...]\n");
}

/* ---- small helpers ---- */

static int
sev_parse(const char *s)
{
	for (int i = SEV_LOW; i <= SEV_NONE; i++)
		if (strcasecmp(s, sev_names[i]) == 0)
			return i;
	return -1;
}

static int
rule_find(const char *id)
{
	for (int i = 0; i < R_N; i++)
		if (strcasecmp(rules[i].id, id) == 0)
			return i;
	return -1;
}

static bool
str_in_array(const cJSON *arr, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return true;
	return false;
}

static void
add_unique(cJSON *arr, const char *s)
{
	if (!str_in_array(arr, s))
		cJSON_AddItemToArray(arr, cJSON_CreateString(s));
}

/* a path into an inspect object: "HostConfig.Memory" */
static const cJSON *
jpath(const cJSON *obj, const char *path)
{
	return phx_cfg(obj, path);
}

static const char *
jpath_str(const cJSON *obj, const char *path)
{
	const cJSON *v = jpath(obj, path);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
jpath_num(const cJSON *obj, const char *path)
{
	const cJSON *v = jpath(obj, path);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static cJSON *
dup_or_null(const cJSON *v)
{
	return v ? cJSON_Duplicate(v, true) : cJSON_CreateNull();
}

static bool
is_loopback(const char *ip)
{
	return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0 ||
	    strcasecmp(ip, "localhost") == 0;
}

static bool
all_interfaces(const char *ip)
{
	return !*ip || strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0;
}

/* ---- findings ---- */

static bool
is_ignored(int r, const struct subject *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, S.ignore) {
		const char *e = it->valuestring, *colon = strchr(e, ':');
		size_t idlen = colon ? (size_t)(colon - e) : strlen(e);

		if (strlen(rules[r].id) != idlen ||
		    strncasecmp(rules[r].id, e, idlen) != 0)
			continue;
		if (!colon)
			return true;
		colon++;
		if ((s->service && strcmp(colon, s->service) == 0) ||
		    (s->container && strcmp(colon, s->container) == 0) ||
		    (s->target && strcmp(colon, s->target) == 0))
			return true;
	}
	return false;
}

static const char *
sarif_level(enum status st)
{
	switch (st) {
	case ST_FAIL: return "error";
	case ST_WARN: return "warning";
	case ST_INFO: return "note";
	default: return "none";
	}
}

static cJSON *
sarif_location(const struct subject *s)
{
	cJSON *loc = cJSON_CreateObject(), *logical = cJSON_CreateArray();
	cJSON *ll = cJSON_CreateObject();
	const char *file = S.compose_file ? S.compose_file : S.stream_compose;
	const cJSON *line = s->service ?
	    cJSON_GetObjectItemCaseSensitive(S.compose_lines, s->service) : NULL;

	if (file && cJSON_IsNumber(line)) {
		cJSON *phys = cJSON_AddObjectToObject(loc, "physicalLocation");
		cJSON *art = cJSON_AddObjectToObject(phys, "artifactLocation");
		cJSON *reg = cJSON_AddObjectToObject(phys, "region");
		cJSON_AddStringToObject(art, "uri", file);
		cJSON_AddNumberToObject(reg, "startLine", line->valuedouble);
	}
	cJSON_AddStringToObject(ll, "name", s->container ? s->container :
	    s->target ? s->target : s->image ? s->image : "podman");
	cJSON_AddStringToObject(ll, "kind", "resource");
	if (s->service)
		cJSON_AddStringToObject(ll, "fullyQualifiedName", s->service);
	cJSON_AddItemToArray(logical, ll);
	cJSON_AddItemToObject(loc, "logicalLocations", logical);
	return loc;
}

static void
sarif_add(int r, enum status st, enum sev sev, const struct subject *s,
    const char *msg, const cJSON *evidence)
{
	cJSON *res, *props, *locs;

	if (!S.results || st == ST_PASS)
		return;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "ruleId", rules[r].id);
	cJSON_AddNumberToObject(res, "ruleIndex", r);
	if (st == ST_SKIP)
		cJSON_AddStringToObject(res, "kind", "notApplicable");
	else if (st == ST_INFO)
		cJSON_AddStringToObject(res, "kind", "informational");
	cJSON_AddStringToObject(res, "level", sarif_level(st));
	cJSON_AddObjectToObject(res, "message");
	cJSON_AddStringToObject(cJSON_GetObjectItem(res, "message"), "text", msg);
	locs = cJSON_AddArrayToObject(res, "locations");
	cJSON_AddItemToArray(locs, sarif_location(s));
	props = cJSON_AddObjectToObject(res, "properties");
	cJSON_AddStringToObject(props, "status", status_names[st]);
	cJSON_AddStringToObject(props, "severity", sev_names[sev]);
	cJSON_AddStringToObject(props, "security-severity", sev_score[sev]);
	cJSON_AddItemToObject(props, "evidence", cJSON_Duplicate(evidence, true));
	cJSON_AddItemToArray(S.results, res);
}

/* emits one finding; value is consumed */
static void __attribute__((format(printf, 7, 8)))
finding(int r, const struct subject *s, enum status st, int sev,
    const char *field, cJSON *value, const char *fmt, ...)
{
	struct rule *ru = &rules[r];
	cJSON *rec, *ev;
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!ru->enabled || is_ignored(r, s)) {
		phx_log(PHX_DEBUG, "%s %s%s%s ignored by configuration: %s", ru->id,
		    status_names[st], s->container ? " " : "",
		    s->container ? s->container : "", msg);
		S.ignored++;
		cJSON_Delete(value);
		return;
	}
	/* a severity set in security.yaml wins over the check's own */
	if (sev == SEV_RULE || ru->forced || st == ST_PASS || st == ST_SKIP)
		sev = ru->severity;
	rec = phx_record_new("finding");
	cJSON_AddStringToObject(rec, "id", ru->id);
	if (ru->cis)
		cJSON_AddStringToObject(rec, "cis", ru->cis);
	if (s->service)
		cJSON_AddStringToObject(rec, "service", s->service);
	if (s->container)
		cJSON_AddStringToObject(rec, "container", s->container);
	if (s->target)
		cJSON_AddStringToObject(rec, "target", s->target);
	if (s->image)
		cJSON_AddStringToObject(rec, "image", s->image);
	cJSON_AddStringToObject(rec, "status", status_names[st]);
	cJSON_AddStringToObject(rec, "severity", sev_names[sev]);
	cJSON_AddStringToObject(rec, "title", ru->title);
	cJSON_AddStringToObject(rec, "message", msg);
	ev = cJSON_AddObjectToObject(rec, "evidence");
	cJSON_AddStringToObject(ev, "field", field);
	cJSON_AddItemToObject(ev, "value", value ? value : cJSON_CreateNull());
	if (st != ST_PASS)
		cJSON_AddStringToObject(rec, "remediation", ru->remediation);
	sarif_add(r, st, (enum sev)sev, s, msg, ev);
	S.counts[st]++;
	if (st == ST_FAIL && sev >= (int)S.fail_on && S.fail_on != SEV_NONE)
		S.failed = true;
	phx_emit(rec);
}

/* ---- podman ---- */

static bool podman_missing;

/* the reason podman gave, from the last line of its stderr */
static char *
podman_error(const struct phx_run *run, const char **argv, size_t n)
{
	char *tail = phx_tail_lines(run->err.data, run->err.len, 1);
	const char *msg = tail;
	size_t l = strlen(tail);
	char *why;

	while (l && (tail[l - 1] == '\n' || tail[l - 1] == '\r'))
		tail[--l] = '\0';
	if (strncmp(msg, "Error: ", 7) == 0)
		msg += 7;
	why = phx_asprintf("%s %s%s%s: %s", S.podman, argv[1],
	    n > 2 ? " " : "", n > 2 ? argv[2] : "", *msg ? msg : "failed");
	free(tail);
	return why;
}

/* runs podman ARGS...; false with a reason in *why (malloc'd) on failure */
static bool
podman(const char *const *args, struct phx_run *run, char **why)
{
	const char **argv;
	size_t n = 0;
	bool ok = false;

	while (args[n])
		n++;
	argv = phx_calloc(n + 2, sizeof *argv);
	argv[0] = S.podman;
	memcpy(argv + 1, args, n * sizeof *args);
	n++;
	memset(run, 0, sizeof *run);
	run->argv = argv;
	run->timeout_ms = PODMAN_TIMEOUT_MS;
	if (!phx_run(run)) {
		podman_missing = true;
		*why = phx_asprintf("%s: %s", S.podman, strerror(run->exec_errno));
	} else if (run->timed_out)
		*why = phx_asprintf("%s %s: timed out", S.podman, argv[1]);
	else if (run->status != 0)
		*why = podman_error(run, argv, n);
	else
		ok = true;
	run->argv = NULL;
	free(argv);
	return ok;
}

static cJSON *
podman_json(const char *const *args, char **why)
{
	struct phx_run run;
	cJSON *out = NULL;

	*why = NULL;
	if (podman(args, &run, why) &&
	    !(out = cJSON_ParseWithLength(run.out.data, run.out.len)))
		*why = phx_asprintf("%s %s: output is not JSON", S.podman, args[0]);
	phx_run_free(&run);
	return out;
}

static void
load_engine(void)
{
	static const char *info[] = { "info", "--format", "json", NULL };
	static const char *ps[] = { "ps", "--format", "json", NULL };
	char *why = NULL;

	S.info = podman_json(info, &why);
	if (!S.info) {
		phx_log(PHX_ERROR, "%s", why);
		free(why);
		return;
	}
	S.containers = podman_json(ps, &why);
	if (!S.containers) {
		phx_log(PHX_WARN, "%s", why);
		free(why);
	}
}

/* the engine's default capability set, as podman info reports it */
static cJSON *
default_caps(void)
{
	const char *s = jpath_str(S.info, "host.security.capabilities");
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

static void
adopt_inspect(struct target *t, cJSON *obj)
{
	const cJSON *labels;
	const char *oci;
	char *text;

	t->inspect = obj;
	t->name = jpath_str(t->inspect, "Name");
	labels = jpath(t->inspect, "Config.Labels");
	t->project = phx_jstr(labels, "io.podman.compose.project");
	if (!t->service && phx_jstr(labels, "com.docker.compose.service"))
		t->service = phx_strdup(phx_jstr(labels, "com.docker.compose.service"));
	/* the runtime config tells which namespaces really exist; podman 4.3's
	 * inspect reports IpcMode "shareable" even for --ipc host */
	oci = jpath_str(t->inspect, "OCIConfigPath");
	if (oci && (text = phx_read_file(oci, NULL))) {
		t->oci = cJSON_Parse(text);
		free(text);
	}
}

static bool
inspect_target(struct target *t, char **why)
{
	const char *args[] = { "container", "inspect", t->ref, NULL };
	cJSON *arr = podman_json(args, why), *obj;

	if (!arr)
		return false;
	obj = cJSON_DetachItemFromArray(arr, 0);
	cJSON_Delete(arr);
	if (!cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		*why = phx_asprintf("%s: podman returned no container", t->ref);
		return false;
	}
	adopt_inspect(t, obj);
	return true;
}

/* one podman call for all; when one is gone, podman fails the lot and
 * each is asked alone for its own error */
static void
inspect_batch(void)
{
	const char **args;
	size_t n = 0, i = 2;
	char *why = NULL;
	cJSON *arr;

	for (struct target *t = S.targets; t; t = t->next)
		n++;
	args = phx_calloc(n + 3, sizeof *args);
	args[0] = "container";
	args[1] = "inspect";
	for (struct target *t = S.targets; t; t = t->next)
		args[i++] = t->ref;
	arr = podman_json(args, &why);
	free(args);
	free(why);
	if (cJSON_GetArraySize(arr) == (int)n)
		for (struct target *t = S.targets; t; t = t->next)
			adopt_inspect(t, cJSON_DetachItemFromArray(arr, 0));
	cJSON_Delete(arr);
}

/* 1: the runtime config creates namespace TYPE, 0: it shares the host's,
 * -1: unknown */
static int
oci_ns(const struct target *t, const char *type)
{
	const cJSON *ns = jpath(t->oci, "linux.namespaces"), *it;

	if (!cJSON_IsArray(ns))
		return -1;
	cJSON_ArrayForEach(it, ns)
		if (phx_jstr(it, "type") && strcmp(phx_jstr(it, "type"), type) == 0)
			return 1;
	return 0;
}

static cJSON *
oci_ns_list(const struct target *t)
{
	const cJSON *ns = jpath(t->oci, "linux.namespaces"), *it;
	cJSON *out = cJSON_CreateArray();

	cJSON_ArrayForEach(it, ns)
		if (phx_jstr(it, "type"))
			add_unique(out, phx_jstr(it, "type"));
	return out;
}

/* a user's uid from the container's own /etc/passwd; podman cp works on
 * stopped containers too and runs nothing inside the container */
static long
passwd_uid(const struct target *t, const char *user, char **why)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = phx_asprintf("%s/phx-secscan.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	char *src = NULL, *dst = NULL, *text = NULL, *save = NULL;
	struct phx_run run;
	long uid = -1;

	if (!mkdtemp(dir)) {
		*why = phx_asprintf("%s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	src = phx_asprintf("%s:/etc/passwd", jpath_str(t->inspect, "Id"));
	dst = phx_asprintf("%s/passwd", dir);
	{
		const char *args[] = { "cp", src, dst, NULL };
		if (podman(args, &run, why))
			text = phx_read_file(dst, NULL);
		phx_run_free(&run);
	}
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l;
	    l = strtok_r(NULL, "\n", &save)) {
		char *f[4] = { 0 }, *p = l;
		for (int i = 0; i < 4 && p; i++) {
			f[i] = p;
			if ((p = strchr(p, ':')))
				*p++ = '\0';
		}
		if (f[2] && strcmp(f[0], user) == 0) {
			uid = strtol(f[2], NULL, 10);
			break;
		}
	}
	if (text && uid < 0 && !*why)
		*why = phx_asprintf("no user \"%s\" in the image's /etc/passwd", user);
	unlink(dst);
	rmdir(dir);
	free(text);
	free(src);
	free(dst);
	free(dir);
	return uid;
}

/* ---- the compose file ---- */

/* service name -> line of its key, for SARIF locations */
static cJSON *
service_lines(const char *file)
{
	FILE *f = fopen(file, "rb");
	cJSON *lines = cJSON_CreateObject();
	yaml_parser_t p;
	yaml_document_t doc;
	yaml_node_t *root;

	if (!f)
		return lines;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	if (!yaml_parser_load(&p, &doc))
		goto out;
	root = yaml_document_get_root_node(&doc);
	for (yaml_node_pair_t *kv = root && root->type == YAML_MAPPING_NODE ?
	    root->data.mapping.pairs.start : NULL;
	    kv && kv < root->data.mapping.pairs.top; kv++) {
		yaml_node_t *k = yaml_document_get_node(&doc, kv->key);
		yaml_node_t *v = yaml_document_get_node(&doc, kv->value);
		if (k->type != YAML_SCALAR_NODE || v->type != YAML_MAPPING_NODE ||
		    strcmp((char *)k->data.scalar.value, "services") != 0)
			continue;
		for (yaml_node_pair_t *s = v->data.mapping.pairs.start;
		    s < v->data.mapping.pairs.top; s++) {
			yaml_node_t *sk = yaml_document_get_node(&doc, s->key);
			if (sk->type == YAML_SCALAR_NODE)
				cJSON_AddNumberToObject(lines,
				    (char *)sk->data.scalar.value,
				    (double)sk->start_mark.line + 1);
		}
	}
	yaml_document_delete(&doc);
out:
	yaml_parser_delete(&p);
	fclose(f);
	return lines;
}

static const char *
compose_path(void)
{
	if (S.compose_file)
		return S.compose_file;
	if (S.stream_compose)
		return S.stream_compose;
	return phx_cfg_str(S.cfg, "deployment.compose_file", NULL);
}

static bool
load_compose(bool must)
{
	static bool tried;
	const char *file = compose_path();
	char *err = NULL;

	if (!file || tried)
		return false;
	tried = true;
	S.compose = phx_compose_load(file, &err);
	if (!S.compose) {
		if (must)
			phx_die(PHX_EXIT_USAGE, "%s", err);
		phx_log(PHX_WARN, "%s; network declarations not checked", err);
		free(err);
		return false;
	}
	S.compose_lines = service_lines(file);
	return true;
}

/* the podman network name of compose network KEY, as podman-compose
 * 1.0.3 names it */
static char *
network_name(const char *key, const char *project)
{
	const cJSON *desc = jpath(S.compose, "networks");
	const cJSON *ext;
	const char *name;

	desc = cJSON_GetObjectItemCaseSensitive(desc, key);
	ext = cJSON_GetObjectItemCaseSensitive(desc, "external");
	if ((name = phx_jstr(ext, "name")) || (name = phx_jstr(desc, "name")))
		return phx_strdup(name);
	if (cJSON_IsTrue(ext) || cJSON_IsObject(ext))
		return phx_strdup(key);
	return phx_asprintf("%s_%s", project ? project : "", key);
}

/* the networks service SVC is declared on, as podman network names;
 * NULL when the compose file has no such service */
static cJSON *
declared_networks(const char *svc, const char *project)
{
	const cJSON *srv = jpath(S.compose, "services");
	const cJSON *nets = jpath(S.compose, "networks"), *it, *list;
	cJSON *out;
	const char *dflt = NULL;

	srv = cJSON_GetObjectItemCaseSensitive(srv, svc);
	if (!cJSON_IsObject(srv))
		return NULL;
	out = cJSON_CreateArray();
	if (phx_jstr(srv, "network_mode"))
		return out;   /* host/none/container:X: no compose networks */
	if (cJSON_GetArraySize(nets) == 1)
		dflt = nets->child->string;
	else if (!cJSON_GetArraySize(nets) ||
	    cJSON_GetObjectItemCaseSensitive(nets, "default"))
		dflt = "default";
	list = cJSON_GetObjectItemCaseSensitive(srv, "networks");
	cJSON_ArrayForEach(it, list) {
		const char *key = cJSON_IsString(it) ? it->valuestring : it->string;
		if (key) {
			char *n = network_name(key, project);
			add_unique(out, n);
			free(n);
		}
	}
	if (!cJSON_GetArraySize(list) && dflt) {
		char *n = network_name(dflt, project);
		add_unique(out, n);
		free(n);
	}
	return out;
}

/* whether the compose file declares podman network NAME internal */
static bool
declared_internal(const char *name, const char *project)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, jpath(S.compose, "networks")) {
		char *n = network_name(it->string, project);
		bool match = strcmp(n, name) == 0;
		free(n);
		if (match)
			return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it,
			    "internal"));
	}
	return false;
}

/* ---- checks of one container ---- */

static void
check_rootless(void)
{
	const struct subject s = { 0 };
	const cJSON *v = jpath(S.info, "host.security.rootless");

	if (cJSON_IsTrue(v))
		finding(R_ROOTLESS, &s, ST_PASS, SEV_RULE,
		    "podman info .host.security.rootless", dup_or_null(v),
		    "Podman runs rootless");
	else
		finding(R_ROOTLESS, &s, ST_WARN, SEV_RULE,
		    "podman info .host.security.rootless", dup_or_null(v),
		    "Podman runs as root: a container escape lands as root on "
		    "the host");
}

/* returns the uid the process runs as, -1 when unknown */
static long
check_user(const struct target *t, const struct subject *s)
{
	const char *user = jpath_str(t->inspect, "Config.User");
	char name[256], *end, *why = NULL;
	long uid;

	if (!user)
		user = "";
	snprintf(name, sizeof name, "%.*s", (int)strcspn(user, ":"), user);
	if (!*name) {
		finding(R_USER, s, ST_FAIL, SEV_RULE, ".Config.User",
		    cJSON_CreateString(user),
		    "no user set: the process runs as root (uid 0)");
		return 0;
	}
	uid = strtol(name, &end, 10);
	if (*end || end == name) {
		uid = passwd_uid(t, name, &why);
		if (uid < 0 && strcmp(name, "root") == 0)
			uid = 0;
	}
	if (uid < 0)
		finding(R_USER, s, ST_WARN, SEV_RULE, ".Config.User",
		    cJSON_CreateString(user), "user \"%s\" could not be resolved: %s",
		    name, why ? why : "unknown");
	else if (uid == 0)
		finding(R_USER, s, ST_FAIL, SEV_RULE, ".Config.User",
		    cJSON_CreateString(user), "runs as root (user \"%s\" is uid 0)",
		    user);
	else
		finding(R_USER, s, ST_PASS, SEV_RULE, ".Config.User",
		    cJSON_CreateString(user), "runs as uid %ld%s%s%s", uid,
		    isdigit((unsigned char)*name) ? "" : " (",
		    isdigit((unsigned char)*name) ? "" : name,
		    isdigit((unsigned char)*name) ? "" : ")");
	free(why);
	return uid;
}

static void
check_userns(const struct target *t, const struct subject *s, long uid)
{
	const char *mode = jpath_str(t->inspect, "HostConfig.UsernsMode");
	const cJSON *map = jpath(t->inspect, "HostConfig.IDMappings.UidMap");
	int own = oci_ns(t, "user");

	if (!mode)
		mode = "";
	if (cJSON_IsTrue(jpath(S.info, "host.security.rootless")))
		finding(R_USERNS, s, ST_PASS, SEV_RULE, ".HostConfig.UsernsMode",
		    cJSON_CreateString(mode), "rootless engine: container uids map "
		    "to the user's subordinate ids");
	else if (own == 1 || (own < 0 && *mode && strcmp(mode, "host") != 0))
		finding(R_USERNS, s, ST_PASS, SEV_RULE,
		    ".HostConfig.IDMappings.UidMap", dup_or_null(map),
		    "own user namespace (UsernsMode \"%s\")", mode);
	else
		finding(R_USERNS, s, ST_WARN, SEV_RULE, ".HostConfig.UsernsMode",
		    cJSON_CreateString(mode), "shares the host's user namespace on "
		    "a rootful engine: uid %ld in the container is uid %ld on the "
		    "host", uid < 0 ? 0 : uid, uid < 0 ? 0 : uid);
}

static void
check_privileged(const struct target *t, const struct subject *s)
{
	const cJSON *v = jpath(t->inspect, "HostConfig.Privileged");

	if (cJSON_IsTrue(v))
		finding(R_PRIVILEGED, s, ST_FAIL, SEV_RULE, ".HostConfig.Privileged",
		    dup_or_null(v), "privileged: every capability, every device, "
		    "no seccomp");
	else
		finding(R_PRIVILEGED, s, ST_PASS, SEV_RULE, ".HostConfig.Privileged",
		    dup_or_null(v), "not privileged");
}

static char *
join(const cJSON *arr)
{
	struct phx_buf b = { 0 };
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it))
			phx_buf_printf(&b, "%s%s", b.len ? ", " : "", it->valuestring);
	if (!b.len)
		phx_buf_addstr(&b, "none");
	phx_buf_str(&b);
	return b.data;
}

/* podman 4.3 derives CapAdd/CapDrop from the bounding set (a privileged
 * container shows CapAdd []), so the sets themselves are the evidence */
static void
check_caps(const struct target *t, const struct subject *s)
{
	static const char *sets[] = { "HostConfig.CapAdd", "EffectiveCaps",
	    "BoundingCaps" };
	cJSON *dflt = default_caps(), *extra = cJSON_CreateArray();
	cJSON *kept = cJSON_CreateArray(), *first = NULL;
	const char *first_set = NULL;
	const cJSON *it;
	char *list;

	for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
		cJSON *mine = cJSON_CreateArray();
		cJSON_ArrayForEach(it, jpath(t->inspect, sets[i])) {
			if (!cJSON_IsString(it))
				continue;
			if (str_in_array(dflt, it->valuestring)) {
				if (i > 0)
					add_unique(kept, it->valuestring);
				continue;
			}
			add_unique(mine, it->valuestring);
			add_unique(extra, it->valuestring);
		}
		if (!first && cJSON_GetArraySize(mine)) {
			first = mine;
			first_set = sets[i];
		} else
			cJSON_Delete(mine);
	}
	list = join(extra);
	if (first) {
		char *field = phx_asprintf(".%s", first_set);
		finding(R_CAPADD, s, ST_FAIL, SEV_RULE, field, first,
		    "capabilities beyond the engine's default set: %s", list);
		free(field);
	} else
		finding(R_CAPADD, s, ST_PASS, SEV_RULE, ".HostConfig.CapAdd",
		    dup_or_null(jpath(t->inspect, "HostConfig.CapAdd")),
		    "no capability beyond the engine's default set");
	free(list);
	list = join(kept);
	if (cJSON_GetArraySize(kept))
		finding(R_CAPDEFAULT, s, ST_INFO, SEV_RULE, ".BoundingCaps",
		    cJSON_Duplicate(kept, true), "keeps %d of the engine's %d "
		    "default capabilities: %s", cJSON_GetArraySize(kept),
		    cJSON_GetArraySize(dflt), list);
	else
		finding(R_CAPDEFAULT, s, ST_PASS, SEV_RULE, ".BoundingCaps",
		    cJSON_CreateArray(), "no capability left in the bounding set");
	free(list);
	cJSON_Delete(dflt);
	cJSON_Delete(extra);
	cJSON_Delete(kept);
}

static bool
secopt(const struct target *t, const char *prefix)
{
	const cJSON *it;
	size_t n = strlen(prefix);

	cJSON_ArrayForEach(it, jpath(t->inspect, "HostConfig.SecurityOpt"))
		if (cJSON_IsString(it) && strncmp(it->valuestring, prefix, n) == 0 &&
		    !strstr(it->valuestring + n, "false"))
			return true;
	return false;
}

static void
check_secopts(const struct target *t, const struct subject *s)
{
	const cJSON *opts = jpath(t->inspect, "HostConfig.SecurityOpt");
	const cJSON *ro = jpath(t->inspect, "HostConfig.ReadonlyRootfs");

	if (secopt(t, "no-new-privileges"))
		finding(R_NNP, s, ST_PASS, SEV_RULE, ".HostConfig.SecurityOpt",
		    dup_or_null(opts), "no-new-privileges is set");
	else
		finding(R_NNP, s, ST_FAIL, SEV_RULE, ".HostConfig.SecurityOpt",
		    dup_or_null(opts), "no-new-privileges is not set: setuid "
		    "binaries can raise privileges");
	if (cJSON_IsTrue(ro))
		finding(R_READONLY, s, ST_PASS, SEV_RULE, ".HostConfig.ReadonlyRootfs",
		    dup_or_null(ro), "root filesystem is read-only");
	else
		finding(R_READONLY, s, ST_FAIL, SEV_RULE, ".HostConfig.ReadonlyRootfs",
		    dup_or_null(ro), "root filesystem is writable");
}

static void
check_seccomp(const struct target *t, const struct subject *s)
{
	const cJSON *opts = jpath(t->inspect, "HostConfig.SecurityOpt");
	bool priv = cJSON_IsTrue(jpath(t->inspect, "HostConfig.Privileged"));

	if (secopt(t, "seccomp=unconfined") || secopt(t, "seccomp:unconfined"))
		finding(R_SECCOMP, s, ST_FAIL, SEV_RULE, ".HostConfig.SecurityOpt",
		    dup_or_null(opts), "seccomp is disabled (seccomp=unconfined)");
	else if (priv)
		finding(R_SECCOMP, s, ST_FAIL, SEV_RULE, ".HostConfig.Privileged",
		    cJSON_CreateTrue(), "privileged containers run without seccomp");
	else if (cJSON_IsFalse(jpath(S.info, "host.security.seccompEnabled")))
		finding(R_SECCOMP, s, ST_FAIL, SEV_RULE,
		    "podman info .host.security.seccompEnabled", cJSON_CreateFalse(),
		    "the engine has seccomp disabled");
	else
		finding(R_SECCOMP, s, ST_PASS, SEV_RULE, ".HostConfig.SecurityOpt",
		    dup_or_null(opts), "seccomp profile in force");
}

static void
check_health(const struct target *t, const struct subject *s)
{
	const cJSON *test = jpath(t->inspect, "Config.Healthcheck.Test");
	const cJSON *first = cJSON_GetArrayItem(test, 0);

	if (cJSON_IsString(first) && strcmp(first->valuestring, "NONE") != 0)
		finding(R_HEALTH, s, ST_PASS, SEV_RULE, ".Config.Healthcheck.Test",
		    dup_or_null(test), "health check defined");
	else
		finding(R_HEALTH, s, ST_WARN, SEV_RULE, ".Config.Healthcheck.Test",
		    dup_or_null(test), "no health check: a hung process looks "
		    "healthy");
}

static void
check_hostns(const struct target *t, const struct subject *s, int r,
    const char *field, const char *ocitype, const char *what)
{
	const char *mode = jpath_str(t->inspect, field);
	int own = oci_ns(t, ocitype);
	char *evfield = phx_asprintf(".%s", field);

	if (mode && strcmp(mode, "host") == 0)
		finding(r, s, ST_FAIL, SEV_RULE, evfield, cJSON_CreateString(mode),
		    "shares the host's %s namespace", what);
	else if (own == 0)
		finding(r, s, ST_FAIL, SEV_RULE, "OCIConfigPath linux.namespaces",
		    oci_ns_list(t), "shares the host's %s namespace: the runtime "
		    "config creates no %s namespace (podman inspect says %s "
		    "\"%s\")", what, ocitype, field + strlen("HostConfig."),
		    mode ? mode : "");
	else
		finding(r, s, ST_PASS, SEV_RULE, evfield,
		    mode ? cJSON_CreateString(mode) : cJSON_CreateNull(),
		    "own %s namespace", what);
	free(evfield);
}

/* /var/run is /run on every current distribution */
static char *
norm_path(const char *p)
{
	if (strncmp(p, "/var/run/", 9) == 0 || strcmp(p, "/var/run") == 0)
		return phx_asprintf("/run%s", p + 8);
	return phx_strdup(p);
}

static bool
path_within(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return strcmp(p, "/") == 0;
	return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

static bool
engine_socket(const char *src)
{
	static const char *sockets[] = { "/run/podman/podman.sock",
	    "/run/docker.sock", "/run/containerd/containerd.sock",
	    "/run/crio/crio.sock" };
	const char *base = strrchr(src, '/');

	base = base ? base + 1 : src;
	if (strcmp(base, "docker.sock") == 0 || strcmp(base, "podman.sock") == 0 ||
	    strcmp(base, "containerd.sock") == 0 || strcmp(base, "crio.sock") == 0)
		return true;
	/* a directory above a socket exposes it too */
	for (size_t i = 0; i < sizeof sockets / sizeof *sockets; i++)
		if (path_within(sockets[i], src) || strcmp(src, "/") == 0)
			return true;
	return false;
}

static cJSON *
mount_evidence(const cJSON *m)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "Source", phx_jstr(m, "Source"));
	cJSON_AddStringToObject(e, "Destination",
	    phx_jstr(m, "Destination") ? phx_jstr(m, "Destination") : "");
	cJSON_AddBoolToObject(e, "RW", phx_jbool(m, "RW", true));
	return e;
}

static void
check_mounts(const struct target *t, const struct subject *s)
{
	const cJSON *dirs = phx_cfg(S.cfg, "security.sensitive_mounts"), *m, *d;
	cJSON *bad = cJSON_CreateArray(), *sock = cJSON_CreateArray();
	struct phx_buf bm = { 0 }, bs = { 0 };

	cJSON_ArrayForEach(m, jpath(t->inspect, "Mounts")) {
		const char *src = phx_jstr(m, "Source");
		char *p;
		if (!src || !phx_jstr(m, "Type") || strcmp(phx_jstr(m, "Type"), "bind"))
			continue;
		p = norm_path(src);
		cJSON_ArrayForEach(d, dirs)
			if (cJSON_IsString(d) && path_within(p, d->valuestring)) {
				cJSON_AddItemToArray(bad, mount_evidence(m));
				phx_buf_printf(&bm, "%s%s -> %s (%s)", bm.len ? ", " : "",
				    src, phx_jstr(m, "Destination"),
				    phx_jbool(m, "RW", true) ? "read-write" : "read-only");
				break;
			}
		if (engine_socket(p)) {
			cJSON_AddItemToArray(sock, mount_evidence(m));
			phx_buf_printf(&bs, "%s%s -> %s", bs.len ? ", " : "", src,
			    phx_jstr(m, "Destination"));
		}
		free(p);
	}
	if (cJSON_GetArraySize(bad))
		finding(R_MOUNTS, s, ST_FAIL, SEV_RULE, ".Mounts", bad,
		    "sensitive host paths mounted: %s", phx_buf_str(&bm));
	else {
		cJSON_Delete(bad);
		finding(R_MOUNTS, s, ST_PASS, SEV_RULE, ".Mounts", cJSON_CreateArray(),
		    "no sensitive host path mounted");
	}
	if (cJSON_GetArraySize(sock))
		finding(R_SOCKET, s, ST_FAIL, SEV_RULE, ".Mounts", sock,
		    "container engine socket mounted: %s: full control of the "
		    "host", phx_buf_str(&bs));
	else {
		cJSON_Delete(sock);
		finding(R_SOCKET, s, ST_PASS, SEV_RULE, ".Mounts", cJSON_CreateArray(),
		    "no container engine socket mounted");
	}
	phx_buf_free(&bm);
	phx_buf_free(&bs);
}

static cJSON *
attached_networks(const struct target *t)
{
	const cJSON *it;
	cJSON *out = cJSON_CreateArray();

	cJSON_ArrayForEach(it, jpath(t->inspect, "NetworkSettings.Networks"))
		add_unique(out, it->string);
	return out;
}

static cJSON *
minus(const cJSON *a, const cJSON *b)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *it;

	cJSON_ArrayForEach(it, a)
		if (cJSON_IsString(it) && !str_in_array(b, it->valuestring))
			add_unique(out, it->valuestring);
	return out;
}

static void
check_declared(const struct target *t, const struct subject *s,
    const cJSON *have)
{
	const char *file = compose_path();
	const char *project = t->project ? t->project : S.project ? S.project :
	    S.stream_project;
	cJSON *decl, *extra, *missing;
	char *l1, *l2;

	if (!S.compose || !t->service) {
		finding(R_NETDECL, s, ST_SKIP, SEV_RULE, ".NetworkSettings.Networks",
		    cJSON_Duplicate(have, true), "not checked: %s",
		    !t->service ? "the container belongs to no compose service" :
		    "no compose file could be read");
		return;
	}
	decl = declared_networks(t->service, project);
	if (!decl) {
		finding(R_NETDECL, s, ST_SKIP, SEV_RULE, ".NetworkSettings.Networks",
		    cJSON_Duplicate(have, true), "not checked: %s declares no "
		    "service \"%s\"", file, t->service);
		return;
	}
	extra = minus(have, decl);
	missing = minus(decl, have);
	l1 = join(extra);
	l2 = join(decl);
	if (cJSON_GetArraySize(extra))
		finding(R_NETDECL, s, ST_FAIL, SEV_RULE, ".NetworkSettings.Networks",
		    cJSON_Duplicate(have, true), "attached to %s, not declared for "
		    "service %s in %s (declared: %s)", l1, t->service, file, l2);
	else if (cJSON_GetArraySize(missing)) {
		free(l1);
		l1 = join(missing);
		finding(R_NETDECL, s, ST_WARN, SEV_LOW, ".NetworkSettings.Networks",
		    cJSON_Duplicate(have, true), "declared on %s in %s but not "
		    "attached", l1, file);
	} else
		finding(R_NETDECL, s, ST_PASS, SEV_RULE, ".NetworkSettings.Networks",
		    cJSON_Duplicate(have, true), "attached only to its declared "
		    "networks: %s", l2);
	free(l1);
	free(l2);
	cJSON_Delete(decl);
	cJSON_Delete(extra);
	cJSON_Delete(missing);
}

static const cJSON *
network_info(const char *name)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(S.networks, name);
	const char *args[] = { "network", "inspect", name, NULL };
	char *why = NULL;
	cJSON *arr;

	if (n)
		return n;
	if (!S.networks)
		S.networks = cJSON_CreateObject();
	arr = podman_json(args, &why);
	if (!arr) {
		phx_log(PHX_WARN, "%s", why);
		free(why);
		cJSON_AddItemToObject(S.networks, name, cJSON_CreateObject());
	} else {
		cJSON_AddItemToObject(S.networks, name,
		    cJSON_DetachItemFromArray(arr, 0));
		cJSON_Delete(arr);
	}
	return cJSON_GetObjectItemCaseSensitive(S.networks, name);
}

/* who shares a network with t, from podman ps (running containers) */
static void
check_reach(const struct target *t, const struct subject *s, const cJSON *have)
{
	const char *id = jpath_str(t->inspect, "Id");
	cJSON *ev = cJSON_CreateObject(), *foreign = cJSON_CreateArray();
	cJSON *leaky = cJSON_CreateArray();
	struct phx_buf b = { 0 };
	const cJSON *net, *c;
	const char *project = t->project ? t->project : S.project ? S.project :
	    S.stream_project;

	cJSON_ArrayForEach(net, have) {
		const cJSON *info = network_info(net->valuestring);
		cJSON *e = cJSON_AddObjectToObject(ev, net->valuestring);
		cJSON *peers = cJSON_AddArrayToObject(e, "peers");
		bool internal = phx_jbool(info, "internal", false);
		cJSON_AddBoolToObject(e, "internal", internal);
		if (!internal && declared_internal(net->valuestring, project))
			add_unique(leaky, net->valuestring);
		cJSON_ArrayForEach(c, S.containers) {
			const cJSON *nets = cJSON_GetObjectItemCaseSensitive(c, "Networks");
			const char *cid = phx_jstr(c, "Id");
			const char *cname = cJSON_GetArrayItem(
			    cJSON_GetObjectItemCaseSensitive(c, "Names"), 0) ?
			    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c,
			    "Names"), 0)->valuestring : cid;
			const char *proj = phx_jstr(cJSON_GetObjectItemCaseSensitive(c,
			    "Labels"), "io.podman.compose.project");
			if (!cid || (id && strcmp(cid, id) == 0) ||
			    !str_in_array(nets, net->valuestring))
				continue;
			add_unique(peers, cname);
			if (!t->project || !proj || strcmp(proj, t->project) != 0)
				add_unique(foreign, cname);
		}
		{
			char *l = join(peers);
			phx_buf_printf(&b, "%s%s%s: %s", b.len ? "; " : "",
			    net->valuestring, internal ? " (internal)" : "", l);
			free(l);
		}
	}
	if (cJSON_GetArraySize(leaky)) {
		char *l = join(leaky);
		finding(R_REACH, s, ST_FAIL, SEV_RULE, ".NetworkSettings.Networks",
		    ev, "%s declared internal: true in the compose file, but "
		    "Podman's network is not internal (%s)", l, phx_buf_str(&b));
		free(l);
	} else if (!cJSON_GetArraySize(have))
		finding(R_REACH, s, ST_PASS, SEV_RULE, ".NetworkSettings.Networks", ev,
		    "on no network");
	else if (cJSON_GetArraySize(foreign)) {
		char *l = join(foreign);
		finding(R_REACH, s, ST_WARN, SEV_RULE, ".NetworkSettings.Networks",
		    ev, "reachable by containers outside project %s: %s (%s)",
		    t->project ? t->project : "(none)", l, phx_buf_str(&b));
		free(l);
	} else
		finding(R_REACH, s, ST_PASS, SEV_RULE, ".NetworkSettings.Networks",
		    ev, "reachable by: %s", phx_buf_str(&b));
	cJSON_Delete(foreign);
	cJSON_Delete(leaky);
	phx_buf_free(&b);
}

static void
check_networks(const struct target *t, const struct subject *s)
{
	cJSON *have = attached_networks(t);

	check_declared(t, s, have);
	if (str_in_array(have, "podman"))
		finding(R_NETDEFAULT, s, ST_FAIL, SEV_RULE, ".NetworkSettings.Networks",
		    cJSON_Duplicate(have, true), "attached to the default podman "
		    "network, shared by every container started without "
		    "--network");
	else
		finding(R_NETDEFAULT, s, ST_PASS, SEV_RULE, ".NetworkSettings.Networks",
		    cJSON_Duplicate(have, true), "not on the default podman network");
	check_reach(t, s, have);
	cJSON_Delete(have);
}

static bool
sensitive_port(long port)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, phx_cfg(S.cfg, "security.sensitive_ports"))
		if (cJSON_IsNumber(it) && (long)it->valuedouble == port)
			return true;
	return false;
}

static void
check_port(const struct subject *s, const char *field, const char *cport,
    const cJSON *b, cJSON *privileged)
{
	const char *ip = phx_jstr(b, "HostIp"), *hp = phx_jstr(b, "HostPort");
	long host = hp ? strtol(hp, NULL, 10) : 0, ctr = strtol(cport, NULL, 10);
	bool sens = sensitive_port(ctr) || sensitive_port(host);
	char *ev = phx_asprintf("%s[\"%s\"]", field, cport);
	const char *tag = sens ? " (sensitive)" : "";

	if (!ip)
		ip = "";
	if (host > 0 && host < 1024)
		cJSON_AddItemToArray(privileged, cJSON_CreateNumber((double)host));
	if (is_loopback(ip))
		finding(R_PORT, s, ST_PASS, SEV_RULE, ev, cJSON_Duplicate(b, true),
		    "%s%s published on %s:%s only (loopback)", cport, tag, ip, hp);
	else if (all_interfaces(ip))
		finding(R_PORT, s, sens ? ST_FAIL : ST_WARN,
		    sens ? SEV_HIGH : SEV_MEDIUM, ev, cJSON_Duplicate(b, true),
		    "%s%s published on ALL host interfaces (HostIp \"%s\") as "
		    "port %s", cport, tag, ip, hp);
	else
		finding(R_PORT, s, sens ? ST_FAIL : ST_INFO,
		    sens ? SEV_HIGH : SEV_LOW, ev, cJSON_Duplicate(b, true),
		    "%s%s published on %s:%s, reachable from other hosts", cport,
		    tag, ip, hp);
	free(ev);
}

static void
check_ports(const struct target *t, const struct subject *s)
{
	const char *field = ".NetworkSettings.Ports";
	const cJSON *ports = jpath(t->inspect, "NetworkSettings.Ports"), *p, *b;
	cJSON *privileged = cJSON_CreateArray();
	int n = 0;

	if (!cJSON_GetArraySize(ports)) {
		/* a stopped container has no runtime ports */
		field = ".HostConfig.PortBindings";
		ports = jpath(t->inspect, "HostConfig.PortBindings");
	}
	cJSON_ArrayForEach(p, ports)
		cJSON_ArrayForEach(b, p) {
			check_port(s, field, p->string, b, privileged);
			n++;
		}
	if (!n)
		finding(R_PORT, s, ST_PASS, SEV_RULE, field, dup_or_null(ports),
		    "no published port");
	if (cJSON_GetArraySize(privileged))
		finding(R_PRIVPORT, s, ST_FAIL, SEV_RULE, field, privileged,
		    "privileged host ports (below 1024) published");
	else {
		cJSON_Delete(privileged);
		finding(R_PRIVPORT, s, ST_PASS, SEV_RULE, field, cJSON_CreateArray(),
		    "no privileged host port published");
	}
}

static void
check_limits(const struct target *t, const struct subject *s)
{
	double mem = jpath_num(t->inspect, "HostConfig.Memory");
	double nano = jpath_num(t->inspect, "HostConfig.NanoCpus");
	double quota = jpath_num(t->inspect, "HostConfig.CpuQuota");
	double period = jpath_num(t->inspect, "HostConfig.CpuPeriod");
	double pids = jpath_num(t->inspect, "HostConfig.PidsLimit");
	long max = (long)phx_cfg_num(S.cfg, "security.max_pids", 1024);

	if (mem > 0)
		finding(R_MEMORY, s, ST_PASS, SEV_RULE, ".HostConfig.Memory",
		    cJSON_CreateNumber(mem), "memory limit %.0f MiB",
		    mem / (1024 * 1024));
	else
		finding(R_MEMORY, s, ST_FAIL, SEV_RULE, ".HostConfig.Memory",
		    cJSON_CreateNumber(mem), "no memory limit");
	if (nano > 0)
		finding(R_CPU, s, ST_PASS, SEV_RULE, ".HostConfig.NanoCpus",
		    cJSON_CreateNumber(nano), "CPU limit %.2f CPUs", nano / 1e9);
	else if (quota > 0)
		finding(R_CPU, s, ST_PASS, SEV_RULE, ".HostConfig.CpuQuota",
		    cJSON_CreateNumber(quota), "CPU limit %.2f CPUs",
		    quota / (period > 0 ? period : 100000));
	else
		finding(R_CPU, s, ST_FAIL, SEV_RULE, ".HostConfig.NanoCpus",
		    cJSON_CreateNumber(nano), "no CPU limit (NanoCpus and CpuQuota "
		    "are 0)");
	if (pids <= 0)
		finding(R_PIDS, s, ST_FAIL, SEV_RULE, ".HostConfig.PidsLimit",
		    cJSON_CreateNumber(pids), "no PIDs limit: a fork bomb takes "
		    "the host");
	else if (pids > max)
		finding(R_PIDS, s, ST_WARN, SEV_RULE, ".HostConfig.PidsLimit",
		    cJSON_CreateNumber(pids), "PIDs limit %.0f is above %ld "
		    "(security.max_pids)%s", pids, max, pids == 2048 ?
		    "; 2048 is Podman's default, what a container gets when "
		    "nothing is set (podman-compose 1.0.3 ignores pids_limit)" : "");
	else
		finding(R_PIDS, s, ST_PASS, SEV_RULE, ".HostConfig.PidsLimit",
		    cJSON_CreateNumber(pids), "PIDs limit %.0f", pids);
}

static void
scan_container(const struct target *t)
{
	struct subject s = { t->service, t->name, NULL, NULL };
	long uid = check_user(t, &s);

	check_userns(t, &s, uid);
	check_privileged(t, &s);
	check_caps(t, &s);
	check_secopts(t, &s);
	check_health(t, &s);
	check_hostns(t, &s, R_HOSTNET, "HostConfig.NetworkMode", "network",
	    "network");
	check_hostns(t, &s, R_HOSTPID, "HostConfig.PidMode", "pid", "PID");
	check_hostns(t, &s, R_HOSTIPC, "HostConfig.IpcMode", "ipc", "IPC");
	check_hostns(t, &s, R_HOSTUTS, "HostConfig.UTSMode", "uts", "UTS");
	check_seccomp(t, &s);
	check_mounts(t, &s);
	check_networks(t, &s);
	check_ports(t, &s);
	check_limits(t, &s);
	S.scanned++;
}

/* ---- TLS ---- */

enum tls_try { TRY_INFO, TRY_CHAIN, TRY_HOST, TRY_TLS10, TRY_TLS11 };

/* one handshake (CONNECT_ONLY: no HTTP is spoken); *not_after is set
 * from the peer certificate when certinfo was asked for */
static CURLcode
tls_try(const struct tls_target *tt, enum tls_try how, char *err,
    time_t *not_after)
{
	CURL *c = curl_easy_init();
	struct curl_certinfo *ci = NULL;
	CURLcode rc;

	if (!c)
		phx_die(PHX_EXIT_ENV, "curl_easy_init failed");
	err[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, tt->url);
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)TLS_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, how == TRY_CHAIN ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, how == TRY_HOST ? 2L : 0L);
	if (tt->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, tt->ca_file);
	if (how == TRY_INFO)
		curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
	if (how == TRY_TLS10 || how == TRY_TLS11) {
		/* OpenSSL 3 will not offer TLS 1.0/1.1 at its default security
		 * level: without @SECLEVEL=0 every server would look safe */
		curl_easy_setopt(c, CURLOPT_SSLVERSION, how == TRY_TLS10 ?
		    (long)(CURL_SSLVERSION_TLSv1_0 | CURL_SSLVERSION_MAX_TLSv1_0) :
		    (long)(CURL_SSLVERSION_TLSv1_1 | CURL_SSLVERSION_MAX_TLSv1_1));
		curl_easy_setopt(c, CURLOPT_SSL_CIPHER_LIST, LEGACY_CIPHERS);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK && how == TRY_INFO &&
	    curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) == CURLE_OK &&
	    ci && ci->num_of_certs > 0) {
		for (struct curl_slist *l = ci->certinfo[0]; l; l = l->next) {
			struct tm tm = { 0 };
			if (strncmp(l->data, "Expire date:", 12) == 0 &&
			    strptime(l->data + 12, "%b %d %H:%M:%S %Y", &tm))
				*not_after = timegm(&tm);
		}
	}
	if (rc != CURLE_OK && !err[0])
		snprintf(err, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	return rc;
}

static void
check_tls_legacy(const struct tls_target *tt, const struct subject *s)
{
	static const char *names[] = { "TLSv1.0", "TLSv1.1" };
	cJSON *accepted = cJSON_CreateArray();
	char err[CURL_ERROR_SIZE], cannot[CURL_ERROR_SIZE + 16] = "";

	for (int i = 0; i < 2; i++) {
		CURLcode rc = tls_try(tt, i ? TRY_TLS11 : TRY_TLS10, err, NULL);
		if (rc == CURLE_OK)
			add_unique(accepted, names[i]);
		else if (strstr(err, "no protocols available") ||
		    strstr(err, "legacy sigalg"))
			snprintf(cannot, sizeof cannot, "%s: %s", names[i], err);
	}
	if (cJSON_GetArraySize(accepted)) {
		char *l = join(accepted);
		finding(R_TLSLEGACY, s, ST_FAIL, SEV_RULE, "tls.accepted_versions",
		    accepted, "accepts %s", l);
		free(l);
		return;
	}
	if (cannot[0])
		finding(R_TLSLEGACY, s, ST_SKIP, SEV_RULE, "tls.accepted_versions",
		    accepted, "not tested: this OpenSSL could not offer %s", cannot);
	else
		finding(R_TLSLEGACY, s, ST_PASS, SEV_RULE, "tls.accepted_versions",
		    accepted, "refuses TLS 1.0 and 1.1 (offered with "
		    LEGACY_CIPHERS ", since OpenSSL 3 refuses them client-side "
		    "otherwise)");
}

static void
check_tls_expiry(const struct subject *s, time_t not_after)
{
	long min = (long)phx_cfg_num(S.cfg, "security.min_cert_days", 30);
	char when[32];
	struct tm tm;
	double days;

	if (not_after == 0) {
		finding(R_TLSEXPIRY, s, ST_SKIP, SEV_RULE, "tls.not_after",
		    cJSON_CreateNull(), "the certificate's expiry date was not "
		    "reported");
		return;
	}
	gmtime_r(&not_after, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	days = difftime(not_after, time(NULL)) / 86400;
	if (days < 0)
		finding(R_TLSEXPIRY, s, ST_FAIL, SEV_RULE, "tls.not_after",
		    cJSON_CreateString(when), "certificate expired %.0f days ago "
		    "(%s)", -days + 0.5, when);
	else if (days < min)
		finding(R_TLSEXPIRY, s, ST_WARN, SEV_MEDIUM, "tls.not_after",
		    cJSON_CreateString(when), "certificate expires in %ld days "
		    "(%s), under security.min_cert_days %ld", (long)days, when, min);
	else
		finding(R_TLSEXPIRY, s, ST_PASS, SEV_RULE, "tls.not_after",
		    cJSON_CreateString(when), "certificate valid for %ld more "
		    "days (%s)", (long)days, when);
}

static void
scan_tls(const struct tls_target *tt)
{
	struct subject s = { tt->service, NULL, tt->url, NULL };
	char err[CURL_ERROR_SIZE];
	time_t not_after = 0;
	CURLcode rc;

	if (tls_try(tt, TRY_INFO, err, &not_after) != CURLE_OK) {
		finding(R_TLSCHAIN, &s, ST_SKIP, SEV_RULE, "tls.handshake",
		    cJSON_CreateString(err), "no TLS check done: the handshake "
		    "failed: %s", err);
		return;
	}
	rc = tls_try(tt, TRY_CHAIN, err, NULL);
	if (rc == CURLE_OK)
		finding(R_TLSCHAIN, &s, ST_PASS, SEV_RULE, "tls.verify",
		    cJSON_CreateString("ok"), "certificate chain verifies%s%s",
		    tt->ca_file ? " against " : "", tt->ca_file ? tt->ca_file : "");
	else
		finding(R_TLSCHAIN, &s, ST_FAIL, SEV_RULE, "tls.verify",
		    cJSON_CreateString(err), "certificate chain does not verify: %s",
		    err);
	rc = tls_try(tt, TRY_HOST, err, NULL);
	if (rc == CURLE_OK)
		finding(R_TLSHOST, &s, ST_PASS, SEV_RULE, "tls.hostname",
		    cJSON_CreateString("ok"), "certificate matches the host name");
	else
		finding(R_TLSHOST, &s, ST_FAIL, SEV_RULE, "tls.hostname",
		    cJSON_CreateString(err), "host name check failed: %s", err);
	check_tls_legacy(tt, &s);
	check_tls_expiry(&s, not_after);
}

static void
add_tls(const char *service, const char *spec, const char *ca_file)
{
	struct tls_target *tt, **tail = &S.tls;
	char *url;

	if (strncmp(spec, "https://", 8) == 0)
		url = phx_strdup(spec);
	else if (strspn(spec, "0123456789") == strlen(spec))
		url = phx_asprintf("https://localhost:%s/", spec);
	else
		url = phx_asprintf("https://%s/", spec);
	for (tt = S.tls; tt; tail = &tt->next, tt = tt->next)
		if (strcmp(tt->url, url) == 0) {
			free(url);
			return;
		}
	tt = phx_calloc(1, sizeof *tt);
	tt->url = url;
	tt->service = service ? phx_strdup(service) : NULL;
	if (!ca_file)
		ca_file = phx_cfg_str(S.cfg, "security.ca_file", NULL);
	tt->ca_file = ca_file ? phx_strdup(ca_file) : NULL;
	*tail = tt;
}

/* TLS endpoints that security.yaml or services.yaml give for a service */
static void
add_tls_from_config(const char *svc)
{
	const cJSON *conf = cJSON_GetObjectItemCaseSensitive(
	    phx_cfg(S.cfg, "services"), svc);
	const cJSON *tp = cJSON_GetObjectItemCaseSensitive(
	    phx_cfg(S.cfg, "security.tls_ports"), svc);
	const char *ca = phx_jstr(conf, "ca_file");
	const char *url = phx_jstr(conf, "url");

	if (cJSON_IsString(tp))
		add_tls(svc, tp->valuestring, ca);
	if (url && strncmp(url, "https://", 8) == 0)
		add_tls(svc, url, ca);
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(conf, "tls_port"))) {
		const char *host = phx_jstr(conf, "host") ? phx_jstr(conf, "host") :
		    "localhost";
		char *spec = phx_asprintf("%s:%.0f", host,
		    phx_jnum(conf, "tls_port", 0));
		add_tls(svc, spec, ca);
		free(spec);
	}
}

/* ---- image vulnerability scanning ---- */

static char *
find_in_path(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL, *found = NULL;

	if (!path)
		return NULL;
	copy = phx_strdup(path);
	for (char *d = strtok_r(copy, ":", &save); d && !found;
	    d = strtok_r(NULL, ":", &save)) {
		char *p = phx_asprintf("%s/%s", *d ? d : ".", name);
		if (access(p, X_OK) == 0)
			found = p;
		else
			free(p);
	}
	free(copy);
	return found;
}

static void
count_severity(cJSON *counts, const char *sev)
{
	cJSON *n;

	if (!sev)
		return;
	n = cJSON_GetObjectItemCaseSensitive(counts, sev);
	if (n)
		cJSON_SetNumberValue(n, n->valuedouble + 1);
	else
		cJSON_AddNumberToObject(counts, sev, 1);
}

/* severity counts from trivy's or grype's JSON report */
static cJSON *
vuln_counts(const char *scanner, const cJSON *report)
{
	cJSON *counts = cJSON_CreateObject();
	const cJSON *a, *b;

	if (strcmp(scanner, "trivy") == 0)
		cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(report, "Results"))
			cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(a,
			    "Vulnerabilities"))
				count_severity(counts, phx_jstr(b, "Severity"));
	else
		cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(report, "matches"))
			count_severity(counts, phx_jstr(jpath(a, "vulnerability"),
			    "severity"));
	return counts;
}

static void
scan_image(const char *scanner, const char *exe, const char *image,
    const char *id)
{
	struct subject s = { NULL, NULL, NULL, image };
	const char *tmp = getenv("TMPDIR");
	char *dir = phx_asprintf("%s/phx-secscan.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	char *tar = NULL, *src = NULL, *why = NULL;
	struct phx_run run = { 0 };
	cJSON *report = NULL, *counts;
	int worst = -1;

	if (!mkdtemp(dir)) {
		finding(R_VULN, &s, ST_SKIP, SEV_RULE, scanner, NULL, "no scan "
		    "done: %s: %s", dir, strerror(errno));
		free(dir);
		return;
	}
	tar = phx_asprintf("%s/image.tar", dir);
	{
		const char *args[] = { "save", "-o", tar, id, NULL };
		if (!podman(args, &run, &why))
			goto skip;
		phx_run_free(&run);
	}
	src = phx_asprintf("docker-archive:%s", tar);
	{
		const char *trivy[] = { exe, "image", "--quiet", "--format", "json",
		    "--input", tar, NULL };
		const char *grype[] = { exe, "-q", "-o", "json", src, NULL };
		memset(&run, 0, sizeof run);
		run.argv = strcmp(scanner, "trivy") == 0 ? trivy : grype;
		run.timeout_ms = SCAN_TIMEOUT_MS;
		if (!phx_run(&run) || run.timed_out || run.status != 0 ||
		    !(report = cJSON_ParseWithLength(run.out.data, run.out.len))) {
			char *tail = phx_tail_lines(run.err.data, run.err.len, 1);
			why = phx_asprintf("%s failed (exit %d%s): %s", scanner,
			    run.status, run.timed_out ? ", timed out" : "", tail);
			free(tail);
			goto skip;
		}
	}
	counts = vuln_counts(scanner, report);
	for (int i = SEV_LOW; i <= SEV_CRITICAL; i++)
		if (cJSON_GetObjectItem(counts, sev_names[i]))
			worst = i;
	if (worst >= SEV_HIGH)
		finding(R_VULN, &s, ST_FAIL, worst, scanner, counts,
		    "%s found known vulnerabilities, the worst %s", scanner,
		    sev_names[worst]);
	else if (worst >= 0)
		finding(R_VULN, &s, ST_WARN, worst, scanner, counts,
		    "%s found known vulnerabilities, the worst %s", scanner,
		    sev_names[worst]);
	else
		finding(R_VULN, &s, ST_PASS, SEV_RULE, scanner, counts,
		    "%s found no known vulnerability", scanner);
	goto out;
skip:
	finding(R_VULN, &s, ST_SKIP, SEV_RULE, scanner, NULL,
	    "no scan result: %s", why ? why : "unknown error");
out:
	phx_run_free(&run);
	cJSON_Delete(report);
	if (tar)
		unlink(tar);
	rmdir(dir);
	free(why);
	free(src);
	free(tar);
	free(dir);
}

static void
scan_images(void)
{
	static const char *names[] = { "trivy", "grype" };
	const struct subject none = { 0 };
	const char *want = S.scanner;
	cJSON *seen = cJSON_CreateArray();
	char *exe = NULL;
	const char *scanner = NULL;

	if (strcmp(want, "none") == 0) {
		finding(R_VULN, &none, ST_SKIP, SEV_RULE, "security.scanner",
		    cJSON_CreateString(want), "no image vulnerability scan done: "
		    "turned off (scanner: none)");
		cJSON_Delete(seen);
		return;
	}
	for (size_t i = 0; i < 2 && !exe; i++)
		if (strcmp(want, "auto") == 0 || strcmp(want, names[i]) == 0)
			if ((exe = find_in_path(names[i])))
				scanner = names[i];
	if (!exe) {
		finding(R_VULN, &none, ST_SKIP, SEV_RULE, "PATH",
		    cJSON_CreateString(want), "no image vulnerability scan done: "
		    "%s (neither is packaged in Debian)",
		    strcmp(want, "auto") == 0 ? "neither trivy nor grype is "
		    "installed" : strcmp(want, "trivy") == 0 ? "trivy is not "
		    "installed" : "grype is not installed");
		cJSON_Delete(seen);
		return;
	}
	for (const struct target *t = S.targets; t; t = t->next) {
		const char *id = jpath_str(t->inspect, "Image");
		const char *name = jpath_str(t->inspect, "ImageName");
		if (!id || str_in_array(seen, id))
			continue;
		add_unique(seen, id);
		scan_image(scanner, exe, name ? name : id, id);
	}
	free(exe);
	cJSON_Delete(seen);
}

/* ---- targets ---- */

static void
add_target(const char *ref, const char *service, bool from_argv)
{
	struct target *t, **tail = &S.targets;

	for (t = S.targets; t; tail = &t->next, t = t->next)
		if (strcmp(t->ref, ref) == 0)
			return;
	t = phx_calloc(1, sizeof *t);
	t->ref = phx_strdup(ref);
	t->service = service ? phx_strdup(service) : NULL;
	t->from_argv = from_argv;
	*tail = t;
}

static void
add_project(const char *project)
{
	char *filter = phx_asprintf("label=io.podman.compose.project=%s", project);
	const char *args[] = { "ps", "-a", "--filter", filter, "--format", "json",
	    NULL };
	char *why = NULL;
	cJSON *list = podman_json(args, &why);
	const cJSON *c;

	free(filter);
	if (!list) {
		phx_emit_error("podman", "%s", why);
		phx_log(PHX_ERROR, "%s", why);
		S.errors++;
		free(why);
		return;
	}
	if (!cJSON_GetArraySize(list)) {
		phx_emit_error("missing", "project %s has no containers", project);
		phx_log(PHX_ERROR, "project %s has no containers", project);
		S.missing_argv = true;
	}
	cJSON_ArrayForEach(c, list)
		if (phx_jstr(c, "Id"))
			add_target(phx_jstr(c, "Id"), phx_jstr(cJSON_GetObjectItem(c,
			    "Labels"), "com.docker.compose.service"), true);
	cJSON_Delete(list);
}

/* what the stream tells: containers, https endpoints, the compose file */
static void
note_record(const struct phx_input *in)
{
	const cJSON *rec = in->json, *ck;
	const char *svc = phx_jstr(rec, "service");

	if (strcmp(in->type, "deployment") == 0) {
		if (phx_jstr(rec, "compose_file")) {
			free(S.stream_compose);
			S.stream_compose = phx_strdup(phx_jstr(rec, "compose_file"));
		}
		if (phx_jstr(rec, "project")) {
			free(S.stream_project);
			S.stream_project = phx_strdup(phx_jstr(rec, "project"));
		}
		return;
	}
	if (strcmp(in->type, "service") != 0)
		return;
	if (phx_jstr(rec, "container_id"))
		add_target(phx_jstr(rec, "container_id"), svc, false);
	else if (phx_jstr(rec, "container_name"))
		add_target(phx_jstr(rec, "container_name"), svc, false);
	cJSON_ArrayForEach(ck, cJSON_GetObjectItemCaseSensitive(rec, "checks")) {
		const char *kind = phx_jstr(ck, "kind"), *url = phx_jstr(ck, "target");
		if (kind && url && strcmp(kind, "http") == 0 &&
		    strncmp(url, "https://", 8) == 0)
			add_tls(svc, url, NULL);
	}
	if (svc)
		add_tls_from_config(svc);
}

static void
inspect_targets(void)
{
	struct target **pp = &S.targets;

	inspect_batch();
	if (podman_missing)
		return;
	while (*pp) {
		struct target *t = *pp;
		char *why = NULL;
		if (t->inspect || inspect_target(t, &why)) {
			pp = &t->next;
			continue;
		}
		if (podman_missing) {
			free(why);
			return;
		}
		phx_emit_error("missing", "container %s%s%s: %s", t->ref,
		    t->service ? " of service " : "", t->service ? t->service : "",
		    why);
		phx_log(PHX_ERROR, "%s", why);
		if (t->from_argv)
			S.missing_argv = true;
		else
			S.errors++;
		free(why);
		*pp = t->next;
		cJSON_Delete(t->inspect);
		free(t->ref);
		free(t->service);
		free(t);
	}
}

static void
free_targets(void)
{
	while (S.targets) {
		struct target *t = S.targets;
		S.targets = t->next;
		cJSON_Delete(t->inspect);
		cJSON_Delete(t->oci);
		free(t->ref);
		free(t->service);
		free(t);
	}
	while (S.tls) {
		struct tls_target *tt = S.tls;
		S.tls = tt->next;
		free(tt->url);
		free(tt->service);
		free(tt->ca_file);
		free(tt);
	}
}

/* ---- SARIF 2.1.0 ---- */

static cJSON *
sarif_rules(void)
{
	cJSON *arr = cJSON_CreateArray();

	for (int i = 0; i < R_N; i++) {
		cJSON *r = cJSON_CreateObject(), *o, *p;
		cJSON_AddStringToObject(r, "id", rules[i].id);
		o = cJSON_AddObjectToObject(r, "shortDescription");
		cJSON_AddStringToObject(o, "text", rules[i].title);
		o = cJSON_AddObjectToObject(r, "help");
		cJSON_AddStringToObject(o, "text", rules[i].remediation);
		o = cJSON_AddObjectToObject(r, "defaultConfiguration");
		cJSON_AddStringToObject(o, "level", rules[i].severity >= SEV_HIGH ?
		    "error" : "warning");
		cJSON_AddBoolToObject(o, "enabled", rules[i].enabled);
		p = cJSON_AddObjectToObject(r, "properties");
		if (rules[i].cis)
			cJSON_AddStringToObject(p, "cis", rules[i].cis);
		cJSON_AddStringToObject(p, "severity", sev_names[rules[i].severity]);
		cJSON_AddStringToObject(p, "security-severity",
		    sev_score[rules[i].severity]);
		o = cJSON_AddArrayToObject(p, "tags");
		cJSON_AddItemToArray(o, cJSON_CreateString("security"));
		cJSON_AddItemToArray(arr, r);
	}
	return arr;
}

static bool
write_sarif(bool ok)
{
	cJSON *doc = cJSON_CreateObject(), *runs, *run, *driver, *inv;
	char *text, *clean;
	bool wrote;

	cJSON_AddStringToObject(doc, "$schema",
	    "https://json.schemastore.org/sarif-2.1.0.json");
	cJSON_AddStringToObject(doc, "version", "2.1.0");
	runs = cJSON_AddArrayToObject(doc, "runs");
	run = cJSON_CreateObject();
	cJSON_AddItemToArray(runs, run);
	driver = cJSON_AddObjectToObject(cJSON_AddObjectToObject(run, "tool"),
	    "driver");
	cJSON_AddStringToObject(driver, "name", "phx-secscan");
	cJSON_AddStringToObject(driver, "version", PHX_VERSION);
	cJSON_AddItemToObject(driver, "rules", sarif_rules());
	inv = cJSON_CreateObject();
	cJSON_AddBoolToObject(inv, "executionSuccessful", ok);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(run, "invocations"), inv);
	if (phx_deployment_id())
		cJSON_AddStringToObject(cJSON_AddObjectToObject(run, "properties"),
		    "deployment_id", phx_deployment_id());
	cJSON_AddItemToObject(run, "results", S.results);
	S.results = NULL;
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	clean = phx_redact(text);
	wrote = phx_write_file(S.sarif, clean, strlen(clean));
	if (!wrote)
		phx_log(PHX_ERROR, "%s: %s", S.sarif, strerror(errno));
	free(clean);
	free(text);
	return wrote;
}

/* ---- configuration ---- */

static void
apply_rules(void)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, phx_cfg(S.cfg, "security.rules")) {
		int r = rule_find(it->string), sev;
		const char *s = phx_jstr(it, "severity");
		if (r < 0)
			phx_die(PHX_EXIT_USAGE, "security.rules: unknown rule \"%s\"",
			    it->string);
		rules[r].enabled = phx_jbool(it, "enabled", true);
		if (!s)
			continue;
		if ((sev = sev_parse(s)) < 0 || sev == SEV_NONE)
			phx_die(PHX_EXIT_USAGE, "security.rules.%s.severity: expected "
			    "LOW, MEDIUM, HIGH or CRITICAL, got \"%s\"", it->string, s);
		rules[r].severity = (enum sev)sev;
		rules[r].forced = true;
	}
	S.ignore = (cJSON *)phx_cfg(S.cfg, "security.ignore");
	cJSON_ArrayForEach(it, S.ignore) {
		char id[32];
		snprintf(id, sizeof id, "%.*s", (int)strcspn(it->valuestring, ":"),
		    it->valuestring);
		if (rule_find(id) < 0)
			phx_die(PHX_EXIT_USAGE, "security.ignore: unknown rule \"%s\"",
			    it->valuestring);
	}
}

static enum sev
fail_on(const char *s, const char *where)
{
	int sev = sev_parse(s);

	if (sev < 0)
		phx_die(PHX_EXIT_USAGE, "%s: expected LOW, MEDIUM, HIGH, CRITICAL "
		    "or NONE, got \"%s\"", where, s);
	return (enum sev)sev;
}

/* ---- main ---- */

static void
scan(void)
{
	if (S.project)
		add_project(S.project);
	if (!S.targets && !S.tls)
		return;
	if (S.targets) {
		load_engine();
		if (!S.info)
			return;
		inspect_targets();
		if (podman_missing)
			return;
	}
	if (S.targets) {
		for (const struct target *t = S.targets; t && !S.compose; t = t->next)
			if (t->service)
				load_compose(false);
		check_rootless();
	}
	for (const struct target *t = S.targets; t; t = t->next) {
		scan_container(t);
		if (t->service)
			add_tls_from_config(t->service);
	}
	for (const struct tls_target *tt = S.tls; tt; tt = tt->next)
		scan_tls(tt);
	if (S.targets)
		scan_images();
}

static void
read_stream(struct phx_reader *rd, struct phx_input *in, enum phx_rd kind)
{
	for (; kind != PHX_RD_EOF; kind = phx_reader_next(rd, in)) {
		phx_pass(in);
		if (kind == PHX_RD_RECORD)
			note_record(in);
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "config", required_argument, NULL, 'c' },
		{ "file", required_argument, NULL, 'f' },
		{ "compose-file", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "project", required_argument, NULL, 'p' },
		{ "tls", required_argument, NULL, 't' },
		{ "fail-on", required_argument, NULL, 'F' },
		{ "sarif", required_argument, NULL, 'S' },
		{ "scanner", required_argument, NULL, 'X' },
		{ NULL, 0, NULL, 0 },
	};
	struct phx_config_opts copts = { 0 };
	const char *cli_fail_on = NULL, *tls[64];
	size_t ntls = 0;
	struct phx_reader *rd = NULL;
	struct phx_input in;
	enum phx_rd kind = PHX_RD_EOF;
	int64_t started;
	int ch, status;
	cJSON *counts;

	phx_init(argv[0]);
	copts.files = phx_calloc((size_t)argc + 1, sizeof *copts.files);
	while ((ch = getopt_long(argc, argv, "hVqvc:f:p:t:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h': usage(stdout); exit(PHX_EXIT_OK);
		case 'V': phx_version();
		case 'q': phx_log_quieter(); break;
		case 'v': phx_log_louder(); break;
		case 'c': copts.files[copts.nfiles++] = optarg; break;
		case 'f': S.compose_file = optarg; break;
		case 'p': S.project = optarg; break;
		case 't':
			if (ntls == sizeof tls / sizeof *tls)
				phx_die(PHX_EXIT_USAGE, "too many -t endpoints");
			tls[ntls++] = optarg;
			break;
		case 'F': cli_fail_on = optarg; break;
		case 'S': S.sarif = optarg; break;
		case 'X': S.scanner = optarg; break;
		default: usage(stderr); exit(PHX_EXIT_USAGE);
		}
	}
	S.cfg = phx_config_load(&copts);
	free(copts.files);
	apply_rules();
	S.fail_on = cli_fail_on ? fail_on(cli_fail_on, "--fail-on") :
	    fail_on(phx_cfg_str(S.cfg, "security.fail_on", "HIGH"),
	    "security.fail_on");
	if (!S.scanner)
		S.scanner = phx_cfg_str(S.cfg, "security.scanner", "auto");
	if (strcmp(S.scanner, "auto") && strcmp(S.scanner, "trivy") &&
	    strcmp(S.scanner, "grype") && strcmp(S.scanner, "none"))
		phx_die(PHX_EXIT_USAGE, "scanner: expected auto, trivy, grype or "
		    "none, got \"%s\"", S.scanner);
	S.podman = phx_cfg_str(S.cfg, "deployment.podman", "podman");
	if (S.compose_file)
		load_compose(true);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		phx_die(PHX_EXIT_ENV, "curl_global_init failed");
	if (S.sarif)
		S.results = cJSON_CreateArray();
	for (size_t i = 0; i < ntls; i++)
		add_tls(NULL, tls[i], NULL);
	for (int i = optind; i < argc; i++)
		add_target(argv[i], NULL, true);

	if (!isatty(STDIN_FILENO)) {
		rd = phx_reader_new(STDIN_FILENO, "stdin", 0);
		kind = phx_reader_next(rd, &in);
	}
	started = phx_phase_start("secscan");
	if (rd)
		read_stream(rd, &in, kind);
	if (phx_cfg_bool(S.cfg, "deployment.security_validation", true))
		scan();
	else
		phx_log(PHX_INFO, "security validation is off "
		    "(deployment.security_validation)");
	if (podman_missing)
		phx_emit_error("podman", "%s could not be run; no container scanned",
		    S.podman);
	if (S.sarif && !write_sarif(!podman_missing && !S.errors))
		S.errors++;

	counts = cJSON_CreateObject();
	cJSON_AddNumberToObject(counts, "containers", S.scanned);
	for (int i = 0; i < ST_N; i++) {
		char key[8];
		size_t j;
		for (j = 0; status_names[i][j] && j < sizeof key - 1; j++)
			key[j] = (char)tolower((unsigned char)status_names[i][j]);
		key[j] = '\0';
		cJSON_AddNumberToObject(counts, key, S.counts[i]);
	}
	cJSON_AddNumberToObject(counts, "ignored", S.ignored);
	status = podman_missing ? PHX_EXIT_ENV : S.missing_argv ? PHX_EXIT_USAGE :
	    S.failed || S.errors ? PHX_EXIT_FAIL : PHX_EXIT_OK;
	phx_phase_end("secscan", started, status == PHX_EXIT_OK ? "ok" :
	    status == PHX_EXIT_FAIL && !S.errors ? "failed" : "error", counts);

	phx_reader_free(rd);
	free_targets();
	cJSON_Delete(S.compose);
	cJSON_Delete(S.compose_lines);
	cJSON_Delete(S.info);
	cJSON_Delete(S.containers);
	cJSON_Delete(S.networks);
	cJSON_Delete(S.results);
	cJSON_Delete(S.cfg);
	free(S.stream_compose);
	free(S.stream_project);
	curl_global_cleanup();
	phx_exit(status);
}
