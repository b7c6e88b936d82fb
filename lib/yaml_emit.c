/* cJSON written as YAML through libyaml's emitter: block style, spaces
 * (a tab-indented JSON document is not YAML to PyYAML and others), and a
 * string quoted whenever YAML 1.1 would read it plain as something else
 * ("8080", "true", "on", "~"), so the text reads back as the same values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "phx_priv.h"
#include "phx_yaml.h"

#define STR_TAG "tag:yaml.org,2002:str"

static int
to_buf(void *data, unsigned char *text, size_t len)
{
	phx_buf_add(data, (const char *)text, len);
	return 1;
}

static bool
scalar(yaml_emitter_t *em, const char *text, bool plain_ok)
{
	yaml_event_t ev;

	if (!yaml_scalar_event_initialize(&ev, NULL, (yaml_char_t *)STR_TAG,
	    (yaml_char_t *)text, (int)strlen(text), plain_ok, 1,
	    YAML_ANY_SCALAR_STYLE))
		return false;
	return yaml_emitter_emit(em, &ev);
}

/* a string stays a string read back: plain only when YAML 1.1 types it so */
static bool
string(yaml_emitter_t *em, const char *s)
{
	cJSON *typed = phx_yaml_scalar(s);
	/* "<<" plain is a merge key to a reader */
	bool plain_ok = typed == NULL && *s && strcmp(s, "<<") != 0;

	cJSON_Delete(typed);
	return scalar(em, s, plain_ok);
}

static bool
number(yaml_emitter_t *em, double v)
{
	char text[64];

	if (isnan(v) || isinf(v))
		return scalar(em, isnan(v) ? ".nan" : v > 0 ? ".inf" : "-.inf", true);
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(text, sizeof text, "%.0f", v);
	} else {
		char *e;

		snprintf(text, sizeof text, "%.17g", v);
		/* YAML 1.1 reads "1e+20" as a string: its floats have a dot */
		if (!strchr(text, '.') && (e = strchr(text, 'e'))) {
			memmove(e + 2, e, strlen(e) + 1);
			memcpy(e, ".0", 2);
		}
	}
	return scalar(em, text, true);
}

static bool node(yaml_emitter_t *em, const cJSON *item);

static bool
collection(yaml_emitter_t *em, const cJSON *item, bool map)
{
	yaml_event_t ev;
	const cJSON *c;

	if (!(map ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
	    YAML_BLOCK_MAPPING_STYLE) : yaml_sequence_start_event_initialize(&ev,
	    NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE)) || !yaml_emitter_emit(em, &ev))
		return false;
	cJSON_ArrayForEach(c, item)
		if ((map && !string(em, c->string ? c->string : "")) || !node(em, c))
			return false;
	if (!(map ? yaml_mapping_end_event_initialize(&ev) :
	    yaml_sequence_end_event_initialize(&ev)))
		return false;
	return yaml_emitter_emit(em, &ev);
}

static bool
node(yaml_emitter_t *em, const cJSON *item)
{
	if (cJSON_IsObject(item) || cJSON_IsArray(item))
		return collection(em, item, cJSON_IsObject(item));
	if (cJSON_IsString(item))
		return string(em, item->valuestring);
	if (cJSON_IsNumber(item))
		return number(em, item->valuedouble);
	if (cJSON_IsBool(item))
		return scalar(em, cJSON_IsTrue(item) ? "true" : "false", true);
	return scalar(em, "null", true);
}

static bool
stream(yaml_emitter_t *em, const cJSON *docs)
{
	yaml_event_t ev;
	const cJSON *doc;

	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    !yaml_emitter_emit(em, &ev))
		return false;
	cJSON_ArrayForEach(doc, docs) {
		if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 0) ||
		    !yaml_emitter_emit(em, &ev) || !node(em, doc) ||
		    !yaml_document_end_event_initialize(&ev, 1) ||
		    !yaml_emitter_emit(em, &ev))
			return false;
	}
	return yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev) &&
	    yaml_emitter_flush(em);
}

char *
phx_yaml_dump(const cJSON *docs)
{
	yaml_emitter_t em;
	struct phx_buf b = { 0 };
	char *out = NULL;

	if (!yaml_emitter_initialize(&em))
		return NULL;
	yaml_emitter_set_output(&em, to_buf, &b);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_indent(&em, 2);
	yaml_emitter_set_width(&em, -1);
	if (stream(&em, docs))
		out = phx_strdup(phx_buf_str(&b));
	yaml_emitter_delete(&em);
	phx_buf_free(&b);
	return out;
}
