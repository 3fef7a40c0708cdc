/*
 * x86-64 4-level page-table entries (Intel SDM Vol. 3A 4.5, tables 4-14 to
 * 4-20), as explicit masks. The protection key of a leaf entry is bits
 * 62:59 (SDM 4.6.2).
 */
#ifndef ARCH_PC_PTE_H
#define ARCH_PC_PTE_H

#include <stdint.h>

#define PTE_P	       (1ULL << 0)
#define PTE_W	       (1ULL << 1)
#define PTE_U	       (1ULL << 2)
#define PTE_PWT	       (1ULL << 3)
#define PTE_PCD	       (1ULL << 4)
#define PTE_A	       (1ULL << 5)
#define PTE_D	       (1ULL << 6)
#define PTE_PS	       (1ULL << 7) /* 2 MiB / 1 GiB leaf in a PD / PDPT */
#define PTE_G	       (1ULL << 8)
#define PTE_PKEY_SHIFT 59
#define PTE_PKEY_MASK  (0xfULL << PTE_PKEY_SHIFT)
#define PTE_NX	       (1ULL << 63)
#define PTE_ADDR_MASK  0x000ffffffffff000ULL

#define PT_ENTRIES 512
#define PAGE_SIZE  4096ULL
#define PAGE_2M	   (2ULL << 20)

/* The protection-key field of a leaf entry holding key `pkey` (SDM 4.6.2). */
static inline uint64_t pte_key(int pkey)
{
	return (uint64_t)pkey << PTE_PKEY_SHIFT;
}

/* Index of va in the table at `level` (4 = PML4 ... 1 = PT). */
static inline unsigned pt_index(uint64_t va, int level)
{
	return (unsigned)(va >> (12 + 9 * (level - 1))) & (PT_ENTRIES - 1);
}

#endif
