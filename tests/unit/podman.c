/* Unit tests for lib's podman rules: the name validator, compose
 * network naming, PATH lookup, the error line, the asynchronous spawn. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phx.h"
#include "unit.h"

static void
test_validator(void)
{
	static const char *good[] = { "web", "phx_web_1", "a.b-c", "0abc",
	    "3f2a9c1b7d4e", NULL };
	static const char *bad[] = { "--help", "--latest", "-x", "", "a b",
	    "a/b", "_x", ".x", "x;y", NULL };
	char long_id[66];

	for (size_t i = 0; good[i]; i++)
		unit_ok(phx_podman_valid_name(good[i]), good[i]);
	for (size_t i = 0; bad[i]; i++)
		unit_ok(!phx_podman_valid_name(bad[i]), bad[i]);
	unit_ok(!phx_podman_valid_name(NULL), "validator: NULL is no name");
	memset(long_id, 'a', 64);
	long_id[64] = '\0';
	unit_ok(phx_podman_valid_id(long_id), "id: 64 hex digits");
	unit_ok(phx_podman_valid_id("3f2a9c1b7d4e"), "id: 12 hex digits");
	unit_ok(!phx_podman_valid_id("3f2a9c1b7d4"), "id: 11 hex digits refused");
	long_id[64] = 'a';
	long_id[65] = '\0';
	unit_ok(!phx_podman_valid_id(long_id), "id: 65 hex digits refused");
	unit_ok(!phx_podman_valid_id("3F2A9C1B7D4E"), "id: upper case refused");
	unit_ok(!phx_podman_valid_id("--latest"), "id: --latest refused");
}

static char *
networks_of(const cJSON *compose, const char *svc)
{
	cJSON *n = phx_compose_networks(compose, svc, "p");
	char *s = n ? cJSON_PrintUnformatted(n) : phx_strdup("NULL");

	cJSON_Delete(n);
	return s;
}

static void
test_networks(void)
{
	static const char yaml[] =
	    "services:\n"
	    "  web: {image: x, networks: [front, ext, old, named]}\n"
	    "  host: {image: x, network_mode: host}\n"
	    "  plain: {image: x}\n"
	    "  map: {image: x, networks: {front: {aliases: [w]}}}\n"
	    "networks:\n"
	    "  front: {}\n"
	    "  ext: {external: {name: shared}}\n"
	    "  old: {external: true}\n"
	    "  named: {name: fixed}\n";
	static const char one[] = "services:\n  a: {image: x}\n"
	    "networks:\n  only: {}\n";
	static const char none[] = "services:\n  a: {image: x}\n";
	const struct { const char *yaml, *svc, *want; } cases[] = {
		{ yaml, "web", "[\"p_front\",\"shared\",\"old\",\"fixed\"]" },
		{ yaml, "host", "[]" },
		{ yaml, "plain", "[]" },
		{ yaml, "map", "[\"p_front\"]" },
		{ yaml, "ghost", "NULL" },
		{ one, "a", "[\"p_only\"]" },
		{ none, "a", "[\"p_default\"]" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *err = NULL, *got, *name;
		cJSON *c = phx_compose_parse("t.yaml", cases[i].yaml,
		    strlen(cases[i].yaml), ".", &err);
		got = c ? networks_of(c, cases[i].svc) : err;
		name = phx_asprintf("networks: service %s", cases[i].svc);
		unit_is(got, cases[i].want, name);
		free(name);
		free(got);
		cJSON_Delete(c);
	}
}

static void
test_which(const char *dir)
{
	char *path = getenv("PATH") ? phx_strdup(getenv("PATH")) : NULL;
	char *f = phx_asprintf("%s/phx-which-x", dir), *got;
	FILE *fp;

	got = phx_which("sh");
	unit_ok(got && strlen(got) > 3 && strcmp(got + strlen(got) - 3, "/sh") == 0,
	    "which: sh found in PATH");
	free(got);
	got = phx_which("/bin/sh");
	unit_is(got, "/bin/sh", "which: a path is itself");
	free(got);
	unit_ok(!phx_which("phx-no-such-command"), "which: missing command");
	fp = fopen(f, "w");
	if (fp)
		fclose(fp);
	setenv("PATH", dir, 1);
	unit_ok(!phx_which("phx-which-x"), "which: not executable, not found");
	chmod(f, 0755);
	got = phx_which("phx-which-x");
	unit_is(got, f, "which: executable found");
	free(got);
	unlink(f);
	if (path)
		setenv("PATH", path, 1);
	free(path);
	free(f);
}

static void
test_error_line(void)
{
	struct phx_buf b = { 0 };
	char *e;

	phx_buf_addstr(&b, "pulling...\nError: no such container x\n"
	    "time=\"...\" level=warning msg=\"cleanup\"\n");
	e = phx_error_line(&b);
	unit_is(e, "no such container x", "error line: the error, not the warning");
	free(e);
	phx_buf_free(&b);
	phx_buf_addstr(&b, "first\nlast\n");
	e = phx_error_line(&b);
	unit_is(e, "last", "error line: else the last line");
	free(e);
	phx_buf_free(&b);
}

static void
test_run_start(void)
{
	const char *argv[] = { "sh", "-c", "echo hi; echo err >&2; exit 4", NULL };
	const char *bad[] = { "/nonexistent/cmd", NULL };
	struct phx_run r = { .argv = argv }, b = { .argv = bad };
	struct phx_buf out = { 0 };
	struct pollfd pfd;
	char chunk[256];
	ssize_t n;
	int fd;

	unit_ok(phx_run_start(&r, &fd) && fd >= 0 && r.pid > 0, "start: started");
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		poll(&pfd, 1, 2000);
		n = read(fd, chunk, sizeof chunk);
		if (n > 0)
			phx_buf_add(&out, chunk, (size_t)n);
		else if (n == 0)
			break;
	}
	close(fd);
	unit_ok(phx_run_reap(&r, true) && r.status == 4, "start: exit status");
	unit_is(phx_buf_str(&out), "hi\nerr\n", "start: stdout and stderr on one pipe");
	unit_ok(!phx_run_start(&b, &fd) && b.exec_failed && fd < 0,
	    "start: exec failure reported");
	phx_buf_free(&out);
}

void
test_podman(const char *dir)
{
	test_validator();
	test_networks();
	test_which(dir);
	test_error_line();
	test_run_start();
}
