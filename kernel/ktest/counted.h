/*
 * Running a test body in its own thread with the memory counters compared
 * before and after: the leak check of the domain, RRef and recovery tests;
 * and the creating and destroying of domains every such body does.
 */
#ifndef KTEST_COUNTED_H
#define KTEST_COUNTED_H

#include <domain/domain.h>
#include <ktest/ktest.h>
#include <stdint.h>

/*
 * Run body(t) in a new thread and wait up to wait_ns for it; the thread
 * exits (freeing its gate pages) before the counters are read. Fails t if
 * it does not finish, or if frames are gone beyond what the kernel heap,
 * the kernel-stack cache and the shared heap's chunks keep, or if kernel
 * heap bytes or live RRefs differ.
 */
void ktest_run_counted(struct ktest_ctx *t, const char *name, void (*body)(struct ktest_ctx *t),
		       uint64_t wait_ns);

/* Domains in the table now, and kernel threads that exist now (an exited
 * thread counts until it is reaped): what a test compares at its start and
 * its end, after the memory counters above. */
unsigned ktest_domains_alive(void);
int ktest_threads_alive(void);

/* Create image `name`; NULL, with t failed naming the image and the
 * loader's reason, if it cannot be. */
struct domain *ktest_create(struct ktest_ctx *t, const char *name);
/* Destroy d (NULL: nothing) or the domain of handle h (0: nothing);
 * domain_destroy's result, 0 for nothing. */
int ktest_destroy(struct domain *d);
int ktest_destroy_handle(uint64_t h);

#endif
