/* what is known to fail before podman-compose runs, said at once: a
 * host port another process holds, a localhost/ image that is not here
 * (no registry has it), an external network that does not exist.  They
 * fail the same way on every attempt, so none is spent on them */
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

static bool
ports_free(const char *name, const cJSON *svc, struct failure *f)
{
	cJSON *ports = phx_compose_ports(svc, NULL);
	const cJSON *p;

	cJSON_ArrayForEach(p, ports) {
		const char *ip = phx_jstr(p, "host_ip");
		const char *proto = phx_jstr(p, "protocol");
		int port = (int)phx_jint(p, "host_port", 0, 0, 65535);
		if (!port || (proto && strcmp(proto, "tcp") != 0) ||
		    !port_taken(ip, port))
			continue;
		fail_port_in_use(f, name, ip, port);
		break;
	}
	cJSON_Delete(ports);
	return !f->reason;
}

static bool
image_here(const char *name, const cJSON *svc, struct failure *f)
{
	const char *image = phx_jstr(svc, "image");

	if (!image || strncmp(image, "localhost/", 10) != 0 ||
	    podman_exists("image", image))
		return true;
	f->reason = phx_strdup("image_missing");
	f->image = phx_strdup(image);
	f->message = phx_asprintf("service %s: image %s is not available "
	    "locally and could not be pulled (a localhost/ image is in no "
	    "registry: build it)", name, image);
	return false;
}

static bool
external_networks_exist(struct deploy *d, struct failure *f)
{
	const cJSON *n;

	cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(d->compose,
	    "networks")) {
		const cJSON *ext = cJSON_GetObjectItemCaseSensitive(n, "external");
		char *name;
		if (!cJSON_IsTrue(ext) && !cJSON_IsObject(ext))
			continue;
		name = phx_compose_network_name(d->compose, n->string, d->project);
		if (!podman_exists("network", name)) {
			f->reason = phx_strdup("network_unknown");
			f->message = phx_asprintf("external network %s (networks: "
			    "%s) does not exist: create it first (podman network "
			    "create %s)", name, n->string, name);
		}
		free(name);
		if (f->reason)
			return false;
	}
	return true;
}

/* every localhost/ image the services name is here: one podman call
 * for them all (podman image exists takes one), not one a service */
static bool
all_images_here(struct deploy *d)
{
	const cJSON *svc;
	cJSON *names = cJSON_CreateArray(), *n;
	bool here;

	cJSON_ArrayForEach(svc, cJSON_GetObjectItemCaseSensitive(d->compose,
	    "services")) {
		const char *image = phx_jstr(svc, "image");
		bool seen = false;
		if (!image || strncmp(image, "localhost/", 10) != 0)
			continue;
		cJSON_ArrayForEach(n, names)
			seen = seen || strcmp(n->valuestring, image) == 0;
		if (!seen)
			cJSON_AddItemToArray(names, cJSON_CreateString(image));
	}
	here = images_exist(names);
	cJSON_Delete(names);
	return here;
}

/* false, with f filled, when the deployment cannot work as it is */
bool
preflight(struct deploy *d, struct failure *f)
{
	const cJSON *svc;
	/* when one is missing, each is asked alone, to name it */
	bool images = all_images_here(d);

	cJSON_ArrayForEach(svc, cJSON_GetObjectItemCaseSensitive(d->compose,
	    "services")) {
		if (!ports_free(svc->string, svc, f) ||
		    (!images && !image_here(svc->string, svc, f))) {
			f->service = phx_strdup(svc->string);
			return false;
		}
	}
	return external_networks_exist(d, f);
}
