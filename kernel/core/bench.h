/* In-guest benchmarks selected on the command line (`bench=NAME`). */
#ifndef CORE_BENCH_H
#define CORE_BENCH_H

#include <stdbool.h>

/* Start the benchmark the command line names; false if it names none. */
bool bench_run_from_cmdline(const char *cmdline);

#endif
