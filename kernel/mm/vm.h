/*
 * The kernel's page table (one for everything, DESIGN.md §3) and mappings
 * into it. Page-table entries are built with explicit masks (pte.h).
 */
#ifndef MM_VM_H
#define MM_VM_H

#include <arch/x86/layout.h>
#include <stdint.h>

static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)(pa + DIRECT_MAP_BASE);
}

/* Physical address behind a direct-map or kernel-image virtual address. */
uint64_t virt_to_phys(const void *va);

/* Build the kernel page table (direct map, kernel image W^X) and switch to it. */
void paging_init(void);

/* Load the kernel page table on an application processor. */
void paging_load(void);

/* Physical address of the kernel PML4 (for the SMP trampoline's CR3). */
uint64_t paging_root_phys(void);

/* Map MMIO registers uncached in the MMIO window; returns NULL on failure. */
void *mmio_map(uint64_t phys, uint64_t size);

/*
 * Mapping returns 0, VM_EMAPPED (something is mapped at va already, or a
 * large page covers it) or VM_ENOMEM (no frame for a page table). A map
 * that fails leaves the page table exactly as it was (all the tables a
 * walk needs are allocated before any is linked in), and never panics.
 */
#define VM_EMAPPED (-1)
#define VM_ENOMEM  (-2)

/* Map one 4 KiB page at an arbitrary kernel va (e.g. the low SMP trampoline)
 * and remove it again; flags from pte.h. Its tables may use the kernel
 * reserve. */
int vm_map_page(uint64_t va, uint64_t pa, uint64_t flags);
void vm_unmap_page(uint64_t va);

/* Map one 4 KiB page of a domain: the page tables it needs come from beyond
 * the kernel reserve (frame_alloc_domain), and *tables grows by the number
 * made, for the domain's memory charge. */
int vm_map_domain_page(uint64_t va, uint64_t pa, uint64_t flags, uint64_t *tables);

/* Map a 2 MiB user page (both addresses 2 MiB aligned): device memory for
 * a domain; its tables as for vm_map_domain_page. */
int vm_map_user_2m(uint64_t va, uint64_t pa, uint64_t flags, uint64_t *tables);

/*
 * Unmap user pages [va, va + pages * 4 KiB) and free the page tables that
 * leaves empty. The frames that backed the pages, then those of the
 * tables, are written to out (room for pages + VM_UNMAP_SLACK entries);
 * returns how many, and in *leaves how many of them backed pages. 2 MiB
 * pages (device memory) are unmapped but not listed. Flushes only this
 * CPU: shoot down every TLB before reusing any of them.
 */
#define VM_UNMAP_SLACK 8
uint64_t vm_unmap_user_range(uint64_t va, uint64_t pages, uint64_t *out, uint64_t *leaves);

/* Flags of the leaf entry mapping va (0 if unmapped), for tests and reports. */
uint64_t vm_leaf_flags(uint64_t va);

/* The physical address va maps to (0 if unmapped), for tests and benchmarks
 * that reach a domain's page through the direct map (bench=faults). */
uint64_t vm_leaf_phys(uint64_t va);

/* Count present pages that are both writable and executable (W^X check);
 * *first gets the lowest such address. */
uint64_t paging_count_wx(uint64_t *first);

#endif
