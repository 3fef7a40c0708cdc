/*
 * bench's interface: call targets for the cross-domain call benchmarks and
 * two loops that time calls from inside a domain, free of the driver's own
 * overhead.
 */
#ifndef DOMAINS_BENCH_H
#define DOMAINS_BENCH_H

#define BENCH_NULL 0 /* long null(void): 0 */
#define BENCH_ADD4 1 /* long add4(long a, long b, long c, long d): a + b + c + d */
/* long loop_xcall(long domain, long n): n calls of domain's method 0 with no
 * arguments; nanoseconds they took, or the first failing call's -error. */
#define BENCH_LOOP_XCALL 2
/* long loop_syscall(long n): n SYS_NULL; nanoseconds they took. */
#define BENCH_LOOP_SYSCALL 3

#endif
