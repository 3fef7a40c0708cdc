/*
 * Per-CPU GDT and TSS, and the one call that puts a CPU's tables in place.
 * Each CPU needs its own TSS (it holds that CPU's interrupt stacks, and `ltr`
 * marks the descriptor busy), hence its own GDT. Everything is static: the
 * boot CPU sets up its tables before the heap exists.
 */
#include <arch/x86/cpu_features.h>
#include <arch/x86/gdt.h>
#include <arch/x86/layout.h>
#include <lib/string.h>

/* Segment descriptor fields (Intel SDM Vol. 3A 3.4.5, Figure 3-8). */
#define DESC_LIMIT_LO_MASK  0xffffUL
#define DESC_BASE_LO_SHIFT  16 /* base 23:0 at bits 39:16 */
#define DESC_BASE_LO_MASK   0xffffffUL
#define DESC_TYPE_SHIFT	    40
#define DESC_S		    (1UL << 44) /* code or data, not a system descriptor */
#define DESC_DPL_SHIFT	    45
#define DESC_P		    (1UL << 47)
#define DESC_LIMIT_HI_SHIFT 48 /* limit 19:16 */
#define DESC_LIMIT_HI_MASK  0xfUL
#define DESC_L		    (1UL << 53) /* 64-bit code (SDM 5.2.1) */
#define DESC_DB		    (1UL << 54)
#define DESC_G		    (1UL << 55) /* limit in 4 KiB units */
#define DESC_BASE_HI_SHIFT  56		/* base 31:24 */

/* Type field values (SDM 3.4.5.1, Table 3-1; system types: 3.5, Table 3-2). */
#define TYPE_DATA_RW   0x2
#define TYPE_CODE_XR   0xa
#define TYPE_TSS_AVAIL 0x9 /* 64-bit TSS, not busy */

/* A flat code or data descriptor: base 0, limit 0xfffff pages. Base and
 * limit are ignored in 64-bit mode (SDM 3.2.4) but are kept conventional. */
#define FLAT_DESC(type, dpl, flags)                                                                \
	(DESC_LIMIT_LO_MASK | ((uint64_t)(type) << DESC_TYPE_SHIFT) | DESC_S |                     \
	 ((uint64_t)(dpl) << DESC_DPL_SHIFT) | DESC_P |                                            \
	 (DESC_LIMIT_HI_MASK << DESC_LIMIT_HI_SHIFT) | DESC_G | (flags))

#define DESC_KCODE FLAT_DESC(TYPE_CODE_XR, 0, DESC_L)
#define DESC_KDATA FLAT_DESC(TYPE_DATA_RW, 0, DESC_DB)
#define DESC_UDATA FLAT_DESC(TYPE_DATA_RW, 3, DESC_DB)
#define DESC_UCODE FLAT_DESC(TYPE_CODE_XR, 3, DESC_L)
/* The kernel entries must match the boot GDT in boot.S. */
_Static_assert(DESC_KCODE == 0x00af9a000000ffffUL, "kernel code descriptor");
_Static_assert(DESC_KDATA == 0x00cf92000000ffffUL, "kernel data descriptor");

/* SYSRET takes user SS from STAR[63:48] + 8 and user CS from + 16 (SDM Vol. 2B, SYSRET). */
_Static_assert((GDT_UDATA & ~3) == (GDT_KDATA & ~3) + 8, "user data follows kernel data");
_Static_assert((GDT_UCODE & ~3) == (GDT_UDATA & ~3) + 8, "user code follows user data");
_Static_assert(GDT_TSS / 8 + 1 < GDT_ENTRIES, "the TSS takes two GDT slots");

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));
_Static_assert(sizeof(struct desc_ptr) == 10, "lgdt operand");

static struct cpu_tables tables[MAX_CPUS];
static uint8_t ist_stacks[MAX_CPUS][IST_USED][IST_STACK_SIZE] __attribute__((aligned(4096)));

/* 64-bit TSS descriptor: 16 bytes, two GDT slots (SDM 7.2.3, Figure 7-4). */
static void set_tss_desc(uint64_t *slot, const struct tss *tss)
{
	uint64_t base = (uint64_t)tss, limit = sizeof *tss - 1;
	slot[0] = (limit & DESC_LIMIT_LO_MASK) |
		  ((base & DESC_BASE_LO_MASK) << DESC_BASE_LO_SHIFT) |
		  ((uint64_t)TYPE_TSS_AVAIL << DESC_TYPE_SHIFT) | DESC_P |
		  (((limit >> 16) & DESC_LIMIT_HI_MASK) << DESC_LIMIT_HI_SHIFT) |
		  (((base >> 24) & 0xff) << DESC_BASE_HI_SHIFT);
	slot[1] = base >> 32; /* base 63:32; the rest must be zero */
}

static void load_gdt(const struct cpu_tables *t)
{
	struct desc_ptr p = {.limit = sizeof t->gdt - 1, .base = (uint64_t)t->gdt};
	__asm__ volatile("lgdt %0" : : "m"(p) : "memory");
	/* A far return reloads CS: a far jump to an immediate selector:offset is
	 * invalid in 64-bit mode (SDM Vol. 2A, JMP). FS and GS stay as they are:
	 * loading a null selector would clear the GS base on Intel CPUs, and GS
	 * points at struct cpu. */
	__asm__ volatile("pushq %[cs]\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %[ds], %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss"
			 :
			 : [cs] "i"(GDT_KCODE), [ds] "i"(GDT_KDATA)
			 : "rax", "memory");
	/* ltr marks the descriptor busy (SDM 7.2.4). */
	__asm__ volatile("ltr %w0" : : "r"((uint16_t)GDT_TSS) : "memory");
}

void cpu_tables_init(struct cpu *c)
{
	struct cpu_tables *t = &tables[c->id];
	memset(t, 0, sizeof *t);
	t->cpu_id = c->id;

	t->gdt[GDT_KCODE / 8] = DESC_KCODE;
	t->gdt[GDT_KDATA / 8] = DESC_KDATA;
	t->gdt[GDT_UDATA / 8] = DESC_UDATA;
	t->gdt[GDT_UCODE / 8] = DESC_UCODE;
	set_tss_desc(&t->gdt[GDT_TSS / 8], &t->tss);

	/* Stacks grow down: each IST entry holds the top (SDM 6.14.5). */
	for (int i = 0; i < IST_USED; i++)
		t->tss.ist[i] = (uint64_t)&ist_stacks[c->id][i][IST_STACK_SIZE];
	/* An I/O bitmap offset past the limit: ring 3 gets no ports (SDM Vol. 1,
	 * "I/O Permission Bit Map"). */
	t->tss.iomap_base = sizeof t->tss;

	c->arch = t;
	load_gdt(t);
	idt_load();
	cpu_features_init(c);
}

void tss_set_rsp0(uint64_t rsp)
{
	struct cpu_tables *t = this_cpu()->arch;
	t->tss.rsp[0] = rsp;
}
