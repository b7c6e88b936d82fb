/* The vocabulary of records (phx-records(5)): the statuses of health,
 * test and finding records, the severities of findings, how they rank,
 * the --fail-on grammar (phx(7)) and the group a finding speaks to.  One
 * stage writes each and phx-report reads them all; both take the words
 * and the rules from here, so they cannot disagree. */
#include <string.h>
#include <strings.h>

#include "phx.h"

const char *const phx_status_names[PHX_STATUS_N] = {
	"FAIL", "WARN", "SKIP", "INFO", "PASS",
};
const char *const phx_sev_names[PHX_SEV_N] = {
	"NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL",
};

const char *const phx_health_names[PHX_HEALTH_N] = { "healthy", "unhealthy" };
const char *const phx_test_names[PHX_TEST_N] = {
	"passed", "failed", "skipped", "error",
};

const char *
phx_health_name(bool healthy)
{
	return phx_health_names[healthy ? PHX_HEALTHY : PHX_UNHEALTHY];
}

bool
phx_healthy(const char *s)
{
	return s && strcmp(s, phx_health_names[PHX_HEALTHY]) == 0;
}

enum phx_test
phx_test_parse(const char *s)
{
	for (int i = 0; s && i < PHX_TEST_N; i++)
		if (strcmp(s, phx_test_names[i]) == 0)
			return (enum phx_test)i;
	return PHX_TEST_N;
}

bool
phx_test_failed(const char *s)
{
	enum phx_test t = phx_test_parse(s);

	return t == PHX_TEST_FAILED || t == PHX_TEST_ERROR;
}

/* statuses are written in capitals and read only so */
enum phx_status
phx_status_parse(const char *s)
{
	for (int i = 0; s && i < PHX_STATUS_N; i++)
		if (strcmp(s, phx_status_names[i]) == 0)
			return (enum phx_status)i;
	return PHX_STATUS_N;
}

/* severities come from people too (security.yaml), so any case */
enum phx_sev
phx_sev_parse(const char *s)
{
	for (int i = PHX_SEV_LOW; s && i < PHX_SEV_N; i++)
		if (strcasecmp(s, phx_sev_names[i]) == 0)
			return (enum phx_sev)i;
	return PHX_SEV_NONE;
}

int
phx_fail_on_parse(const char *s)
{
	if (!s)
		return -1;
	if (strcasecmp(s, "none") == 0 || strcasecmp(s, "never") == 0)
		return PHX_SEV_NONE;
	return phx_sev_parse(s) == PHX_SEV_NONE ? -1 : (int)phx_sev_parse(s);
}

enum phx_sev
phx_fail_on(const char *s, const char *where)
{
	int sev = phx_fail_on_parse(s);

	if (sev < 0)
		phx_die(PHX_EXIT_USAGE, "%s: expected LOW, MEDIUM, HIGH, CRITICAL "
		    "or NONE, got \"%s\"", where, s ? s : "");
	return (enum phx_sev)sev;
}

bool
phx_finding_fails(enum phx_status st, enum phx_sev sev, enum phx_sev fail_on)
{
	return st == PHX_ST_FAIL && fail_on != PHX_SEV_NONE && sev >= fail_on;
}

/* phx-secscan's stable check ids, then the CIS ids other scanners may
 * carry; only phx-report's security summary asks for these groups */
const char *
phx_finding_group(const char *id, const char *cis)
{
	static const struct { const char *id, *group; } map[] = {
		{ "PHX-SEC-001", "rootless" }, { "PHX-SEC-002", "rootless" },
		{ "PHX-SEC-003", "rootless" }, { "4.1", "rootless" },
		{ "5.31", "rootless" },
		{ "PHX-SEC-010", "network" }, { "PHX-SEC-030", "network" },
		{ "PHX-SEC-031", "network" }, { "PHX-SEC-032", "network" },
		{ "5.10", "network" },
		{ "PHX-SEC-040", "ports" }, { "PHX-SEC-041", "ports" },
		{ "5.8", "ports" }, { "5.14", "ports" },
	};

	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if ((id && strcmp(id, map[i].id) == 0) ||
		    (cis && strcmp(cis, map[i].id) == 0))
			return map[i].group;
	return NULL;
}
