/* Unit tests for lib/kube.c: manifest streams read as written, where
 * each item was read, pod specs by kind, base64. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "phx.h"
#include "phx_yaml.h"
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

/* what export-kube writes reads back as the same values, with no tab */
static void
test_dump(void)
{
	const char *json = "[{\"a\":\"8080\",\"b\":\"true\",\"c\":\"on\","
	    "\"d\":\"~\",\"e\":\"\",\"f\":\"null\",\"g\":\"a: b\",\"h\":\"- x\","
	    "\"i\":\"line1\\n  line2\\n\",\"j\":\" lead\",\"k\":\"#c\",\"l\":8080,"
	    "\"m\":0.5,\"n\":true,\"o\":null,\"p\":[],\"q\":{},\"r\":\"1e3\","
	    "\"s\":\"0x1F\",\"t\":\"yes\",\"u\":1e20,\"v\":-3,\"w\":\"\\u00fcn\\t\","
	    "\"0\":\"x\",\"x\":[{\"y\":[1,\"2\",\"3.5\"]}]},{\"kind\":\"Pod\"}]";
	cJSON *docs = cJSON_Parse(json);
	char *text = phx_yaml_dump(docs), *err = NULL;
	struct phx_yaml *y = text ? phx_yaml_parse("dump", text, strlen(text),
	    PHX_YAML_TYPED | PHX_YAML_STREAM | PHX_YAML_RAW, NULL, &err) : NULL;

	unit_ok(docs && text && !strchr(text, '\t'), "yaml dump: indented by spaces");
	unit_ok(y && cJSON_Compare(docs, phx_yaml_root(y), true),
	    "yaml dump: reads back as the same values (quoted \"8080\", \"on\", \"~\")");
	unit_ok(text && strstr(text, "\nkind: Pod\n"), "yaml dump: plain where plain reads the same");
	phx_yaml_free(y);
	free(err);
	free(text);
	cJSON_Delete(docs);
}

void
test_kube(const char *dir)
{
	test_base64();
	test_dump();
	test_load(dir);
}
