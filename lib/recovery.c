/* The recovery policy (phx(7)): what a stage does when a service fails
 * its health checks or a test fails, per category, and the record of
 * each action taken (phx-records(5)).  The probe and the functional
 * tests read it from here, so the words and the critical rule are one. */
#include <stdio.h>
#include <string.h>

#include "phx.h"

const char *const phx_recover_names[PHX_RECOVER_N] = {
	"restart", "continue", "abort",
};

/* what each category takes: health all three, functional no restart
 * (a test has no container of its own) */
static bool
takes(const char *category, enum phx_recover p)
{
	return p != PHX_RECOVER_RESTART || strcmp(category, "health") == 0;
}

enum phx_recover
phx_recovery_policy(const cJSON *cfg, const char *category,
    const cJSON *entry)
{
	char key[64];
	const char *v;

	snprintf(key, sizeof key, "recovery.%s", category);
	v = phx_cfg_str(cfg, key);
	for (int i = 0; i < PHX_RECOVER_N; i++)
		if (strcmp(v, phx_recover_names[i]) == 0 &&
		    takes(category, (enum phx_recover)i))
			return phx_jbool(entry, "critical", false) ?
			    PHX_RECOVER_ABORT : (enum phx_recover)i;
	phx_die(PHX_EXIT_USAGE, "%s: expected %s, got \"%s\"", key,
	    takes(category, PHX_RECOVER_RESTART) ? "restart, continue or abort" :
	    "continue or abort", v);
}

cJSON *
phx_recovery_record(const char *category, const char *action,
    const char *service, const char *why)
{
	cJSON *rec = phx_record_new("recovery");

	cJSON_AddStringToObject(rec, "category", category);
	cJSON_AddStringToObject(rec, "action", action);
	if (service)
		cJSON_AddStringToObject(rec, "service", service);
	cJSON_AddStringToObject(rec, "why", why ? why : "");
	return rec;
}
