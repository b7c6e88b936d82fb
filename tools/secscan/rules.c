/* The rules: their identities, default severities and what
 * security.yaml makes of them. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "secscan.h"

/* GitHub code scanning ranks SARIF results by this number */
const char *const sev_score[PHX_SEV_N] = { "0.0", "2.0", "5.5", "8.0", "9.5" };

#define PSS "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
#define PODMAN_RUN "https://docs.podman.io/en/latest/markdown/podman-run.1.html"

struct rule rules[R_N] = {
	[R_ROOTLESS] = { "PHX-SEC-001", NULL, "Rootless container engine",
	    "Whether Podman runs rootless. A rootful engine runs containers as "
	    "root on the host, so a container escape gives root on the host.",
	    "Run Podman as an unprivileged user (rootless mode).",
	    "https://github.com/containers/podman/blob/main/docs/tutorials/rootless_tutorial.md",
	    PHX_SEV_MEDIUM, true, false },
	[R_USER] = { "PHX-SEC-002", "4.1", "Non-root container user",
	    "Whether the container's process runs as a non-root user. A process "
	    "running as uid 0 keeps root's power over everything the container "
	    "can reach.",
	    "Set USER in the image or user: in the compose service to a "
	    "non-zero uid.",
	    PODMAN_RUN, PHX_SEV_HIGH, true, false },
	[R_USERNS] = { "PHX-SEC-003", "5.31", "Container user namespace",
	    "Whether the container has its own user namespace. On a rootful "
	    "engine without one, uid N in the container is uid N on the host.",
	    "Map container uids away from the host's (--userns=auto, --uidmap) "
	    "or run the engine rootless.",
	    PODMAN_RUN, PHX_SEV_MEDIUM, true, false },
	[R_PRIVILEGED] = { "PHX-SEC-004", "5.5", "Privileged mode",
	    "Whether the container runs privileged. A privileged container has "
	    "every capability, every device and no confinement: it is root on "
	    "the host.",
	    "Remove --privileged / privileged: true.",
	    PODMAN_RUN, PHX_SEV_CRITICAL, true, false },
	[R_CAPADD] = { "PHX-SEC-005", "5.4",
	    "Capabilities beyond the default set",
	    "Whether the container holds capabilities beyond the engine's "
	    "default set, such as SYS_ADMIN, which widen what a compromised "
	    "process can do to the host.",
	    "Remove cap_add entries; grant only what the process needs.",
	    PODMAN_RUN, PHX_SEV_HIGH, true, false },
	[R_CAPDEFAULT] = { "PHX-SEC-006", "5.4", "Default capability set",
	    "Which of the engine's default capabilities the container keeps; "
	    "most processes need none of them.",
	    "cap_drop: [ALL], then cap_add only what the process needs.",
	    PODMAN_RUN, PHX_SEV_LOW, true, false },
	[R_NNP] = { "PHX-SEC-007", "5.26", "no-new-privileges option",
	    "Whether no-new-privileges is set, which stops setuid binaries and "
	    "file capabilities from raising the process's privileges.",
	    "Add security_opt: [no-new-privileges] (--security-opt "
	    "no-new-privileges).",
	    PODMAN_RUN, PHX_SEV_MEDIUM, true, false },
	[R_READONLY] = { "PHX-SEC-008", "5.13", "Read-only root filesystem",
	    "Whether the container's root filesystem is read-only, so that an "
	    "intruder cannot change the image's programs or leave tools behind.",
	    "Set read_only: true (--read-only); mount tmpfs or volumes where "
	    "the process must write.",
	    PODMAN_RUN, PHX_SEV_MEDIUM, true, false },
	[R_HEALTH] = { "PHX-SEC-009", "4.6", "Health check",
	    "Whether a health check is defined; without one a hung process "
	    "looks healthy.",
	    "Add HEALTHCHECK to the image or healthcheck: to the service.",
	    PODMAN_RUN, PHX_SEV_LOW, true, false },
	[R_HOSTNET] = { "PHX-SEC-010", "5.10", "Host network namespace sharing",
	    "Whether the container shares the host's network namespace, which "
	    "gives it the host's interfaces and every port on them.",
	    "Remove network_mode: host (--network host).",
	    PODMAN_RUN, PHX_SEV_HIGH, true, false },
	[R_HOSTPID] = { "PHX-SEC-011", "5.16", "Host PID namespace sharing",
	    "Whether the container shares the host's PID namespace, which lets "
	    "it see and signal every process on the host.",
	    "Remove pid: host (--pid host).",
	    PODMAN_RUN, PHX_SEV_HIGH, true, false },
	[R_HOSTIPC] = { "PHX-SEC-012", "5.17", "Host IPC namespace sharing",
	    "Whether the container shares the host's IPC namespace, which "
	    "exposes the host's shared memory and message queues.",
	    "Remove ipc: host (--ipc host).",
	    PODMAN_RUN, PHX_SEV_MEDIUM, true, false },
	[R_HOSTUTS] = { "PHX-SEC-013", "5.21", "Host UTS namespace sharing",
	    "Whether the container shares the host's UTS namespace, which lets "
	    "it change the host's name.",
	    "Remove uts: host (--uts host).",
	    PODMAN_RUN, PHX_SEV_MEDIUM, true, false },
	[R_SECCOMP] = { "PHX-SEC-014", "5.22", "Seccomp profile",
	    "Whether the container runs under a seccomp profile, which keeps "
	    "rarely needed and dangerous system calls out of its reach.",
	    "Remove seccomp=unconfined from security_opt.",
	    PODMAN_RUN, PHX_SEV_HIGH, true, false },
	[R_MOUNTS] = { "PHX-SEC-020", "5.6", "Sensitive host directory mounts",
	    "Whether a sensitive host directory (security.sensitive_mounts, "
	    "such as /etc or /proc) is bind-mounted into the container.",
	    "Do not bind-mount host system directories; use named volumes.",
	    PODMAN_RUN, PHX_SEV_HIGH, true, false },
	[R_SOCKET] = { "PHX-SEC-021", "5.32", "Container engine socket mount",
	    "Whether a container engine socket (Podman, Docker, containerd, "
	    "CRI-O) is mounted into the container; whoever holds it controls "
	    "the engine, and so the host.",
	    "Never mount the Podman or Docker socket into a container.",
	    PODMAN_RUN, PHX_SEV_CRITICAL, true, false },
	[R_NETDECL] = { "PHX-SEC-030", NULL,
	    "Networks against the compose declaration",
	    "Whether the container is attached to exactly the networks its "
	    "compose service declares; an undeclared network opens paths the "
	    "compose file does not show.",
	    "Disconnect the container from undeclared networks (podman network "
	    "disconnect) and redeploy from the compose file.",
	    "https://docs.podman.io/en/latest/markdown/podman-network-disconnect.1.html",
	    PHX_SEV_HIGH, true, false },
	[R_NETDEFAULT] = { "PHX-SEC-031", NULL,
	    "Default podman network attachment",
	    "Whether the container is on the default podman network, which "
	    "every container started without --network shares.",
	    "Attach the service to a user-defined network.",
	    "https://docs.podman.io/en/latest/markdown/podman-network-create.1.html",
	    PHX_SEV_MEDIUM, true, false },
	[R_REACH] = { "PHX-SEC-032", NULL, "Reachability from other projects",
	    "Which running containers share a network with the container, "
	    "whether they belong to other compose projects, and whether "
	    "networks declared internal are internal in Podman.",
	    "Keep each project on its own networks; mark back-end networks "
	    "internal: true.",
	    "https://docs.podman.io/en/latest/markdown/podman-network-create.1.html",
	    PHX_SEV_MEDIUM, true, false },
	[R_PORT] = { "PHX-SEC-040", "5.14",
	    "Host interface of a published port",
	    "Which host interface a published port is bound to; a port on every "
	    "interface is open to other hosts.",
	    "Publish on 127.0.0.1 (\"127.0.0.1:HOST:CONTAINER\") unless the "
	    "port must be reached from other hosts.",
	    PODMAN_RUN, PHX_SEV_HIGH, true, false },
	[R_PRIVPORT] = { "PHX-SEC-041", "5.8", "Privileged host ports",
	    "Whether a host port below 1024 is published; those are reserved "
	    "for the host's own services.",
	    "Publish on a host port above 1023.",
	    PODMAN_RUN, PHX_SEV_LOW, true, false },
	[R_MEMORY] = { "PHX-SEC-050", "5.11", "Memory limit",
	    "Whether the container has a memory limit; without one a leak or an "
	    "attack can exhaust the host's memory.",
	    "Set mem_limit (--memory).",
	    PODMAN_RUN, PHX_SEV_MEDIUM, true, false },
	[R_CPU] = { "PHX-SEC-051", "5.12", "CPU limit",
	    "Whether the container has a CPU limit; without one it can starve "
	    "every other process on the host.",
	    "Set cpus (--cpus).",
	    PODMAN_RUN, PHX_SEV_MEDIUM, true, false },
	[R_PIDS] = { "PHX-SEC-052", "5.29", "PIDs limit",
	    "Whether the container has a PIDs limit at or below "
	    "security.max_pids; without one a fork bomb takes the host.",
	    "Set pids_limit (--pids-limit); podman-compose 1.0.3 ignores "
	    "pids_limit, so lower the engine default (pids_limit in "
	    "containers.conf) instead.",
	    PODMAN_RUN, PHX_SEV_MEDIUM, true, false },
	[R_TLSCHAIN] = { "PHX-SEC-060", NULL, "TLS certificate chain",
	    "Whether the endpoint's certificate chain verifies against the "
	    "trusted CAs (security.ca_file when set); clients that do not "
	    "verify can be intercepted.",
	    "Serve a certificate issued by a CA the clients trust, with the "
	    "whole chain.",
	    "https://wiki.mozilla.org/Security/Server_Side_TLS",
	    PHX_SEV_HIGH, true, false },
	[R_TLSHOST] = { "PHX-SEC-061", NULL, "TLS certificate host name",
	    "Whether the endpoint's certificate names the host it is served for "
	    "in subjectAltName.",
	    "Issue the certificate with the service's host name in "
	    "subjectAltName.",
	    "https://www.rfc-editor.org/rfc/rfc6125", PHX_SEV_HIGH, true, false },
	[R_TLSLEGACY] = { "PHX-SEC-062", NULL, "TLS 1.0 and 1.1 support",
	    "Whether the endpoint accepts TLS 1.0 or 1.1, protocol versions "
	    "deprecated by RFC 8996.",
	    "Set the server's minimum protocol to TLS 1.2.",
	    "https://www.rfc-editor.org/rfc/rfc8996", PHX_SEV_MEDIUM, true, false },
	[R_TLSEXPIRY] = { "PHX-SEC-063", NULL, "TLS certificate expiry",
	    "Whether the endpoint's certificate has expired or expires within "
	    "security.min_cert_days.",
	    "Renew the certificate.",
	    "https://wiki.mozilla.org/Security/Server_Side_TLS",
	    PHX_SEV_HIGH, true, false },
	[R_VULN] = { "PHX-SEC-070", NULL, "Known image vulnerabilities",
	    "Whether trivy or grype finds known vulnerabilities in the "
	    "container's image.",
	    "Rebuild the image on updated packages.",
	    "https://aquasecurity.github.io/trivy/", PHX_SEV_HIGH, true, false },
	/* the Pod Security Standards' restricted profile, and what kube-score
	 * and Polaris check beside it, on each container of a manifest; the
	 * cis field is the Docker Benchmark's: the Kubernetes Benchmark's
	 * items are named in the descriptions */
	[R_K_NONROOT] = { "PHX-SEC-101", NULL, "Pod user (runAsNonRoot)",
	    "Whether the container's effective securityContext sets runAsNonRoot "
	    "true and no runAsUser 0 (PSS restricted \"Running as Non-root\"; "
	    "kube-score container-security-context-user-group-id, Polaris "
	    "runAsRootAllowed; CIS Kubernetes 5.2.6).",
	    "Set securityContext.runAsNonRoot: true (pod or container) and a "
	    "non-zero runAsUser.", PSS, PHX_SEV_HIGH, true, false },
	[R_K_ESCALATION] = { "PHX-SEC-102", NULL, "Privilege escalation "
	    "(allowPrivilegeEscalation)",
	    "Whether allowPrivilegeEscalation is false, so that setuid binaries "
	    "cannot raise the process's privileges (PSS restricted; Polaris "
	    "privilegeEscalationAllowed; CIS Kubernetes 5.2.5).",
	    "Set securityContext.allowPrivilegeEscalation: false.", PSS,
	    PHX_SEV_HIGH, true, false },
	[R_K_CAPS] = { "PHX-SEC-103", NULL, "Capability drop list",
	    "Whether capabilities.drop holds ALL and add at most "
	    "NET_BIND_SERVICE (PSS restricted; Polaris insecureCapabilities; "
	    "CIS Kubernetes 5.2.9).",
	    "Set securityContext.capabilities.drop: [ALL].", PSS,
	    PHX_SEV_MEDIUM, true, false },
	[R_K_SECCOMP] = { "PHX-SEC-104", NULL, "Seccomp profile",
	    "Whether the effective seccompProfile.type is RuntimeDefault or "
	    "Localhost (PSS restricted; CIS Kubernetes 5.7.2).",
	    "Set securityContext.seccompProfile.type: RuntimeDefault.", PSS,
	    PHX_SEV_MEDIUM, true, false },
	[R_K_READONLY] = { "PHX-SEC-105", NULL, "Read-only root filesystem",
	    "Whether readOnlyRootFilesystem is true (kube-score "
	    "container-security-context-readonlyrootfilesystem, Polaris "
	    "notReadOnlyRootFilesystem).",
	    "Set securityContext.readOnlyRootFilesystem: true; mount emptyDir "
	    "where the process writes.", PSS, PHX_SEV_MEDIUM, true, false },
	[R_K_RESOURCES] = { "PHX-SEC-106", NULL, "CPU and memory requests "
	    "and limits", "Whether the container requests and limits CPU and "
	    "memory (kube-score container-resources, Polaris cpuLimitsMissing "
	    "and memoryLimitsMissing).",
	    "Set resources.requests and resources.limits for cpu and memory.",
	    PSS, PHX_SEV_MEDIUM, true, false },
	[R_K_PRIVILEGED] = { "PHX-SEC-107", NULL, "Privileged container",
	    "Whether the container is privileged (PSS baseline; kube-score "
	    "container-security-context-privileged; CIS Kubernetes 5.2.1).",
	    "Remove securityContext.privileged: true.", PSS,
	    PHX_SEV_CRITICAL, true, false },
	[R_K_HOSTNET] = { "PHX-SEC-108", NULL, "Host network",
	    "Whether the pod uses the host's network namespace (PSS baseline; "
	    "Polaris hostNetworkSet; CIS Kubernetes 5.2.4).",
	    "Remove hostNetwork: true.", PSS,
	    PHX_SEV_HIGH, true, false },
	[R_K_HOSTPID] = { "PHX-SEC-109", NULL, "Host PID namespace",
	    "Whether the pod shares the host's PID namespace (PSS baseline; "
	    "Polaris hostPIDSet; CIS Kubernetes 5.2.2).", "Remove hostPID: true.", PSS,
	    PHX_SEV_HIGH, true, false },
	[R_K_HOSTIPC] = { "PHX-SEC-110", NULL, "Host IPC namespace",
	    "Whether the pod shares the host's IPC namespace (PSS baseline; "
	    "Polaris hostIPCSet; CIS Kubernetes 5.2.3).", "Remove hostIPC: true.", PSS,
	    PHX_SEV_HIGH, true, false },
	[R_K_HOSTPATH] = { "PHX-SEC-111", NULL, "hostPath volumes",
	    "Whether the pod mounts a host path (PSS baseline; Polaris "
	    "hostPathSet).", "Use a PersistentVolumeClaim, ConfigMap or "
	    "emptyDir instead of hostPath.", PSS, PHX_SEV_HIGH, true, false },
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
