/* Image vulnerability scanning with trivy or grype. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secscan.h"

#define SCAN_TIMEOUT_MS 600000

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
	struct subject s = { NULL, NULL, NULL, image, NULL, 0 };
	const char *tmp = getenv("TMPDIR");
	char *dir = phx_asprintf("%s/phx-secscan.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	char *tar = NULL, *src = NULL, *why = NULL;
	struct phx_run run = { 0 };
	cJSON *report = NULL, *counts;
	int worst = -1;

	if (!mkdtemp(dir)) {
		finding(R_VULN, &s, PHX_ST_SKIP, SEV_RULE, scanner, NULL, "no scan "
		    "done: %s: %s", dir, strerror(errno));
		free(dir);
		return;
	}
	tar = phx_asprintf("%s/image.tar", dir);
	{
		const char *args[] = { "save", "-o", tar, NULL };
		const char *ops[] = { id, NULL };
		if (!phx_podman(args, ops, &run, &why))
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
	for (int i = PHX_SEV_LOW; i <= PHX_SEV_CRITICAL; i++)
		if (cJSON_GetObjectItem(counts, phx_sev_names[i]))
			worst = i;
	if (worst >= PHX_SEV_HIGH)
		finding(R_VULN, &s, PHX_ST_FAIL, worst, scanner, counts,
		    "%s found known vulnerabilities, the worst %s", scanner,
		    phx_sev_names[worst]);
	else if (worst >= 0)
		finding(R_VULN, &s, PHX_ST_WARN, worst, scanner, counts,
		    "%s found known vulnerabilities, the worst %s", scanner,
		    phx_sev_names[worst]);
	else
		finding(R_VULN, &s, PHX_ST_PASS, SEV_RULE, scanner, counts,
		    "%s found no known vulnerability", scanner);
	goto out;
skip:
	finding(R_VULN, &s, PHX_ST_SKIP, SEV_RULE, scanner, NULL,
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

void
scan_images(void)
{
	static const char *names[] = { "trivy", "grype" };
	const struct subject none = { 0 };
	const char *want = secscan.scanner;
	cJSON *seen = cJSON_CreateArray();
	char *exe = NULL;
	const char *scanner = NULL;

	if (strcmp(want, "none") == 0) {
		finding(R_VULN, &none, PHX_ST_SKIP, SEV_RULE, "security.scanner",
		    cJSON_CreateString(want), "no image vulnerability scan done: "
		    "turned off (scanner: none)");
		cJSON_Delete(seen);
		return;
	}
	for (size_t i = 0; i < 2 && !exe; i++)
		if (strcmp(want, "auto") == 0 || strcmp(want, names[i]) == 0)
			if ((exe = phx_which(names[i])))
				scanner = names[i];
	if (!exe) {
		finding(R_VULN, &none, PHX_ST_SKIP, SEV_RULE, "PATH",
		    cJSON_CreateString(want), "no image vulnerability scan done: "
		    "%s (neither is packaged in Debian)",
		    strcmp(want, "auto") == 0 ? "neither trivy nor grype is "
		    "installed" : strcmp(want, "trivy") == 0 ? "trivy is not "
		    "installed" : "grype is not installed");
		cJSON_Delete(seen);
		return;
	}
	for (const struct target *t = secscan.targets; t; t = t->next) {
		const char *id = jpath_str(t->inspect, "Image");
		const char *name = jpath_str(t->inspect, "ImageName");
		if (!id || phx_jhas(seen, id))
			continue;
		add_unique(seen, id);
		scan_image(scanner, exe, name ? name : id, id);
	}
	free(exe);
	cJSON_Delete(seen);
}
