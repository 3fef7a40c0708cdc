/* The hosted half of bench/xcall --hosted (bench.c), and what its gate
 * pieces (bench_parts.S) need of struct gate_domain and struct
 * gate_thread_trusted, which assembly outside
 * the kernel's build cannot take from the generated offsets: bench.c
 * asserts each against domain/gate_layout.h. */
#ifndef HOSTED_BENCH_H
#define HOSTED_BENCH_H

#define PART_GD_ACTIVE	   32
#define PART_GD_SIZE	   320
#define PART_GTT_CALLS	   576
#define PART_GTT_CALLS_OUT 1088

#ifndef __ASSEMBLY__
/* Print one "hosted-bench:" line per operation; returns the exit status.
 * With nop_wrpkru (`bench --nop-wrpkru`, a process that allocates no key),
 * the gate's WRPKRUs are NOPs: runtime_start_nop_wrpkru; the gate's pieces
 * are timed too (the `part` lines). */
int hosted_bench(unsigned samples, int nop_wrpkru);
#endif

#endif
