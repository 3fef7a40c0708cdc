/*
 * The kernel's virtual address layout and the fixed segment selectors;
 * shared by C and assembly. One page table maps everything (DESIGN.md §3):
 *
 *   0x0000000000000000 - 0x00007fffffffffff  domains (user pages, later)
 *   0xffff800000000000 - ...                  direct map of physical memory
 *   0xffffc00000000000 - ...                  MMIO window (uncached)
 *   0xffffe00000000000 - ...                  kernel thread stacks, guard-page separated
 *   0xffffffff80000000 + phys                  kernel image (top 2 GiB)
 */
#ifndef ARCH_PC_LAYOUT_H
#define ARCH_PC_LAYOUT_H

#ifdef __ASSEMBLY__
#define UL(x) x
#else
#define UL(x) x##UL
#endif

#define KERNEL_VMA	UL(0xffffffff80000000)
#define KERNEL_PHYS	UL(0x100000)
#define DIRECT_MAP_BASE UL(0xffff800000000000)
#define MMIO_BASE	UL(0xffffc00000000000)
#define MMIO_SIZE	UL(0x0000004000000000) /* 256 GiB of window */
#define KSTACK_BASE	UL(0xffffe00000000000)
#define KSTACK_SLOT	UL(0x8000) /* 32 KiB of address space per stack */
#define KSTACK_SIZE	UL(0x4000) /* 16 KiB mapped; the rest of the slot is guard */
#define KSTACK_SLOTS	4096

/* GDT selectors; the order is fixed by SYSCALL/SYSRET (Intel SDM Vol. 2B, SYSRET). */
#define GDT_KCODE 0x08
#define GDT_KDATA 0x10
#define GDT_UDATA 0x1b /* 0x18 | RPL 3 */
#define GDT_UCODE 0x23 /* 0x20 | RPL 3 */
#define GDT_TSS	  0x28 /* 16-byte system descriptor */

#ifdef __ASSEMBLY__
/* After the far jump into a code segment of the kernel's GDT (the BSP's
 * entries, the APs' trampoline): DS, ES and SS take the kernel's flat data
 * selector, FS and GS the null one (in long mode their bases do not count;
 * GS's is set later through its MSR, Intel SDM Vol. 3A 3.4.4). Clobbers
 * EAX. Assembly, so clang-format leaves it alone. */
/* clang-format off */
.macro load_kernel_data_segments
	movw $GDT_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorl %eax, %eax
	movw %ax, %fs
	movw %ax, %gs
.endm
/* clang-format on */
#endif

/* How kmain was entered. */
#define BOOT_UEFI      1
#define BOOT_MULTIBOOT 2

#define BOOT_STACK_SIZE 16384

#endif
