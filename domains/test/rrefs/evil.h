/*
 * rref_evil: attacks on the exchange heap's own bookkeeping (nesting
 * depth, reclaim of big trees, stale handles, ownership races, who may
 * ask about an RRef, per-domain limits). Two instances run side by side:
 * the kernel test calls
 *
 *     long run(long case, long peer, long a, long b)
 *
 * on one, with `peer` the handle of the other. Each case returns
 * EV_PASSED when every exact outcome it checked held, or a negative code
 * naming the first check that failed. Plain numbers (case numbers from
 * the rref range of domains/test/rogue/cases.h), so kernel tests include it.
 */
#ifndef DOMAINS_RREFS_EVIL_H
#define DOMAINS_RREFS_EVIL_H

/* Methods: domains/idl/rref_evil.idl */
#include <idl/rref_evil_methods.h>

#define EV_PASSED 1

/* Cases */
#define EV_NEST_CHAIN                                                                              \
	60 /* chains bottom-up and top-down stop at RREF_MAX_LEVELS, -MAPLE_EDEPTH; free */
#define EV_NEST_WHOLE 61 /* the bound counts the child's subtree: merging two trees */
#define EV_KEEP_TREES                                                                              \
	62 /* build a chain as deep as allowed (up to a nests) and a tree of b leaves; keep them   \
	    */
#define EV_STALE 63 /* a freed handle, its header and slot taken again, is refused */
#define EV_INFO_PERM                                                                               \
	64 /* rref_info on the peer's RRef is -MAPLE_EPERM; on a borrowed one it answers */
#define EV_QUOTA                                                                                   \
	65 /* a RRefs of 64 B, then -MAPLE_EQUOTA; b bytes of 1 MiB ones, then -MAPLE_EQUOTA */
/* Start a race of a rounds (b ns at most) in two threads of this domain:
 * one moves or lends an RRef to the peer while the other frees it and
 * allocates again. Returns 0; race_result() gives the verdict. */
#define EV_FREE_VS_MOVE 66
/* Allocate an RRef, recall it (SYS_RREF_RECALL) unless a is 1, and move it
 * to the peer, which keeps it; returns its handle (positive) for the kernel
 * test to act as the peer on (kernel/ktest/attack2_recall.c). */
#define EV_RECALL_LEND 140

#define EV_TYPE	 0xe71
#define EV_MAGIC 0x5ca1ab1e0ddba11ULL
#define EV_CHAIN 2000 /* nests tried for a deep chain: far past any kernel stack */

#endif
