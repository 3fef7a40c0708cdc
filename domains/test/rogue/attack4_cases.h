/*
 * rogue's cases from the attack4 review of maple-hosted
 * (domains/test/rogue/attack4.c), numbers 200-219 of its run(case, target,
 * a2, a3) method (cases.h): Linux's vsyscall page, vector registers
 * carried into a domain (from the runtime, or across the gate in either
 * direction), what another domain's system call left on the signal
 * stack, segment registers a domain loads, 32-bit mode, and the alignment
 * check flag. Plain numbers, so hosted/tests_escape.c and tests_xcall.c
 * can include them.
 */
#ifndef DOMAINS_ROGUE_ATTACK4_CASES_H
#define DOMAINS_ROGUE_ATTACK4_CASES_H

/* The vsyscall page's gettimeofday (Linux's fixed ABI: VSYSCALL_ADDR). */
#define ROGUE_H_VSYSCALL_VA 0xffffffffff600000ULL
/* What the vector cases load and the scan looks for: the ASCII bytes
 * "S3CR3T!!" (little-endian), printable so SYS_LOG keeps them. */
#define ROGUE_H_SECRET	  0x2121543352433353ULL
#define ROGUE_H_USER32_CS 0x23 /* Linux x86-64's 32-bit user code segment */

enum rogue_attack4_case {
	ROGUE_H_FIRST = 200,
	/* Call the vsyscall page's gettimeofday into a buffer of rogue's
	 * own: what it returned (0 means Linux served it). */
	ROGUE_H_VSYSCALL = 200,
	/* The OR of every 64-bit word of the x87 registers and %xmm0-%xmm15
	 * (and of the x87 tags) as the method found them: nonzero is state
	 * someone else left. */
	ROGUE_H_VECTORS = 201,
	/* Load ROGUE_H_SECRET into %xmm0-%xmm15 and ST0, then call
	 * run(ROGUE_H_VECTORS) of the domain whose handle is target and
	 * return what it returned. */
	ROGUE_H_VECTORS_LEAVE = 202,
	/* Call run(a2) of the domain whose handle is target (a2 is
	 * ROGUE_H_VECTORS_SET or ROGUE_H_VECTORS_SET_FAIL), then return the
	 * OR of the vector registers as the gate handed them back (what
	 * ROGUE_H_VECTORS returns) if that call returned 0 or failed
	 * (-MAPLE_ECALLEE), else what it returned. */
	ROGUE_H_VECTORS_CALLBACK = 203,
	ROGUE_H_VECTORS_SET = 204, /* load ROGUE_H_SECRET into %xmm0-%xmm15 and ST0, return 0 */
	/* With ROGUE_H_SECRET in %rbx, %rbp and %r12-%r15, SYS_LOG a line
	 * that holds its bytes: what SYS_LOG returned. */
	ROGUE_H_LOG_SECRET = 205,
	/* Look for ROGUE_H_SECRET's 8 bytes at any offset in [target,
	 * target + a2): the first offset, or -1. */
	ROGUE_H_SCAN = 206,
	/* Load %fs with the selector in %ss (a user data segment: base 0,
	 * where the runtime's thread pointer was), then SYS_NULL: what it
	 * returned. */
	ROGUE_H_FS_SYSCALL = 207,
	/* Load %gs likewise (the gate finds its pages at %gs), then call
	 * run(ROGUE_H_VECTORS) of the domain whose handle is target. */
	ROGUE_H_GS_XCALL = 208,
	/* Call run(a2, a3) of the domain whose handle is target and return
	 * what that call returned. */
	ROGUE_H_CALL = 209,
	/* Far-jump into 32-bit compatibility mode (Linux's __USER32_CS) at
	 * address 0, where nothing is mapped: faults there. */
	ROGUE_H_COMPAT = 210,
	/* Set RFLAGS.AC (Linux runs user code with CR0.AM set, so misaligned
	 * accesses then fault), then SYS_LOG a line: what it returned. */
	ROGUE_H_AC_LOG = 211,
	/* Set RFLAGS.AC and return 0, through the gate's SYS_RETURN. */
	ROGUE_H_AC_RETURN = 212,
	/* Call target (a WRPKRU in the gate page) with %eax = a2 and %ecx =
	 * %edx = 0: rights of rogue's choosing when the gate's check after
	 * that WRPKRU runs. With a2 denying SHARED and GATE_RO, Linux before
	 * 6.12 cannot deliver the fault that follows (docs/platform.md, "What
	 * it cannot enforce"): a repro, not a test. */
	ROGUE_H_JUMP_PKRU = 213,
	/* Point %rsp at target (0: MAPLE_TRUSTED_VA, which rogue's rights
	 * deny) and take #UD: the fault's frame must not need rogue's stack. */
	ROGUE_H_UD2_ON_STACK = 214,
	/* Put target (an address below 4 GiB) in %rbp and run SYSENTER with
	 * %eax = 20 (i386 getpid): #UD on an AMD CPU; on an Intel one, Linux's
	 * 32-bit entry, which takes %ebp for the caller's stack, reads the
	 * sixth argument there and then makes a 32-bit system call at its
	 * vDSO landing pad. */
	ROGUE_H_SYSENTER = 215,
	/* Load ROGUE_H_SECRET into %xmm0-%xmm15 and ST0, then fail (ud2). */
	ROGUE_H_VECTORS_SET_FAIL = 216,
	ROGUE_H_END
};

/* rogue's own (domains/test/rogue/attack4.c): run() hands it these cases. */
long rogue_attack4_case(long number, unsigned long target, unsigned long a2, unsigned long a3);

/* Its pieces that frames.c (frames_cases.h) uses too: the first offset of
 * ROGUE_H_SECRET's 8 bytes in [p, p + len), or -1; a user data selector
 * into %gs (base 0); a call of addr with %eax = pkru and %ecx = %edx = 0. */
long rogue_scan(const volatile unsigned char *p, unsigned long len);
void rogue_load_gs(void);
long rogue_call_with_pkru(unsigned long addr, unsigned pkru);

#endif
