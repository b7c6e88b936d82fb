/* A container's networks: as declared in the compose file, the
 * default one, and who else can reach it. */
#include <stdlib.h>
#include <string.h>

#include "secscan.h"

static cJSON *
attached_networks(const struct target *t)
{
	const cJSON *it;
	cJSON *out = cJSON_CreateArray();

	cJSON_ArrayForEach(it, jpath(t->inspect, "NetworkSettings.Networks"))
		add_unique(out, it->string);
	return out;
}

static cJSON *
minus(const cJSON *a, const cJSON *b)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *it;

	cJSON_ArrayForEach(it, a)
		if (cJSON_IsString(it) && !phx_jhas(b, it->valuestring))
			add_unique(out, it->valuestring);
	return out;
}

static void
check_declared(const struct target *t, const struct subject *s,
    const cJSON *have)
{
	const char *file = compose_path();
	const char *project = t->project ? t->project : secscan.project ? secscan.project :
	    secscan.stream_project;
	cJSON *decl, *extra, *missing;
	char *l1, *l2;

	if (!secscan.compose || !t->service) {
		finding(R_NETDECL, s, PHX_ST_SKIP, SEV_RULE, ".NetworkSettings.Networks",
		    cJSON_Duplicate(have, true), "not checked: %s",
		    !t->service ? "the container belongs to no compose service" :
		    secscan.compose_why ? secscan.compose_why :
		    "no compose file could be read");
		return;
	}
	decl = phx_compose_networks(secscan.compose, t->service, project);
	if (!decl) {
		finding(R_NETDECL, s, PHX_ST_SKIP, SEV_RULE, ".NetworkSettings.Networks",
		    cJSON_Duplicate(have, true), "not checked: %s declares no "
		    "service \"%s\"", file, t->service);
		return;
	}
	extra = minus(have, decl);
	missing = minus(decl, have);
	l1 = join(extra);
	l2 = join(decl);
	if (cJSON_GetArraySize(extra))
		finding(R_NETDECL, s, PHX_ST_FAIL, SEV_RULE, ".NetworkSettings.Networks",
		    cJSON_Duplicate(have, true), "attached to %s, not declared for "
		    "service %s in %s (declared: %s)", l1, t->service, file, l2);
	else if (cJSON_GetArraySize(missing)) {
		free(l1);
		l1 = join(missing);
		finding(R_NETDECL, s, PHX_ST_WARN, PHX_SEV_LOW, ".NetworkSettings.Networks",
		    cJSON_Duplicate(have, true), "declared on %s in %s but not "
		    "attached", l1, file);
	} else
		finding(R_NETDECL, s, PHX_ST_PASS, SEV_RULE, ".NetworkSettings.Networks",
		    cJSON_Duplicate(have, true), "attached only to its declared "
		    "networks: %s", l2);
	free(l1);
	free(l2);
	cJSON_Delete(decl);
	cJSON_Delete(extra);
	cJSON_Delete(missing);
}

/* who shares a network with t, from podman ps (running containers) */
static void
check_reach(const struct target *t, const struct subject *s, const cJSON *have)
{
	const char *id = jpath_str(t->inspect, "Id");
	cJSON *ev = cJSON_CreateObject(), *foreign = cJSON_CreateArray();
	cJSON *leaky = cJSON_CreateArray();
	struct phx_buf b = { 0 };
	const cJSON *net, *c;
	const char *project = t->project ? t->project : secscan.project ? secscan.project :
	    secscan.stream_project;

	cJSON_ArrayForEach(net, have) {
		const cJSON *info = network_info(net->valuestring);
		cJSON *e = cJSON_AddObjectToObject(ev, net->valuestring);
		cJSON *peers = cJSON_AddArrayToObject(e, "peers");
		bool internal = phx_jbool(info, "internal", false);
		cJSON_AddBoolToObject(e, "internal", internal);
		if (!internal && declared_internal(net->valuestring, project))
			add_unique(leaky, net->valuestring);
		cJSON_ArrayForEach(c, secscan.containers) {
			const cJSON *nets = cJSON_GetObjectItemCaseSensitive(c, "Networks");
			const char *cid = phx_jstr(c, "Id");
			const char *cname = cJSON_GetArrayItem(
			    cJSON_GetObjectItemCaseSensitive(c, "Names"), 0) ?
			    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c,
			    "Names"), 0)->valuestring : cid;
			const char *proj = phx_podman_label(c, PHX_LABEL_PROJECT);
			if (!cid || (id && strcmp(cid, id) == 0) ||
			    !phx_jhas(nets, net->valuestring))
				continue;
			add_unique(peers, cname);
			if (!t->project || !proj || strcmp(proj, t->project) != 0)
				add_unique(foreign, cname);
		}
		{
			char *l = join(peers);
			phx_buf_printf(&b, "%s%s%s: %s", b.len ? "; " : "",
			    net->valuestring, internal ? " (internal)" : "", l);
			free(l);
		}
	}
	if (cJSON_GetArraySize(leaky)) {
		char *l = join(leaky);
		finding(R_REACH, s, PHX_ST_FAIL, SEV_RULE, ".NetworkSettings.Networks",
		    ev, "%s declared internal: true in the compose file, but "
		    "Podman's network is not internal (%s)", l, phx_buf_str(&b));
		free(l);
	} else if (!cJSON_GetArraySize(have))
		finding(R_REACH, s, PHX_ST_PASS, SEV_RULE, ".NetworkSettings.Networks", ev,
		    "on no network");
	else if (cJSON_GetArraySize(foreign)) {
		char *l = join(foreign);
		finding(R_REACH, s, PHX_ST_WARN, SEV_RULE, ".NetworkSettings.Networks",
		    ev, "reachable by containers outside project %s: %s (%s)",
		    t->project ? t->project : "(none)", l, phx_buf_str(&b));
		free(l);
	} else
		finding(R_REACH, s, PHX_ST_PASS, SEV_RULE, ".NetworkSettings.Networks",
		    ev, "reachable by: %s", phx_buf_str(&b));
	cJSON_Delete(foreign);
	cJSON_Delete(leaky);
	phx_buf_free(&b);
}

void
check_networks(const struct target *t, const struct subject *s)
{
	cJSON *have = attached_networks(t);

	check_declared(t, s, have);
	if (phx_jhas(have, "podman"))
		finding(R_NETDEFAULT, s, PHX_ST_FAIL, SEV_RULE, ".NetworkSettings.Networks",
		    cJSON_Duplicate(have, true), "attached to the default podman "
		    "network, shared by every container started without "
		    "--network");
	else
		finding(R_NETDEFAULT, s, PHX_ST_PASS, SEV_RULE, ".NetworkSettings.Networks",
		    cJSON_Duplicate(have, true), "not on the default podman network");
	check_reach(t, s, have);
	cJSON_Delete(have);
}
