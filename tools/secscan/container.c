/* The checks of one container, in the order they are reported; the
 * engine check; health and resource limits. */
#include <limits.h>
#include <string.h>

#include "secscan.h"

void
check_rootless(void)
{
	const struct subject s = { 0 };
	const cJSON *v = jpath(secscan.info, "host.security.rootless");

	if (cJSON_IsTrue(v))
		finding(R_ROOTLESS, &s, PHX_ST_PASS, SEV_RULE,
		    "podman info .host.security.rootless", dup_or_null(v),
		    "Podman runs rootless");
	else
		finding(R_ROOTLESS, &s, PHX_ST_WARN, SEV_RULE,
		    "podman info .host.security.rootless", dup_or_null(v),
		    "Podman runs as root: a container escape lands as root on "
		    "the host");
}

static void
check_health(const struct target *t, const struct subject *s)
{
	const cJSON *test = jpath(t->inspect, "Config.Healthcheck.Test");
	const cJSON *first = cJSON_GetArrayItem(test, 0);

	if (cJSON_IsString(first) && strcmp(first->valuestring, "NONE") != 0)
		finding(R_HEALTH, s, PHX_ST_PASS, SEV_RULE, ".Config.Healthcheck.Test",
		    dup_or_null(test), "health check defined");
	else
		finding(R_HEALTH, s, PHX_ST_WARN, SEV_RULE, ".Config.Healthcheck.Test",
		    dup_or_null(test), "no health check: a hung process looks "
		    "healthy");
}

static void
check_limits(const struct target *t, const struct subject *s)
{
	double mem = jpath_num(t->inspect, "HostConfig.Memory");
	double nano = jpath_num(t->inspect, "HostConfig.NanoCpus");
	double quota = jpath_num(t->inspect, "HostConfig.CpuQuota");
	double period = jpath_num(t->inspect, "HostConfig.CpuPeriod");
	double pids = jpath_num(t->inspect, "HostConfig.PidsLimit");
	long max = (long)phx_cfg_int(secscan.cfg, "security.max_pids", INT_MIN,
	    INT_MAX);

	if (mem > 0)
		finding(R_MEMORY, s, PHX_ST_PASS, SEV_RULE, ".HostConfig.Memory",
		    cJSON_CreateNumber(mem), "memory limit %.0f MiB",
		    mem / (1024 * 1024));
	else
		finding(R_MEMORY, s, PHX_ST_FAIL, SEV_RULE, ".HostConfig.Memory",
		    cJSON_CreateNumber(mem), "no memory limit");
	if (nano > 0)
		finding(R_CPU, s, PHX_ST_PASS, SEV_RULE, ".HostConfig.NanoCpus",
		    cJSON_CreateNumber(nano), "CPU limit %.2f CPUs", nano / 1e9);
	else if (quota > 0)
		finding(R_CPU, s, PHX_ST_PASS, SEV_RULE, ".HostConfig.CpuQuota",
		    cJSON_CreateNumber(quota), "CPU limit %.2f CPUs",
		    quota / (period > 0 ? period : 100000));
	else
		finding(R_CPU, s, PHX_ST_FAIL, SEV_RULE, ".HostConfig.NanoCpus",
		    cJSON_CreateNumber(nano), "no CPU limit (NanoCpus and CpuQuota "
		    "are 0)");
	if (pids <= 0)
		finding(R_PIDS, s, PHX_ST_FAIL, SEV_RULE, ".HostConfig.PidsLimit",
		    cJSON_CreateNumber(pids), "no PIDs limit: a fork bomb takes "
		    "the host");
	else if (pids > max)
		finding(R_PIDS, s, PHX_ST_WARN, SEV_RULE, ".HostConfig.PidsLimit",
		    cJSON_CreateNumber(pids), "PIDs limit %.0f is above %ld "
		    "(security.max_pids)%s", pids, max, pids == 2048 ?
		    "; 2048 is Podman's default, what a container gets when "
		    "nothing is set (podman-compose 1.0.3 ignores pids_limit)" : "");
	else
		finding(R_PIDS, s, PHX_ST_PASS, SEV_RULE, ".HostConfig.PidsLimit",
		    cJSON_CreateNumber(pids), "PIDs limit %.0f", pids);
}

void
scan_container(const struct target *t)
{
	struct subject s = { t->service, t->name, NULL, NULL, NULL, 0 };
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
	secscan.scanned++;
}
