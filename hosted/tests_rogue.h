/* maple-hosted's ports of the VM's rogue ktests (tests_rogue.c), which
 * tests.c runs each in a child of its own like every hosted test: a table
 * of rogue cases, by index, and two tests of their own. */
#ifndef HOSTED_TESTS_ROGUE_H
#define HOSTED_TESTS_ROGUE_H

#include "tests_domains.h"

#include <stddef.h>
#include <stdint.h>

#define HOSTED_ROGUE_CASES 15
/* Case i's test name; *needs: NULL, or what it needs protection keys for. */
const char *hosted_rogue_case_name(unsigned i, const char **needs);
/* Run case i: 0, or -1 with why (what happened, what was wanted). */
int hosted_rogue_case(unsigned i, char *why, size_t len);

/* Where the gate's symbol `name` runs here: the gate page is the kernel
 * image's gate pages copied to MAPLE_GATE_VA (gatepage.c); 0 with why. */
uint64_t htest_gate_sym(const char *name, char *why, size_t len);

#define HOSTED_ROGUE_TESTS 9
extern const struct hosted_named_test hosted_rogue_tests[HOSTED_ROGUE_TESTS];

#endif
