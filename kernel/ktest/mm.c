/* In-guest tests of the frame allocator, kernel heap, kernel stacks and page table. */
#include <arch/x86/pte.h>
#include <ktest/ktest.h>
#include <lib/string.h>
#include <mm/frame.h>
#include <mm/kmalloc.h>
#include <mm/kstack.h>
#include <mm/vm.h>

#define BATCH 64

KTEST(frame_alloc_free_restores_counters)
{
	struct frame_stats before, after;
	uint64_t got[BATCH];
	frame_get_stats(&before);
	for (int i = 0; i < BATCH; i++) {
		got[i] = frame_alloc();
		KT_ASSERT(got[i] != 0);
		KT_ASSERT(got[i] % FRAME_SIZE == 0);
		memset(phys_to_virt(got[i]), 0xa5, FRAME_SIZE); /* the frame is really ours */
	}
	for (int i = 0; i < BATCH; i++)
		for (int j = i + 1; j < BATCH; j++)
			KT_ASSERT(got[i] != got[j]);
	for (int i = 0; i < BATCH; i++)
		KT_ASSERT_EQ(frame_free(got[i], 1), 0);
	frame_get_stats(&after);
	KT_ASSERT_EQ(after.free, before.free);
	KT_ASSERT_EQ(after.allocs - before.allocs, BATCH);
}

KTEST(frame_double_free_is_refused)
{
	uint64_t pa = frame_alloc();
	KT_ASSERT(pa != 0);
	KT_ASSERT_EQ(frame_free(pa, 1), 0);
	struct frame_stats before, after;
	frame_get_stats(&before);
	KT_ASSERT(frame_free(pa, 1) < 0);
	frame_get_stats(&after);
	KT_ASSERT_EQ(after.free, before.free);
}

KTEST(frame_contig_is_aligned_and_contiguous)
{
	uint64_t pa = frame_alloc_contig(16, 16);
	KT_ASSERT(pa != 0);
	KT_ASSERT_EQ(pa % (16 * FRAME_SIZE), 0);
	memset(phys_to_virt(pa), 0, 16 * FRAME_SIZE);
	KT_ASSERT_EQ(frame_free(pa, 16), 0);
}

KTEST(kmalloc_sizes_roundtrip)
{
	struct kmalloc_stats before, after;
	kmalloc_get_stats(&before);
	static void *ptrs[96];
	int n = 0;
	for (size_t size = 1; size <= 20000; size = size * 3 / 2 + 1) {
		unsigned char *p = kmalloc(size);
		KT_ASSERT(p != NULL);
		KT_ASSERT_EQ((uint64_t)p % 16, 0);
		memset(p, (int)(size & 0xff), size);
		ptrs[n++] = p;
	}
	n = 0;
	for (size_t size = 1; size <= 20000; size = size * 3 / 2 + 1) {
		unsigned char *p = ptrs[n++];
		for (size_t i = 0; i < size; i++)
			KT_ASSERT_EQ(p[i], size & 0xff);
		kfree(p);
	}
	kmalloc_get_stats(&after);
	KT_ASSERT_EQ(after.bytes_in_use, before.bytes_in_use);
	KT_ASSERT_EQ(after.frees - before.frees, (uint64_t)n);
}

KTEST(kstack_has_guard_below)
{
	struct kstack ks;
	KT_ASSERT_EQ(kstack_alloc(&ks), 0);
	KT_ASSERT_EQ(ks.top - ks.base, KSTACK_SIZE);
	KT_ASSERT(virt_to_phys((void *)ks.base) != 0);
	KT_ASSERT(virt_to_phys((void *)(ks.top - 8)) != 0);
	KT_ASSERT_EQ(virt_to_phys((void *)(ks.base - 8)), 0); /* unmapped guard */
	KT_ASSERT(kstack_guard_hit(ks.base - 8));
	KT_ASSERT(!kstack_guard_hit(ks.base));
	kstack_free(&ks);
}

KTEST(page_table_has_no_writable_executable_mapping)
{
	uint64_t bad_va = 0;
	uint64_t n = paging_count_wx(&bad_va);
	if (n)
		ktest_fail(t, __FILE__, __LINE__, "%lu W+X pages, first at %#lx", n, bad_va);
}

KTEST(kernel_text_is_read_only_and_data_is_nx)
{
	extern const char __kernel_start[], __rodata_end[];
	extern char __data_end[];
	uint64_t text = vm_leaf_flags((uint64_t)__kernel_start);
	uint64_t data = vm_leaf_flags((uint64_t)__data_end - 8);
	KT_ASSERT(text & PTE_P);
	KT_ASSERT(!(text & PTE_W));
	KT_ASSERT(!(text & PTE_NX));
	KT_ASSERT(data & PTE_NX);
	KT_ASSERT(data & PTE_W);
	KT_ASSERT(!(vm_leaf_flags((uint64_t)__rodata_end - 8) & PTE_W));
}

KTEST(mmio_map_is_uncached)
{
	void *p = mmio_map(0xfee00000, 4096);
	KT_ASSERT(p != NULL);
	uint64_t f = vm_leaf_flags((uint64_t)p);
	KT_ASSERT(f & PTE_PCD);
	KT_ASSERT(f & PTE_NX);
	KT_ASSERT_EQ(virt_to_phys(p), 0xfee00000);
}
