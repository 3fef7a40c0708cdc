/*
 * The kernel page table: one PML4 for the whole system (DESIGN.md §3).
 * paging_init replaces the boot tables with:
 *   - a direct map of physical memory in 2 MiB pages, RW and NX;
 *   - the kernel image in 4 KiB pages with per-section rights, so that no
 *     mapping is both writable and executable;
 *   - an MMIO window filled on demand with uncached 4 KiB pages.
 * The low identity map of the boot tables is gone afterwards.
 */
#include <arch/x86/cpu.h>
#include <arch/x86/pte.h>
#include <core/boot.h>
#include <core/log.h>
#include <core/panic.h>
#include <core/spinlock.h>
#include <lib/string.h>
#include <mm/frame.h>
#include <mm/vm.h>

extern const char __kernel_start[], __text_end[], __rodata_end[], __data_end[], __load_end[],
	__kernel_end[];

static uint64_t *pml4;
static uint64_t pml4_phys;
static uint64_t mmio_next = MMIO_BASE;
static struct spinlock vm_lock = SPINLOCK_INIT("vm");

static uint64_t *table_at(uint64_t entry)
{
	return phys_to_virt(entry & PTE_ADDR_MASK);
}

/* A zeroed table, or 0. Tables for a domain's pages keep out of the kernel
 * reserve (mm/frame.h), like the pages themselves. */
static uint64_t alloc_table(bool domain)
{
	uint64_t pa = domain ? frame_alloc_domain() : frame_alloc();
	if (pa)
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}

/*
 * The entry for va at `level` (2 for a 2 MiB leaf, 1 for 4 KiB), creating
 * intermediate tables on the way; *made grows by their number.
 * Intermediate entries are permissive (P|W|U); the leaf alone decides the
 * rights (SDM 4.6). Lock held.
 *
 * All or nothing: the missing tables are all allocated before the first is
 * linked in, so a walk that fails (VM_ENOMEM in *err: no frame; VM_EMAPPED:
 * a large page covers va) changes nothing. A table that was never linked
 * was never seen by any CPU's paging-structure cache, so freeing it needs
 * no TLB shootdown, which callers holding spinlocks could not wait for.
 */
static uint64_t *walk_create(uint64_t va, int level, bool domain, uint64_t *made, int *err)
{
	uint64_t *table = pml4, fresh[3];
	int l = 4;
	for (; l > level; l--) {
		uint64_t e = table[pt_index(va, l)];
		if (!(e & PTE_P))
			break;
		if (e & PTE_PS) {
			*err = VM_EMAPPED;
			return NULL;
		}
		table = table_at(e);
	}
	unsigned need = (unsigned)(l - level);
	for (unsigned i = 0; i < need; i++) {
		fresh[i] = alloc_table(domain);
		if (!fresh[i]) {
			while (i-- > 0)
				frame_free(fresh[i], 1);
			*err = VM_ENOMEM;
			return NULL;
		}
	}
	for (unsigned i = 0; l > level; l--, i++) {
		uint64_t *e = &table[pt_index(va, l)];
		*e = fresh[i] | PTE_P | PTE_W | PTE_U;
		table = table_at(*e);
	}
	*made += need;
	return &table[pt_index(va, level)];
}

/* The leaf entry for va, or NULL; *level says whether it is 4K, 2M or 1G. */
static uint64_t *walk_find(uint64_t va, int *level)
{
	uint64_t *table = pml4;
	for (int l = 4; l >= 1; l--) {
		uint64_t *e = &table[pt_index(va, l)];
		if (!(*e & PTE_P))
			return NULL;
		if (l == 1 || (*e & PTE_PS)) {
			*level = l;
			return e;
		}
		table = table_at(*e);
	}
	return NULL;
}

/* Boot only: the kernel cannot run without its own page table. */
static uint64_t *walk_create_boot(uint64_t va, int level)
{
	uint64_t made = 0;
	int err;
	uint64_t *e = walk_create(va, level, false, &made, &err);
	if (!e)
		panic("paging: cannot map the kernel at %#lx (boot: %s)", va,
		      err == VM_ENOMEM ? "no memory for a table" : "a large page is there");
	return e;
}

static void map_kernel_section(const char *start, const char *end, uint64_t flags)
{
	uint64_t va = (uint64_t)start;
	for (uint64_t off = 0; off < (uint64_t)end - va; off += PAGE_SIZE)
		*walk_create_boot(va + off, 1) =
			((va - KERNEL_VMA + off) & PTE_ADDR_MASK) | flags | PTE_G | PTE_P;
}

/* End of RAM (and ACPI/loader/kernel ranges inside it); reserved ranges
 * beyond it are device memory, reached through mmio_map instead. */
static uint64_t highest_phys(void)
{
	uint64_t top = 0;
	for (uint32_t i = 0; i < boot_info.mem_count; i++) {
		const struct bootinfo_mem *m = &boot_info.mem[i];
		if (m->type == BOOTINFO_MEM_RESERVED || m->type == BOOTINFO_MEM_BAD)
			continue;
		if (m->base + m->length > top)
			top = m->base + m->length;
	}
	return (top + PAGE_2M - 1) & ~(PAGE_2M - 1);
}

void paging_init(void)
{
	pml4_phys = alloc_table(false);
	if (!pml4_phys)
		panic("paging: no memory for the kernel's PML4 (boot)");
	pml4 = phys_to_virt(pml4_phys);

	uint64_t top = highest_phys();
	for (uint64_t pa = 0; pa < top; pa += PAGE_2M)
		*walk_create_boot(DIRECT_MAP_BASE + pa, 2) =
			pa | PTE_P | PTE_W | PTE_PS | PTE_G | PTE_NX;

	map_kernel_section(__kernel_start, __text_end, 0);
	map_kernel_section(__text_end, __rodata_end, PTE_NX);
	map_kernel_section(__rodata_end, __data_end, PTE_W | PTE_NX);
	map_kernel_section(__data_end, __load_end, PTE_NX);
	map_kernel_section(__load_end, __kernel_end, PTE_W | PTE_NX);

	paging_load();
	klog("paging: direct map of %lu MiB, kernel text %lu KiB RX, data %lu KiB NX", top >> 20,
	     (uint64_t)(__text_end - __kernel_start) >> 10,
	     (uint64_t)(__kernel_end - __text_end) >> 10);
}

void paging_load(void)
{
	/* WP makes read-only pages binding on the kernel too; PGE keeps
	 * global kernel entries across CR3 loads (SDM 4.10.2.4). */
	write_cr0(read_cr0() | CR0_WP);
	write_cr4(read_cr4() | CR4_PGE);
	write_cr3(pml4_phys);
}

uint64_t paging_root_phys(void)
{
	return pml4_phys;
}

uint64_t virt_to_phys(const void *p)
{
	uint64_t va = (uint64_t)p;
	if (va >= KERNEL_VMA)
		return va - KERNEL_VMA;
	if (va >= DIRECT_MAP_BASE && va < MMIO_BASE)
		return va - DIRECT_MAP_BASE;
	int level;
	spin_lock(&vm_lock);
	uint64_t *e = walk_find(va, &level);
	uint64_t pa = 0;
	if (e) {
		uint64_t span = 1ULL << (12 + 9 * (level - 1));
		pa = (*e & PTE_ADDR_MASK & ~(span - 1)) | (va & (span - 1));
	}
	spin_unlock(&vm_lock);
	return pa;
}

/*
 * Map one leaf (level 1: 4 KiB, level 2: 2 MiB) with the entry `leaf`.
 * *tables, if given, grows by the tables made.
 */
static int map_leaf(uint64_t va, int level, uint64_t leaf, bool domain, uint64_t *tables)
{
	uint64_t made = 0;
	int ret = VM_EMAPPED;
	spin_lock(&vm_lock);
	uint64_t *e = walk_create(va, level, domain, &made, &ret);
	if (e && !(*e & PTE_P)) {
		*e = leaf;
		ret = 0;
	}
	spin_unlock(&vm_lock);
	if (tables) /* a present leaf had its whole path already: made is 0 */
		*tables += made;
	return ret;
}

void *mmio_map(uint64_t phys, uint64_t size)
{
	uint64_t first = phys & ~(PAGE_SIZE - 1);
	uint64_t len = (phys + size - first + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	spin_lock(&vm_lock);
	if (!size || len > MMIO_BASE + MMIO_SIZE - mmio_next) {
		spin_unlock(&vm_lock);
		return NULL;
	}
	uint64_t va = mmio_next;
	mmio_next += len;
	spin_unlock(&vm_lock);
	for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
		uint64_t leaf = ((first + off) & PTE_ADDR_MASK) | PTE_W | PTE_PCD | PTE_PWT |
				PTE_G | PTE_NX | PTE_P;
		if (map_leaf(va + off, 1, leaf, false, NULL) < 0) {
			/* The window's addresses are not handed out again:
			 * only the pages go; their (kernel) tables stay. */
			for (uint64_t undo = 0; undo < off; undo += PAGE_SIZE)
				vm_unmap_page(va + undo);
			return NULL;
		}
	}
	return (void *)(va + (phys - first));
}

int vm_map_page(uint64_t va, uint64_t pa, uint64_t flags)
{
	return map_leaf(va, 1, (pa & PTE_ADDR_MASK) | flags | PTE_P, false, NULL);
}

int vm_map_domain_page(uint64_t va, uint64_t pa, uint64_t flags, uint64_t *tables)
{
	return map_leaf(va, 1, (pa & PTE_ADDR_MASK) | flags | PTE_P, true, tables);
}

int vm_map_user_2m(uint64_t va, uint64_t pa, uint64_t flags, uint64_t *tables)
{
	if ((va | pa) & (PAGE_2M - 1))
		return VM_EMAPPED;
	return map_leaf(va, 2, (pa & PTE_ADDR_MASK) | flags | PTE_P | PTE_PS, true, tables);
}

void vm_unmap_page(uint64_t va)
{
	int level;
	spin_lock(&vm_lock);
	uint64_t *e = walk_find(va, &level);
	if (e && level == 1) {
		*e = 0;
		invlpg(va);
	}
	spin_unlock(&vm_lock);
}

/* The 4 KiB entry for va whether present or not, or NULL. Lock held. */
static uint64_t *walk_pte(uint64_t va)
{
	uint64_t *table = pml4;
	for (int l = 4; l > 1; l--) {
		uint64_t e = table[pt_index(va, l)];
		if (!(e & PTE_P) || (e & PTE_PS))
			return NULL;
		table = table_at(e);
	}
	return &table[pt_index(va, 1)];
}

static bool table_empty(const uint64_t *table)
{
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		if (table[i])
			return false;
	return true;
}

/* Free the tables below `table` (level `level`, mapping from `base`) that
 * [lo, hi) left empty, appending their frames to out. */
static void prune(uint64_t *table, int level, uint64_t base, uint64_t lo, uint64_t hi,
		  uint64_t *out, uint64_t *n)
{
	uint64_t span = 1ULL << (12 + 9 * (level - 1));
	for (uint64_t i = (lo - base) / span; i <= (hi - 1 - base) / span; i++) {
		uint64_t e = table[i];
		if (level == 1 || !(e & PTE_P) || (e & PTE_PS))
			continue;
		uint64_t child_base = base + i * span;
		uint64_t clo = lo > child_base ? lo : child_base;
		uint64_t chi = hi < child_base + span ? hi : child_base + span;
		prune(table_at(e), level - 1, child_base, clo, chi, out, n);
		if (table_empty(table_at(e))) {
			out[(*n)++] = e & PTE_ADDR_MASK;
			table[i] = 0;
		}
	}
}

uint64_t vm_unmap_user_range(uint64_t va, uint64_t pages, uint64_t *out, uint64_t *leaves)
{
	uint64_t n = 0;
	*leaves = 0;
	if (!pages || va + pages * PAGE_SIZE > DIRECT_MAP_BASE / 2)
		return 0; /* user half only: kernel tables are never pruned */
	spin_lock(&vm_lock);
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t here = va + i * PAGE_SIZE;
		int level;
		uint64_t *e = walk_find(here, &level);
		if (e && level == 2 && !(here & (PAGE_2M - 1))) {
			/* A 2 MiB page starting in the range goes whole (callers
			 * unmap device regions whole, perhaps in pieces); device
			 * memory: its frames are not ours to hand back. */
			*e = 0;
			invlpg(here);
			i += PAGE_2M / PAGE_SIZE - 1;
			continue;
		}
		e = walk_pte(here);
		if (e && (*e & PTE_ADDR_MASK)) {
			out[n++] = *e & PTE_ADDR_MASK;
			*e = 0;
			invlpg(here);
		}
	}
	*leaves = n;
	prune(pml4, 4, 0, va, va + pages * PAGE_SIZE, out, &n);
	spin_unlock(&vm_lock);
	return n;
}

uint64_t vm_leaf_flags(uint64_t va)
{
	int level;
	spin_lock(&vm_lock);
	uint64_t *e = walk_find(va, &level);
	uint64_t flags = e ? *e & ~PTE_ADDR_MASK : 0;
	spin_unlock(&vm_lock);
	return flags;
}

uint64_t vm_leaf_phys(uint64_t va)
{
	int level;
	spin_lock(&vm_lock);
	uint64_t *e = walk_find(va, &level);
	/* A level-l leaf maps 4 KiB << 9 * (l - 1): the low bits are va's. */
	uint64_t span = PAGE_SIZE << (9 * (e ? level - 1 : 0));
	uint64_t pa = e ? (*e & PTE_ADDR_MASK & ~(span - 1)) | (va & (span - 1)) : 0;
	spin_unlock(&vm_lock);
	return pa;
}

/* Effective rights combine every level: writable needs W at each level,
 * executable needs NX clear at each level (SDM 4.6.1). */
static uint64_t count_wx(const uint64_t *table, int level, uint64_t va, bool w, bool x,
			 uint64_t *first)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		uint64_t e = table[i];
		if (!(e & PTE_P))
			continue;
		uint64_t span = 1ULL << (12 + 9 * (level - 1));
		uint64_t here = va + i * span;
		if (level == 4 && i >= 256)
			here |= 0xffff000000000000ULL; /* sign-extend the upper half */
		bool ew = w && (e & PTE_W), ex = x && !(e & PTE_NX);
		if (level > 1 && !(e & PTE_PS)) {
			n += count_wx(table_at(e), level - 1, here, ew, ex, first);
		} else if (ew && ex) {
			if (!*first) /* the walk goes in address order */
				*first = here;
			n += span / PAGE_SIZE;
		}
	}
	return n;
}

uint64_t paging_count_wx(uint64_t *first)
{
	*first = 0;
	spin_lock(&vm_lock);
	uint64_t n = count_wx(pml4, 4, 0, true, true, first);
	spin_unlock(&vm_lock);
	return n;
}
