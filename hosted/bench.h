/* The hosted half of bench/xcall --hosted (bench.c). */
#ifndef HOSTED_BENCH_H
#define HOSTED_BENCH_H

/* Print one "hosted-bench:" line per operation; returns the exit status.
 * With nop_wrpkru (`bench --nop-wrpkru`, a CPU without protection keys
 * only), the gate's WRPKRUs are NOPs: runtime_start_nop_wrpkru. */
int hosted_bench(unsigned samples, int nop_wrpkru);

#endif
