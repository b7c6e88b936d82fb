/* The rules: their identities, default severities and what
 * security.yaml makes of them. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "secscan.h"

/* GitHub code scanning ranks SARIF results by this number */
const char *const sev_score[PHX_SEV_N] = { "0.0", "2.0", "5.5", "8.0", "9.5" };

struct rule rules[R_N] = {
	[R_ROOTLESS] = { "PHX-SEC-001", NULL, "Container engine runs rootless",
	    "Run Podman as an unprivileged user (rootless mode).", PHX_SEV_MEDIUM, true, false },
	[R_USER] = { "PHX-SEC-002", "4.1", "Container process runs as a non-root user",
	    "Set USER in the image or user: in the compose service to a non-zero uid.",
	    PHX_SEV_HIGH, true, false },
	[R_USERNS] = { "PHX-SEC-003", "5.31", "Container has its own user namespace",
	    "Map container uids away from the host's (--userns=auto, --uidmap) "
	    "or run the engine rootless.", PHX_SEV_MEDIUM, true, false },
	[R_PRIVILEGED] = { "PHX-SEC-004", "5.5", "Container is not privileged",
	    "Remove --privileged / privileged: true.", PHX_SEV_CRITICAL, true, false },
	[R_CAPADD] = { "PHX-SEC-005", "5.4",
	    "No capabilities beyond the engine's default set",
	    "Remove cap_add entries; grant only what the process needs.",
	    PHX_SEV_HIGH, true, false },
	[R_CAPDEFAULT] = { "PHX-SEC-006", "5.4",
	    "Default capabilities dropped",
	    "cap_drop: [ALL], then cap_add only what the process needs.",
	    PHX_SEV_LOW, true, false },
	[R_NNP] = { "PHX-SEC-007", "5.26", "no-new-privileges is set",
	    "Add security_opt: [no-new-privileges] (--security-opt no-new-privileges).",
	    PHX_SEV_MEDIUM, true, false },
	[R_READONLY] = { "PHX-SEC-008", "5.13", "Root filesystem is read-only",
	    "Set read_only: true (--read-only); mount tmpfs or volumes where "
	    "the process must write.", PHX_SEV_MEDIUM, true, false },
	[R_HEALTH] = { "PHX-SEC-009", "4.6", "A health check is defined",
	    "Add HEALTHCHECK to the image or healthcheck: to the service.",
	    PHX_SEV_LOW, true, false },
	[R_HOSTNET] = { "PHX-SEC-010", "5.10", "Host network namespace not shared",
	    "Remove network_mode: host (--network host).", PHX_SEV_HIGH, true, false },
	[R_HOSTPID] = { "PHX-SEC-011", "5.16", "Host PID namespace not shared",
	    "Remove pid: host (--pid host).", PHX_SEV_HIGH, true, false },
	[R_HOSTIPC] = { "PHX-SEC-012", "5.17", "Host IPC namespace not shared",
	    "Remove ipc: host (--ipc host).", PHX_SEV_MEDIUM, true, false },
	[R_HOSTUTS] = { "PHX-SEC-013", "5.21", "Host UTS namespace not shared",
	    "Remove uts: host (--uts host).", PHX_SEV_MEDIUM, true, false },
	[R_SECCOMP] = { "PHX-SEC-014", "5.22", "Seccomp profile is not disabled",
	    "Remove seccomp=unconfined from security_opt.", PHX_SEV_HIGH, true, false },
	[R_MOUNTS] = { "PHX-SEC-020", "5.6", "No sensitive host directory mounted",
	    "Do not bind-mount host system directories; use named volumes.",
	    PHX_SEV_HIGH, true, false },
	[R_SOCKET] = { "PHX-SEC-021", "5.32", "Container engine socket not mounted",
	    "Never mount the Podman or Docker socket into a container.",
	    PHX_SEV_CRITICAL, true, false },
	[R_NETDECL] = { "PHX-SEC-030", NULL,
	    "Attached only to the networks its compose service declares",
	    "Disconnect the container from undeclared networks "
	    "(podman network disconnect) and redeploy from the compose file.",
	    PHX_SEV_HIGH, true, false },
	[R_NETDEFAULT] = { "PHX-SEC-031", NULL,
	    "Not attached to the default podman network",
	    "Attach the service to a user-defined network.", PHX_SEV_MEDIUM, true, false },
	[R_REACH] = { "PHX-SEC-032", NULL,
	    "Reachable only by containers of its own project",
	    "Keep each project on its own networks; mark back-end networks "
	    "internal: true.", PHX_SEV_MEDIUM, true, false },
	[R_PORT] = { "PHX-SEC-040", "5.14",
	    "Published port bound to a specific host interface",
	    "Publish on 127.0.0.1 (\"127.0.0.1:HOST:CONTAINER\") unless the "
	    "port must be reached from other hosts.", PHX_SEV_HIGH, true, false },
	[R_PRIVPORT] = { "PHX-SEC-041", "5.8", "No privileged host port published",
	    "Publish on a host port above 1023.", PHX_SEV_LOW, true, false },
	[R_MEMORY] = { "PHX-SEC-050", "5.11", "Memory limit set",
	    "Set mem_limit (--memory).", PHX_SEV_MEDIUM, true, false },
	[R_CPU] = { "PHX-SEC-051", "5.12", "CPU limit set",
	    "Set cpus (--cpus).", PHX_SEV_MEDIUM, true, false },
	[R_PIDS] = { "PHX-SEC-052", "5.29", "PIDs limit set",
	    "Set pids_limit (--pids-limit); podman-compose 1.0.3 ignores "
	    "pids_limit, so lower the engine default (pids_limit in "
	    "containers.conf) instead.", PHX_SEV_MEDIUM, true, false },
	[R_TLSCHAIN] = { "PHX-SEC-060", NULL, "TLS certificate chain verifies",
	    "Serve a certificate issued by a CA the clients trust, with the "
	    "whole chain.", PHX_SEV_HIGH, true, false },
	[R_TLSHOST] = { "PHX-SEC-061", NULL, "TLS certificate matches the host name",
	    "Issue the certificate with the service's host name in "
	    "subjectAltName.", PHX_SEV_HIGH, true, false },
	[R_TLSLEGACY] = { "PHX-SEC-062", NULL, "TLS 1.0 and 1.1 refused",
	    "Set the server's minimum protocol to TLS 1.2.", PHX_SEV_MEDIUM, true, false },
	[R_TLSEXPIRY] = { "PHX-SEC-063", NULL, "TLS certificate not near expiry",
	    "Renew the certificate.", PHX_SEV_HIGH, true, false },
	[R_VULN] = { "PHX-SEC-070", NULL, "Image has no known vulnerabilities",
	    "Rebuild the image on updated packages.", PHX_SEV_HIGH, true, false },
};

static int
rule_find(const char *id)
{
	for (int i = 0; i < R_N; i++)
		if (strcasecmp(rules[i].id, id) == 0)
			return i;
	return -1;
}

void
apply_rules(void)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, phx_cfg(secscan.cfg, "security.rules")) {
		int r = rule_find(it->string);
		const char *s = phx_jstr(it, "severity");
		if (r < 0)
			phx_die(PHX_EXIT_USAGE, "security.rules: unknown rule \"%s\"",
			    it->string);
		rules[r].enabled = phx_jbool(it, "enabled", true);
		if (!s)
			continue;
		if ((rules[r].severity = phx_sev_parse(s)) == PHX_SEV_NONE)
			phx_die(PHX_EXIT_USAGE, "security.rules.%s.severity: expected "
			    "LOW, MEDIUM, HIGH or CRITICAL, got \"%s\"", it->string, s);
		rules[r].forced = true;
	}
	secscan.ignore = (cJSON *)phx_cfg(secscan.cfg, "security.ignore");
	cJSON_ArrayForEach(it, secscan.ignore) {
		char id[32];
		snprintf(id, sizeof id, "%.*s", (int)strcspn(it->valuestring, ":"),
		    it->valuestring);
		if (rule_find(id) < 0)
			phx_die(PHX_EXIT_USAGE, "security.ignore: unknown rule \"%s\"",
			    it->valuestring);
	}
}
