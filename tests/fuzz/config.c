/* configuration: the YAML reader in both modes, in-process, then
 * phx_config_load on the same bytes as a file, in a child: it dies
 * (exit 2) on a bad file, leaving what it built to the exit, which
 * in-process would pile up and be taken for leaks.  The child must end
 * with 0 or 2; a sanitizer's report or a signal fails the input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"
#include "phx_priv.h"
#include "phx_yaml.h"

static char path[] = "/tmp/phx-fuzz-config.XXXXXX";
static int path_fd = -1;
static pid_t parent;

static void
cleanup(void)
{
	if (getpid() == parent)   /* not from a child's exit */
		unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	phx_init((*argv)[0]);
	phx_secrets_clear();
	parent = getpid();
	if ((path_fd = mkstemp(path)) < 0)
		phx_edie(PHX_EXIT_ENV, "mkstemp");
	atexit(cleanup);
	return 0;
}

/* what phx_yaml_dump writes reads back as the same values: dumped
 * again, the same text */
static void
dump_again(const cJSON *root)
{
	cJSON *docs = cJSON_CreateArray();
	char *once, *twice = NULL, *err = NULL;
	struct phx_yaml *y;

	cJSON_AddItemReferenceToArray(docs, (cJSON *)root);
	once = phx_yaml_dump(docs);
	cJSON_Delete(docs);
	if (!once)
		return;   /* a string that is not UTF-8 */
	y = phx_yaml_parse("dump", once, strlen(once),
	    PHX_YAML_TYPED | PHX_YAML_STREAM | PHX_YAML_RAW, NULL, &err);
	if (!y) {
		fprintf(stderr, "dump not read back: %s\n%s", err, once);
		abort();
	}
	twice = phx_yaml_dump(phx_yaml_root(y));
	if (!twice || strcmp(once, twice) != 0) {
		fprintf(stderr, "dump changed:\n%s---- read back as\n%s", once,
		    twice ? twice : "(nothing)");
		abort();
	}
	free(twice);
	phx_yaml_free(y);
	free(once);
}

static void
yaml_both(const uint8_t *data, size_t size)
{
	for (int flags = 0; flags <= PHX_YAML_TYPED; flags += PHX_YAML_TYPED) {
		char *err = NULL;
		struct phx_yaml *y = phx_yaml_parse("fuzz.yaml",
		    (const char *)data, size, flags, NULL, &err);
		if (y) {
			char *s = cJSON_PrintUnformatted(phx_yaml_root(y));
			free(s);
			if (flags && phx_yaml_root(y))
				dump_again(phx_yaml_root(y));
			phx_yaml_free(y);
		}
		free(err);
	}
}

/* exit() would run the fuzzer's own exit hook: a child leaves quietly */
static void
child_exit(int status)
{
	_exit(status);
}

static void
load_child(void)
{
	const char *files[] = { path };
	struct phx_config_opts opts = { files, 1 };
	cJSON *cfg;
	char *s, *clean;

	fuzz_leaks_ignore(true);
	phx_log_on_die(child_exit);
	cfg = phx_config_load(&opts);
	s = cJSON_Print(cfg);
	clean = phx_redact(s);
	free(clean);
	free(s);
	cJSON_Delete(cfg);
	_exit(0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pid_t pid;
	int status;

	yaml_both(data, size);
	if (ftruncate(path_fd, 0) < 0 ||
	    pwrite(path_fd, data, size, 0) != (ssize_t)size)
		phx_edie(PHX_EXIT_ENV, "%s", path);
	if ((pid = fork()) < 0)
		phx_edie(PHX_EXIT_ENV, "fork");
	if (pid == 0)
		load_child();
	/* libFuzzer's timeout alarm interrupts the wait every second */
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			phx_edie(PHX_EXIT_ENV, "waitpid");
	if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 &&
	    WEXITSTATUS(status) != PHX_EXIT_USAGE))
		fuzz_fail("phx_config_load: %s %d", WIFEXITED(status) ?
		    "exit" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) :
		    WTERMSIG(status));
	return 0;
}
