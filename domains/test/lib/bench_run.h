/*
 * One benchmark run at a time, on a thread of its own, as the benchmark
 * domains of bench=net (netbench's loop) and bench=nvme (nvmetest's loop)
 * run it: a busy flag that admits one run, its counters (an IDL enum's,
 * read by the kernel's bench_wait_run through the domain's result method
 * while the run goes on), and the timed window.
 */
#ifndef DOMAINS_TEST_LIB_BENCH_RUN_H
#define DOMAINS_TEST_LIB_BENCH_RUN_H

#include <sdk/dom.h>

struct bench_run {
	uint64_t *stat; /* the counters, nstat of them */
	long nstat;
	/* Which counter is 1 while the run goes on, the window's length, the errors. */
	long running, ns, errors;
	uint32_t busy; /* a run is claimed: from its start to its end */
	uint64_t t0;   /* when the window opened */
};

/* A run over the array `counters`, naming three of its counters. */
#define BENCH_RUN(counters, running_i, ns_i, errors_i)                                             \
	{                                                                                          \
		.stat = (counters), .nstat = DOM_ARRAY_LEN(counters), .running = (running_i),      \
		.ns = (ns_i), .errors = (errors_i)                                                 \
	}

/* Claim the next run: 0, or -MAPLE_EINVAL while one goes on. */
long bench_run_claim(struct bench_run *r);
/* Whether a run is claimed (the parameters may not change then). */
bool bench_run_busy(struct bench_run *r);
/* Give up a claim that did not start (the device refused its setup). */
void bench_run_release(struct bench_run *r);
/* Zero the counters, mark the run going and start worker on a thread of
 * its own: 0, or the thread's error with the claim released. */
long bench_run_start(struct bench_run *r, void (*worker)(void *));
/* Open the timed window (its length ms): returns when it ends. */
uint64_t bench_run_window(struct bench_run *r, long ms);
/* Close it: its length in the ns counter. */
void bench_run_window_end(struct bench_run *r);
/* The worker's last step: the errors counted, the run over, the claim
 * released (in that order, so a reader that sees the run over sees all). */
void bench_run_end(struct bench_run *r, uint64_t errors);
/* One counter: its value, or -MAPLE_EINVAL for no such counter. */
long bench_run_result(struct bench_run *r, long which);

#endif
