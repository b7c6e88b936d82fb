/* The SARIF 2.1.0 report (--sarif FILE). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "secscan.h"

static cJSON *results;          /* SARIF results */

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

static cJSON *
sarif_location(const struct subject *s)
{
	cJSON *loc = cJSON_CreateObject(), *logical = cJSON_CreateArray();
	cJSON *ll = cJSON_CreateObject();
	const char *file = secscan.compose_file ? secscan.compose_file : secscan.stream_compose;
	const cJSON *line = s->service ?
	    cJSON_GetObjectItemCaseSensitive(secscan.compose_lines, s->service) : NULL;

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

void
sarif_add(int r, enum phx_status st, enum phx_sev sev,
    const struct subject *s, const char *msg, const cJSON *evidence)
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
	props = cJSON_AddObjectToObject(res, "properties");
	cJSON_AddStringToObject(props, "status", phx_status_names[st]);
	cJSON_AddStringToObject(props, "severity", phx_sev_names[sev]);
	cJSON_AddStringToObject(props, "security-severity", sev_score[sev]);
	cJSON_AddItemToObject(props, "evidence", cJSON_Duplicate(evidence, true));
	cJSON_AddItemToArray(results, res);
}

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
		cJSON_AddStringToObject(o, "level", rules[i].severity >= PHX_SEV_HIGH ?
		    "error" : "warning");
		cJSON_AddBoolToObject(o, "enabled", rules[i].enabled);
		p = cJSON_AddObjectToObject(r, "properties");
		if (rules[i].cis)
			cJSON_AddStringToObject(p, "cis", rules[i].cis);
		cJSON_AddStringToObject(p, "severity", phx_sev_names[rules[i].severity]);
		cJSON_AddStringToObject(p, "security-severity",
		    sev_score[rules[i].severity]);
		o = cJSON_AddArrayToObject(p, "tags");
		cJSON_AddItemToArray(o, cJSON_CreateString("security"));
		cJSON_AddItemToArray(arr, r);
	}
	return arr;
}

bool
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
	return wrote;
}
