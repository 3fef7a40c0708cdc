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
 * process, sets what the CPU and XCR0 have: VECTORS_INUSE where the CPU
 * reports XINUSE and XCR0 enables AVX, else the fixed level.
 */
#define VECTORS_KEEP	  0	 /* nothing to zero */
#define VECTORS_SSE	  1	 /* the x87 registers, FCW/FSW/tags/pointers, MXCSR, %xmm0-15 */
#define VECTORS_AVX	  2	 /* and %ymm0-15 whole (VZEROALL, which covers %xmm0-15) */
#define VECTORS_AVX512	  3	 /* and %zmm0-31 whole, %k0-7 (XCR0 bits 5-7) */
#define VECTORS_INUSE	  4	 /* MXCSR, and of the above and AMX what XGETBV(1) reports in use */
#define VECTOR_MXCSR_INIT 0x1f80 /* MXCSR's power-up value (Intel SDM Vol. 1, 10.2.3) */

/* State components (Intel SDM Vol. 1, 13.1): bits of XCR0 and of XINUSE. */
#define XFEATURE_X87	   0x01
#define XFEATURE_SSE	   0x02 /* %xmm0-15 (and MXCSR: ZERO_VECTORS says how) */
#define XFEATURE_AVX	   0x04 /* %ymm0-15's upper halves */
#define XFEATURE_OPMASK	   0x20 /* %k0-7 */
#define XFEATURE_ZMM_HI256 0x40 /* %zmm0-15's upper halves */
#define XFEATURE_HI16_ZMM  0x80 /* %zmm16-31 */
#define XFEATURES_AVX512   (XFEATURE_OPMASK | XFEATURE_ZMM_HI256 | XFEATURE_HI16_ZMM)
#define XFEATURE_TILECFG   0x20000 /* AMX's tile configuration */
#define XFEATURE_TILEDATA  0x40000 /* AMX's tiles */
#define XFEATURES_AMX	   (XFEATURE_TILECFG | XFEATURE_TILEDATA)
#define XFEATURES_ZMM0_15  (XFEATURE_SSE | XFEATURE_AVX | XFEATURE_ZMM_HI256) /* VZEROALL's */

#ifdef __ASSEMBLY__
// clang-format off
/*
 * The pieces of ZERO_VECTORS, one state component each (bench_parts.S in
 * maple-hosted times each alone). FNINIT empties the x87 stack and clears
 * its pointers and opcode (Intel SDM Vol. 1, 8.1.7-8.1.10), but not the
 * registers' contents, which FXSAVE still shows: eight FLDZ write +0.0 (all
 * zero bytes) into each first; the first FNINIT makes room for them and
 * drops any exception a domain left pending, so no FLDZ can fault.
 */
.macro ZERO_X87
	fninit
	.rept 8
	fldz
	.endr
	fninit
.endm
/*
 * MXCSR to its power-up value through the stack: %rsp must point at
 * memory the current rights may write. ZERO_MXCSR writes 1F80H there and
 * loads it, for a stack a domain's other threads may read and write
 * (gate_resume runs on the caller's own): that word never holds anything
 * but the constant. ZERO_MXCSR_PRIVATE is for a stack no domain reads or
 * writes (the thread's gate stack, TRUSTED): it stores MXCSR there first
 * and loads 1F80H only where MXCSR differs, since under keys an LDMXCSR
 * before the WRPKRU into the callee costs more than STMXCSR and a compare
 * (docs/bench-xcall.md). MXCSR is 1F80H after either; on the caller's
 * stack the stored value would be the callee's, readable by the caller's
 * other threads (and a racer rewriting it to 1F80H would skip the load).
 */
.macro ZERO_MXCSR
	pushq $VECTOR_MXCSR_INIT
	ldmxcsr (%rsp)
	leaq 8(%rsp), %rsp
.endm
.macro ZERO_MXCSR_PRIVATE
	leaq -8(%rsp), %rsp
	stmxcsr (%rsp)
	cmpl $VECTOR_MXCSR_INIT, (%rsp)
	je .Lzmp_done\@
	movl $VECTOR_MXCSR_INIT, (%rsp)
	ldmxcsr (%rsp)
.Lzmp_done\@:
	leaq 8(%rsp), %rsp
.endm
.macro ZERO_XMM
	.irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	pxor %xmm\r, %xmm\r
	.endr
.endm
.macro ZERO_HI16_ZMM
	.irp r, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	vpxord %zmm\r, %zmm\r, %zmm\r
	.endr
.endm
.macro ZERO_OPMASK
	.irp r, 0, 1, 2, 3, 4, 5, 6, 7
	kxorw %k\r, %k\r, %k\r
	.endr
.endm

/*
 * The caller's callee-saved registers, which the gate pushes on the
 * caller's stack with the caller's rights at gate_start and pops there at
 * gate_resume (gate.S); maple-hosted's bench times the pair (bench_parts.S).
 */
.macro PUSH_CALLEE_SAVED
	.irp r, rbx, rbp, r12, r13, r14, r15
	pushq %\r
	.endr
.endm
.macro POP_CALLEE_SAVED
	.irp r, r15, r14, r13, r12, rbp, rbx
	popq %\r
	.endr
.endm

/*
 * Zero the vector state `level` asks for (an operand holding a VECTORS_*
 * value, not %rax, %rcx or %rdx, which the macro uses), explicitly, without
 * XRSTOR: an XRSTOR is a PKRU write whenever %edx:%eax can hold bit 9, and
 * every byte of the gate is a jump target, so none is used (hosted/audit.c
 * refuses one anywhere in maple-hosted).
 *
 * The components to zero go in %eax as a state-component bitmap: at the
 * fixed levels every component the level names; at VECTORS_INUSE what
 * XGETBV with %ecx = 1 returns, XCR0 AND XINUSE (Intel SDM Vol. 2,
 * XGETBV). That is sound because a component whose XINUSE bit is 0 is in
 * its initial configuration (SDM Vol. 1, 13.6: x87 with FCW 037FH, an
 * empty stack, zero pointers and every register zero; each XMM, YMM, ZMM
 * and opmask register zero), so it holds nothing of the domain that left
 * it. And a domain cannot fake the bit: XINUSE is the processor's own
 * tracking, which no instruction writes, and the guarantee (a 0 only in
 * the initial configuration) holds whatever the domain ran. The most a
 * domain can do is put a component back in its initial configuration
 * (VZEROALL), leaving nothing to zero, or keep a bit at 1, which costs it
 * the zeroing.
 *
 * AMX's tile state is released (TILERELEASE) at VECTORS_INUSE alone: the
 * fixed levels' bitmaps never name it, so the instruction (#UD without
 * AMX) runs only where XCR0 enables AMX, and maple-hosted refuses a fixed
 * level where it does (hgate_init). Linux gates only the tiles' data
 * behind XFD; LDTILECFG needs no permission, so without this a domain's
 * tile configuration (palette, start row, every tile's shape: 64 bytes)
 * reached the next domain's STTILECFG (test_zero_vectors, component 17).
 *
 * MXCSR is loaded at every level, XINUSE or not: SSE's initial
 * configuration is defined by %xmm0-15 (SDM Vol. 1, 13.6), so nothing here
 * relies on XINUSE[1] covering MXCSR (this CPU keeps XINUSE[1] at 1 while
 * MXCSR is not 1F80H, even after VZEROALL; another need not).
 * VECTORS_INUSE requires AVX enabled in XCR0 (hgate_init), for VZEROALL.
 * XGETBV's bitmap never reaches a domain: %rax, %rcx and %rdx are pushed
 * first and popped after, so the macro touches no general register and
 * leaves below %rsp only what they held. It clobbers the flags; %rsp must
 * point at memory the current rights may write (those pushes and MXCSR's).
 * `mxcsr` is how MXCSR is reset: ZERO_MXCSR, or ZERO_MXCSR_PRIVATE where
 * %rsp is the gate stack (which says why).
 */
.macro ZERO_VECTORS level, mxcsr=ZERO_MXCSR
	cmpq $VECTORS_SSE, \level
	jb .Lzv_done\@
	pushq %rax
	pushq %rcx
	pushq %rdx
	movl $(XFEATURE_X87 | XFEATURE_SSE), %eax
	cmpq $VECTORS_AVX, \level
	jb .Lzv_bitmap\@
	movl $(XFEATURE_X87 | XFEATURES_ZMM0_15), %eax
	cmpq $VECTORS_AVX512, \level
	jb .Lzv_bitmap\@
	movl $(XFEATURE_X87 | XFEATURES_ZMM0_15 | XFEATURES_AVX512), %eax
	cmpq $VECTORS_INUSE, \level
	jb .Lzv_bitmap\@
	movl $1, %ecx
	xgetbv
.Lzv_bitmap\@:
	testb $XFEATURE_X87, %al
	jz .Lzv_x87_done\@
	ZERO_X87
.Lzv_x87_done\@:
	testb $XFEATURES_ZMM0_15, %al
	jz .Lzv_zmm0_done\@
	cmpq $VECTORS_AVX, \level
	jae .Lzv_vzeroall\@
	ZERO_XMM
	jmp .Lzv_zmm0_done\@
.Lzv_vzeroall\@:
	vzeroall
.Lzv_zmm0_done\@:
	testb $XFEATURE_HI16_ZMM, %al
	jz .Lzv_zmm16_done\@
	ZERO_HI16_ZMM
.Lzv_zmm16_done\@:
	testb $XFEATURE_OPMASK, %al
	jz .Lzv_opmask_done\@
	ZERO_OPMASK
.Lzv_opmask_done\@:
	testl $XFEATURES_AMX, %eax
	jz .Lzv_amx_done\@
	tilerelease
.Lzv_amx_done\@:
	popq %rdx
	popq %rcx
	popq %rax
	\mxcsr
.Lzv_done\@:
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
	uint64_t active; /* calls in progress into the domain (atomic) */
	/* Calls into it and out of it by threads whose gate pages are gone:
	 * each thread counts its own (gate_thread_trusted.calls), and its
	 * counts are added here when its slot is freed. */
	uint64_t ended_calls;
	uint64_t ended_calls_out;
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
	uint64_t start_tsc;   /* the watchdog's stamp (watchdog_rule.h); the gate stores 0 */
	uint64_t word;	      /* the method word, with its RRef transfer bits */
	uint64_t args[4];     /* the four arguments, for RRef transfers on return */
};

/*
 * Per-thread TRUSTED pages. calls and calls_out are this thread's own
 * counts of the calls it made into each domain and out of each: only the
 * thread writes them (the gate, with a plain increment, or the kernel or
 * runtime on the thread's behalf for its upcalls), so no count is lost
 * without a LOCK; their readers sum every thread's and the domain table's
 * ended_calls (the kernel's gate_domain_calls, maple-hosted's
 * hgate_calls).
 */
struct gate_thread_trusted {
	uint64_t cont_top; /* VA of the next free continuation */
	uint64_t reserved[7];
	uint64_t domain_sp[GATE_MAX_DOMAINS]; /* stack to enter each domain on */
	uint64_t calls[GATE_MAX_DOMAINS];     /* calls into each domain */
	uint64_t calls_out[GATE_MAX_DOMAINS]; /* calls out of each domain */
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
