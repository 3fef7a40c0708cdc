/*
 * The exchange heap's platform services on the VM (xheap/heap_platform.h):
 * contiguous frames, mapped user-accessible with their key in the one page
 * table and reached by the kernel through the direct map (a kernel access
 * to a user page would be subject to SMAP and the thread's PKRU).
 */
#include <arch/x86/pte.h>
#include <core/panic.h>
#include <core/thread.h>
#include <domain/domain.h>
#include <domain/gate.h>
#include <lib/string.h>
#include <maple/abi.h>
#include <maple/rref_abi.h>
#include <mm/frame.h>
#include <mm/vm.h>
#include <xheap/heap_platform.h>
#include <xheap/rref.h>

#define CHUNK_PAGES (SHARED_CHUNK / PAGE_SIZE)
_Static_assert(HEAP_PAGE == PAGE_SIZE, "the heap's pages are the MMU's");

void *heap_private_alloc(uint64_t bytes)
{
	uint64_t pages = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
	uint64_t pa = frame_alloc_contig(pages, 1);
	if (!pa)
		panic("rref: no memory for a %lu KiB table", bytes >> 10);
	memset(phys_to_virt(pa), 0, pages * PAGE_SIZE);
	return phys_to_virt(pa);
}

void *heap_header_table(void)
{
	uint64_t bytes = (uint64_t)RREF_MAX * RREF_HDR_SIZE;
	char *headers = heap_private_alloc(bytes);
	for (uint64_t off = 0; off < bytes; off += PAGE_SIZE)
		if (vm_map_page(RREF_TABLE_VA + off, virt_to_phys(headers + off),
				PTE_U | PTE_W | PTE_NX | pte_key(PKEY_TRUSTED)) < 0)
			panic("rref: cannot map the header table");
	return headers;
}

uint64_t heap_chunk_map(uint64_t va, uint64_t *addr)
{
	uint64_t pa = frame_alloc_contig(CHUNK_PAGES, CHUNK_PAGES);
	if (!pa)
		return 0;
	*addr = pa;
	uint64_t mapped = 0;
	for (; mapped < CHUNK_PAGES; mapped++)
		if (vm_map_page(va + mapped * PAGE_SIZE, pa + mapped * PAGE_SIZE,
				PTE_U | PTE_W | PTE_NX | pte_key(PKEY_SHARED)) < 0)
			break;
	if (!mapped) /* nothing a domain could have touched: give it back now */
		frame_free(pa, CHUNK_PAGES);
	return mapped;
}

void heap_chunk_unmap(uint64_t va, uint64_t addr, uint64_t mapped)
{
	/* unmap_region flushes every TLB before it frees the mapped frames. */
	unmap_region(va, mapped, true);
	if (mapped < CHUNK_PAGES)
		frame_free(addr + mapped * PAGE_SIZE, CHUNK_PAGES - mapped);
}

void *heap_chunk_bytes(uint64_t addr, uint64_t off)
{
	return phys_to_virt(addr + off);
}

const struct gate_thread_trusted *heap_thread_conts(uint64_t *tt_va)
{
	struct thread_gate *g = thread_current()->gate;
	if (!g)
		return NULL;
	*tt_va = g->tt_va;
	return g->tt;
}
