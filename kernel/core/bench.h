/* In-guest benchmarks selected on the command line (`bench=NAME`, core/bench.c). */
#ifndef CORE_BENCH_H
#define CORE_BENCH_H

#include <stdbool.h>

/* Start the benchmark the command line names in its own thread (it powers
 * the machine off when done); false if none is named or it is unknown. */
bool bench_run_from_cmdline(const char *cmdline);

/* The benchmarks' threads (kernel/bench/). */
void bench_xcall_thread(void *unused);
void bench_recovery_thread(void *unused);

#endif
