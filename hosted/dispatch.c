/*
 * dispatch: the Maple syscalls the hosted runtime serves itself, the
 * gate's and the exchange heap's, for a domain's SIGSYS (entry.c); the
 * lifecycle, memory, devices, time and threads are syscalls.c's.
 */
#define _GNU_SOURCE
#include "dispatch.h"

#include "domains.h"
#include "gate.h"
#include "syscalls.h"

#include <lib/log_text.h>
#include <maple/abi.h>
#include <maple/rref_abi.h>
#include <xheap/rref.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The pointers a syscall reads must lie in the calling domain's image or
 * its stack, as the VM's dmem_owns decides (hgate_owns). */
static long sys_log(struct hosted_domain *d, uint64_t text, uint64_t len)
{
	char buf[DISPATCH_LOG_MAX];
	uint64_t n = len < sizeof buf ? len : sizeof buf;
	if (!hgate_owns(d, text, n))
		return -MAPLE_EFAULT;
	if (!hsys_may_log(d))
		return -MAPLE_EQUOTA;
	memcpy(buf, (const void *)text, n);
	n = log_text_clean(buf, n);
	char line[DISPATCH_LOG_MAX + 64];
	int k = snprintf(line, sizeof line, "[%s] %.*s\n", d->name, (int)n, buf);
	if (write(STDOUT_FILENO, line, k) < 0)
		return -MAPLE_EIO;
	return (long)len;
}

static long sys_export(struct hosted_domain *d, uint64_t entries, uint64_t n)
{
	uint64_t table[sizeof d->methods / sizeof d->methods[0]];
	if (n > sizeof table / sizeof table[0])
		return -MAPLE_EINVAL;
	if (!hgate_owns(d, entries, n * 8))
		return -MAPLE_EFAULT;
	memcpy(table, (const void *)entries, n * 8);
	for (uint64_t i = 0; i < n; i++)
		if (table[i] < d->base || table[i] >= d->base + d->span)
			return -MAPLE_EINVAL; /* a method must be the domain's own code */
	hgate_export(d, table, (unsigned)n);
	return 0;
}

static long sys_lookup(struct hosted_domain *d, uint64_t name, uint64_t len)
{
	char buf[MAPLE_DOMAIN_NAME_MAX];
	if (len >= sizeof buf)
		return -MAPLE_EINVAL;
	if (!hgate_owns(d, name, len))
		return -MAPLE_EFAULT;
	memcpy(buf, (const void *)name, len);
	buf[len] = 0;
	return hgate_lookup(buf);
}

/* The Maple syscalls of the gate and the exchange heap, the latter by the
 * VM's own xheap/rref.c (SYS_RREF_BUS too: no DMA here, but the same rule
 * on who may ask); syscalls.c serves the lifecycle, memory, devices, time
 * and threads, and every other number gets -MAPLE_ENOSYS. */
long dispatch_syscall(struct hosted_domain *d, long nr, const greg_t *g)
{
	static const struct rref_limits limits = RREF_LIMITS_DEFAULT;
	switch (nr) {
	case SYS_NULL:
		return 0;
	case SYS_LOG:
		return sys_log(d, g[REG_RDI], g[REG_RSI]);
	case SYS_EXPORT:
		return sys_export(d, g[REG_RDI], g[REG_RSI]);
	case SYS_LOOKUP:
		return sys_lookup(d, g[REG_RDI], g[REG_RSI]);
	case SYS_DOMAIN_ID:
		return (long)hgate_handle(d);
	case SYS_RREF_ALLOC:
		return rref_alloc(d->id, &limits, (uint32_t)g[REG_RDI], g[REG_RSI]);
	case SYS_RREF_FREE:
		return rref_free(d->id, g[REG_RDI]);
	case SYS_RREF_NEST:
		return rref_nest(d->id, g[REG_RDI], g[REG_RSI]);
	case SYS_RREF_UNNEST:
		return rref_unnest(d->id, g[REG_RDI]);
	case SYS_RREF_SIZE:
		return rref_size(d->id, g[REG_RDI]);
	case SYS_RREF_RECALL:
		return rref_recall(d->id, g[REG_RDI]);
	case SYS_RREF_INFO:
		return rref_info(d->id, g[REG_RDI]);
	case SYS_RREF_BUS: /* the same authority; the answer is the payload's address */
		return rref_bus(d->id, g[REG_RDI], g[REG_RSI]);
	default:
		return hsys_serve(d, nr, g[REG_RDI], g[REG_RSI], g[REG_RDX]);
	}
}
