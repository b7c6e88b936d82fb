/* the deployment, service and container records */
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

cJSON *
deployment_record(struct deploy *d, const char *status, int attempt)
{
	cJSON *rec = phx_record_new("deployment");
	bool kube = d->kube || d->engine_kube;

	cJSON_AddStringToObject(rec, "status", status);
	cJSON_AddStringToObject(rec, "project", d->project);
	if (d->compose_path)
		cJSON_AddStringToObject(rec, kube ? "manifests" : "compose_file",
		    d->compose_path);
	if (kube)
		cJSON_AddStringToObject(rec, "engine", "kube");
	if (d->kube_context)
		cJSON_AddStringToObject(rec, "kube_context", d->kube_context);
	if (attempt)
		cJSON_AddNumberToObject(rec, "attempt", attempt);
	/* none before the configuration is read */
	if (d->attempts)
		cJSON_AddNumberToObject(rec, "attempts", d->attempts);
	if (d->restored_from)
		cJSON_AddStringToObject(rec, "restored_from", d->restored_from);
	if (d->rollback_of)
		cJSON_AddStringToObject(rec, "rollback_of", d->rollback_of);
	return rec;
}

static char *
default_container_name(struct deploy *d, const char *name, const cJSON *svc)
{
	const char *cn = phx_jstr(svc, "container_name");

	return cn ? phx_strdup(cn) : phx_asprintf("%s_%s_1", d->project, name);
}

cJSON *
key_names(const cJSON *obj)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *it;

	cJSON_ArrayForEach(it, obj)
		cJSON_AddItemToArray(out, cJSON_CreateString(it->string));
	return out;
}

/* a service record: from podman inspect when info, else the plan */
cJSON *
service_record(struct deploy *d, const char *name, const cJSON *svc,
    const cJSON *info)
{
	cJSON *rec = phx_record_new("service"), *ports;
	char *cname;

	cJSON_AddStringToObject(rec, "service", name);
	cJSON_AddStringToObject(rec, "project", d->project);
	if (info) {
		cname = phx_strdup(phx_jstr(info, "Name"));
		cJSON_AddStringToObject(rec, "container_id", phx_jstr(info, "Id"));
		cJSON_AddStringToObject(rec, "container_name", cname);
		cJSON_AddStringToObject(rec, "image", phx_jstr(info, "ImageName") ?
		    phx_jstr(info, "ImageName") : phx_jstr(svc, "image"));
		ports = phx_podman_ports(info, NULL);
		cJSON_AddItemToObject(rec, "ports", ports);
		cJSON_AddItemToObject(rec, "networks",
		    key_names(phx_cfg(info, "NetworkSettings.Networks")));
	} else {
		cname = default_container_name(d, name, svc);
		cJSON_AddStringToObject(rec, "image", phx_jstr(svc, "image"));
		ports = phx_compose_ports(svc, NULL);
		cJSON_AddItemToObject(rec, "ports", ports);
		cJSON_AddItemToObject(rec, "networks",
		    phx_compose_networks(d->compose, name, d->project));
	}
	cJSON_AddItemToObject(rec, "checks",
	    service_checks(d, name, svc, ports, info, cname));
	free(cname);
	return rec;
}

static const char *
health_of(const cJSON *info)
{
	const char *h = phx_jstr(phx_cfg(info, "State.Health"), "Status");

	if (!h)
		h = phx_jstr(phx_cfg(info, "State.Healthcheck"), "Status");
	return h && *h ? h : "none";
}

cJSON *
container_record(const char *service, const cJSON *info, const cJSON *st)
{
	cJSON *rec = phx_record_new("container");
	const char *state = phx_jstr(phx_cfg(info, "State"), "Status");

	cJSON_AddStringToObject(rec, "service", service);
	cJSON_AddStringToObject(rec, "container_id", phx_jstr(info, "Id"));
	cJSON_AddStringToObject(rec, "name", phx_jstr(info, "Name"));
	cJSON_AddStringToObject(rec, "state", state ? state : "missing");
	if (state && strcmp(state, "running") != 0)
		cJSON_AddNumberToObject(rec, "exit_code",
		    phx_jnum(phx_cfg(info, "State"), "ExitCode", 0));
	cJSON_AddNumberToObject(rec, "restarts", phx_jnum(info, "RestartCount", 0));
	cJSON_AddStringToObject(rec, "health", health_of(info));
	if (phx_jbool(phx_cfg(info, "State"), "OOMKilled", false))
		cJSON_AddTrueToObject(rec, "oom_killed");
	if (st) {
		cJSON_AddNumberToObject(rec, "cpu_percent",
		    (double)phx_num_int(phx_jnum(st, "CPU", 0) * 100, 0, INT64_MIN,
		    INT64_MAX) / 100);
		cJSON_AddNumberToObject(rec, "mem_bytes", phx_jnum(st, "MemUsage", 0));
		cJSON_AddNumberToObject(rec, "mem_limit_bytes",
		    phx_jnum(st, "MemLimit", 0));
		cJSON_AddNumberToObject(rec, "pids", phx_jnum(st, "PIDs", 0));
	} else if (phx_jnum(phx_cfg(info, "HostConfig"), "Memory", 0) > 0)
		/* a container that is gone has no stats, but its limit may
		 * be why it is gone */
		cJSON_AddNumberToObject(rec, "mem_limit_bytes",
		    phx_jnum(phx_cfg(info, "HostConfig"), "Memory", 0));
	return rec;
}

/* a one-shot job's container that exited 0 is "completed" */
void
mark_completed(cJSON *rec, const cJSON *compose)
{
	const char *state = phx_jstr(rec, "state");

	if (state && strcmp(state, "exited") == 0 &&
	    phx_jnum(rec, "exit_code", -1) == 0 &&
	    phx_compose_is_job(compose, phx_jstr(rec, "service")))
		cJSON_ReplaceItemInObjectCaseSensitive(rec, "state",
		    cJSON_CreateString("completed"));
}

cJSON *
missing_record(const char *service, const char *name)
{
	cJSON *rec = phx_record_new("container");

	cJSON_AddStringToObject(rec, "service", service);
	if (name)
		cJSON_AddStringToObject(rec, "name", name);
	cJSON_AddStringToObject(rec, "state", "missing");
	cJSON_AddNumberToObject(rec, "restarts", 0);
	cJSON_AddStringToObject(rec, "health", "none");
	return rec;
}
