/* maple-hosted's rogue table and its jumps into the runtime and the gate
 * (tests_escape.c), which tests.c runs each in a child of its own. */
#ifndef HOSTED_TESTS_ESCAPE_H
#define HOSTED_TESTS_ESCAPE_H

#include <stddef.h>

/* Case i of the rogue table: its test name, or NULL past the last; *needs:
 * NULL, or what it needs protection keys for. */
const char *hosted_escape_case_name(unsigned i, const char **needs);
/* Run case i: 0, or -1 with why (what happened, what was wanted). */
int hosted_escape_case(unsigned i, char *why, size_t len);

/* The tests of their own shape, each 0, or -1 with why: a call to the
 * vsyscall page, SYSENTER with a stack below 4 GiB, every WRPKRU of the
 * gate page jumped to with rights 0 or denying SHARED, every base write
 * and every audited WRPKRU of the runtime jumped to. */
int htest_vsyscall(char *why, size_t len);
int htest_sysenter(char *why, size_t len);
int htest_every_gate_wrpkru(char *why, size_t len);
int htest_every_gate_wrpkru_denying_shared(char *why, size_t len);
int htest_every_base_write(char *why, size_t len);
int htest_every_access_kind(char *why, size_t len);
int htest_every_runtime_wrpkru(char *why, size_t len);

#endif
