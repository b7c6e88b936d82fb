/* The compose file: its internal networks, and the line of each
 * service for SARIF locations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "secscan.h"

/* service name -> line of its key, for SARIF locations */
static cJSON *
service_lines(const char *data, size_t len)
{
	cJSON *lines = cJSON_CreateObject();
	yaml_parser_t p;
	yaml_document_t doc;
	yaml_node_t *root;

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	if (!yaml_parser_load(&p, &doc))
		goto out;
	root = yaml_document_get_root_node(&doc);
	for (yaml_node_pair_t *kv = root && root->type == YAML_MAPPING_NODE ?
	    root->data.mapping.pairs.start : NULL;
	    kv && kv < root->data.mapping.pairs.top; kv++) {
		yaml_node_t *k = yaml_document_get_node(&doc, kv->key);
		yaml_node_t *v = yaml_document_get_node(&doc, kv->value);
		if (k->type != YAML_SCALAR_NODE || v->type != YAML_MAPPING_NODE ||
		    strcmp((char *)k->data.scalar.value, "services") != 0)
			continue;
		for (yaml_node_pair_t *s = v->data.mapping.pairs.start;
		    s < v->data.mapping.pairs.top; s++) {
			yaml_node_t *sk = yaml_document_get_node(&doc, s->key);
			if (sk->type == YAML_SCALAR_NODE)
				cJSON_AddNumberToObject(lines,
				    (char *)sk->data.scalar.value,
				    (double)sk->start_mark.line + 1);
		}
	}
	yaml_document_delete(&doc);
out:
	yaml_parser_delete(&p);
	return lines;
}

const char *
compose_path(void)
{
	if (secscan.compose_file)
		return secscan.compose_file;
	if (secscan.stream_compose)
		return secscan.stream_compose;
	return phx_cfg_str(secscan.cfg, "deployment.compose_file");
}

/* the compose file, read as phx_compose_load() reads it but only when it
 * is a regular file under the size limit: the stream may name any path */
bool
load_compose(bool must)
{
	static bool tried;
	const char *file = compose_path();
	char *err = NULL, *data, *dir, *slash;
	size_t len;

	if (!file || tried)
		return false;
	tried = true;
	if ((data = read_regular(file, &len, &err))) {
		dir = phx_strdup(file);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		secscan.compose = phx_compose_parse(file, data, len,
		    slash ? (*dir ? dir : "/") : ".", &err);
		free(dir);
	}
	if (!secscan.compose) {
		if (must)
			phx_die(PHX_EXIT_USAGE, "%s", err);
		phx_log(PHX_WARN, "%s; network declarations not checked", err);
		secscan.compose_why = err;
		free(data);
		return false;
	}
	secscan.compose_lines = service_lines(data, len);
	free(data);
	return true;
}

/* whether the compose file declares podman network NAME internal */
bool
declared_internal(const char *name, const char *project)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, jpath(secscan.compose, "networks")) {
		char *n = phx_compose_network_name(secscan.compose, it->string,
		    project);
		bool match = strcmp(n, name) == 0;
		free(n);
		if (match)
			return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it,
			    "internal"));
	}
	return false;
}
