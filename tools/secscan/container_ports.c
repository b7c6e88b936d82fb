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

/* port: lib's reading of the binding; raw: podman's own, the evidence */
static void
check_port(const struct subject *s, const char *field, const cJSON *port,
    const cJSON *raw, cJSON *privileged)
{
	const char *ip = phx_jstr(port, "host_ip");
	long host = (long)phx_jint(port, "host_port", 0, INT_MIN, INT_MAX);
	long ctr = (long)phx_jint(port, "container_port", 0, INT_MIN, INT_MAX);
	bool sens = sensitive_port(ctr) || sensitive_port(host);
	char *cport = phx_asprintf("%ld/%s", ctr, phx_jstr(port, "protocol"));
	char *ev = phx_asprintf("%s[\"%s\"]", field, cport);
	const char *tag = sens ? " (sensitive)" : "";

	if (!ip)
		ip = "";
	if (host > 0 && host < 1024)
		cJSON_AddItemToArray(privileged, cJSON_CreateNumber((double)host));
	if (is_loopback(ip))
		finding(R_PORT, s, PHX_ST_PASS, SEV_RULE, ev, cJSON_Duplicate(raw, true),
		    "%s%s published on %s:%ld only (loopback)", cport, tag, ip, host);
	else if (all_interfaces(ip))
		finding(R_PORT, s, sens ? PHX_ST_FAIL : PHX_ST_WARN,
		    sens ? PHX_SEV_HIGH : PHX_SEV_MEDIUM, ev, cJSON_Duplicate(raw, true),
		    "%s%s published on ALL host interfaces (HostIp \"%s\") as "
		    "port %ld", cport, tag, ip, host);
	else
		finding(R_PORT, s, sens ? PHX_ST_FAIL : PHX_ST_INFO,
		    sens ? PHX_SEV_HIGH : PHX_SEV_LOW, ev, cJSON_Duplicate(raw, true),
		    "%s%s published on %s:%ld, reachable from other hosts", cport,
		    tag, ip, host);
	free(ev);
	free(cport);
}

void
check_ports(const struct target *t, const struct subject *s)
{
	const char *from;
	cJSON *ports = phx_podman_ports(t->inspect, &from);
	cJSON *privileged = cJSON_CreateArray();
	char *field = phx_asprintf(".%s", from);
	const cJSON *port = ports->child, *p, *b;

	/* lib read the bindings in podman's order */
	cJSON_ArrayForEach(p, jpath(t->inspect, from))
		cJSON_ArrayForEach(b, p) {
			if (!port)
				break;
			check_port(s, field, port, b, privileged);
			port = port->next;
		}
	if (!cJSON_GetArraySize(ports))
		finding(R_PORT, s, PHX_ST_PASS, SEV_RULE, field, dup_or_null(
		    jpath(t->inspect, from)), "no published port");
	if (cJSON_GetArraySize(privileged))
		finding(R_PRIVPORT, s, PHX_ST_FAIL, SEV_RULE, field, privileged,
		    "privileged host ports (below 1024) published");
	else {
		cJSON_Delete(privileged);
		finding(R_PRIVPORT, s, PHX_ST_PASS, SEV_RULE, field, cJSON_CreateArray(),
		    "no privileged host port published");
	}
	cJSON_Delete(ports);
	free(field);
}
