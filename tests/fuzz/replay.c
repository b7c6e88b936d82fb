/* the harnesses without libFuzzer: each file named is one input */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

int
main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		size_t len;
		char *data = phx_read_file(argv[i], &len);
		if (!data)
			phx_edie(PHX_EXIT_USAGE, "%s", argv[i]);
		fprintf(stderr, "replay: %s (%zu bytes)\n", argv[i], len);
		LLVMFuzzerTestOneInput((const uint8_t *)data, len);
		free(data);
	}
	return 0;
}
