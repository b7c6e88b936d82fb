/* Unit tests for lib/kube.c: manifest streams read as written, where
 * each item was read, pod specs by kind, base64. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phx.h"
#include "unit.h"

static void
test_base64(void)
{
	static const char *const v[][2] = { { "", "" }, { "f", "Zg==" },
		{ "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "hunter2", "aHVudGVyMg==" } };

	for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
		char *b = phx_base64((const unsigned char *)v[i][0], strlen(v[i][0]));
		unit_is(b, v[i][1], "base64 (RFC 4648 vectors)");
		free(b);
	}
}

static void
test_load(const char *dir)
{
	char *path = phx_asprintf("%s/m.yaml", dir), *err = NULL;
	const char *text = "# two objects\n"
	    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
	    "data: {x: \"$HOME ${HOME}\"}\n---\n---\n"
	    "kind: CronJob\nmetadata:\n  name: j\n"
	    "spec: {jobTemplate: {spec: {template: {spec: {containers: []}}}}}\n";
	struct phx_kube *k;
	const cJSON *docs, *cm;
	unsigned line;

	phx_write_file(path, text, strlen(text));
	k = phx_kube_load(path, &err);
	unit_ok(k && !err, "kube: a stream of manifests loads");
	docs = k ? phx_kube_docs(k) : NULL;
	unit_ok(cJSON_GetArraySize(docs) == 2, "kube: every document, empty ones skipped");
	cm = cJSON_GetArrayItem(docs, 0);
	unit_is(phx_jstr(phx_cfg(cm, "data"), "x"), "$HOME ${HOME}",
	    "kube: values as written, never expanded");
	unit_ok(phx_kube_pod_spec(cm) == NULL, "kube: a ConfigMap has no pod spec");
	unit_ok(phx_kube_pod_spec(cJSON_GetArrayItem(docs, 1)) != NULL,
	    "kube: a CronJob's pod spec is its job template's");
	unit_ok(k && phx_kube_where(k, phx_cfg(cm, "data.x"), true, &line) &&
	    line == 5, "kube: the line of an item's key");
	phx_kube_free(k);
	text = "kind: Pod\nspec: {}\n";
	phx_write_file(path, text, strlen(text));
	k = phx_kube_load(path, &err);
	unit_ok(!k && err && strstr(err, "m.yaml:1:"), "kube: no metadata.name: file:line");
	free(err);
	unlink(path);
	k = phx_kube_load(dir, &err);
	unit_ok(!k && err && strstr(err, "no *.yaml"), "kube: a folder without manifests");
	free(err);
	free(path);
}

void
test_kube(const char *dir)
{
	test_base64();
	test_load(dir);
}
