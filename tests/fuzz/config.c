/* configuration: the YAML reader in both modes, then phx_config_load on
 * the same bytes as a file.  phx_config_load dies on a bad file; here
 * dying jumps back, and what the dying path left allocated is not a
 * leak (a tool exits there) */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"
#include "phx_priv.h"
#include "phx_yaml.h"

static char path[] = "/tmp/phx-fuzz-config.XXXXXX";
static int path_fd = -1;
static jmp_buf died;

static void
die_back(int status)
{
	(void)status;
	longjmp(died, 1);
}

static void
cleanup(void)
{
	unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	phx_init((*argv)[0]);
	phx_secrets_clear();
	if ((path_fd = mkstemp(path)) < 0)
		phx_edie(PHX_EXIT_ENV, "mkstemp");
	atexit(cleanup);
	return 0;
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
			phx_yaml_free(y);
		}
		free(err);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *files[] = { path };
	struct phx_config_opts opts = { files, 1 };
	cJSON *volatile cfg = NULL;

	yaml_both(data, size);
	if (ftruncate(path_fd, 0) < 0 ||
	    pwrite(path_fd, data, size, 0) != (ssize_t)size)
		phx_edie(PHX_EXIT_ENV, "%s", path);
	fuzz_leaks_ignore(true);
	phx_log_on_die(die_back);
	if (setjmp(died) == 0)
		cfg = phx_config_load(&opts);
	phx_log_on_die(phx_exit);
	fuzz_leaks_ignore(false);
	if (cfg) {
		char *s = cJSON_Print(cfg), *clean = phx_redact(s);
		free(clean);
		free(s);
		cJSON_Delete(cfg);
	}
	phx_secrets_clear();
	return 0;
}
