/* One finding: filtered by the configuration, counted, emitted as a
 * record and kept for SARIF. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "secscan.h"

static bool
is_ignored(int r, const struct subject *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, secscan.ignore) {
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

/* emits one finding; value is consumed */
void
finding(int r, const struct subject *s, enum phx_status st, int sev,
    const char *field, cJSON *value, const char *fmt, ...)
{
	struct rule *ru = &rules[r];
	const char *group = phx_finding_group(ru->id, ru->cis);
	cJSON *rec, *ev;
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!ru->enabled || is_ignored(r, s)) {
		phx_log(PHX_DEBUG, "%s %s%s%s ignored by configuration: %s", ru->id,
		    phx_status_names[st], s->container ? " " : "",
		    s->container ? s->container : "", msg);
		secscan.ignored++;
		cJSON_Delete(value);
		return;
	}
	/* a severity set in security.yaml wins over the check's own */
	if (sev == SEV_RULE || ru->forced || st == PHX_ST_PASS || st == PHX_ST_SKIP)
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
	cJSON_AddStringToObject(rec, "status", phx_status_names[st]);
	cJSON_AddStringToObject(rec, "severity", phx_sev_names[sev]);
	if (group)
		cJSON_AddStringToObject(rec, "category", group);
	cJSON_AddStringToObject(rec, "title", ru->title);
	cJSON_AddStringToObject(rec, "message", msg);
	ev = cJSON_AddObjectToObject(rec, "evidence");
	cJSON_AddStringToObject(ev, "field", field);
	cJSON_AddItemToObject(ev, "value", value ? value : cJSON_CreateNull());
	if (st != PHX_ST_PASS)
		cJSON_AddStringToObject(rec, "remediation", ru->remediation);
	sarif_add(r, st, (enum phx_sev)sev, s, msg, ev);
	secscan.counts[st]++;
	if (phx_finding_fails(st, (enum phx_sev)sev, secscan.fail_on))
		secscan.failed = true;
	phx_emit(rec);
}
