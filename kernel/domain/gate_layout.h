/*
 * The memory the cross-domain gate works on, shared by the gate's assembly
 * (domain/arch/x86/gate.S) and the kernel. It all lives in user pages so the gate
 * needs no kernel entry, protected by keys (maple/abi.h):
 *
 *   MAPLE_GATE_VA             gate code                          GATE_RO (read by all)
 *   GATE_DOMTAB_VA            domain table: state, PKRU, methods  TRUSTED
 *   GATE_THREADS_VA + slot*GATE_THREAD_SLOT, per thread:
 *     +GATE_SLOT_RO_OFF       GATE_RO page: what the gate compares after
 *                             WRPKRU, where its stack and TRUSTED pages are
 *     +GATE_SLOT_STACK_OFF    gate stack (TRUSTED), an unmapped guard below
 *     +GATE_SLOT_TRUSTED_OFF  TRUSTED pages: per-domain entry stack
 *                             pointers and the continuation stack, then
 *                             unmapped to the end of the slot
 *   RREF_TABLE_VA             RRef header table (maple/rref_abi.h)    TRUSTED
 *
 * A thread's user GS base points at its GATE_RO page. Domains cannot move
 * it: CR4.FSGSBASE stays off, and loading %gs from ring 3 sets the base to
 * 0, where nothing is mapped.
 *
 * The C structs below are the one description of these layouts: the
 * assembly's offsets (GD_*, GT_*, GTT_*, CONT_*) are generated from them
 * by kernel/domain/gate_asm_offsets.c into out/gen/kernel/gate_asm.h, and C
 * code uses the structs (or the offsetof macros at the end). The static
 * asserts hold every fixed value the assembly or the address plan relies on.
 */
#ifndef CORE_GATE_LAYOUT_H
#define CORE_GATE_LAYOUT_H

#include <maple/abi.h>
#include <maple/rref_abi.h>

#define GATE_MAX_DOMAINS 64 /* domain ids 1..63; 0 is "the kernel" */
#define GATE_MAX_METHODS 32
#define GATE_MAX_DEPTH	 48 /* nested calls per thread */
/*
 * Threads that can hold gate pages at once (every kernel or domain thread
 * that ever enters a domain). 256: each costs a kernel stack, its gate
 * pages and a 64 KiB stack in each domain it enters (about 100 KiB for a
 * domain thread), so the maximum fits a 512 MiB machine with room to
 * spare, and the test that runs the maximum number of live domain threads
 * creates them all in seconds under TCG. One more is refused with
 * -MAPLE_EAGAIN.
 */
#define GATE_MAX_THREADS 256

/* A domain handle: id in bits 15:0, generation above, so a handle to a
 * destroyed domain never reaches its successor in the same slot. */
#define HANDLE_ID_MASK	 0xffff
#define HANDLE_GEN_SHIFT 16

#define GATE_PAGE	      0x1000
#define GATE_CODE_MAX	      (MAPLE_TRUSTED_VA - MAPLE_GATE_VA) /* room for the gate's code */
#define GATE_DOMTAB_VA	      (MAPLE_TRUSTED_VA)
#define GATE_THREADS_VA	      (MAPLE_TRUSTED_VA + 0x100000)
#define GATE_THREAD_SLOT      0x8000 /* one thread's gate pages, guards included */
#define GATE_THREADS_END      (GATE_THREADS_VA + (unsigned long)GATE_MAX_THREADS * GATE_THREAD_SLOT)
#define GATE_SLOT_RO_OFF      0x0000
#define GATE_SLOT_STACK_OFF   0x2000 /* the page at 0x1000 is the stack's guard */
#define GATE_STACK_SIZE	      0x1000
#define GATE_SLOT_TRUSTED_OFF (GATE_SLOT_STACK_OFF + GATE_STACK_SIZE)

#define GATE_DOMAIN_FREE    0
#define GATE_DOMAIN_RUNNING 1
#define GATE_DOMAIN_FAILED  2

#define CONT_XCALL  1 /* domain to domain, returns through the gate */
#define CONT_UPCALL 2 /* the kernel called into a domain */
#define CONT_THREAD 3 /* the first frame of a domain's own thread */

/*
 * The gate's rights while it switches, a constant: TRUSTED read-write and
 * GATE_RO writable, every other key (SHARED and every domain's) denied.
 * The raised gate needs no domain memory, so a wrong address there faults
 * instead of reaching another domain.
 */
#define PKRU_GATE (PKRU_DENY_ALL & ~PKRU_ALLOW(PKEY_TRUSTED) & ~PKRU_ALLOW(PKEY_GATE_RO))

/*
 * Vector state between domains, the thread's GATE_RO clear_vectors: what
 * the gate zeroes on every switch (ZERO_VECTORS, at the callee's entry and
 * at gate_resume, where every return, refusal and unwinding to a caller
 * ends) and maple-hosted's hosted_enter before every upcall. The VM turns
 * vector state off for domains and leaves it VECTORS_KEEP (its GATE_RO page
 * is zeroed); maple-hosted, where Linux keeps x87, SSE and AVX on for every
 * process, sets what the CPU and XCR0 have.
 */
#define VECTORS_KEEP	  0	 /* nothing to zero */
#define VECTORS_SSE	  1	 /* the x87 registers, FCW/FSW/tags/pointers, MXCSR, %xmm0-15 */
#define VECTORS_AVX	  2	 /* and %ymm0-15 whole (VZEROALL) */
#define VECTORS_AVX512	  3	 /* and %zmm0-31 whole, %k0-7 (XCR0 bits 5-7) */
#define VECTOR_MXCSR_INIT 0x1f80 /* MXCSR's power-up value (Intel SDM Vol. 1, 10.2.3) */

#ifdef __ASSEMBLY__
/*
 * Zero the vector state `level` (an operand holding a VECTORS_* value)
 * asks for, explicitly, without XRSTOR: an XRSTOR is a PKRU write whenever
 * %edx:%eax can hold bit 9, and every byte of the gate is a jump target,
 * so none is used (hosted/audit.c refuses one anywhere in maple-hosted).
 * FNINIT empties the x87 stack and clears its pointers and opcode (Intel
 * SDM Vol. 1, 8.1.7-8.1.10), but not the registers' contents, which FXSAVE
 * still shows: eight FLDZ write +0.0 (all zero bytes) into each first.
 * MXCSR is loaded from the stack, so %rsp must point at memory the current
 * rights may write. Touches no general register; clobbers the flags.
 */
// clang-format off
.macro ZERO_VECTORS level
	cmpq $VECTORS_SSE, \level
	jb 9f
	fninit
	fldz
	fldz
	fldz
	fldz
	fldz
	fldz
	fldz
	fldz
	fninit
	pushq $VECTOR_MXCSR_INIT
	ldmxcsr (%rsp)
	leaq 8(%rsp), %rsp
	pxor %xmm0, %xmm0
	pxor %xmm1, %xmm1
	pxor %xmm2, %xmm2
	pxor %xmm3, %xmm3
	pxor %xmm4, %xmm4
	pxor %xmm5, %xmm5
	pxor %xmm6, %xmm6
	pxor %xmm7, %xmm7
	pxor %xmm8, %xmm8
	pxor %xmm9, %xmm9
	pxor %xmm10, %xmm10
	pxor %xmm11, %xmm11
	pxor %xmm12, %xmm12
	pxor %xmm13, %xmm13
	pxor %xmm14, %xmm14
	pxor %xmm15, %xmm15
	cmpq $VECTORS_AVX, \level
	jb 9f
	vzeroall
	cmpq $VECTORS_AVX512, \level
	jb 9f
	vpxord %zmm16, %zmm16, %zmm16
	vpxord %zmm17, %zmm17, %zmm17
	vpxord %zmm18, %zmm18, %zmm18
	vpxord %zmm19, %zmm19, %zmm19
	vpxord %zmm20, %zmm20, %zmm20
	vpxord %zmm21, %zmm21, %zmm21
	vpxord %zmm22, %zmm22, %zmm22
	vpxord %zmm23, %zmm23, %zmm23
	vpxord %zmm24, %zmm24, %zmm24
	vpxord %zmm25, %zmm25, %zmm25
	vpxord %zmm26, %zmm26, %zmm26
	vpxord %zmm27, %zmm27, %zmm27
	vpxord %zmm28, %zmm28, %zmm28
	vpxord %zmm29, %zmm29, %zmm29
	vpxord %zmm30, %zmm30, %zmm30
	vpxord %zmm31, %zmm31, %zmm31
	kxorw %k0, %k0, %k0
	kxorw %k1, %k1, %k1
	kxorw %k2, %k2, %k2
	kxorw %k3, %k3, %k3
	kxorw %k4, %k4, %k4
	kxorw %k5, %k5, %k5
	kxorw %k6, %k6, %k6
	kxorw %k7, %k7, %k7
9:
.endm
// clang-format on
#endif

#ifndef __ASSEMBLY__
#include <stddef.h>
#include <stdint.h>

	       /* One per domain id in the domain table. */
	       struct gate_domain {
	uint64_t state; /* GATE_DOMAIN_RUNNING or not */
	uint64_t gen;
	uint64_t pkru;
	uint64_t nmethods;
	uint64_t active;    /* calls in progress into the domain (atomic) */
	uint64_t calls;	    /* calls ever made into it (atomic) */
	uint64_t calls_out; /* calls it made to other domains (atomic) */
	uint64_t reserved;
	uint64_t methods[GATE_MAX_METHODS];
};

/* Per-thread GATE_RO page, at the user GS base: domains read, never write. */
struct gate_thread_ro {
	uint64_t self;		/* VA of this page */
	uint64_t expected_pkru; /* the PKRU the thread may hold outside the gate */
	uint64_t domain;	/* id of the domain the thread runs in */
	uint64_t trusted;	/* VA of this thread's struct gate_thread_trusted */
	uint64_t depth_limit;	/* VA one past the last continuation slot */
	uint64_t gate_stack;	/* VA of the top of this thread's gate stack */
	uint64_t clear_vectors; /* VECTORS_*: what the gate zeroes on each switch */
};

/*
 * What a cross-domain call needs to return, or to be unwound. No register
 * of the caller is kept here: the gate pushes the caller's callee-saved
 * registers on the caller's own stack, under the caller's rights, and pops
 * them (and the return address) from there after lowering to them again.
 */
struct continuation {
	uint64_t kind;	      /* CONT_XCALL, CONT_UPCALL or CONT_THREAD */
	uint64_t caller;      /* caller's domain id (0: the kernel) */
	uint64_t callee;      /* callee's domain id */
	uint64_t callee_gen;  /* and its generation: a successor in the slot is not it */
	uint64_t caller_pkru; /* the caller's rights, restored on return */
	uint64_t caller_rsp;  /* where the gate pushed the caller's registers (a value only) */
	uint64_t callee_sp;   /* domain_sp[callee] before the call */
	uint64_t caller_sp;   /* domain_sp[caller] before the call */
	uint64_t start_tsc;   /* for the watchdog */
	uint64_t word;	      /* the method word, with its RRef transfer bits */
	uint64_t args[4];     /* the four arguments, for RRef transfers on return */
};

/* Per-thread TRUSTED pages. */
struct gate_thread_trusted {
	uint64_t cont_top; /* VA of the next free continuation */
	uint64_t reserved[7];
	uint64_t domain_sp[GATE_MAX_DOMAINS]; /* stack to enter each domain on */
	struct continuation conts[GATE_MAX_DEPTH];
};

#define GATE_THREAD_TRUSTED_SIZE                                                                   \
	((sizeof(struct gate_thread_trusted) + GATE_PAGE - 1) & ~(uint64_t)(GATE_PAGE - 1))

/* For C code that reaches these pages through an address (rref.gate.c,
 * the watchdog): the same names the assembly's generated header uses. */
#define GT_TRUSTED offsetof(struct gate_thread_ro, trusted)
#define GTT_CONTS  offsetof(struct gate_thread_trusted, conts)
#define CONT_SIZE  sizeof(struct continuation)

_Static_assert(sizeof(struct gate_thread_ro) <= GATE_PAGE,
	       "struct gate_thread_ro fits the thread's GATE_RO page");
_Static_assert(sizeof(struct continuation) % 16 == 0,
	       "struct continuation keeps the continuation stack 16-byte aligned");
_Static_assert(offsetof(struct gate_thread_trusted, conts) % 16 == 0,
	       "gate_thread_trusted.conts starts 16-byte aligned");
_Static_assert(GATE_SLOT_STACK_OFF >= GATE_SLOT_RO_OFF + 2 * GATE_PAGE,
	       "an unmapped guard page lies between the GATE_RO page and the gate stack");
_Static_assert(GATE_SLOT_TRUSTED_OFF + GATE_THREAD_TRUSTED_SIZE + GATE_PAGE <= GATE_THREAD_SLOT,
	       "gate_thread_trusted and a guard page fit the thread slot (GATE_THREAD_SLOT)");
_Static_assert((uint64_t)GATE_DOMTAB_VA + GATE_MAX_DOMAINS * sizeof(struct gate_domain) <=
		       GATE_THREADS_VA,
	       "the domain table (GATE_MAX_DOMAINS entries) ends before GATE_THREADS_VA");
_Static_assert(GATE_THREADS_END <= RREF_TABLE_VA,
	       "GATE_MAX_THREADS thread slots end before the RRef table (RREF_TABLE_VA)");
/* xheap/rref.h, beside the header's definition, asserts that the RRef
 * header table ends before the shared heap. */
_Static_assert(MAPLE_GATE_RETURN_VA - MAPLE_GATE_VA < GATE_CODE_MAX,
	       "MAPLE_GATE_RETURN_VA lies in the gate's code region");
_Static_assert(GATE_MAX_THREADS % 64 == 0, "the slot bitmap has whole words (GATE_MAX_THREADS)");
#endif

#endif
