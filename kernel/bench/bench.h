/*
 * In-guest benchmarks selected on the command line (`bench=NAME`, picked by
 * bench/bench.c, a boot runner). Built only into the test kernel image.
 */
#ifndef CORE_BENCH_H
#define CORE_BENCH_H

/* The benchmarks' threads (kernel/bench/). */
void bench_xcall_thread(void *unused);
void bench_recovery_thread(void *unused);

#endif
