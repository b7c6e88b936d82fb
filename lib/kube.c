/* Kubernetes manifests: every document of a file, or of the *.yaml and
 * *.yml files of a folder in name order, read as written (a manifest's
 * $VAR is the container's, never expanded here); where each item was
 * read, for SARIF; the pod spec of a workload; base64 for Secret data.
 * Shared by phx-deploy's kube engine and phx-secscan's pod checks. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "phx_yaml.h"

struct phx_kube {
	cJSON *docs;            /* every document that is a mapping */
	struct phx_yaml **ys;   /* one per file, for positions */
	char **files;
	size_t n;
};

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the manifest files of path: itself, or a folder's *.yaml and *.yml */
static char **
manifest_files(const char *path, size_t *n, char **err)
{
	struct stat st;
	DIR *dir;
	struct dirent *e;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	if (stat(path, &st) != 0) {
		*err = phx_asprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		v = phx_calloc(1, sizeof *v);
		v[(*n)++] = phx_strdup(path);
		return v;
	}
	if (!(dir = opendir(path))) {
		*err = phx_asprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	while ((e = readdir(dir))) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || !((len > 5 && strcmp(e->d_name + len - 5,
		    ".yaml") == 0) || (len > 4 && strcmp(e->d_name + len - 4,
		    ".yml") == 0)))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 8;
			v = phx_reallocarray(v, cap, sizeof *v);
		}
		v[(*n)++] = phx_asprintf("%s/%s", path, e->d_name);
	}
	closedir(dir);
	if (!*n)
		*err = phx_asprintf("%s: no *.yaml or *.yml manifest in it", path);
	else
		qsort(v, *n, sizeof *v, by_name);
	return v;
}

static bool
load_file(struct phx_kube *k, size_t i, char **err)
{
	size_t len;
	char *text = phx_read_file(k->files[i], &len);
	const cJSON *d;

	if (!text) {
		*err = phx_asprintf("%s: %s", k->files[i], strerror(errno));
		return false;
	}
	k->ys[i] = phx_yaml_parse(k->files[i], text, len, PHX_YAML_TYPED |
	    PHX_YAML_STREAM | PHX_YAML_RAW, NULL, err);
	free(text);
	if (!k->ys[i])
		return false;
	cJSON_ArrayForEach(d, phx_yaml_root(k->ys[i])) {
		if (!cJSON_IsObject(d))
			continue;
		if (!phx_jstr(d, "kind") || !phx_jstr(phx_cfg(d, "metadata"), "name")) {
			*err = phx_yaml_msg(k->ys[i], d, false, "a manifest "
			    "needs kind and metadata.name");
			return false;
		}
		/* a reference: the tree stays y's, positions stay known */
		cJSON_AddItemToArray(k->docs, cJSON_CreateObjectReference(d->child));
	}
	return true;
}

struct phx_kube *
phx_kube_load(const char *path, char **err)
{
	struct phx_kube *k = phx_calloc(1, sizeof *k);

	*err = NULL;
	k->docs = cJSON_CreateArray();
	k->files = manifest_files(path, &k->n, err);
	if (k->files)
		k->ys = phx_calloc(k->n, sizeof *k->ys);
	for (size_t i = 0; !*err && i < k->n; i++)
		load_file(k, i, err);
	if (!*err && !cJSON_GetArraySize(k->docs))
		*err = phx_asprintf("%s: no Kubernetes object in it", path);
	if (*err) {
		phx_kube_free(k);
		return NULL;
	}
	return k;
}

const cJSON *
phx_kube_docs(const struct phx_kube *k)
{
	return k->docs;
}

void
phx_kube_free(struct phx_kube *k)
{
	if (!k)
		return;
	cJSON_Delete(k->docs);
	for (size_t i = 0; i < k->n; i++) {
		if (k->ys)
			phx_yaml_free(k->ys[i]);
		free(k->files[i]);
	}
	free(k->ys);
	free(k->files);
	free(k);
}

/* the file and line item (of a document, by reference or not) was read
 * at; NULL and 0 when unknown */
const char *
phx_kube_where(const struct phx_kube *k, const cJSON *item, bool key,
    unsigned *line)
{
	*line = 0;
	for (size_t i = 0; i < k->n; i++)
		if (k->ys[i] && (*line = phx_yaml_line(k->ys[i], item, key)))
			return k->files[i];
	return NULL;
}

const cJSON *
phx_kube_pod_spec(const cJSON *doc)
{
	const char *kind = phx_jstr(doc, "kind");
	static const char *const templated[] = { "Deployment", "StatefulSet",
		"DaemonSet", "ReplicaSet", "ReplicationController", "Job" };

	if (!kind)
		return NULL;
	if (strcmp(kind, "Pod") == 0)
		return phx_cfg(doc, "spec");
	if (strcmp(kind, "CronJob") == 0)
		return phx_cfg(doc, "spec.jobTemplate.spec.template.spec");
	for (size_t i = 0; i < sizeof templated / sizeof *templated; i++)
		if (strcmp(kind, templated[i]) == 0)
			return phx_cfg(doc, "spec.template.spec");
	return NULL;
}

char *
phx_base64(const unsigned char *p, size_t n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/";
	char *out = phx_malloc(4 * ((n + 2) / 3) + 1), *o = out;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);
		*o++ = abc[v >> 18 & 63];
		*o++ = abc[v >> 12 & 63];
		*o++ = i + 1 < n ? abc[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? abc[v & 63] : '=';
	}
	*o = '\0';
	return out;
}
