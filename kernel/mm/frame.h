/*
 * Physical frame allocator: one bit per 4 KiB frame of physical memory, built
 * from the USABLE entries of the boot memory map. Portable (no pc
 * internals): it reaches its bitmap through a phys-to-virt offset, so host
 * unit tests run it on an ordinary buffer. Safe on several CPUs.
 */
#ifndef MAPLE_FRAME_H
#define MAPLE_FRAME_H

#include <maple/bootinfo.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_SIZE  4096UL
#define FRAME_SHIFT 12

/* Frames below this address are never handed out (BIOS data, SMP trampoline). */
#define FRAME_LOW_RESERVED 0x100000UL

struct frame_stats {
	uint64_t managed;	   /* frames the allocator owns (free + allocated) */
	uint64_t free;		   /* frames free right now */
	uint64_t bitmap_frames;	   /* frames holding the bitmap itself */
	uint64_t allocs;	   /* successful allocation calls, ever */
	uint64_t frees;		   /* successful free calls, ever */
	uint64_t failures;	   /* allocation calls that found no memory */
	uint64_t reserve;	   /* frames only the kernel's own allocations may take */
	uint64_t reserve_refusals; /* domain allocations refused to keep the reserve */
};

/*
 * The kernel reserve: frame_alloc_domain and frame_alloc_contig_domain, used
 * for everything allocated on a domain's behalf (its pages, the page tables
 * that map them, its image), refuse rather than take free frames below
 * `reserve`. A domain that exhausts memory therefore leaves the kernel what
 * it needs to unwind the failed map, destroy domains, run the console and
 * write the log. frame_init sets FRAME_RESERVE_DEFAULT, at most an eighth of
 * the managed frames.
 */
#define FRAME_RESERVE_DEFAULT ((4UL << 20) / FRAME_SIZE)

/*
 * Build the allocator from bi->mem. `virt_offset` is added to a physical
 * address to reach it (the kernel's direct map; a host buffer in tests).
 * The bitmap itself is placed in the first usable range large enough and is
 * then counted as allocated. Returns 0, or -1 if there is no usable memory.
 */
int frame_init(const struct bootinfo *bi, uintptr_t virt_offset);

/* One frame; returns its physical address, or 0 when memory is exhausted. */
uint64_t frame_alloc(void);

/* n contiguous frames starting on a multiple of align_frames (a power of
 * two, >= 1); returns the physical address of the first, or 0. */
uint64_t frame_alloc_contig(uint64_t n, uint64_t align_frames);

/* The same, on a domain's behalf: 0 also when the kernel reserve would be
 * touched. */
uint64_t frame_alloc_domain(void);
uint64_t frame_alloc_contig_domain(uint64_t n, uint64_t align_frames);

/* Free n frames starting at phys. Returns 0, or -1 (and frees nothing) if
 * any of them is not managed or not allocated: a double free is caught. */
int frame_free(uint64_t phys, uint64_t n);

/* Take n frames from phys on, all free and managed, as frame_alloc would:
 * 0, or -1 (and takes nothing). For tests that must reuse exactly the
 * frames something just freed (a crashed driver's DMA memory), at once. */
int frame_claim(uint64_t phys, uint64_t n);

/* Hand a range that was reserved at init (LOADER, ACPI_RECLAIM) to the
 * allocator once its contents are no longer needed. Partial frames at
 * either end are skipped. Returns the number of frames added. */
uint64_t frame_release_range(uint64_t base, uint64_t length);

void frame_get_stats(struct frame_stats *out);

#endif
