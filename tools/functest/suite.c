/* phx-functest: the suites and tests of the configuration, checked before
 * anything runs */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "functest.h"

const cJSON *
opt(const struct test *t, const char *key)
{
	const cJSON *v = t->conf ? cJSON_GetObjectItemCaseSensitive(t->conf, key) : NULL;

	return v ? v : cJSON_GetObjectItemCaseSensitive(t->suite->conf, key);
}

const char *
opt_str(const struct test *t, const char *key, const char *dflt)
{
	const cJSON *v = opt(t, key);

	return cJSON_IsString(v) ? v->valuestring : dflt;
}

static void __attribute__((noreturn, format(printf, 2, 3)))
config_die(const struct suite *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	phx_die(PHX_EXIT_USAGE, "tests.suites.%s: %s", s->name, msg);
}

static void
compile_re(struct test *t, const char *key, regex_t *re, bool *has)
{
	const char *pat = opt_str(t, key, NULL);
	int rc;

	if (!pat)
		return;
	if ((rc = regcomp(re, pat, REG_EXTENDED | REG_NOSUB | REG_NEWLINE))) {
		char buf[256];
		regerror(rc, re, buf, sizeof buf);
		config_die(t->suite, "%s: %s: %s", t->name, key, buf);
	}
	*has = true;
}

static void
check_test(struct test *t)
{
	struct suite *s = t->suite;
	const char *cwd = opt_str(t, "cwd", NULL);
	const char *path = opt_str(t, "script_path", NULL);
	const char *mode = opt_str(t, "mode", "sync");
	struct stat st;

	if (s->kind == K_COMMAND) {
		const cJSON *cmd = opt(t, "command");
		if (cJSON_GetArraySize(cmd) < 1 || !*cJSON_GetArrayItem(cmd, 0)->valuestring)
			config_die(s, "%s: needs a command", t->name);
		if (cwd && (stat(cwd, &st) < 0 || !S_ISDIR(st.st_mode)))
			config_die(s, "%s: cwd %s is not a directory", t->name, cwd);
		compile_re(t, "expect_stdout", &t->out_re, &t->has_out_re);
		compile_re(t, "expect_stderr", &t->err_re, &t->has_err_re);
		return;
	}
	if (!*opt_str(t, "base_url", ""))
		config_die(s, "needs a base_url");
	if (strncmp(opt_str(t, "base_url", ""), "http", 4) != 0)
		config_die(s, "base_url must be an http or https URL");
	if (s->kind == K_WINDMILL) {
		if (!*opt_str(t, "workspace", ""))
			config_die(s, "needs a workspace");
		if (!path || !*path || strspn(path, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./") != strlen(path))
			config_die(s, "%s: script_path must be a Windmill path such as "
			    "f/folder/name", t->name);
		if (strcmp(mode, "sync") != 0 && strcmp(mode, "async") != 0)
			config_die(s, "%s: mode must be sync or async", t->name);
		if (opt(t, "args") && !cJSON_IsObject(opt(t, "args")))
			config_die(s, "%s: args must be a mapping", t->name);
	}
	if (s->kind == K_N8N && strspn(opt_str(t, "webhook_path", "x"),
	    "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(opt_str(t,
	    "webhook_path", "x")))
		config_die(s, "%s: webhook_path: lower-case letters, digits, - and _ "
		    "only", t->name);
}

static void
add_test(struct suite *s, const cJSON *conf, const char *name)
{
	struct test *t;

	functest.tests = phx_reallocarray(functest.tests, functest.ntests + 1,
	    sizeof *functest.tests);
	t = &functest.tests[functest.ntests++];
	memset(t, 0, sizeof *t);
	t->suite = s;
	t->conf = conf;
	t->name = phx_strdup(name);
	for (size_t i = 0; i + 1 < functest.ntests; i++)
		if (functest.tests[i].suite == s &&
		    strcmp(functest.tests[i].name, name) == 0)
			config_die(s, "two tests named %s", name);
	check_test(t);
}

static void
add_tests(struct suite *s)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(s->conf, "tests"), *it;
	int i = 0;

	if (!cJSON_GetArraySize(list)) {
		if (s->kind == K_COMMAND)
			config_die(s, "a command suite needs tests");
		add_test(s, NULL, s->kind == K_N8N ? "webhook-workflow" : "script");
		return;
	}
	cJSON_ArrayForEach(it, list) {
		const char *name = phx_jstr(it, "name");
		char dflt[32];
		snprintf(dflt, sizeof dflt, "test-%d", ++i);
		add_test(s, it, name ? name : dflt);
	}
}

static bool
selected(const char *name, char **only, size_t nonly)
{
	if (!nonly)
		return true;
	for (size_t i = 0; i < nonly; i++)
		if (strcmp(only[i], name) == 0)
			return true;
	return false;
}

void
load_suites(const cJSON *cfg, char **only, size_t nonly)
{
	const cJSON *all = phx_cfg(cfg, "tests.suites"), *it;

	for (size_t i = 0; i < nonly; i++)
		if (!cJSON_GetObjectItemCaseSensitive(all, only[i]))
			phx_die(PHX_EXIT_USAGE, "--test-suite %s: no such suite in "
			    "tests.suites", only[i]);
	functest.suites = phx_calloc((size_t)cJSON_GetArraySize(all) + 1,
	    sizeof *functest.suites);
	cJSON_ArrayForEach(it, all) {
		struct suite *s = &functest.suites[functest.nsuites];
		const char *type = phx_jstr(it, "type");
		if (!selected(it->string, only, nonly))
			continue;
		s->name = it->string;
		s->conf = it;
		if (!type)
			config_die(s, "needs a type: n8n, windmill or command");
		if (strcmp(type, "n8n") == 0)
			s->kind = K_N8N;
		else if (strcmp(type, "windmill") == 0)
			s->kind = K_WINDMILL;
		else if (strcmp(type, "command") == 0)
			s->kind = K_COMMAND;
		else
			config_die(s, "type %s: want n8n, windmill or command", type);
		s->service = phx_jstr(it, "service");
		if (!s->service && s->kind != K_COMMAND)
			s->service = type;
		s->go_on = phx_recovery_policy(cfg, "functional", s->service ?
		    cJSON_GetObjectItemCaseSensitive(phx_cfg(cfg, "services"),
		    s->service) : NULL) == PHX_RECOVER_CONTINUE;
		if (s->kind == K_N8N)
			s->secret = phx_cfg_secret(it, "api_key");
		else if (s->kind == K_WINDMILL)
			s->secret = phx_cfg_secret(it, "token");
		/* asked for by name, a disabled suite runs */
		if (!phx_jbool(it, "enabled", true) && !nonly) {
			s->skip_reason = "disabled";
			s->skip_message = phx_strdup("disabled in the configuration");
		}
		functest.nsuites++;
		add_tests(s);
	}
}

void
free_suites(void)
{
	for (size_t i = 0; i < functest.ntests; i++) {
		free(functest.tests[i].name);
		if (functest.tests[i].has_out_re)
			regfree(&functest.tests[i].out_re);
		if (functest.tests[i].has_err_re)
			regfree(&functest.tests[i].err_re);
	}
	free(functest.tests);
	for (size_t i = 0; i < functest.nsuites; i++) {
		if (functest.suites[i].secret)
			phx_free_secret(functest.suites[i].secret);
		free(functest.suites[i].skip_message);
	}
	free(functest.suites);
}
