/* The in-guest half of bench/recovery (kernel/bench/recovery.c). */
#ifndef BENCH_RECOVERY_H
#define BENCH_RECOVERY_H

#include <stdbool.h>

/* With `bench=recovery` on the command line, start the benchmark thread
 * (it powers the machine off when done); false otherwise. */
bool bench_recovery_from_cmdline(const char *cmdline);

#endif
