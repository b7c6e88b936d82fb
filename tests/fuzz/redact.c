/* redaction.  The input's first line is a secret, the rest text.  Once
 * the secret is registered it shows in no output in any form it is
 * looked for in (raw, JSON-escaped, XML-escaped, URL-encoded): not in a
 * line through phx_redact_mem, not in phx_scrub's result, not in the
 * text streamed through phx_redact_chunk; a line that was one JSON
 * document still is one after redaction */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "phx_priv.h"

#define NFORMS 7

static char *forms[NFORMS];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	phx_init((*argv)[0]);
	phx_secrets_clear();
	return 0;
}

static void
forms_make(const char *secret)
{
	forms[0] = phx_strdup(secret);
	forms[1] = phx_enc_json(secret);
	forms[2] = phx_enc_xml(secret, "&#39;");
	forms[3] = phx_enc_xml(secret, "&apos;");
	forms[4] = phx_enc_url(secret, "0123456789ABCDEF", false);
	forms[5] = phx_enc_url(secret, "0123456789abcdef", false);
	forms[6] = phx_enc_url(secret, "0123456789ABCDEF", true);
}

static void
forms_free(void)
{
	for (int i = 0; i < NFORMS; i++) {
		free(forms[i]);
		forms[i] = NULL;
	}
}

static void
check_clean(const char *what, const char *s, size_t len)
{
	for (int i = 0; i < NFORMS && forms[i]; i++)
		if (memmem(s, len, forms[i], strlen(forms[i])))
			fuzz_fail("%s: the secret survives as \"%s\" in \"%.*s\"",
			    what, forms[i], (int)(len > 300 ? 300 : len), s);
}

/* every string in a JSON document, keys too */
static void
check_json(const cJSON *j)
{
	const cJSON *it;

	if (j->string)
		check_clean("JSON key", j->string, strlen(j->string));
	if (cJSON_IsString(j))
		check_clean("JSON value", j->valuestring, strlen(j->valuestring));
	cJSON_ArrayForEach(it, j)
		check_json(it);
}

/* JSON as its RFC has it, as far as cJSON is lenient: no raw control
 * byte, no \u without four hex digits (cJSON takes both); and no \u0000,
 * after which cJSON loses the rest of a string: such a line is masked as
 * text, never leaking, but a mask may then cross quotes */
static bool
strict(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t' && s[i] != '\r')
			return false;
		if (s[i] != '\\' || ++i >= len || s[i] != 'u')
			continue;
		for (size_t k = 1; k <= 4; k++)
			if (i + k >= len || !isxdigit((unsigned char)s[i + k]))
				return false;
		if (strncmp(s + i + 1, "0000", 4) == 0)
			return false;
	}
	return true;
}

/* one JSON document and nothing but white space after it */
static cJSON *
parse_whole(const char *s, size_t len)
{
	const char *end = NULL;
	cJSON *doc = cJSON_ParseWithLengthOpts(s, len, &end, false);

	while (doc && end < s + len && isspace((unsigned char)*end))
		end++;
	if (doc && end != s + len) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

static void
one_line(const char *line, size_t len)
{
	size_t rlen;
	char *r = phx_redact_mem(line, len, &rlen);
	const char *out = r ? r : line;
	size_t olen = r ? rlen : len;
	cJSON *in = strict(line, len) ? parse_whole(line, len) : NULL;
	cJSON *got;

	check_clean("phx_redact_mem", out, olen);
	got = parse_whole(out, olen);
	if (in && !got)
		fuzz_fail("redacted JSON no longer parses: \"%.*s\"",
		    (int)(olen > 300 ? 300 : olen), out);
	if (got)
		check_json(got);
	cJSON_Delete(in);
	cJSON_Delete(got);
	free(r);
}

/* the text through the over-long line path, cut every step bytes */
static void
streamed(const char *text, size_t len, size_t step)
{
	struct phx_redact_stream st = { 0 };
	struct phx_buf out = { 0 };

	for (size_t at = 0; at < len; at += step)
		phx_redact_chunk(&st, text + at, len - at < step ? len - at : step,
		    false, &out);
	phx_redact_chunk(&st, "", 0, true, &out);
	check_clean("phx_redact_chunk", out.data ? out.data : "", out.len);
	phx_buf_free(&st.held);
	phx_buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	const char *nl = memchr(p, '\n', size);
	size_t slen = nl ? (size_t)(nl - p) : size;
	char *secret = phx_malloc(slen + 1), *text, *scrubbed;

	memcpy(secret, p, slen);
	secret[slen] = '\0';
	p = nl ? nl + 1 : end;
	if (strlen(secret) >= 3) {
		phx_secret_add(secret);
		forms_make(secret);
	}
	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		size_t len = e ? (size_t)(e - p) : (size_t)(end - p);
		one_line(p, len);
		p += len + 1;
	}
	p = nl ? nl + 1 : end;
	text = phx_malloc((size_t)(end - p) + 1);
	memcpy(text, p, (size_t)(end - p));
	text[end - p] = '\0';
	scrubbed = phx_scrub(text);
	check_clean("phx_scrub", scrubbed, strlen(scrubbed));
	streamed(text, (size_t)(end - p), 1 + size % 97);
	free(scrubbed);
	free(text);
	free(secret);
	forms_free();
	phx_secrets_clear();
	return 0;
}
