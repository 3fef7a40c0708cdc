/*
 * What the exchange heap (xheap/rref.c) needs from the platform it runs on:
 * memory at the layout's addresses with the layout's keys, and the calling
 * thread's continuations. One implementation per platform:
 * kernel/platform/pc/heap.c (the VM: frames and page tables) and
 * hosted/heap.c (maple-hosted: mmap and pkey_mprotect). Locks, the log and
 * panic are core/spinlock.h, core/log.h and core/panic.h on both.
 */
#ifndef XHEAP_HEAP_PLATFORM_H
#define XHEAP_HEAP_PLATFORM_H

#include <domain/gate_layout.h>
#include <stdint.h>

#define HEAP_PAGE 4096ul

/* Zeroed memory only the kernel (the runtime) can reach, for its side
 * tables; never freed. Panics if there is none. */
void *heap_private_alloc(uint64_t bytes);

/* The RRef header table, RREF_MAX headers, zeroed and mapped at
 * RREF_TABLE_VA with key TRUSTED; the address the kernel writes it
 * through. Panics if it cannot be made. */
void *heap_header_table(void);

/*
 * A chunk of SHARED_CHUNK bytes, mapped at va with key SHARED. Returns
 * the pages mapped, all of them (SHARED_CHUNK / HEAP_PAGE) on success; 0
 * when there was no memory (nothing allocated or mapped); fewer when a
 * mapping failed part way (heap_chunk_unmap must then undo it, after a
 * domain may have touched those pages). *addr is the chunk's platform
 * address: its physical (bus) address in the VM, a DMA address for a whole
 * payload; the same as va hosted, where there are no devices.
 */
uint64_t heap_chunk_map(uint64_t va, uint64_t *addr);

/* Unmap the chunk at va (mapped pages of it) from every CPU's view, then
 * free its memory. */
void heap_chunk_unmap(uint64_t va, uint64_t addr, uint64_t mapped);

/* Where the kernel writes byte off of the chunk at addr. */
void *heap_chunk_bytes(uint64_t addr, uint64_t off);

/* The calling thread's TRUSTED gate pages and their address as the gate
 * sees them (*tt_va), or NULL when it has none. */
const struct gate_thread_trusted *heap_thread_conts(uint64_t *tt_va);

#endif
