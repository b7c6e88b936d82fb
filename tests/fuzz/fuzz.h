/* libFuzzer harnesses over libphx and phx-report.  Each NAME.c defines
 * the two entry points below; linked with -fsanitize=fuzzer it is a
 * fuzzer (make fuzz), linked with replay.c a plain program that runs
 * the files it is given once each (make; tests/fuzz-regress.t). */
#ifndef PHX_FUZZ_H
#define PHX_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "phx.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* common.c */
/* a memfd holding data, at offset 0 */
int fuzz_memfd(const void *data, size_t size);
/* fd 1 becomes a memfd: fuzz_stdout_take() returns what was written to
 * it since the last call (malloc'd, NUL-terminated) */
void fuzz_stdout_capture(void);
char *fuzz_stdout_take(size_t *len);
/* a property failed: says so with the input's size, then aborts so the
 * fuzzer keeps the input */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2),
    noreturn));
/* ends the line phx_pass may have left open (and an over-long line's held
 * tail), so one input's output does not run into the next one's */
void fuzz_pass_end(void);
/* leak checking off (on) while a path that dies by longjmp runs */
void fuzz_leaks_ignore(bool on);

#endif
