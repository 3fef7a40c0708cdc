/*
 * Kernel stacks. Each lives in its own KSTACK_SLOT of the stack area with
 * only its top KSTACK_SIZE mapped; the unmapped rest of the slot below it
 * is the guard, so running off the bottom takes a page fault instead of
 * corrupting a neighbour.
 *
 * A freed stack stays mapped and is handed out again by the next
 * allocation: unmapping would need a TLB shootdown on every CPU the thread
 * ran on, and thread churn is low. kstack_cached() counts such stacks.
 */
#include <arch/x86/pte.h>
#include <core/spinlock.h>
#include <mm/frame.h>
#include <mm/kstack.h>
#include <mm/vm.h>

#define WORDS (KSTACK_SLOTS / 64)

static uint64_t in_use[WORDS];
static uint64_t mapped[WORDS];
static struct spinlock slot_lock = SPINLOCK_INIT("kstack");

static uint64_t slot_top(uint32_t slot)
{
	return KSTACK_BASE + (uint64_t)(slot + 1) * KSTACK_SLOT;
}

/* Prefer a slot whose pages are still mapped; returns -1 when none is free. */
static int slot_take(bool *was_mapped)
{
	int fresh = -1;
	spin_lock(&slot_lock);
	for (int w = 0; w < WORDS; w++) {
		uint64_t reusable = mapped[w] & ~in_use[w];
		if (reusable) {
			int slot = w * 64 + __builtin_ctzll(reusable);
			in_use[w] |= 1ULL << (slot % 64);
			spin_unlock(&slot_lock);
			*was_mapped = true;
			return slot;
		}
		if (fresh < 0 && (in_use[w] | mapped[w]) != ~0ULL)
			fresh = w * 64 + __builtin_ctzll(~(in_use[w] | mapped[w]));
	}
	if (fresh >= 0)
		in_use[fresh / 64] |= 1ULL << (fresh % 64);
	spin_unlock(&slot_lock);
	*was_mapped = false;
	return fresh;
}

static void slot_release(uint32_t slot, bool now_mapped)
{
	spin_lock(&slot_lock);
	in_use[slot / 64] &= ~(1ULL << (slot % 64));
	if (now_mapped)
		mapped[slot / 64] |= 1ULL << (slot % 64);
	spin_unlock(&slot_lock);
}

/* Map the slot's stack pages; on failure undo what was mapped (nothing else
 * has seen these pages, so a local flush suffices). */
static int map_slot(uint32_t slot)
{
	uint64_t top = slot_top(slot), base = top - KSTACK_SIZE;
	for (uint64_t va = base; va < top; va += PAGE_SIZE) {
		uint64_t pa = frame_alloc();
		if (pa && vm_map_page(va, pa, PTE_W | PTE_NX | PTE_G) == 0)
			continue;
		if (pa)
			frame_free(pa, 1);
		for (uint64_t undo = base; undo < va; undo += PAGE_SIZE) {
			frame_free(virt_to_phys((void *)undo), 1);
			vm_unmap_page(undo);
		}
		return -1;
	}
	return 0;
}

int kstack_alloc(struct kstack *ks)
{
	bool was_mapped;
	int slot = slot_take(&was_mapped);
	if (slot < 0)
		return -1;
	if (!was_mapped && map_slot((uint32_t)slot) < 0) {
		slot_release((uint32_t)slot, false);
		return -1;
	}
	ks->slot = (uint32_t)slot;
	ks->top = slot_top((uint32_t)slot);
	ks->base = ks->top - KSTACK_SIZE;
	return 0;
}

void kstack_free(struct kstack *ks)
{
	slot_release(ks->slot, true);
}

uint64_t kstack_cached(void)
{
	uint64_t n = 0;
	spin_lock(&slot_lock);
	for (int w = 0; w < WORDS; w++)
		for (uint64_t bits = mapped[w] & ~in_use[w]; bits; bits &= bits - 1)
			n++;
	spin_unlock(&slot_lock);
	return n;
}

uint64_t kstack_in_use(void)
{
	uint64_t n = 0;
	spin_lock(&slot_lock);
	for (int w = 0; w < WORDS; w++)
		for (uint64_t bits = in_use[w]; bits; bits &= bits - 1)
			n++;
	spin_unlock(&slot_lock);
	return n;
}

bool kstack_guard_hit(uint64_t va)
{
	if (va < KSTACK_BASE || va >= KSTACK_BASE + KSTACK_SLOTS * KSTACK_SLOT)
		return false;
	return (va - KSTACK_BASE) % KSTACK_SLOT < KSTACK_SLOT - KSTACK_SIZE;
}
