/*
 * What a domain may hold (docs/isolation.md, "Limits"), one copy of the
 * rules for both platforms: the size of a SYS_HEAP_GROW region, whether it
 * fits the heap window, whether a charge fits the memory limit, the
 * default limit, and the thread limit. The VM charges frames and their
 * page tables (domain/domain_mem.c, domain/domain_limits.c); maple-hosted
 * charges pages it maps (hosted/domains.c, hosted/syscalls.c). Pure
 * functions: no service of either platform.
 */
#ifndef DOMAIN_QUOTA_H
#define DOMAIN_QUOTA_H

#include <domain/slot_layout.h>
#include <stdbool.h>
#include <stdint.h>

#define QUOTA_PAGE 4096ul

/* SYS_HEAP_GROW's region for a request of `bytes`: at least
 * DOMAIN_HEAP_REGION_MIN, else whole pages; its length, or -MAPLE_EINVAL
 * for 0 or more than the whole heap window could ever hold (a bad
 * argument, not a limit reached). */
long quota_heap_region(uint64_t bytes);

/* Whether len more bytes fit the heap window of the slot at base from
 * `next` on (its next free address): 0, or -MAPLE_EQUOTA (a full window is
 * a limit too). */
long quota_window(uint64_t base, uint64_t next, uint64_t len);

/* Whether `pages` more fit a domain that has `charged` of `limit`: 0, or
 * -MAPLE_EQUOTA. Exactly at the limit fits. */
long quota_charge(uint64_t charged, uint64_t limit, uint64_t pages);

/* A domain's default memory limit on a machine of `frames` 4 KiB frames:
 * 1/DOMAIN_MEM_SHARE of them, so one domain alone can never take what the
 * kernel and three more domains of that size need. */
uint64_t quota_default_mem_pages(uint64_t frames);

/* Whether one more thread fits a domain with `alive` of `limit`: 0, or
 * -MAPLE_EAGAIN. */
long quota_thread(uint32_t alive, uint32_t limit);

#endif
