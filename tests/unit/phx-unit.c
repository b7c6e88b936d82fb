/* Unit tests for libphx, emitting TAP. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phx_priv.h"
#include "phx_yaml.h"
#include "unit.h"

static int ntest, nfail;

static void
ok(int cond, const char *name)
{
	ntest++;
	if (!cond)
		nfail++;
	printf("%sok %d - %s\n", cond ? "" : "not ", ntest, name);
}

static void
is_str(const char *got, const char *want, const char *name)
{
	int same = got && want ? strcmp(got, want) == 0 : got == want;

	ok(same, name);
	if (!same)
		printf("# got \"%s\"\n# want \"%s\"\n", got ? got : "(null)",
		    want ? want : "(null)");
}

void
unit_ok(int cond, const char *name)
{
	ok(cond, name);
}

void
unit_is(const char *got, const char *want, const char *name)
{
	is_str(got, want, name);
}

static void
test_durations(void)
{
	ok(phx_duration_ms("30") == 30000, "duration: bare number is seconds");
	ok(phx_duration_ms("1.5s") == 1500, "duration: 1.5s");
	ok(phx_duration_ms("500ms") == 500, "duration: 500ms");
	ok(phx_duration_ms("2m") == 120000, "duration: 2m");
	ok(phx_duration_ms("1h") == 3600000, "duration: 1h");
	ok(phx_duration_ms("abc") == -1, "duration: garbage rejected");
	ok(phx_duration_ms("-1") == -1, "duration: negative rejected");
	ok(phx_duration_ms("3x") == -1, "duration: unknown unit rejected");
}

static void
test_time(void)
{
	char ts[32];

	phx_ts_format(1790000000123, ts);
	is_str(ts, "2026-09-21T14:13:20.123Z", "ts: RFC 3339 with ms, UTC");
	ok(phx_ts_parse(ts) == 1790000000123, "ts: parse round-trips");
	ok(phx_ts_parse("2026-09-21T16:13:20.123+02:00") == 1790000000123,
	    "ts: offsets are honoured");
	ok(phx_ts_parse("yesterday") == -1, "ts: garbage rejected");
	phx_ts_format(1790000000007, ts);
	is_str(ts, "2026-09-21T14:13:20.007Z", "ts: same second, other ms");
	phx_ts_format(1790000061999, ts);
	is_str(ts, "2026-09-21T14:14:21.999Z", "ts: next minute");
	phx_ts_format(0, ts);
	is_str(ts, "1970-01-01T00:00:00.000Z", "ts: the epoch");
}

static void
test_ints(void)
{
	static const struct { int64_t v; const char *json; } cases[] = {
		{ 0, "{\"n\":0}" }, { 7, "{\"n\":7}" }, { -42, "{\"n\":-42}" },
		{ 1234567890123, "{\"n\":1234567890123}" },
		{ INT64_MAX, "{\"n\":9223372036854775807}" },
		{ INT64_MIN, "{\"n\":-9223372036854775808}" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		cJSON *o = cJSON_CreateObject(), *back;
		char *s;

		phx_add_int(o, "n", cases[i].v);
		s = cJSON_PrintUnformatted(o);
		is_str(s, cases[i].json, "int: printed as JSON digits");
		back = cJSON_Parse(s);
		ok(cJSON_IsNumber(cJSON_GetObjectItem(back, "n")),
		    "int: reads back as a JSON number");
		cJSON_Delete(back);
		cJSON_Delete(o);
		free(s);
	}
}

static void
test_redact(void)
{
	char *r;

	phx_secret_add("s3cr3t-value");
	phx_secret_add("a\"b\\c-quoted");
	r = phx_redact("{\"msg\":\"token s3cr3t-value here\"}");
	is_str(r, "{\"msg\":\"token *** here\"}", "redact: known value");
	free(r);
	r = phx_redact("{\"m\":\"a\\\"b\\\\c-quoted\"}");
	is_str(r, "{\"m\":\"***\"}", "redact: JSON-escaped value");
	free(r);
	r = phx_redact("postgresql://phoenix:hunter22@db:5432/revenue");
	is_str(r, "postgresql://phoenix:***@db:5432/revenue",
	    "redact: password inside a URL");
	free(r);
	r = phx_redact("host=db user=x password=hunter22 dbname=y");
	is_str(r, "host=db user=x password=*** dbname=y",
	    "redact: password= in a DSN");
	free(r);
	ok(phx_redact_mem("nothing here", 12, NULL) == NULL,
	    "redact: NULL when nothing matched");
	r = phx_redact("http://user@host/x");
	is_str(r, "http://user@host/x", "redact: userinfo without password kept");
	free(r);
	r = phx_redact("see http://host:8080/a and http://host/mailto:a@b.c");
	is_str(r, "see http://host:8080/a and http://host/mailto:a@b.c",
	    "redact: a port, an '@' in the path: no password");
	free(r);
	r = phx_redact("http://host:8080/a@b http://u:pw@h/?to=a@b");
	is_str(r, "http://host:***@b http://u:***@b",
	    "redact: ambiguous: masks more, never less");
	free(r);
	ok(phx_is_secret_name("N8N_API_KEY"), "secret name: *_API_KEY");
	ok(phx_is_secret_name("REVENUE_DB_PASSWORD"), "secret name: *_PASSWORD");
	ok(phx_is_secret_name("WINDMILL_TOKEN"), "secret name: *_TOKEN");
	ok(!phx_is_secret_name("PHX_PORT_DB"), "secret name: ordinary name");
	ok(!phx_is_secret_name("BYPASS"), "secret name: word inside a word");
	phx_secrets_clear();
}

/* each bug redaction of printed bytes had; all fail on that code */
static void
test_redact_regressions(void)
{
	char *r;

	phx_secret_add("pw\"");
	/* the bytes pw" are there, so the value is masked, not the quote */
	r = phx_redact("{\"service\":\"pw\",\"state\":\"up\"}");
	is_str(r, "{\"service\":\"***\",\"state\":\"up\"}",
	    "regress: a secret ending in a quote eats no closing quote");
	free(r);
	phx_secrets_clear();
	phx_secret_add("\xc3\xa9t\xc3\xa9-pass");
	phx_secret_add("a/b-pw1");
	phx_secret_add("<pw>x");
	r = phx_redact("{\"m\":\"\\u00e9t\\u00e9-pass\",\"n\":\"a\\/b-pw1\","
	    "\"o\":\"\\u003cpw>x\"}");
	is_str(r, "{\"m\":\"***\",\"n\":\"***\",\"o\":\"***\"}",
	    "regress: secrets behind JSON escapes are masked");
	free(r);
	r = phx_redact("text \\u003cpw\\u003ex and a%2Fb-pw1");
	is_str(r, "text *** and ***", "regress: escapes in plain text too");
	free(r);
	phx_secrets_clear();
	phx_secret_add("p@*");
	r = phx_scrub("p@p@*");
	ok(r && !strstr(r, "p@*"), "regress: the mask never re-forms a secret");
	is_str(r, "p@~~~", "regress: so it uses a character no secret holds");
	free(r);
	phx_secrets_clear();
	r = phx_scrub("http://user:p#ss@host/ postgresql://u:pa/ss@db:5432/x"
	    " redis://:p?w@d@cache:6379 https://u:p%40w@h?q=1");
	is_str(r, "http://user:***@host/ postgresql://u:***@db:5432/x"
	    " redis://:***@cache:6379 https://u:***@h?q=1",
	    "regress: URL passwords holding # / ? @ or %XX");
	free(r);
}

/* a literal key found clean is not looked at again until the registry
 * changes: a secret added later is masked in it all the same */
static void
test_redact_literal_keys(void)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	phx_add_int(o, "response_time_ms", 7);
	phx_add_ref(o, "target", "http://u:pw1@h:80/ x");
	ok(phx_redact_json(o), "literal keys: a value is still masked");
	s = cJSON_PrintUnformatted(o);
	is_str(s, "{\"response_time_ms\":7,\"target\":\"http://u:***@h:80/ x\"}",
	    "literal keys: clean key kept, URL password masked");
	free(s);
	cJSON_Delete(o);
	phx_secret_add("time_ms");
	o = cJSON_CreateObject();
	phx_add_int(o, "response_time_ms", 7);
	ok(phx_redact_json(o), "literal keys: a secret added later is found");
	s = cJSON_PrintUnformatted(o);
	is_str(s, "{\"response_***\":7}", "literal keys: masked in the key");
	free(s);
	cJSON_Delete(o);
	phx_secrets_clear();
	o = cJSON_CreateObject();
	phx_add_int(o, "response_time_ms", 7);
	ok(!phx_redact_json(o), "literal keys: clean again once cleared");
	cJSON_Delete(o);
	s = phx_scrub("a`http://u:p\"w@h/` \"http://u:p`w@h/\"");
	is_str(s, "a`http://u:***@h/` \"http://u:***@h/\"",
	    "URL: a quote ends the authority unless an '@' follows");
	free(s);
}

/* a secret the values do not hold but the printed bytes spell: across an
 * escape, a quote or a number; masked where it touches, JSON kept */
static void
test_redact_printed(void)
{
	static const struct { const char *secret, *in, *want, *why; } cases[] = {
		{ "s3cr\\", "{\"a\":\"hun\",\"k\":\"s3cr\\u003c\\\"et\"}",
		    "{\"a\":\"hun\",\"k\":\"s3cr<\\\"et\"}",
		    "printed: a secret ending in '\\' before a \\u escape" },
		{ "s3cr\\", "{\"k\":\"s3cr\\\"x\"}", "{\"k\":\"***x\"}",
		    "printed: ... before an escape cJSON prints too" },
		{ "12345", "{\"port\":12345,\"n\":\"a\"}",
		    "{\"port\":\"***\",\"n\":\"a\"}", "printed: a number" },
		{ "xa\":\"by", "{\"xa\":\"by\",\"c\":1}",
		    "{\"***\":\"***\",\"c\":1}", "printed: across quotes" },
		{ "\":\"", "{\"a\":\"b\"}", "\"***\"",
		    "printed: in punctuation alone the document is the mask" },
		{ "s3cr\\", "{\"a\":\"s3cr\",  \"b\":1.50}",
		    "{\"a\":\"s3cr\",  \"b\":1.50}", "printed: clean bytes kept" },
		{ "   ", "\"\"        ", "\"\"",
		    "printed: white space after the document that spells it dropped" },
		{ "true", "true", "\"***\"", "printed: a document that is a literal" },
		{ "1234", " 12345 ", "\"***\" ", "printed: ... or a number" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *r;
		phx_secret_add(cases[i].secret);
		r = phx_redact(cases[i].in);
		is_str(r, cases[i].want, cases[i].why);
		free(r);
		phx_secrets_clear();
	}
}

static void
test_redact_forms(void)
{
	char *r;

	phx_secret_add("a&b<c'd");
	phx_secret_add("p@ss word");
	r = phx_scrub("x a&amp;b&lt;c&#39;d y a&amp;b&lt;c&apos;d z");
	is_str(r, "x *** y *** z", "forms: XML-escaped");
	free(r);
	r = phx_scrub("p%40ss%20word p%40ss+word");
	is_str(r, "*** ***", "forms: URL-encoded");
	free(r);
	r = phx_scrub("nothing here");
	is_str(r, "nothing here", "scrub: a clean value is copied");
	free(r);
	ok(phx_redact_mem("{\"a\":\"x\",  \"b\":1.50}\n", 21, NULL) == NULL,
	    "redact: a clean JSON text is left alone");
	r = phx_redact("{\"a\":\"p@ss word\",\"b\":[1,\"p@ss word!\"]}\r\n");
	is_str(r, "{\"a\":\"***\",\"b\":[1,\"***!\"]}\r\n",
	    "redact: JSON printed again, trailing bytes kept");
	free(r);
	phx_secrets_clear();
}

/* ---- property: no secret in any output, in any encoding ---- */

static unsigned long prop_seed = 20261127;

static unsigned
prop_rand(unsigned n)
{
	prop_seed = prop_seed * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)(prop_seed >> 33) % n;
}

/* the test's own encoders, written apart from lib's */
static char *
enc(const char *s, int how)
{
	struct phx_buf b = { 0 };
	cJSON *j;
	char *p;

	if (how == 0)
		return phx_strdup(s);
	if (how == 1) {
		j = cJSON_CreateString(s);
		p = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
		p[strlen(p) - 1] = '\0';
		memmove(p, p + 1, strlen(p));
		return p;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		const char *x = c == '&' ? "&amp;" : c == '<' ? "&lt;" :
		    c == '>' ? "&gt;" : c == '"' ? "&quot;" : c == '\'' ? "&#39;" : NULL;
		if (how == 2 && x)
			phx_buf_addstr(&b, x);
		else if ((how == 3 && !isalnum(c) && !strchr("-._~", c)) ||
		    (how == 4 && c < 0x80 && !isalnum(c)))
			phx_buf_printf(&b, how == 3 ? "%%%02X" : "\\u%04x", c);
		else
			phx_buf_add(&b, s, 1);
	}
	phx_buf_str(&b);
	return b.data;
}

static bool
holds_secret(const char *s, const char *secret)
{
	bool found = false;

	for (int how = 0; how < 5 && !found; how++) {
		char *f = enc(secret, how);
		found = strstr(s, f) != NULL;
		free(f);
	}
	return found;
}

static bool
json_clean(const cJSON *it, const char *secret)
{
	for (; it; it = it->next) {
		if ((it->string && holds_secret(it->string, secret)) ||
		    (cJSON_IsString(it) && holds_secret(it->valuestring, secret)) ||
		    !json_clean(it->child, secret))
			return false;
	}
	return true;
}

/* every JSON line parses and holds the secret in no string; the bytes
 * hold it JSON-escaped nowhere, and a line that is not JSON not at all */
static bool
output_clean(char *out, const char *secret, char *why, size_t whylen)
{
	char *json_form = enc(secret, 1);
	bool good = true;

	for (char *line = strtok(out, "\n"); line && good; line = strtok(NULL, "\n")) {
		cJSON *j = line[0] == '{' ? cJSON_Parse(line) : NULL;
		good = line[0] == '{' ? j && json_clean(j, secret) &&
		    !strstr(line, json_form) : !holds_secret(line, secret);
		if (!good)
			snprintf(why, whylen, "%s", line);
		cJSON_Delete(j);
	}
	free(json_form);
	return good;
}

static char *
capture(void (*fn)(const char *secret, int fd), const char *secret, int infd)
{
	char path[] = "/tmp/phx-unit.XXXXXX";
	int fd = mkstemp(path), saved = dup(1);
	struct phx_buf b = { 0 };
	char chunk[4096];
	ssize_t n;

	fflush(stdout);
	unlink(path);
	dup2(fd, 1);
	fn(secret, infd);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		phx_buf_add(&b, chunk, (size_t)n);
	close(fd);
	phx_buf_str(&b);
	return b.data;
}

/* the values a secret is put in: alone, amid text, twice, cut short,
 * next to its own prefix, inside JSON text, behind \u escapes */
static char **
prop_values(const char *secret, size_t *n)
{
	char *j = enc(secret, 1), *u = enc(secret, 4), *x = enc(secret, 2);
	char *p = enc(secret, 3), *cut = phx_strdup(secret), **v;
	size_t len = strlen(secret);

	cut[len - 1] = '\0';
	v = phx_calloc(12, sizeof *v);
	v[0] = phx_strdup(secret);
	v[1] = phx_asprintf("before %s after", secret);
	v[2] = phx_asprintf("%s%s", secret, secret);
	v[3] = phx_asprintf("%s", cut);
	v[4] = phx_asprintf("%.2s%s\"", secret, secret);
	v[5] = phx_asprintf("{\"k\":\"%s\",\"o\":1}", j);
	v[6] = phx_asprintf("escaped %s here", u);
	v[7] = phx_asprintf("<x a='%s'/>", x);
	v[8] = phx_asprintf("https://user:%s@host/?q=%s", p, p);
	v[9] = phx_asprintf("%s*%s", secret, cut);
	*n = 10;
	free(j);
	free(u);
	free(x);
	free(p);
	free(cut);
	return v;
}

static void
emit_records(const char *secret, int fd)
{
	size_t n;
	char **v = prop_values(secret, &n);

	(void)fd;
	for (size_t i = 0; i < n; i++) {
		cJSON *rec = phx_record_new("test");
		cJSON_AddStringToObject(rec, "message", v[i]);
		cJSON_AddStringToObject(rec, v[i], "as a key");
		cJSON_AddItemToObject(rec, "list", cJSON_CreateStringArray(
		    (const char *const *)v, (int)n));
		phx_emit(rec);
	}
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
pass_lines(const char *secret, int fd)
{
	struct phx_reader *r = phx_reader_new(fd, "prop", 64);
	struct phx_input in;

	(void)secret;
	while (phx_reader_next(r, &in) != PHX_RD_EOF)
		phx_pass(&in);
	phx_reader_free(r);
}

/* JSON lines (short), text lines, and over-long text lines with the
 * secret across a 64-byte chunk boundary at every offset */
static int
prop_input(const char *secret)
{
	char path[] = "/tmp/phx-unit.XXXXXX";
	int fd = mkstemp(path);
	size_t n;
	char **v = prop_values(secret, &n);
	struct phx_buf b = { 0 };

	unlink(path);
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		char *line;
		cJSON_AddStringToObject(o, "m", v[i]);
		line = cJSON_PrintUnformatted(o);
		phx_buf_printf(&b, "%s\n", line);
		if (!strchr(secret, '\n') && !strchr(secret, '\r'))
			phx_buf_printf(&b, "text %s\n", v[i]);
		free(line);
		cJSON_Delete(o);
		free(v[i]);
	}
	free(v);
	for (size_t off = 30; off < 100 && !strpbrk(secret, "\r\n"); off += 3)
		phx_buf_printf(&b, "%.*s%s%.*s\n", (int)off, "____________________"
		    "____________________________________________________________"
		    "____________________", secret, 70, "================="
		    "=====================================================");
	if (write(fd, b.data, b.len) != (ssize_t)b.len)
		abort();
	lseek(fd, 0, SEEK_SET);
	phx_buf_free(&b);
	return fd;
}

static char *
prop_secret(const char *alphabet, size_t minlen, size_t maxlen)
{
	size_t len = minlen + prop_rand((unsigned)(maxlen - minlen + 1));
	size_t na = strlen(alphabet);
	char *s = phx_malloc(len * 4 + 1), *p = s;

	while ((size_t)(p - s) < len) {
		const char *c = alphabet + prop_rand((unsigned)na);
		size_t cl = 1;
		while ((c[cl] & 0xc0) == 0x80)   /* whole UTF-8 characters */
			cl++;
		if ((*c & 0xc0) == 0x80)
			continue;
		memcpy(p, c, cl);
		p += cl;
	}
	*p = '\0';
	return s;
}

static void
emit_message(const char *value, int fd)
{
	cJSON *rec = phx_record_new("test");

	(void)fd;
	cJSON_AddStringToObject(rec, "message", value);
	phx_emit(rec);
}

/* a record's printed bytes: the value s3cr"x prints as s3cr\"x */
static void
test_emit_printed(void)
{
	char *out;
	cJSON *j;

	phx_secret_add("s3cr\\");
	out = capture(emit_message, "s3cr\"x", -1);
	j = cJSON_Parse(out);
	ok(j && !strstr(out, "s3cr\\"), "emit: no secret in the printed bytes");
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(j, "message")), "***x",
	    "emit: the value masked where the bytes spelled it, still JSON");
	cJSON_Delete(j);
	free(out);
	phx_secrets_clear();
}

static void
test_redact_property(void)
{
	static const struct { const char *name, *alphabet; size_t min, max; }
	    classes[] = {
		{ "'*'", "*ab*c", 3, 8 }, { "'\"'", "\"ab\"c", 3, 8 },
		{ "'\\\\'", "\\ab\\u00e9", 3, 10 }, { "&<>'", "&<>'ab;#", 3, 10 },
		{ "'%'", "%41ab%", 3, 10 }, { "@:/?#", "@:/?#ab", 3, 10 },
		{ "newlines", "\n\r\tab", 3, 8 },
		{ "UTF-8", "\xc3\xa9\xe5\xaf\x86\xf0\x9f\x94\x91" "ab", 3, 8 },
		{ "long tokens", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
		    "vwxyz0123456789+/=-_", 200, 260 },
	};

	for (size_t c = 0; c < sizeof classes / sizeof *classes; c++) {
		int bad = 0, tried = 0;
		char why[300] = "", name[80];
		for (int k = 0; k < 12; k++, tried++) {
			char *secret = prop_secret(classes[c].alphabet,
			    classes[c].min, classes[c].max), *out;
			int fd = prop_input(secret);
			phx_secret_add(secret);
			out = capture(emit_records, secret, -1);
			bad += !output_clean(out, secret, why, sizeof why);
			free(out);
			out = capture(pass_lines, secret, fd);
			bad += !output_clean(out, secret, why, sizeof why);
			free(out);
			close(fd);
			phx_secrets_clear();
			free(secret);
		}
		snprintf(name, sizeof name, "property: secrets with %s, %d "
		    "tried: none in any output", classes[c].name, tried);
		ok(!bad, name);
		if (bad)
			printf("# %d bad, e.g.: %s\n", bad, why);
	}
}

/* the finding vocabulary phx-secscan writes and phx-report reads */
static void
test_status(void)
{
	ok(phx_status_parse("FAIL") == PHX_ST_FAIL &&
	    phx_status_parse("PASS") == PHX_ST_PASS, "status: parsed");
	ok(phx_status_parse("pass") == PHX_STATUS_N &&
	    phx_status_parse(NULL) == PHX_STATUS_N, "status: capitals only");
	ok(PHX_ST_FAIL < PHX_ST_WARN && PHX_ST_WARN < PHX_ST_SKIP &&
	    PHX_ST_SKIP < PHX_ST_INFO && PHX_ST_INFO < PHX_ST_PASS,
	    "status: ranked worst first");
	is_str(phx_status_names[PHX_ST_WARN], "WARN", "status: names");
	ok(phx_sev_parse("critical") == PHX_SEV_CRITICAL &&
	    phx_sev_parse("Low") == PHX_SEV_LOW, "severity: any case");
	ok(phx_sev_parse("NONE") == PHX_SEV_NONE &&
	    phx_sev_parse("SEVERE") == PHX_SEV_NONE &&
	    phx_sev_parse(NULL) == PHX_SEV_NONE, "severity: none of them");
	is_str(phx_sev_names[PHX_SEV_HIGH], "HIGH", "severity: names");
	ok(phx_fail_on_parse("never") == PHX_SEV_NONE &&
	    phx_fail_on_parse("NEVER") == PHX_SEV_NONE &&
	    phx_fail_on_parse("none") == PHX_SEV_NONE, "fail-on: NONE and NEVER");
	ok(phx_fail_on_parse("medium") == PHX_SEV_MEDIUM, "fail-on: a severity");
	ok(phx_fail_on_parse("SOMETIMES") == -1 &&
	    phx_fail_on_parse("") == -1 && phx_fail_on_parse(NULL) == -1,
	    "fail-on: anything else refused");
	ok(phx_finding_fails(PHX_ST_FAIL, PHX_SEV_HIGH, PHX_SEV_HIGH) &&
	    phx_finding_fails(PHX_ST_FAIL, PHX_SEV_CRITICAL, PHX_SEV_LOW),
	    "fails: FAIL at or above the level");
	ok(!phx_finding_fails(PHX_ST_FAIL, PHX_SEV_MEDIUM, PHX_SEV_HIGH) &&
	    !phx_finding_fails(PHX_ST_WARN, PHX_SEV_CRITICAL, PHX_SEV_LOW) &&
	    !phx_finding_fails(PHX_ST_FAIL, PHX_SEV_CRITICAL, PHX_SEV_NONE),
	    "fails: not below it, not WARN, never at NONE");
	is_str(phx_finding_group("PHX-SEC-002", NULL), "rootless",
	    "group: by phx id");
	is_str(phx_finding_group("OTHER-1", "5.14"), "ports", "group: by CIS id");
	is_str(phx_finding_group("PHX-SEC-060", NULL), NULL, "group: none");
}

static void
test_ids(void)
{
	ok(phx_valid_deployment_id("deploy_20261127_120000"), "id: valid");
	ok(phx_valid_deployment_id("deploy_20261127_120000_2"), "id: suffixed");
	ok(!phx_valid_deployment_id("../etc"), "id: path rejected");
	ok(!phx_valid_deployment_id("deploy_x/../../y_zzzzzzzz"),
	    "id: slash rejected");
}

static void
test_reader(void)
{
	static const char input[] =
	    "{\"v\":1,\"type\":\"health\",\"deployment_id\":\"deploy_20261127_120000\"}\n"
	    "not json\n"
	    "{\"foreign\":true}\n"
	    "\n"
	    "{\"v\":1,\"type\":\"test\"}\r\n"
	    "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789\n"
	    "{\"v\":1,\"type\":\"last\"}";
	enum phx_rd want[] = { PHX_RD_RECORD, PHX_RD_INVALID, PHX_RD_FOREIGN,
	    PHX_RD_FOREIGN, PHX_RD_RECORD, PHX_RD_LONG, PHX_RD_LONG,
	    PHX_RD_RECORD, PHX_RD_EOF };
	struct phx_input in;
	struct phx_reader *r;
	int fds[2], i = 0, good = 1;
	struct phx_buf got = { 0 };

	if (pipe(fds) < 0 || write(fds[1], input, sizeof input - 1) < 0)
		abort();
	close(fds[1]);
	r = phx_reader_new(fds[0], "pipe", 80);
	for (;;) {
		enum phx_rd rd = phx_reader_next(r, &in);
		if (i < (int)(sizeof want / sizeof *want) && rd != want[i]) {
			printf("# line %d: got %d want %d\n", i, rd, want[i]);
			good = 0;
		}
		i++;
		if (rd == PHX_RD_EOF)
			break;
		phx_buf_add(&got, in.line, in.len);
		if (in.newline)
			phx_buf_add(&got, "\n", 1);
	}
	ok(good && i == 9, "reader: classifies every kind of line");
	ok(got.len == sizeof input - 1 && memcmp(got.data, input, got.len) == 0,
	    "reader: the bytes handed back are the bytes read");
	is_str(phx_deployment_id(), "deploy_20261127_120000",
	    "reader: adopts the stream's deployment id");
	ok(phx_reader_invalid(r) == 2, "reader: counts invalid and long lines");
	phx_buf_free(&got);
	phx_reader_free(r);
	close(fds[0]);
	phx_set_deployment_id(NULL);
}

static void
test_run(void)
{
	const char *argv1[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	const char *argv2[] = { "sh", "-c", "sleep 5 & sleep 5", NULL };
	const char *argv3[] = { "/nonexistent/cmd", NULL };
	struct phx_run a = { .argv = argv1 }, b = { .argv = argv2, .timeout_ms = 200 };
	struct phx_run c = { .argv = argv3 };
	char *t;

	phx_run(&a);
	ok(a.status == 3, "run: exit status");
	is_str(a.out.data, "out\n", "run: stdout captured");
	is_str(a.err.data, "err\n", "run: stderr captured");
	phx_run(&b);
	ok(b.timed_out && b.duration_ms < 3000, "run: timeout kills the group");
	ok(!phx_run(&c) && c.exec_failed, "run: exec failure reported");
	t = phx_tail_lines("a\nb\nc\nd\n", 8, 2);
	is_str(t, "c\nd\n", "tail: last two lines");
	free(t);
	phx_run_free(&a);
	phx_run_free(&b);
	phx_run_free(&c);
}

static int
mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) < 0 ? -1 : (int)(st.st_mode & 07777);
}

/* phx_write_file and phx_wfile_*: modes whatever the umask, and nothing
 * planted at the temporary or the target name is written through */
static void
test_wfile(const char *dir)
{
	char *victim = phx_asprintf("%s/victim", dir);
	char *path = phx_asprintf("%s/out", dir);
	char *planted = phx_asprintf("%s.tmp.%ld", path, (long)getpid());
	char *text;
	struct phx_wfile *w;
	mode_t old = umask(0);

	phx_write_file(victim, "mine\n", 5);
	ok(mode_of(victim) == 0600, "write_file: 0600 under umask 000");
	ok(symlink(victim, planted) == 0 && symlink(victim, path) == 0,
	    "write_file: symlinks planted at the temporary and the target");
	ok(phx_write_file(path, "new\n", 4), "write_file: written");
	is_str(text = phx_read_file(victim, NULL), "mine\n",
	    "write_file: planted symlinks not followed, victim unchanged");
	free(text);
	ok(mode_of(path) == 0600, "write_file: target replaced by a plain file");
	umask(0777);
	w = phx_wfile_open(path, 0640);
	ok(w && fputs("piece 1\n", phx_wfile_fp(w)) >= 0 &&
	    fputs("piece 2\n", phx_wfile_fp(w)) >= 0 && phx_wfile_commit(w),
	    "wfile: written a piece at a time under umask 777");
	ok(mode_of(path) == 0640, "wfile: committed with the mode asked");
	is_str(text = phx_read_file(path, NULL), "piece 1\npiece 2\n",
	    "wfile: content");
	free(text);
	umask(0);
	w = phx_wfile_open(path, 0600);
	fputs("half", phx_wfile_fp(w));
	phx_wfile_abort(w);
	is_str(text = phx_read_file(path, NULL), "piece 1\npiece 2\n",
	    "wfile: abort leaves the old file");
	free(text);
	umask(old);
	free(planted);
	free(path);
	free(victim);
}

/* phx_open_append: locks and logs refuse a symlink, a hard link, a file
 * not regular; phx_mkdirs makes 0700 whatever the umask */
static void
test_append(const char *dir)
{
	char *victim = phx_asprintf("%s/victim", dir);
	char *lock = phx_asprintf("%s/.lock", dir);
	char *sub = phx_asprintf("%s/a/b", dir);
	mode_t old = umask(0);
	int fd = phx_open_append(lock, 0600);

	ok(fd >= 0 && mode_of(lock) == 0600, "append: created 0600 under umask 000");
	if (fd >= 0)
		close(fd);
	ok((fd = phx_open_append(lock, 0600)) >= 0, "append: opened again");
	if (fd >= 0)
		close(fd);
	unlink(lock);
	ok(symlink(victim, lock) == 0 && phx_open_append(lock, 0600) < 0 &&
	    errno == ELOOP, "append: a symlink refused");
	unlink(lock);
	ok(link(victim, lock) == 0 && phx_open_append(lock, 0600) < 0,
	    "append: a second name refused");
	unlink(lock);
	umask(0777);
	phx_mkdirs(sub);
	umask(0);
	*strrchr(sub, '/') = '\0';
	ok(mode_of(sub) == 0700, "mkdirs: 0700 under umask 777");
	ok(chdir(sub) == 0 && mode_of("b") == 0700 && chdir("/") == 0,
	    "mkdirs: the last one 0700 too");
	umask(old);
	free(sub);
	free(lock);
	free(victim);
}

static void
test_files(void)
{
	char tmpl[] = "/tmp/phx-unit.XXXXXX";
	char *dir = mkdtemp(tmpl), *cmd;

	if (!dir) {
		ok(0, "files: mkdtemp");
		return;
	}
	test_wfile(dir);
	test_append(dir);
	test_podman(dir);
	test_kube(dir);
	cmd = phx_asprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		ok(0, "files: cleanup");
	free(cmd);
}

/* every result the tools' transfers can end in, and its record reason */
static void
test_curl_reason(void)
{
	static const struct { CURLcode rc; const char *reason; } cases[] = {
		{ CURLE_COULDNT_RESOLVE_HOST, "dns" },
		{ CURLE_COULDNT_RESOLVE_PROXY, "dns" },
		{ CURLE_COULDNT_CONNECT, "refused" },
		{ CURLE_OPERATION_TIMEDOUT, "timeout" },
		{ CURLE_SSL_CONNECT_ERROR, "tls" },
		{ CURLE_PEER_FAILED_VERIFICATION, "tls" },
		{ CURLE_SSL_CERTPROBLEM, "tls" },
		{ CURLE_SSL_CIPHER, "tls" },
		{ CURLE_SSL_CACERT_BADFILE, "tls" },
		{ CURLE_SSL_ISSUER_ERROR, "tls" },
		{ CURLE_SSL_PINNEDPUBKEYNOTMATCH, "tls" },
		{ CURLE_SSL_INVALIDCERTSTATUS, "tls" },
		{ CURLE_SSL_CRL_BADFILE, "tls" },
		{ CURLE_SSL_CLIENTCERT, "tls" },
		{ CURLE_SSL_ENGINE_NOTFOUND, "tls" },
		{ CURLE_SSL_ENGINE_SETFAILED, "tls" },
		{ CURLE_SSL_ENGINE_INITFAILED, "tls" },
		{ CURLE_SSL_SHUTDOWN_FAILED, "tls" },
		{ CURLE_USE_SSL_FAILED, "tls" },
		{ CURLE_UNSUPPORTED_PROTOCOL, "protocol" },
		{ CURLE_URL_MALFORMAT, "protocol" },
		{ CURLE_WEIRD_SERVER_REPLY, "protocol" },
		{ CURLE_HTTP2, "protocol" },
		{ CURLE_PARTIAL_FILE, "protocol" },
		{ CURLE_WRITE_ERROR, "protocol" },
		{ CURLE_SEND_ERROR, "protocol" },
		{ CURLE_RECV_ERROR, "protocol" },
		{ CURLE_GOT_NOTHING, "protocol" },
		{ CURLE_TOO_MANY_REDIRECTS, "protocol" },
		{ CURLE_BAD_CONTENT_ENCODING, "protocol" },
		{ CURLE_HTTP_RETURNED_ERROR, "protocol" },
		{ CURLE_ABORTED_BY_CALLBACK, "protocol" },
	};
	static const char *const documented[] = {
		"dns", "refused", "timeout", "tls", "protocol",
	};
	int undocumented = 0;

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char name[96];
		snprintf(name, sizeof name, "curl reason: %s",
		    curl_easy_strerror(cases[i].rc));
		is_str(phx_curl_reason(cases[i].rc), cases[i].reason, name);
	}
	for (int rc = CURLE_OK; rc < CURL_LAST; rc++) {
		const char *got = phx_curl_reason((CURLcode)rc);
		size_t j = 0;
		while (j < sizeof documented / sizeof *documented &&
		    strcmp(got, documented[j]) != 0)
			j++;
		undocumented += j == sizeof documented / sizeof *documented;
	}
	ok(!undocumented, "curl reason: every result maps to a documented reason");
}

static void
test_curl_not_after(void)
{
	static const struct { const char *line; time_t want; } cases[] = {
		{ "Expire date:Dec 12 00:58:01 2026 GMT", 1797037081 },
		{ "Expire date:Mar  5 12:00:00 2031 GMT", 1930478400 },
		{ "Expire date: Mar 5 12:00:00 2031", 1930478400 },
		{ "Expire date:2031-03-05 12:00:00 GMT", 1930478400 },
		{ "Expire date:", -1 },
		{ "Expire date:soon", -1 },
		{ "Expire date:Mar 5 2031", -1 },
		{ "Expire date:Mar  5 12:00:00 2031 CET", -1 },
		{ "Start date:Mar  5 12:00:00 2031 GMT", -1 },
	};
	struct curl_certinfo ci = { 0, NULL };
	struct curl_slist *cert[2] = { NULL, NULL };
	time_t got = 0;

	ok(!phx_curl_not_after(NULL, &got), "not_after: no certinfo");
	ok(!phx_curl_not_after(&ci, &got), "not_after: no certificate");
	ci.certinfo = cert;
	ci.num_of_certs = 1;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char name[96];
		bool found;
		cert[0] = curl_slist_append(NULL, "Subject:CN = localhost");
		cert[0] = curl_slist_append(cert[0], cases[i].line);
		got = 0;
		found = phx_curl_not_after(&ci, &got);
		snprintf(name, sizeof name, "not_after: \"%s\"", cases[i].line);
		ok(cases[i].want < 0 ? !found : found && got == cases[i].want,
		    name);
		if (found && got != cases[i].want)
			printf("# got %lld\n", (long long)got);
		curl_slist_free_all(cert[0]);
	}
	/* the peer's certificate is the first; its issuer's must not count */
	cert[0] = curl_slist_append(NULL, "Subject:CN = localhost");
	cert[1] = curl_slist_append(NULL, "Expire date:Dec 12 00:58:01 2026 GMT");
	ci.num_of_certs = 2;
	ok(!phx_curl_not_after(&ci, &got), "not_after: only the peer's certificate");
	curl_slist_free_all(cert[0]);
	curl_slist_free_all(cert[1]);
}

static void
expand_is(const char *in, const char *want, const char *name)
{
	char *err, *got = phx_yaml_expand(in, NULL, &err);

	is_str(got ? got : err, want, name);
	free(got);
	free(err);
}

static void
test_expand(void)
{
	cJSON *vars = cJSON_Parse("{\"PHXU_DOT\":\"dot\",\"PHXU_SET\":\"no\"}");
	char *err, *s;

	setenv("PHXU_SET", "v", 1);
	setenv("PHXU_EMPTY", "", 1);
	unsetenv("PHXU_UNSET");
	expand_is("${PHXU_UNSET-d}", "d", "expand: ${X-d}, unset: the default");
	expand_is("${PHXU_UNSET:-d}", "d", "expand: ${X:-d}, unset: the default");
	expand_is("${PHXU_EMPTY-d}", "", "expand: ${X-d}, set but empty: empty");
	expand_is("${PHXU_EMPTY:-d}", "",
	    "expand: ${X:-d}, set but empty: empty, as podman-compose 1.0.3");
	expand_is("${PHXU_SET:-d}/${PHXU_SET}", "v/v", "expand: set: its value");
	expand_is("$PHXU_SET.$PHXU_UNSET.", "v..", "expand: $X, unset is empty");
	expand_is("a$$b $${PHXU_SET}", "a$b ${PHXU_SET}", "expand: $$ is a $");
	expand_is("${PHXU_UNSET:?set it}", "PHXU_UNSET: set it",
	    "expand: ${X:?msg}, unset: the message");
	expand_is("${PHXU_UNSET?no}", "PHXU_UNSET: no", "expand: ${X?msg}, unset");
	expand_is("${PHXU_EMPTY:?no}", "", "expand: ${X:?msg}, set but empty: ok");
	expand_is("$ ${1} ${PHXU_SET", "$ ${1} ${PHXU_SET",
	    "expand: what is no reference stays");
	s = phx_yaml_expand("${PHXU_DOT}-${PHXU_SET}", vars, &err);
	is_str(s, "dot-v", "expand: vars after the environment");
	free(s);
	cJSON_Delete(vars);
}

/* text as YAML, printed as JSON, or the error */
static void
yaml_is(const char *text, int flags, const char *want, const char *name)
{
	char *err, *got;
	struct phx_yaml *y = phx_yaml_parse("t.yaml", text, strlen(text), flags,
	    NULL, &err);

	got = y ? cJSON_PrintUnformatted(phx_yaml_root(y)) : err;
	is_str(got, want, name);
	free(got);
	phx_yaml_free(y);
}

static void
test_yaml(void)
{
	struct phx_buf b = { 0 };

	yaml_is("[on, yes, Off, NO, true, y, n, ~, 8080, '8080', 0755, 1.5, 1e3, "
	    "1.0e+999]", PHX_YAML_TYPED,
	    "[true,true,false,false,true,\"y\",\"n\",null,8080,\"8080\",\"0755\","
	    "1.5,\"1e3\",\"1.0e+999\"]", "yaml: YAML 1.1 scalars as PyYAML types them");
	yaml_is("[on, 8080]", 0, "[\"on\",\"8080\"]", "yaml: untyped, all strings");
	yaml_is("b: &b {x: 1, y: 2}\nc: &c {z: 3}\nm:\n  <<: [*b, *c]\n  x: 9\n"
	    "n: {<<: *b, y: 0}\n", PHX_YAML_TYPED,
	    "{\"b\":{\"x\":1,\"y\":2},\"c\":{\"z\":3},\"m\":{\"x\":9,\"y\":2,\"z\":3},"
	    "\"n\":{\"y\":0,\"x\":1}}", "yaml: merge keys, explicit keys win");
	yaml_is("a:\n  b: 1\n  b: 2\n", 0,
	    "t.yaml:3:3: duplicate key \"b\" in a", "yaml: duplicate key");
	yaml_is("a: *nope\n", 0, "t.yaml:1:4: undefined alias *nope",
	    "yaml: undefined alias");
	yaml_is("args: &a [*a]\n", 0,
	    "t.yaml:1:11: alias *a is inside the node it names",
	    "limit: an alias inside its own node");
	phx_buf_addstr(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 8; i++) {
		phx_buf_printf(&b, "a%d: &a%d [", i, i);
		for (int j = 0; j < 10; j++)
			phx_buf_printf(&b, "%s*a%d", j ? ", " : "", i - 1);
		phx_buf_addstr(&b, "]\n");
	}
	yaml_is(b.data, 0, "t.yaml:5:45: alias *a3: more than 100000 nodes with "
	    "it (the limit)", "limit: billion laughs, nodes copied by aliases");
	b.len = 0;
	for (int i = 0; i < PHX_YAML_MAX_ALIASES + 2; i++)
		phx_buf_addstr(&b, i ? ", *a" : "[&a x");
	phx_buf_addstr(&b, "]");
	yaml_is(b.data, 0, "t.yaml:1:40008: more than 10000 aliases (the limit)",
	    "limit: alias uses");
	b.len = 0;
	for (int i = 0; i < 100000; i++)
		phx_buf_addstr(&b, "[");
	yaml_is(b.data, 0, "t.yaml:1:65: nested more than 64 deep (the limit)",
	    "limit: nesting depth");
	b.len = 0;
	phx_buf_addstr(&b, "a: &a ");
	for (int i = 0; i < 60; i++)
		phx_buf_addstr(&b, "[");
	for (int i = 0; i < 60; i++)
		phx_buf_addstr(&b, "]");
	phx_buf_addstr(&b, "\nb: [[[[[*a]]]]]\n");
	yaml_is(b.data, 0, "t.yaml:2:9: alias *a: nested more than 64 deep with "
	    "it (the limit)", "limit: nesting depth through an alias");
	b.len = 0;
	phx_buf_addstr(&b, "[");
	for (int i = 0; i < PHX_YAML_MAX_NODES; i++)
		phx_buf_addstr(&b, "1,");
	phx_buf_addstr(&b, "1]");
	yaml_is(b.data, 0, "t.yaml:1:200000: more than 100000 nodes (the limit)",
	    "limit: nodes");
	phx_buf_free(&b);
}

/* checks: entry and config as JSON (the merged configuration's form, so
 * durations in ms), the check objects as one JSON line */
static void
is_checks(const char *cfg, const char *entry, const char *container,
    bool declared, const char *want, const char *name)
{
	cJSON *c = cJSON_Parse(cfg), *e = entry ? cJSON_Parse(entry) : NULL;
	cJSON *got = phx_service_checks(c, e, container, declared);
	char *s = cJSON_PrintUnformatted(got);

	is_str(s, want, name);
	free(s);
	cJSON_Delete(got);
	cJSON_Delete(e);
	cJSON_Delete(c);
}

static void
test_checks(void)
{
	static const char cfg[] = "{\"probe\":{\"timeout\":7000,\"retries\":2,"
	    "\"backoff\":{\"initial\":100,\"max\":900,\"multiplier\":3},"
	    "\"expected_status\":[200],\"insecure\":false,\"interval\":250}}";
	static const char timing[] = "\"timeout_ms\":7000,\"retries\":2,"
	    "\"backoff_initial_ms\":100,\"backoff_max_ms\":900,"
	    "\"backoff_multiplier\":3,\"interval_ms\":250";
	char want[1024];

	is_checks("{}", "{\"url\":\"http://h/x\",\"method\":\"POST\","
	    "\"headers\":{\"X-Probe\":\"yes\"},\"body\":\"ping\"}", NULL, false,
	    "[{\"kind\":\"http\",\"target\":\"http://h/x\",\"method\":\"POST\","
	    "\"headers\":{\"X-Probe\":\"yes\"},\"body\":\"ping\"}]",
	    "checks: method, headers and body carried");
	snprintf(want, sizeof want, "[{\"kind\":\"http\",\"target\":\"http://h/\","
	    "\"expected_status\":[200,204],\"insecure\":false,%s}]", timing);
	is_checks(cfg, "{\"url\":\"http://h/\",\"expected_status\":[200,204]}",
	    NULL, false, want, "checks: the probe section's defaults, the entry wins");
	is_checks(cfg, "{\"url\":\"http://h/\",\"retries\":9,\"backoff\":"
	    "{\"max\":50}}", NULL, false, "[{\"kind\":\"http\",\"target\":"
	    "\"http://h/\",\"expected_status\":[200],\"insecure\":false,"
	    "\"timeout_ms\":7000,\"retries\":9,\"backoff_initial_ms\":100,"
	    "\"backoff_max_ms\":50,\"backoff_multiplier\":3,\"interval_ms\":250}]",
	    "checks: an entry's setting overrides its default alone");
	snprintf(want, sizeof want, "[{\"kind\":\"tcp\",\"target\":\"h:1\"},"
	    "{\"kind\":\"healthcheck\",\"target\":\"p_web_1\"}]");
	is_checks("{}", "{\"host\":\"h\",\"port\":1}", "p_web_1", true, want,
	    "checks: a declared healthcheck runs by default");
	is_checks("{}", "{\"host\":\"h\",\"port\":1,\"healthcheck\":false}",
	    "p_web_1", true, "[{\"kind\":\"tcp\",\"target\":\"h:1\"}]",
	    "checks: healthcheck: false opts out");
	is_checks("{}", "{\"host\":\"h\",\"port\":1}", "p_web_1", false,
	    "[{\"kind\":\"tcp\",\"target\":\"h:1\"}]",
	    "checks: no healthcheck where none is declared");
	is_checks("{}", "{\"port\":1,\"healthcheck\":true,\"container\":\"c\"}",
	    "p_web_1", false, "[{\"kind\":\"tcp\",\"target\":\"localhost:1\"},"
	    "{\"kind\":\"healthcheck\",\"target\":\"c\"}]",
	    "checks: healthcheck: true, on the entry's container");
	is_checks("{}", "{\"healthcheck\":true}", NULL, false, "[]",
	    "checks: no healthcheck without a container");
	is_checks("{}", NULL, "p_web_1", true,
	    "[{\"kind\":\"healthcheck\",\"target\":\"p_web_1\"}]",
	    "checks: no entry, a declared healthcheck");
	snprintf(want, sizeof want, "[{\"kind\":\"postgres\",\"target\":"
	    "\"localhost:5432\",\"dbname\":\"d\",\"user\":\"u\",\"password_env\":"
	    "\"PW\",\"sslmode\":\"disable\",\"query\":\"SELECT 2\",%s}]", timing);
	is_checks(cfg, "{\"type\":\"postgres\",\"dbname\":\"d\",\"user\":\"u\","
	    "\"password\":\"hunter22\",\"password_env\":\"PW\",\"sslmode\":"
	    "\"disable\",\"query\":\"SELECT 2\",\"method\":\"GET\"}", NULL, false,
	    want, "checks: postgres, its fields, port 5432, no password");
	snprintf(want, sizeof want, "[{\"kind\":\"tcp\",\"target\":\"[::1]:6379\","
	    "\"conditions\":[\"[CONNECTED] == true\"],%s}]", timing);
	is_checks(cfg, "{\"host\":\"::1\",\"port\":6379,\"conditions\":"
	    "[\"[CONNECTED] == true\"],\"body\":\"x\"}", NULL, false, want,
	    "checks: tcp from host and port, no http fields");
	is_checks(cfg, "{\"url\":\"http://h/\",\"enabled\":false}", "p_web_1",
	    true, "[]", "checks: a disabled entry has none");
	is_checks("{}", "{\"type\":\"healthcheck\",\"retries\":3}", "p_web_1",
	    true, "[{\"kind\":\"healthcheck\",\"target\":\"p_web_1\","
	    "\"retries\":3}]", "checks: type: healthcheck, once");
	is_checks("{}", "{\"type\":\"https\",\"url\":\"https://h/\"}", NULL,
	    false, "[{\"kind\":\"http\",\"target\":\"https://h/\"}]",
	    "checks: type https is kind http");
}

static void
test_declared(void)
{
	cJSON *svc, *info;

	svc = cJSON_Parse("{\"healthcheck\":{\"test\":[\"CMD\",\"true\"]}}");
	ok(phx_declares_healthcheck(svc, NULL), "healthcheck: compose test");
	cJSON_Delete(svc);
	svc = cJSON_Parse("{\"healthcheck\":{\"test\":[\"NONE\"]}}");
	info = cJSON_Parse("{\"Config\":{\"Healthcheck\":{\"Test\":"
	    "[\"CMD-SHELL\",\"true\"]}}}");
	ok(!phx_declares_healthcheck(svc, info), "healthcheck: NONE in compose");
	cJSON_Delete(svc);
	svc = cJSON_Parse("{\"healthcheck\":{\"disable\":true}}");
	ok(!phx_declares_healthcheck(svc, info), "healthcheck: disable: true");
	cJSON_Delete(svc);
	ok(phx_declares_healthcheck(NULL, info), "healthcheck: the image's");
	cJSON_Delete(info);
	info = cJSON_Parse("{\"Config\":{\"Healthcheck\":{\"Test\":[\"NONE\"]}}}");
	ok(!phx_declares_healthcheck(NULL, info), "healthcheck: image NONE");
	cJSON_Delete(info);
	ok(!phx_declares_healthcheck(NULL, NULL), "healthcheck: none at all");
}

/* numbers from outside as integers: clamped, never an out-of-range cast */
static void
test_jint(void)
{
	cJSON *o = cJSON_Parse("{\"big\":1e300,\"neg\":-1e300,\"inf\":1e999,"
	    "\"n\":42.9,\"s\":\"7\"}");

	ok(phx_jint(o, "big", 0, -5, 5) == 5, "jint: 1e300 clamps to max");
	ok(phx_jint(o, "neg", 0, -5, 5) == -5, "jint: -1e300 clamps to min");
	ok(phx_jint(o, "inf", 0, INT64_MIN, INT64_MAX) == INT64_MAX,
	    "jint: infinity clamps to INT64_MAX");
	ok(phx_jint(o, "n", 0, -100, 100) == 42, "jint: in range, truncated");
	ok(phx_jint(o, "s", 3, 0, 9) == 3 && phx_jint(o, "no", -1, 0, 9) == -1,
	    "jint: not a number, or absent: dflt");
	ok(phx_num_int(NAN, 7, 0, 9) == 7, "num_int: NaN gives dflt");
	cJSON_Delete(o);
}

/* TYPE:KEY read as the tools read it: str, num and bool through their
 * accessors (which die on a key the defaults lack), any through phx_cfg */
static void
cfg_key(const cJSON *cfg, const char *arg)
{
	const char *key = strchr(arg, ':');

	if (!key)
		phx_die(PHX_EXIT_USAGE, "%s: expected TYPE:KEY", arg);
	key++;
	if (strncmp(arg, "str:", 4) == 0)
		(void)phx_cfg_str(cfg, key);
	else if (strncmp(arg, "num:", 4) == 0)
		(void)phx_cfg_num(cfg, key);
	else if (strncmp(arg, "bool:", 5) == 0)
		(void)phx_cfg_bool(cfg, key);
	else if (!phx_cfg(cfg, key))
		phx_die(PHX_EXIT_ENV, "%s: not in the configuration", key);
}

int
main(int argc, char **argv)
{
	phx_init(argv[0]);
	if (argc >= 2 && strcmp(argv[1], "pass") == 0) {
		/* phx-unit pass [MAXLINE]: the reader and phx_pass, alone */
		struct phx_reader *r = phx_reader_new(0, "stdin",
		    argc > 2 ? (size_t)atol(argv[2]) : 0);
		struct phx_input in;
		while (phx_reader_next(r, &in) != PHX_RD_EOF)
			phx_pass(&in);
		phx_reader_free(r);
		if (argc > 3)   /* then a record of our own */
			phx_emit(phx_record_new(argv[3]));
		phx_exit(PHX_EXIT_OK);
	}
	if (argc >= 2 && strcmp(argv[1], "config") == 0) {
		/* phx-unit config [FILE...]: the merged configuration */
		struct phx_config_opts o = { (const char **)argv + 2,
		    (size_t)(argc - 2) };
		cJSON *cfg = phx_config_load(&o);
		char *s = cJSON_Print(cfg), *clean = phx_redact(s);
		puts(clean);
		free(clean);
		free(s);
		cJSON_Delete(cfg);
		phx_exit(PHX_EXIT_OK);
	}
	if (argc >= 2 && strcmp(argv[1], "cfgkeys") == 0) {
		/* phx-unit cfgkeys TYPE:KEY...: each key in the merged
		 * configuration, with its type */
		cJSON *cfg = phx_config_load(NULL);
		for (int i = 2; i < argc; i++)
			cfg_key(cfg, argv[i]);
		cJSON_Delete(cfg);
		phx_exit(PHX_EXIT_OK);
	}
	phx_log_quieter();
	phx_log_quieter();
	test_durations();
	test_time();
	test_ints();
	test_redact();
	test_redact_regressions();
	test_redact_literal_keys();
	test_redact_forms();
	test_redact_printed();
	test_redact_property();
	test_emit_printed();
	test_status();
	test_jint();
	test_ids();
	test_reader();
	test_run();
	test_files();
	test_curl_reason();
	test_curl_not_after();
	test_expand();
	test_yaml();
	test_checks();
	test_declared();
	printf("1..%d\n", ntest);
	return nfail ? 1 : 0;
}
