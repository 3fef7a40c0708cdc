/* The hosted half of bench/xcall --hosted (bench.c). */
#ifndef HOSTED_BENCH_H
#define HOSTED_BENCH_H

/* Print one "hosted-bench:" line per operation; returns the exit status. */
int hosted_bench(unsigned samples);

#endif
