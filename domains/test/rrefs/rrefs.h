/*
 * The RRef test domains: `rref_a` drives, `rref_b` receives, and `rref_c`
 * is the third domain a loan is passed on to. Their method numbers (from
 * domains/idl/) and the cases rref_a.run() knows; plain numbers, so kernel
 * tests can include it. Each case returns 1 when everything it checked held, or a
 * negative code naming the first check that failed.
 */
#ifndef DOMAINS_RREFS_H
#define DOMAINS_RREFS_H

/* rref_b and rref_c, the third domain for lending on across three domains:
 * domains/idl/rref_b.idl and rref_c.idl */
#include <idl/rref_b_methods.h>
#include <idl/rref_c_methods.h>

/* rref_a: long run(long case), domains/idl/rref_a.idl; its cases */
#include <idl/rref_a_methods.h>
#define RCASE_MOVE	   1 /* move, then the callee frees it */
#define RCASE_NOT_OWNER	   2 /* moving an RRef moved away already is refused */
#define RCASE_BORROW	   3 /* a borrow leaves ownership and ends with the call */
#define RCASE_RESULT	   4 /* an RRef returned by the callee becomes the caller's */
#define RCASE_CRASH_BORROW 5 /* a borrowed RRef comes back when the borrower crashes */
#define RCASE_KEEP_SOME	   6 /* move 3 RRefs and a box of 4 to rref_b, which keeps them */
#define RCASE_NESTED	   7 /* a box with nested children moves as one */
#define RCASE_LEND_ON	   8 /* a borrowed RRef may be lent on, never moved on */
#define RCASE_LEND_ON_3	   9 /* the same across three domains: a -> b -> c */

#define RREF_TEST_TYPE 0x7e57
#define RREF_MAGIC     0x5a5a1234abcdULL
#define RREF_MAGIC_C   0xc0c0c0c0ULL /* what rref_c writes over RREF_MAGIC */

#endif
