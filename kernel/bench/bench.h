/*
 * In-guest benchmarks selected on the command line (`bench=NAME`, picked by
 * bench/bench.c, a boot runner). Built only into the test kernel image.
 */
#ifndef CORE_BENCH_H
#define CORE_BENCH_H

#include <stdint.h>

struct domain;

/* The benchmarks' threads (kernel/bench/). */
void bench_xcall_thread(void *unused);
void bench_recovery_thread(void *unused);
/* bench=nvme, bench=nvme_checks and bench=nvme_crash (kernel/bench/nvme.c);
 * arg: the command line. */
void bench_nvme_thread(void *cmdline);
void bench_nvme_checks_thread(void *cmdline);
void bench_nvme_crash_thread(void *cmdline);

/* bench=net and bench=net_crash (kernel/bench/net.c); arg: the command line. */
void bench_net_thread(void *cmdline);
void bench_net_crash_thread(void *cmdline);

/* bench=faults (kernel/bench/faults.c); arg: the command line. */
void bench_faults_thread(void *cmdline);

/* The running domain of image `name`, created if there is none; NULL (and
 * a log line naming benchmark `bench` and the reason) if it cannot be. */
struct domain *bench_need(const char *bench, const char *name);
/* A new domain of image `name`, or NULL with a log line as above. */
struct domain *bench_create(const char *bench, const char *name);
/* Destroy d (if not NULL), logging why it could not be. */
void bench_destroy(const char *bench, struct domain *d);
/* Wait while client's result method answers 1 for index `running` (a run
 * of ms it was asked for goes on), sleeping 10 ms between asks; give up ms
 * plus 30 s after the start, which only stops a hang. */
void bench_wait_run(struct domain *client, uint64_t result_method, long running, uint64_t ms);

#endif
