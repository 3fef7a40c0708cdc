/*
 * The kernel's first instructions, for both boot paths:
 *  - multiboot (SeaBIOS, QEMU -kernel): 32-bit protected mode, paging off,
 *    %eax = 0x2BADB002, %ebx = multiboot information (physical);
 *  - UEFI (efi-loader): 64-bit mode on the firmware's identity map, running
 *    at the image's physical address, %rdi = struct bootinfo (physical).
 * Both switch to boot page tables that identity-map the low 4 GiB, map the
 * same 4 GiB at DIRECT_MAP_BASE and map the kernel at KERNEL_VMA, then jump
 * to kmain(kind, arg, magic) in the higher half.
 */
#include <arch/x86/layout.h>

#define MB_HEADER_MAGIC 0x1BADB002
#define MB_PAGE_ALIGN   (1 << 0)  /* modules on page boundaries */
#define MB_MEMORY_INFO  (1 << 1)  /* want the memory map */
#define MB_AOUT_KLUDGE  (1 << 16) /* load addresses come from this header */
#define MB_FLAGS        (MB_PAGE_ALIGN | MB_MEMORY_INFO | MB_AOUT_KLUDGE)

#define CR0_PE   (1 << 0)
#define CR0_WP   (1 << 16)
#define CR0_PG   (1 << 31)
#define CR4_PAE  (1 << 5)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)
#define PTE_PW   0x3  /* present, writable */
#define PDE_2M   0x83 /* present, writable, 2 MiB page */

#define PHYS(sym) ((sym) - KERNEL_VMA)

/* Multiboot 1 header (Multiboot Specification 0.6.96, 3.1); the a.out-kludge
 * fields make QEMU load the flat file instead of parsing the ELF64. */
	.section .multiboot, "a"
	.balign 4
mb_header:
	.long MB_HEADER_MAGIC
	.long MB_FLAGS
	.long -(MB_HEADER_MAGIC + MB_FLAGS)
	.long PHYS(mb_header)
	.long PHYS(__kernel_start)
	.long PHYS(__load_end)
	.long PHYS(__kernel_end)
	.long PHYS(_start_multiboot)

	.section .boot.text, "ax"
	.code32
	.globl _start_multiboot
_start_multiboot:
	cli
	cld
	movl %eax, %edi
	movl %ebx, %esi
	movl $PHYS(boot_stack_top), %esp

	/* Long mode needs CPUID 0x80000001 EDX.LM (Intel SDM Vol. 3A 9.8.5). */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	btl $29, %edx
	jnc no_long_mode

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $PHYS(boot_pml4), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $(EFER_LME | EFER_NXE), %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE | CR0_WP), %eax
	movl %eax, %cr0
	lgdt PHYS(boot_gdt_ptr)
	ljmp $GDT_KCODE, $PHYS(multiboot64)

/* No way on without long mode: say so on COM1 and stop. */
no_long_mode:
	movl $PHYS(no_lm_msg), %esi
1:	lodsb
	testb %al, %al
	jz 3f
	movw $0x3fd, %dx	/* line status: wait for the transmitter */
2:	inb %dx, %al
	testb $0x20, %al
	jz 2b
	movb -1(%esi), %al
	movw $0x3f8, %dx
	outb %al, %dx
	jmp 1b
3:	hlt
	jmp 3b

	.code64
multiboot64:
	load_kernel_data_segments
	movl %edi, %edx		/* magic; 32-bit moves zero the upper halves */
	movl %esi, %esi		/* multiboot information */
	movl $BOOT_MULTIBOOT, %edi
	movabsq $start64_high, %rax
	jmp *%rax

/* UEFI entry: runs at its physical address, so only RIP-relative references. */
	.globl _start_uefi
_start_uefi:
	cli
	cld
	movq %rdi, %rsi
	leaq boot_stack_top(%rip), %rsp
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_NXE, %eax
	wrmsr
	leaq boot_pml4(%rip), %rax
	movq %rax, %cr3
	lgdt boot_gdt_ptr(%rip)
	pushq $GDT_KCODE
	leaq 1f(%rip), %rax
	pushq %rax
	lretq
1:	load_kernel_data_segments
	movl $BOOT_UEFI, %edi
	xorl %edx, %edx
	movabsq $start64_high, %rax
	jmp *%rax

	.text
start64_high:
	movabsq $boot_stack_top, %rsp
	xorl %ebp, %ebp		/* ends backtraces */
	call kmain
1:	cli
	hlt
	jmp 1b

	.section .rodata
no_lm_msg:
	.asciz "maple: this CPU has no 64-bit long mode; cannot boot\r\n"

/*
 * Boot page tables, static so that both entry paths just load CR3.
 * PML4[0] and PML4[256] share the identity map of the low 4 GiB in 2 MiB
 * pages; PML4[511] maps the kernel's -2 GiB window to physical 0.
 */
	.section .data
	.balign 4096
	.globl boot_pml4
boot_pml4:
	.quad PHYS(boot_pdpt_low) + PTE_PW
	.fill 255, 8, 0
	.quad PHYS(boot_pdpt_low) + PTE_PW
	.fill 254, 8, 0
	.quad PHYS(boot_pdpt_high) + PTE_PW
boot_pdpt_low:
	.quad PHYS(boot_pd) + 0x0000 + PTE_PW
	.quad PHYS(boot_pd) + 0x1000 + PTE_PW
	.quad PHYS(boot_pd) + 0x2000 + PTE_PW
	.quad PHYS(boot_pd) + 0x3000 + PTE_PW
	.fill 508, 8, 0
boot_pdpt_high:
	.fill 510, 8, 0
	.quad PHYS(boot_pd) + 0x0000 + PTE_PW
	.quad PHYS(boot_pd) + 0x1000 + PTE_PW
boot_pd:
	.set page, 0
	.rept 2048
	.quad (page << 21) + PDE_2M
	.set page, page + 1
	.endr

	.balign 16
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* GDT_KCODE: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff	/* GDT_KDATA */
boot_gdt_end:
	.globl boot_gdt_ptr
boot_gdt_ptr:
	.word boot_gdt_end - boot_gdt - 1
	.quad PHYS(boot_gdt)

	.section .bss
	.balign 4096
	.globl boot_stack, boot_stack_top
boot_stack:
	.skip BOOT_STACK_SIZE
boot_stack_top:
