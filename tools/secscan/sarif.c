/* The SARIF 2.1.0 report (--sarif FILE), as GitHub code scanning and
 * Sarif.Multitool's validate want it: artifact URIs relative to a base
 * (%SRCROOT%, in originalUriBaseIds), rules with full descriptions and
 * help, results with fingerprints that survive a rerun. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secscan.h"

#define URI_BASE "%SRCROOT%"

static cJSON *results;          /* SARIF results */
static struct {
	bool done;
	char *base;             /* file:///dir/ */
	char *uri;              /* the compose file, relative to base */
} artifact;

void
sarif_begin(void)
{
	results = cJSON_CreateArray();
}

static const char *
sarif_level(enum phx_status st)
{
	switch (st) {
	case PHX_ST_FAIL: return "error";
	case PHX_ST_WARN: return "warning";
	case PHX_ST_INFO: return "note";
	default: return "none";
	}
}

/* a path as a URI path: RFC 3986 unreserved characters and '/' kept */
static char *
uri_escape(const char *path, size_t len)
{
	struct phx_buf b = { 0 };

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];
		if (isalnum(c) || strchr("/-._~", c))
			phx_buf_add(&b, &path[i], 1);
		else
			phx_buf_printf(&b, "%%%02X", c);
	}
	phx_buf_str(&b);
	return b.data;
}

/* the compose file as a URI relative to the working directory (where a
 * CI job checks the repository out) or, outside it, to its own folder */
static void
artifact_resolve(void)
{
	const char *file = compose_path();
	char *real = file ? realpath(file, NULL) : NULL;
	char *cwd = getcwd(NULL, 0), *dir = NULL, *slash;
	size_t n = cwd ? strlen(cwd) : 0;

	artifact.done = true;
	if (!real)
		goto out;
	if (cwd && n > 1 && strncmp(real, cwd, n) == 0 && real[n] == '/')
		dir = phx_asprintf("%s/", cwd);
	else {
		slash = strrchr(real, '/');
		dir = phx_asprintf("%.*s", (int)(slash - real + 1), real);
	}
	artifact.uri = uri_escape(real + strlen(dir), strlen(real + strlen(dir)));
	{
		char *esc = uri_escape(dir, strlen(dir));
		artifact.base = phx_asprintf("file://%s", esc);
		free(esc);
	}
out:
	free(real);
	free(cwd);
	free(dir);
}

/* 64-bit FNV-1a over the strings, each with its NUL */
static char *
fingerprint(const char *const *parts, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (size_t i = 0; i < n; i++) {
		const char *p = parts[i] ? parts[i] : "";
		do {
			h ^= (unsigned char)*p;
			h *= 0x100000001b3u;
		} while (*p++);
	}
	return phx_asprintf("%016" PRIx64, h);
}

/* a manifest's line: the file relative to the working directory (the
 * repository, in CI), else absolute */
static void
manifest_location(cJSON *loc, const char *file, unsigned line)
{
	cJSON *phys = cJSON_AddObjectToObject(loc, "physicalLocation");
	cJSON *art = cJSON_AddObjectToObject(phys, "artifactLocation");
	char *real = realpath(file, NULL), *cwd = getcwd(NULL, 0), *uri;
	const char *p = real ? real : file;
	size_t n = cwd ? strlen(cwd) : 0;
	bool under = cwd && n > 1 && strncmp(p, cwd, n) == 0 && p[n] == '/';

	uri = under ? uri_escape(p + n + 1, strlen(p + n + 1))
	    : uri_escape(p, strlen(p));
	if (under)
		cJSON_AddStringToObject(art, "uri", uri);
	else {
		char *abs = phx_asprintf("file://%s", uri);
		cJSON_AddStringToObject(art, "uri", abs);
		free(abs);
	}
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(phys, "region"),
	    "startLine", line);
	free(uri);
	free(real);
	free(cwd);
}

static cJSON *
sarif_location(const struct subject *s)
{
	cJSON *loc = cJSON_CreateObject(), *logical = cJSON_CreateArray();
	cJSON *ll = cJSON_CreateObject();
	const cJSON *line = s->service ?
	    cJSON_GetObjectItemCaseSensitive(secscan.compose_lines, s->service) : NULL;

	if (!artifact.done)
		artifact_resolve();
	if (s->file && s->line)
		manifest_location(loc, s->file, s->line);
	else if (artifact.uri && cJSON_IsNumber(line)) {
		cJSON *phys = cJSON_AddObjectToObject(loc, "physicalLocation");
		cJSON *art = cJSON_AddObjectToObject(phys, "artifactLocation");
		cJSON *reg = cJSON_AddObjectToObject(phys, "region");
		cJSON_AddStringToObject(art, "uri", artifact.uri);
		cJSON_AddStringToObject(art, "uriBaseId", URI_BASE);
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

void
sarif_add(int r, enum phx_status st, enum phx_sev sev, const struct subject *s,
    const char *msg, const cJSON *evidence)
{
	cJSON *res, *props, *locs;

	if (!results || st == PHX_ST_PASS)
		return;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "ruleId", rules[r].id);
	cJSON_AddNumberToObject(res, "ruleIndex", r);
	if (st == PHX_ST_SKIP)
		cJSON_AddStringToObject(res, "kind", "notApplicable");
	else if (st == PHX_ST_INFO)
		cJSON_AddStringToObject(res, "kind", "informational");
	cJSON_AddStringToObject(res, "level", sarif_level(st));
	cJSON_AddObjectToObject(res, "message");
	cJSON_AddStringToObject(cJSON_GetObjectItem(res, "message"), "text", msg);
	locs = cJSON_AddArrayToObject(res, "locations");
	cJSON_AddItemToArray(locs, sarif_location(s));
	{
		/* the same finding on the same thing, run after run: not the
		 * line, which moves when the compose file is edited; the
		 * field tells one published port from another */
		const char *parts[] = { rules[r].id, s->service,
		    s->service ? artifact.uri : NULL, s->container ? s->container :
		    s->target ? s->target : s->image, phx_jstr(evidence, "field") };
		char *fp = fingerprint(parts, sizeof parts / sizeof *parts);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(res,
		    "partialFingerprints"), "phxSecscanFinding/v1", fp);
		free(fp);
	}
	props = cJSON_AddObjectToObject(res, "properties");
	cJSON_AddStringToObject(props, "status", phx_status_names[st]);
	cJSON_AddStringToObject(props, "severity", phx_sev_names[sev]);
	cJSON_AddStringToObject(props, "security-severity", sev_score[sev]);
	cJSON_AddItemToObject(props, "evidence", cJSON_Duplicate(evidence, true));
	cJSON_AddItemToArray(results, res);
}

static cJSON *
sarif_text(cJSON *obj, const char *key, const char *text)
{
	cJSON *o = cJSON_AddObjectToObject(obj, key);

	cJSON_AddStringToObject(o, "text", text);
	return o;
}

static cJSON *
sarif_rule(const struct rule *ru)
{
	cJSON *r = cJSON_CreateObject(), *o, *p;
	char *md;

	cJSON_AddStringToObject(r, "id", ru->id);
	sarif_text(r, "shortDescription", ru->title);
	sarif_text(r, "fullDescription", ru->description);
	o = sarif_text(r, "help", ru->remediation);
	md = phx_asprintf("**%s**\n\n%s\n\n**Remediation:** %s%s%s%s",
	    ru->title, ru->description, ru->remediation,
	    ru->cis ? "\n\nCIS Docker Benchmark 1.6.0, " : "",
	    ru->cis ? ru->cis : "", ru->cis ? "." : "");
	cJSON_AddStringToObject(o, "markdown", md);
	free(md);
	cJSON_AddStringToObject(r, "helpUri", ru->help_uri);
	o = cJSON_AddObjectToObject(r, "defaultConfiguration");
	cJSON_AddStringToObject(o, "level", ru->severity >= PHX_SEV_HIGH ?
	    "error" : "warning");
	cJSON_AddBoolToObject(o, "enabled", ru->enabled);
	p = cJSON_AddObjectToObject(r, "properties");
	if (ru->cis)
		cJSON_AddStringToObject(p, "cis", ru->cis);
	cJSON_AddStringToObject(p, "severity", phx_sev_names[ru->severity]);
	cJSON_AddStringToObject(p, "security-severity", sev_score[ru->severity]);
	o = cJSON_AddArrayToObject(p, "tags");
	cJSON_AddItemToArray(o, cJSON_CreateString("security"));
	return r;
}

bool
write_sarif(bool ok)
{
	cJSON *doc = cJSON_CreateObject(), *runs, *run, *driver, *inv, *rules_out;
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
	cJSON_AddStringToObject(driver, "informationUri", "man:phx-secscan(1)");
	rules_out = cJSON_AddArrayToObject(driver, "rules");
	for (int i = 0; i < R_N; i++)
		cJSON_AddItemToArray(rules_out, sarif_rule(&rules[i]));
	if (!artifact.done)
		artifact_resolve();
	if (artifact.base)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(
		    cJSON_AddObjectToObject(run, "originalUriBaseIds"), URI_BASE),
		    "uri", artifact.base);
	inv = cJSON_CreateObject();
	cJSON_AddBoolToObject(inv, "executionSuccessful", ok);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(run, "invocations"), inv);
	if (phx_deployment_id())
		cJSON_AddStringToObject(cJSON_AddObjectToObject(run, "properties"),
		    "deployment_id", phx_deployment_id());
	cJSON_AddItemToObject(run, "results", results);
	results = NULL;
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	clean = phx_redact(text);
	wrote = phx_write_file(secscan.sarif, clean, strlen(clean));
	if (!wrote)
		phx_log(PHX_ERROR, "%s: %s", secscan.sarif, strerror(errno));
	free(clean);
	free(text);
	free(artifact.base);
	free(artifact.uri);
	return wrote;
}
