/* phx-functest: automation commands, exec'd in their own process group */
#include <limits.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "functest.h"

#define KEEP_OUTPUT (64 * 1024)     /* captured per stream */
#define OUTPUT_LINES 20             /* into the record */
#define OUTPUT_BYTES 2048

/* the tail of a captured stream, secrets masked, cut at a line start */
static char *
output_tail(const struct phx_buf *b)
{
	const char *s = b->data ? b->data : "";
	size_t len = b->len, rlen;
	char *masked, *tail;

	if (len >= KEEP_OUTPUT) {   /* cut by bytes: drop the partial line */
		const char *nl = memchr(s, '\n', len);
		len -= nl ? (size_t)(nl + 1 - s) : len;
		s = nl ? nl + 1 : s + b->len;
	}
	masked = phx_redact_mem(s, len, &rlen);
	tail = phx_tail_lines(masked ? masked : s, masked ? rlen : len, OUTPUT_LINES);
	free(masked);
	if (strlen(tail) > OUTPUT_BYTES) {
		char *cut = tail + strlen(tail) - OUTPUT_BYTES;
		memmove(tail, cut, strlen(cut) + 1);
	}
	sanitize_utf8(tail);
	if (!*tail) {
		free(tail);
		return NULL;
	}
	return tail;
}

/* a one-word command line is split at blanks: no quotes, no expansion */
static char **
command_argv(const struct test *t)
{
	const cJSON *cmd = opt(t, "command"), *it;
	const char *shell = opt_str(t, "shell", NULL);
	size_t n = 0, cap = (size_t)cJSON_GetArraySize(cmd) + 4;
	char **argv;

	if (cJSON_GetArraySize(cmd) == 1 && !shell) {
		char *copy = phx_strdup(cJSON_GetArrayItem(cmd, 0)->valuestring), *save;
		cap = strlen(copy) / 2 + 2;
		argv = phx_calloc(cap, sizeof *argv);
		for (char *w = strtok_r(copy, " \t\n", &save); w;
		    w = strtok_r(NULL, " \t\n", &save))
			argv[n++] = phx_strdup(w);
		free(copy);
		return argv;
	}
	argv = phx_calloc(cap, sizeof *argv);
	if (shell) {
		struct phx_buf line = { 0 };
		cJSON_ArrayForEach(it, cmd) {
			if (line.len)
				phx_buf_addstr(&line, " ");
			phx_buf_addstr(&line, it->valuestring);
		}
		argv[n++] = phx_strdup(shell);
		argv[n++] = phx_strdup("-c");
		argv[n++] = phx_strdup(phx_buf_str(&line));
		phx_buf_free(&line);
		return argv;
	}
	cJSON_ArrayForEach(it, cmd)
		argv[n++] = phx_strdup(it->valuestring);
	return argv;
}

static void
add_env(char ***env, size_t *n, const cJSON *dict)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, dict) {
		*env = phx_reallocarray(*env, *n + 2, sizeof **env);
		(*env)[(*n)++] = phx_asprintf("%s=%s", it->string, it->valuestring);
		(*env)[*n] = NULL;
	}
}

static void
free_strv(char **v)
{
	for (char **p = v; p && *p; p++)
		phx_free_secret(*p);   /* env values may be secrets */
	free(v);
}

/* a test's processes that outlived it: killed, and reaped (we are their
 * subreaper), so none is left running or as a zombie */
static void
reap_group(pid_t pgid)
{
	int64_t until = phx_now_ms() + 2000;

	if (pgid <= 0)
		return;
	kill(-pgid, SIGKILL);
	while (phx_now_ms() < until) {
		pid_t p = waitpid(-pgid, NULL, WNOHANG);
		if (p < 0)
			break;   /* ECHILD: none of them is ours */
		if (p == 0)
			phx_sleep_ms(10);
	}
}

static void
check_output(struct test_run *r, const struct phx_run *run)
{
	struct test *t = r->t;

	if (t->has_out_re && regexec(&t->out_re, run->out.data ? run->out.data : "",
	    0, NULL, 0) != 0)
		fail(r, "stdout", "output", "stdout does not match /%s/",
		    opt_str(t, "expect_stdout", ""));
	else if (t->has_err_re && regexec(&t->err_re, run->err.data ?
	    run->err.data : "", 0, NULL, 0) != 0)
		fail(r, "stderr", "output", "stderr does not match /%s/",
		    opt_str(t, "expect_stderr", ""));
}

void
command_test(struct test_run *r)
{
	struct phx_run run = { 0 };
	char **argv = command_argv(r->t), **env = NULL;
	size_t nenv = 0;
	int want = (int)phx_jint(r->t->conf, "expect_exit",
	    phx_jint(r->t->suite->conf, "expect_exit", 0, INT_MIN, INT_MAX),
	    INT_MIN, INT_MAX);
	int64_t left = left_ms(r);

	if (left <= 0) {
		cannot_run(r, "run", "deadline", "no time left before the total deadline");
		free_strv(argv);
		return;
	}
	add_env(&env, &nenv, cJSON_GetObjectItemCaseSensitive(r->t->suite->conf, "env"));
	if (r->t->conf)
		add_env(&env, &nenv, cJSON_GetObjectItemCaseSensitive(r->t->conf, "env"));
	run.argv = (const char *const *)argv;
	run.env = (const char *const *)env;
	run.cwd = opt_str(r->t, "cwd", NULL);
	run.timeout_ms = left;
	run.keep = KEEP_OUTPUT;
	run.cancel = &phx_signal;
	if (!phx_run(&run))
		cannot_run(r, "exec", "exec", "cannot run %s: %s", argv[0],
		    strerror(run.exec_errno));
	reap_group(run.pid);
	if (!run.exec_failed) {
		r->output = output_tail(&run.out);
		r->errout = output_tail(&run.err);
		if (run.cancelled)
			cannot_run(r, "run", "interrupted", "%s killed with its process "
			    "group: interrupted by signal %d", argv[0],
			    (int)phx_signal);
		else if (run.timed_out)
			fail(r, "run", "timeout", "%s killed after %lld ms with its "
			    "process group", argv[0], (long long)run.duration_ms);
		else if (run.status != want) {
			r->has_exit = true;
			r->exit_code = run.status;
			fail(r, "run", "exit", "%s exited with %d, want %d", argv[0],
			    run.status, want);
		} else
			check_output(r, &run);
	}
	phx_run_free(&run);
	free_strv(argv);
	free_strv(env);
}
