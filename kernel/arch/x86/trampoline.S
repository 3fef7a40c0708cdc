/*
 * Application-processor start-up code. smp.c copies it to a page below
 * 1 MiB, fills the parameter block at its end (trampoline.h) and sends the
 * start-up IPI whose vector is that page number; the AP starts here in
 * real mode with CS = page << 8, IP = 0 (Intel SDM Vol. 3A 8.4.4, MP Spec
 * B.4.2). It goes to protected mode, then long mode on the kernel's page
 * table, and calls the C entry on its own stack.
 *
 * The copy runs at an address chosen at run time, so nothing here refers
 * to its own labels absolutely: %ebx holds the copy's linear base, and the
 * absolute addresses the GDT pointer and the far jumps need are patched in
 * first. There is no stack until the kernel's.
 */
#include <arch/x86/layout.h>
#include <arch/x86/trampoline.h>

#define CR0_PE   (1 << 0)
#define CR0_MP   (1 << 1)
#define CR0_ET   (1 << 4)
#define CR0_NE   (1 << 5)
#define CR0_WP   (1 << 16)
#define CR0_PG   (1 << 31)
#define CR4_PAE  (1 << 5)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)
#define TRAMP_CODE32 0x18 /* in the trampoline's own GDT below */

#define REL(sym) ((sym) - smp_trampoline_start)

	.section .rodata
	.balign 16
	.globl smp_trampoline_start
	.code16
smp_trampoline_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	movzwl %ax, %ebx
	shll $4, %ebx
	leal REL(tramp_gdt)(%ebx), %eax
	movl %eax, REL(tramp_gdtr) + 2
	leal REL(tramp32)(%ebx), %eax
	movl %eax, REL(tramp_far32)
	leal REL(tramp64)(%ebx), %eax
	movl %eax, REL(tramp_far64)
	lgdtl REL(tramp_gdtr)
	/* Protected mode. Writing CR0 whole also clears CD and NW, which INIT
	 * leaves set (SDM Vol. 3A 9.1.1, Table 9-1). */
	movl $(CR0_PE | CR0_MP | CR0_ET | CR0_NE), %eax
	movl %eax, %cr0
	ljmpl *REL(tramp_far32)

	.code32
tramp32:
	load_kernel_data_segments
	/* IA-32e mode (SDM Vol. 3A 9.8.5): PAE, CR3, EFER.LME, then paging.
	 * NXE first, because the kernel's entries set bit 63. */
	movl $CR4_PAE, %eax
	movl %eax, %cr4
	movl REL(tramp_params + TRAMP_CR3)(%ebx), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $(EFER_LME | EFER_NXE), %eax
	wrmsr
	movl $(CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_MP | CR0_PE), %eax
	movl %eax, %cr0
	ljmpl *REL(tramp_far64)(%ebx)

	.code64
tramp64:
	movl %ebx, %ebx		/* the upper half is undefined after the switch */
	movq REL(tramp_params + TRAMP_STACK)(%rbx), %rsp
	movq REL(tramp_params + TRAMP_ENTRY)(%rbx), %rax
	xorl %ebp, %ebp		/* ends backtraces */
	call *%rax
1:	cli
	hlt
	jmp 1b

	/*
	 * Flat segments; selectors 0x08 and 0x10 match the kernel's (layout.h).
	 * The accessed bits are preset: the page is read-only once paging is
	 * on, and loading a descriptor without it is a write (SDM Vol. 3A 3.4.5.1).
	 */
	.balign 8
tramp_gdt:
	.quad 0
	.quad 0x00af9b000000ffff	/* GDT_KCODE: 64-bit code */
	.quad 0x00cf93000000ffff	/* GDT_KDATA */
	.quad 0x00cf9b000000ffff	/* TRAMP_CODE32: 32-bit code */
tramp_gdt_end:
	.balign 4
	.word 0
tramp_gdtr:
	.word tramp_gdt_end - tramp_gdt - 1
	.long 0			/* patched: linear address of tramp_gdt */
tramp_far32:
	.long 0			/* patched: linear address of tramp32 */
	.word TRAMP_CODE32
tramp_far64:
	.long 0			/* patched: linear address of tramp64 */
	.word GDT_KCODE

	.balign 8
	.globl smp_trampoline_params
smp_trampoline_params:
tramp_params:
	.skip TRAMP_PARAMS_SIZE
	.globl smp_trampoline_end
smp_trampoline_end:
