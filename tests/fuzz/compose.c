/* compose files: phx_compose_parse, then every service's ports */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"

/* an empty directory: no .env beside the file */
static char dir[] = "/tmp/phx-fuzz-compose.XXXXXX";

static void
cleanup(void)
{
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	phx_init((*argv)[0]);
	phx_secrets_clear();
	if (!mkdtemp(dir))
		phx_edie(PHX_EXIT_ENV, "mkdtemp");
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *err = NULL;
	cJSON *top = phx_compose_parse("compose.yaml", (const char *)data, size,
	    dir, &err);
	const cJSON *svc;

	free(err);
	if (!top)
		return 0;
	cJSON_ArrayForEach(svc, cJSON_GetObjectItemCaseSensitive(top,
	    "services")) {
		char *bad = NULL;
		cJSON *ports = phx_compose_ports(svc, &bad);
		cJSON_Delete(ports);
		free(bad);
	}
	cJSON_Delete(top);
	return 0;
}
