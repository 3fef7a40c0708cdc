/*
 * rogue's interface, for the isolation tests: one method,
 *
 *     long run(long case_number, long target)
 *
 * which does bad thing `case_number` to `target`. A case that should fault
 * and does not comes back with ROGUE_NOT_CONTAINED; the two SYS_LOG cases
 * return what the syscall returned (the kernel should say -MAPLE_EFAULT).
 * An unknown case, or a case that needs a target given 0, returns
 * -MAPLE_EINVAL. Plain numbers, so kernel tests can include it too; the
 * method's number is generated from domains/idl/rogue.idl.
 */
#ifndef DOMAINS_ROGUE_CASES_H
#define DOMAINS_ROGUE_CASES_H

#include <idl/rogue_methods.h> /* Rogue_run_METHOD, from domains/idl/rogue.idl */

#define ROGUE_NOT_CONTAINED 0x600d
#define ROGUE_SCRIBBLE	    0xbadbadbadbadbad0ULL /* what the write cases store */
/* Where the kernel cases aim when target is 0: the kernel image's first page. */
#define ROGUE_KERNEL_VA 0xffffffff80100000ULL

#define ROGUE_LINUX_EXIT_GROUP 231 /* x86-64 Linux's exit_group */
#define ROGUE_EXIT_CODE	       77

enum rogue_case {
	ROGUE_READ_KERNEL = 0,	 /* load 8 bytes at target (0: ROGUE_KERNEL_VA) */
	ROGUE_WRITE_KERNEL = 1,	 /* store 8 bytes at target (0: ROGUE_KERNEL_VA) */
	ROGUE_READ_DOMAIN = 2,	 /* load 8 bytes at target, another domain's memory */
	ROGUE_WRITE_DOMAIN = 3,	 /* store 8 bytes at target, another domain's memory */
	ROGUE_WRITE_TRUSTED = 4, /* store 8 bytes at target (0: MAPLE_TRUSTED_VA) */
	/* Call target, an address inside the gate past its checks, with
	 * %eax = %ecx = %edx = 0: a WRPKRU reached there would grant every key. */
	ROGUE_JUMP_GATE = 5,
	ROGUE_NULL_DEREF = 6,	 /* load 8 bytes at address 0 */
	ROGUE_DIV_ZERO = 7,	 /* integer division by a volatile zero (#DE) */
	ROGUE_UD2 = 8,		 /* an undefined instruction (#UD) */
	ROGUE_RECURSE = 9,	 /* unbounded recursion, 256-byte frames: overflows the stack */
	ROGUE_SPIN = 10,	 /* an endless loop without syscalls */
	ROGUE_LOG_KERNEL = 11,	 /* SYS_LOG of 16 bytes at target (0: ROGUE_KERNEL_VA) */
	ROGUE_LOG_DOMAIN = 12,	 /* SYS_LOG of 16 bytes at target, another domain's memory */
	ROGUE_READ_TRUSTED = 13, /* load 8 bytes at target (0: MAPLE_TRUSTED_VA) */
	ROGUE_VECTOR = 14,	 /* an SSE instruction: vector state is off (#UD) */
	ROGUE_SGDT = 15,	 /* SGDT: where the kernel's GDT is (UMIP: #GP) */
	/* A raw Linux exit_group(ROGUE_EXIT_CODE): on the linux platform it must
	 * not reach Linux (the host process would exit with that code); it is
	 * Maple syscall 231, which does not exist: -MAPLE_ENOSYS on both. */
	ROGUE_RAW_SYSCALL = 16,
	ROGUE_INT80 = 17, /* int $0x80, a 32-bit system call: fails the domain */
	/* 20-39: attacks on the gate, gate_cases.h (run(case, target, a2, a3));
	 * 120-139: PCI functions and DMA memory, pci_cases.h; 140-151:
	 * attack_cases.h; 160-169: attack3_cases.h; 180-189: escape_cases.h
	 * (maple-hosted's trusted entry); 190-199: gadget_cases.h (its PKRU
	 * writes); 200-219: attack4_cases.h (the attack4 review of
	 * maple-hosted); 220-239: attack5_cases.h; 240-259: frames_cases.h
	 * (maple-hosted's signal frames); 320-339: tiles_cases.h (AMX's tile
	 * configuration across the gate); 340-359: threads_cases.h
	 * (maple-hosted's handler entries with domain threads at once);
	 * 370-389, 440-449, 450-459 and 460-469: blocks_cases.h (a BlockDevice shadow's checks);
	 * 420-439: wide_cases.h (AVX-512 state across the gate); 480:
	 * image_cases.h (the rights of rogue's own image pages); 481-489:
	 * flags_cases.h (RFLAGS.AC across the gate) */
	ROGUE_CASES
};

/*
 * Authority (docs/isolation.md, "Authority"), cases 40-59, in
 * domains/test/rogue/auth.c. Each returns the syscall's result unchanged: the
 * kernel should refuse every one with -MAPLE_EPERM and leave rogue running.
 */
enum rogue_auth_case {
	ROGUE_AUTH_FIRST = 40,
	ROGUE_DESTROY = ROGUE_AUTH_FIRST, /* SYS_DOMAIN_DESTROY(target) (0: the domain "victim") */
	ROGUE_CREATE_MEMBDEV = 41,	  /* SYS_DOMAIN_CREATE("membdev"): only its shadow may */
	ROGUE_MAP_RAMDISK = 42,		  /* SYS_DEVICE_MAP("ramdisk0"): granted to membdev only */
	ROGUE_AUTH_END
};

#endif
