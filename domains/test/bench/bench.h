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
};

#endif
