/*
 * The Maple syscalls the hosted runtime serves itself (dispatch.c): the
 * gate's and the exchange heap's; the rest go to syscalls.c.
 */
#ifndef HOSTED_DISPATCH_H
#define HOSTED_DISPATCH_H

#include <signal.h>
#include <ucontext.h>

struct hosted_domain;

#define DISPATCH_LOG_MAX 256 /* the longest SYS_LOG or SYS_PANIC line kept */

/* Maple syscall nr of domain d with the frame's registers g: its result
 * (an unknown number gets -MAPLE_ENOSYS, from syscalls.c). */
long dispatch_syscall(struct hosted_domain *d, long nr, const greg_t *g);

#endif
