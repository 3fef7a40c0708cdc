/* maple-hosted's tests of calls between domains and of RRefs
 * (tests_xcall.c), which tests.c runs each in a child of its own. */
#ifndef HOSTED_TESTS_XCALL_H
#define HOSTED_TESTS_XCALL_H

#include <stddef.h>

/* Each 0, or -1 with why (what happened, what was wanted): hello alone,
 * the xa -> xb -> xc -> xa chain, a callee failing in 32-bit mode, vector
 * state across calls, none of AVX-512's left in use by the runtime, the
 * signal stack across upcalls, a callee's fault
 * unwound to its caller, RFLAGS.AC across calls, the call depth bound,
 * calls from two threads at once each counted. */
int htest_hello(char *why, size_t len);
int htest_chain(char *why, size_t len);
int htest_compat(char *why, size_t len);
int htest_vectors(char *why, size_t len);
int htest_tiles(char *why, size_t len);
int htest_wide(char *why, size_t len);
int htest_control(char *why, size_t len);
int htest_unmasked_fp(char *why, size_t len);
int htest_xcr0_refused(char *why, size_t len);
int htest_no_avx512(char *why, size_t len);
int htest_unwind(char *why, size_t len);
int htest_flags(char *why, size_t len);
int htest_depth(char *why, size_t len);
int htest_counts(char *why, size_t len);

/* The RRef cases of kernel/ktest/rrefs.c (rref) and rref_attacks.c
 * (evil): case i's name, or NULL past the last (*needs: NULL, none needs
 * keys), and its run: 0, or -1 with why. */
const char *hosted_rref_case_name(unsigned i, const char **needs);
int hosted_rref_case(unsigned i, char *why, size_t len);
const char *hosted_evil_case_name(unsigned i, const char **needs);
int hosted_evil_case(unsigned i, char *why, size_t len);

#endif
