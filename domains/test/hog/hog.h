/*
 * hog's interface, for the resource-limit tests (kernel/ktest/limits.c): a
 * domain that takes memory and threads on request, and one that keeps
 * allocating from its own heap and serving calls while another hogs.
 * Plain numbers, so kernel tests can include it too.
 */
#ifndef DOMAINS_HOG_H
#define DOMAINS_HOG_H

/* long grow(long bytes, long times): SYS_HEAP_GROW of `bytes` up to
 * `times` times, writing to each region. Returns the first refusal
 * (-MAPLE_E*), or 0 when every grow succeeded. Callers keep `times` small:
 * a call must end within the gate's watchdog. */
#define HOG_GROW 0
/* long grown(void): regions grown so far. */
#define HOG_GROWN 1
/* long spawn(long n, long mode): create n threads of `mode`; returns n, or
 * the first refusal of SYS_THREAD_CREATE (threads made before it stay). */
#define HOG_SPAWN 2
/* long churn(long n): create n threads that exit at once, retrying after a
 * yield on -MAPLE_EAGAIN; returns how many -MAPLE_EAGAIN it saw, or the
 * first other refusal (then below -MAPLE_EAGAIN's retries: a negative). */
#define HOG_CHURN 3
/* long release(void): let every HOG_WAIT thread end; returns how many run. */
#define HOG_RELEASE 4
/* long alive(void): HOG_WAIT threads running now. */
#define HOG_ALIVE 5
/* long mix(long rounds): malloc, fill, check and free blocks of changing
 * sizes in the 1 MiB arena hog grows at start (two mixers fit at once);
 * returns rounds when every block held its pattern, else -1. */
#define HOG_MIX 6
/* long worker(long start): start (1) a thread that runs mix until stopped,
 * or stop it (0) and get its rounds, or -1 if any round went wrong. */
#define HOG_WORKER 7

#define HOG_WAIT 0 /* spawn mode: run until release() */
#define HOG_EXIT 1 /* spawn mode: exit at once */

#endif
