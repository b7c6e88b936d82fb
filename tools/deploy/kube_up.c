/* The kube engine's attempt: Secrets from the environment handed to
 * podman on standard input, claims as labelled volumes, `podman kube
 * play -` of the stream kube.c made, then the compose engine's
 * confirmation, and the readiness probes and restarts podman 4 does not
 * watch itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"

/* {"KEY": base64} as podman's secretKeyRef reads a secret; a key left
 * empty in stringData takes the environment variable of its name (as
 * compose passes secrets through by name).  NULL, f filled, when one is
 * missing. */
char *
kube_secret_data(const cJSON *doc, struct failure *f)
{
	cJSON *out = cJSON_CreateObject();
	const cJSON *v;
	char *text;

	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "data"))
		if (cJSON_IsString(v))
			cJSON_AddStringToObject(out, v->string, v->valuestring);
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "stringData")) {
		const char *val = cJSON_IsString(v) && *v->valuestring ?
		    v->valuestring : getenv(v->string);
		char *b;
		if (!val || !*val) {
			f->reason = phx_strdup("secret_missing");
			f->message = phx_asprintf("Secret %s: key %s is empty in "
			    "the manifest and %s is not set in the environment",
			    phx_jstr(phx_cfg(doc, "metadata"), "name"), v->string,
			    v->string);
			cJSON_Delete(out);
			return NULL;
		}
		phx_secret_add(val);
		b = phx_base64((const unsigned char *)val, strlen(val));
		phx_secret_add(b);   /* as a Secret's data shows it */
		cJSON_AddStringToObject(out, v->string, b);
		phx_free_secret(b);
	}
	text = cJSON_PrintUnformatted(out);
	cJSON_ArrayForEach(v, out)
		phx_wipe(v->valuestring, strlen(v->valuestring));
	cJSON_Delete(out);
	return text;
}

static void
drop_secrets(const cJSON *made)
{
	static const char *args[] = { "secret", "rm", NULL };
	const cJSON *n;

	cJSON_ArrayForEach(n, made) {
		const char *ops[] = { n->valuestring, NULL };
		struct phx_run r;
		phx_podman(args, ops, &r, NULL);
		phx_run_free(&r);
	}
}

/* podman secrets PROJECT-NAME, their names added to made; they live only
 * while podman kube play reads them */
static bool
make_secrets(struct deploy *d, cJSON *made, struct failure *f)
{
	static const char *args[] = { "secret", "create", NULL };
	const cJSON *doc;

	cJSON_ArrayForEach(doc, phx_kube_docs(d->kube)) {
		char *data, *name, *why = NULL;
		struct phx_run r;
		cJSON *old;
		if (strcmp(phx_jstr(doc, "kind"), "Secret") != 0)
			continue;
		if (!(data = kube_secret_data(doc, f)))
			return false;
		name = kube_scoped(d, phx_jstr(phx_cfg(doc, "metadata"), "name"));
		old = cJSON_CreateArray();   /* one a killed run left */
		cJSON_AddItemToArray(old, cJSON_CreateString(name));
		drop_secrets(old);
		cJSON_Delete(old);
		const char *ops[] = { name, "-", NULL };
		if (phx_podman_stdin(args, ops, data, &r, &why))
			cJSON_AddItemToArray(made, cJSON_CreateString(name));
		phx_run_free(&r);
		phx_free_secret(data);
		free(name);
		if (why) {
			f->reason = phx_strdup("environment");
			f->message = why;
			return false;
		}
	}
	return true;
}

/* a claim is a podman volume PROJECT-NAME (the workloads name it so),
 * labelled so that the clean-up by label removes it; made here, whether
 * or not a PersistentVolumeClaim declares it */
static void
make_volumes(struct deploy *d)
{
	char *label = phx_asprintf("%s=%s", PHX_LABEL_PROJECT, d->project);
	const char *args[] = { "volume", "create", "--label", label, NULL };
	const cJSON *w, *v;

	cJSON_ArrayForEach(w, d->kube_workloads)
		cJSON_ArrayForEach(v, phx_cfg(phx_kube_pod_spec(w), "volumes")) {
			const char *name = phx_jstr(phx_cfg(v, "persistentVolumeClaim"),
			    "claimName");
			const char *ops[] = { name, NULL };
			struct phx_run r;
			if (!name || podman_exists("volume", name))
				continue;
			podman_run(args, ops, &r);
			phx_run_free(&r);
		}
	free(label);
}

/* the pods' own network PROJECT-kube, labelled like the volumes: not
 * podman's default network, which every other container shares */
static char *
make_network(struct deploy *d)
{
	char *name = kube_scoped(d, "kube");
	char *label = phx_asprintf("%s=%s", PHX_LABEL_PROJECT, d->project);
	const char *args[] = { "network", "create", "--label", label, NULL };
	const char *ops[] = { name, NULL };
	struct phx_run r;

	if (!podman_exists("network", name)) {
		podman_run(args, ops, &r);
		phx_run_free(&r);
	}
	free(label);
	return name;
}

enum outcome
kube_attempt(struct deploy *d, int attempt, struct failure *f, cJSON **infos)
{
	const char *args[] = { "kube", "play", "--network", NULL, NULL };
	static const char *ops[] = { "-", NULL };
	char *net = NULL;
	int64_t deadline = phx_now_ms() + d->timeout_ms;
	cJSON *made = cJSON_CreateArray();
	struct phx_run pc;
	enum outcome o;
	bool ok;

	if (!preflight(d, f))
		return cJSON_Delete(made), UP_FAILED;
	ok = make_secrets(d, made, f);
	if (ok) {
		make_volumes(d);
		args[3] = net = make_network(d);
		phx_podman_stdin(args, ops, d->kube_play, &pc, NULL);
		free(net);
	}
	drop_secrets(made);
	cJSON_Delete(made);
	if (!ok)
		return UP_FAILED;
	save_attempt_log(d, attempt, &pc, "podman-kube-play.log");
	if (pc.exec_failed) {
		f->reason = phx_strdup("environment");
		f->message = phx_asprintf("%s: %s", d->podman,
		    strerror(pc.exec_errno));
		o = UP_ENV;
	} else if (phx_signal)
		o = UP_INTERRUPTED;
	else if ((o = confirm(d, deadline, &pc, infos, f)) == UP_OK &&
	    (o = kube_ready(d, deadline, infos, f)) != UP_OK) {
		cJSON_Delete(*infos);
		*infos = NULL;
	}
	phx_run_free(&pc);
	return o;
}
