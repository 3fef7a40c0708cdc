/*
 * bench's interface: call targets for the cross-domain call benchmarks and
 * a sampler that times single operations from inside a domain (TSC cycles),
 * so the driver's own overhead stays out of the figures.
 */
#ifndef DOMAINS_BENCH_H
#define DOMAINS_BENCH_H

/* Its methods (null, add4, sample, p99): domains/idl/bench.idl. */
#include <idl/bench_methods.h>

#define BENCH_SAMPLES_MAX 4096

enum bench_op {
	BENCH_OP_DIRECT = 0,	 /* a direct call of an empty non-inlined function */
	BENCH_OP_XCALL_NULL = 1, /* target's method 1, no arguments (xb.null) */
	BENCH_OP_XCALL_ADD4 = 2, /* target's method 2 with 4 integer arguments (xb.add4) */
	BENCH_OP_SYSCALL = 3,	 /* SYS_NULL */
	BENCH_OP_NESTED = 4,	 /* target's method 0 with argument 1 (xa.chain: xa->xb->xc->xa) */
	BENCH_OP_FAULT = 5,	 /* target's method 0 (rogue.run) made to ud2: fault to error */
	BENCH_OP_MOVE_RREF = 6,	 /* target's method 3 (xb.echo): one RRef moved there and back */
	BENCH_OP_DEQUE32 = 7,	 /* xb.echo of a deque holding 32 nested RRefs, there and back */
	BENCH_OP_ALLOC_FREE = 8, /* rref_alloc + rref_free of a 64-byte object */
	BENCH_OP_PROXY = 9,	 /* BlockDevice_stats(target) through the generated proxy */
	BENCH_OP_SUBMIT_READS = 10,  /* BlockDevice_submit(target) of 32 one-block reads */
	BENCH_OP_SUBMIT_WRITES = 11, /* ... of 32 one-block writes */
};

/*
 * The rows both platforms time with sample() (kernel/bench/xcall.c in the
 * VM, hosted/bench.c in maple-hosted), in the order they print them:
 * X(row name, operation, target domain's name or NULL). One list, so the
 * two platforms' tables name and measure the same operations.
 */
#define BENCH_XCALL_ROWS(X)                                                                        \
	X("direct-call", BENCH_OP_DIRECT, NULL)                                                    \
	X("null-syscall", BENCH_OP_SYSCALL, NULL)                                                  \
	X("xcall-null", BENCH_OP_XCALL_NULL, "xb")                                                 \
	X("xcall-4-args", BENCH_OP_XCALL_ADD4, "xb")                                               \
	X("xcall-nested-a-b-c-a", BENCH_OP_NESTED, "xa")                                           \
	X("xcall-move-rref", BENCH_OP_MOVE_RREF, "xb")                                             \
	X("xcall-move-deque-32", BENCH_OP_DEQUE32, "xb")                                           \
	X("rref-alloc-free", BENCH_OP_ALLOC_FREE, NULL)                                            \
	X("proxy-call-membdev", BENCH_OP_PROXY, "membdev")                                         \
	X("proxy-call-via-shadow", BENCH_OP_PROXY, "bdev_shadow")                                  \
	X("submit-32-reads-membdev", BENCH_OP_SUBMIT_READS, "membdev")                             \
	X("submit-32-reads-via-shadow", BENCH_OP_SUBMIT_READS, "bdev_shadow")                      \
	X("submit-32-writes-membdev", BENCH_OP_SUBMIT_WRITES, "membdev")                           \
	X("submit-32-writes-via-shadow", BENCH_OP_SUBMIT_WRITES, "bdev_shadow")

#endif
