/* A container's published ports. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "secscan.h"

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

static bool
sensitive_port(long port)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, phx_cfg(secscan.cfg, "security.sensitive_ports"))
		if (cJSON_IsNumber(it) &&
		    phx_num_int(it->valuedouble, -1, INT_MIN, INT_MAX) == port)
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
		finding(R_PORT, s, PHX_ST_PASS, SEV_RULE, ev, cJSON_Duplicate(b, true),
		    "%s%s published on %s:%s only (loopback)", cport, tag, ip, hp);
	else if (all_interfaces(ip))
		finding(R_PORT, s, sens ? PHX_ST_FAIL : PHX_ST_WARN,
		    sens ? PHX_SEV_HIGH : PHX_SEV_MEDIUM, ev, cJSON_Duplicate(b, true),
		    "%s%s published on ALL host interfaces (HostIp \"%s\") as "
		    "port %s", cport, tag, ip, hp);
	else
		finding(R_PORT, s, sens ? PHX_ST_FAIL : PHX_ST_INFO,
		    sens ? PHX_SEV_HIGH : PHX_SEV_LOW, ev, cJSON_Duplicate(b, true),
		    "%s%s published on %s:%s, reachable from other hosts", cport,
		    tag, ip, hp);
	free(ev);
}

void
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
		finding(R_PORT, s, PHX_ST_PASS, SEV_RULE, field, dup_or_null(ports),
		    "no published port");
	if (cJSON_GetArraySize(privileged))
		finding(R_PRIVPORT, s, PHX_ST_FAIL, SEV_RULE, field, privileged,
		    "privileged host ports (below 1024) published");
	else {
		cJSON_Delete(privileged);
		finding(R_PRIVPORT, s, PHX_ST_PASS, SEV_RULE, field, cJSON_CreateArray(),
		    "no privileged host port published");
	}
}
