/*
 * The Maple syscalls of the domain lifecycle, memory, devices, time and
 * threads in maple-hosted (syscalls.c): what entry.c's dispatch hands on
 * for every number it does not serve itself.
 */
#ifndef HOSTED_SYSCALLS_H
#define HOSTED_SYSCALLS_H

#include "loader.h"

#include <stdint.h>

/* Serve syscall nr of domain d with arguments a0..a2, from the SIGSYS
 * handler; its result, -MAPLE_ENOSYS for a number no one serves. */
long hsys_serve(struct hosted_domain *d, long nr, uint64_t a0, uint64_t a1, uint64_t a2);

/*
 * Domain threads (SYS_THREAD_CREATE): each a pthread that enters its
 * domain's function through the gate, at once with the others, with and
 * without keys (entry.c, sigentry.S: each handler entry proves its thread).
 * hsys_run_threads waits until every domain thread made so far (and those
 * they made) has ended; how many ended since its last call.
 */
unsigned hsys_run_threads(void);

/* The same for the domain threads made after hsys_thread_mark's answer
 * only (those made before may never end: victim's keeper sleeps for ever),
 * for at most ms milliseconds (a domain's thread may never end either):
 * how many of them still run. */
long hsys_thread_mark(void);
unsigned hsys_wait_threads_since(long mark, unsigned ms);

/* SYS_LOG: whether d may write one more line, by the VM's rule
 * (kernel/domain/log_share.h); its first dropped line is logged. */
int hsys_may_log(struct hosted_domain *d);

/* Tests and the fault campaign only (faults.c answers its mailbox there):
 * fn(arg) runs at the start of every syscall served here, in
 * the SIGSYS handler (a strike plan: tests_membdev.c); NULL: nothing. */
void hsys_set_tick(void (*fn)(void *), void *arg);

#endif
