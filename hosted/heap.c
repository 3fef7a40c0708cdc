/*
 * The exchange heap's platform services in maple-hosted
 * (xheap/heap_platform.h): anonymous mappings at the layout's addresses,
 * with the layout's keys where the process has them. The runtime holds PKRU
 * 0, so it writes payloads and headers at their own addresses. There are
 * no devices, so a chunk's platform address is its address.
 *
 * THE INVARIANT with domain threads running at once: rref.c calls these
 * under its heap_lock (a lock between threads hosted too,
 * kernel/test/support/spinlock_host.c), except heap_chunk_unmap, which it
 * calls for a chunk it already took out of use under that lock; so no two
 * threads map one chunk. heap_thread_conts answers the calling thread's
 * own continuations (what it lent on its own calls), never another's.
 */
#define _GNU_SOURCE
#include "gate.h"

#include <core/panic.h>
#include <maple/abi.h>
#include <maple/rref_abi.h>
#include <xheap/heap_platform.h>
#include <xheap/rref.h>

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK_PAGES (SHARED_CHUNK / HEAP_PAGE)

void *heap_private_alloc(uint64_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		panic("rref: no memory for a %lu KiB table: %s", (unsigned long)(bytes >> 10),
		      strerror(errno));
	return p;
}

void *heap_header_table(void)
{
	char why[128];
	void *t = hgate_map(RREF_TABLE_VA, (uint64_t)RREF_MAX * RREF_HDR_SIZE, PKEY_TRUSTED,
			    "the RRef header table", why, sizeof why);
	if (!t)
		panic("rref: %s", why);
	return t;
}

uint64_t heap_chunk_map(uint64_t va, uint64_t *addr)
{
	char why[128];
	if (!hgate_map(va, SHARED_CHUNK, PKEY_SHARED, "a heap chunk", why, sizeof why))
		return 0; /* out of memory for it: rref_alloc answers -MAPLE_ENOMEM */
	*addr = va;
	return CHUNK_PAGES;
}

void heap_chunk_unmap(uint64_t va, uint64_t addr, uint64_t mapped)
{
	(void)addr;
	munmap((void *)va, mapped * HEAP_PAGE);
}

void *heap_chunk_bytes(uint64_t addr, uint64_t off)
{
	return (void *)(addr + off);
}

const struct gate_thread_trusted *heap_thread_conts(uint64_t *tt_va)
{
	return hgate_thread_conts(tt_va);
}
