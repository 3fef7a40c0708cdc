/*
 * The memory the cross-domain gate works on, shared by the gate's assembly
 * (arch/pc/gate.S) and the kernel. It all lives in user pages so the gate
 * needs no kernel entry, protected by keys (maple/abi.h):
 *
 *   MAPLE_GATE_VA             gate code                         GATE_RO (read by all)
 *   GATE_DOMTAB_VA            domain table: state, PKRU, methods TRUSTED
 *   GATE_THREADS_VA + slot*.. per thread: a GATE_RO page (what the
 *                             gate compares after WRPKRU) and TRUSTED
 *                             pages (per-domain stack pointers and the
 *                             continuation stack)
 *
 * A thread's user GS base points at its GATE_RO page. Domains cannot move
 * it: CR4.FSGSBASE stays off, and loading %gs from ring 3 sets the base to
 * 0, where nothing is mapped.
 */
#ifndef CORE_GATE_LAYOUT_H
#define CORE_GATE_LAYOUT_H

#include <maple/abi.h>

#define GATE_MAX_DOMAINS 64 /* domain ids 1..63; 0 is "the kernel" */
#define GATE_MAX_METHODS 32
#define GATE_MAX_DEPTH	 48 /* nested calls per thread */
#define GATE_MAX_THREADS 1024

/* A domain handle: id in bits 15:0, generation above, so a handle to a
 * destroyed domain never reaches its successor in the same slot. */
#define HANDLE_ID_MASK	 0xffff
#define HANDLE_GEN_SHIFT 16

#define GATE_DOMTAB_VA	(MAPLE_TRUSTED_VA)
#define GATE_THREADS_VA (MAPLE_TRUSTED_VA + 0x100000)

/* struct gate_domain: one per domain id in the domain table. */
#define GD_STATE     0 /* GATE_DOMAIN_RUNNING or not */
#define GD_GEN	     8
#define GD_PKRU	     16
#define GD_NMETHODS  24
#define GD_ACTIVE    32 /* calls in progress into the domain (atomic) */
#define GD_CALLS     40 /* calls ever made into it (atomic) */
#define GD_CALLS_OUT 48 /* calls it made to other domains (atomic) */
#define GD_METHODS   64
#define GD_SIZE	     (GD_METHODS + 8 * GATE_MAX_METHODS)

#define GATE_DOMAIN_FREE    0
#define GATE_DOMAIN_RUNNING 1
#define GATE_DOMAIN_FAILED  2

/* Per-thread GATE_RO page (at the user GS base). */
#define GT_SELF		 0  /* VA of this page */
#define GT_EXPECTED_PKRU 8  /* the PKRU the thread may hold outside the gate */
#define GT_DOMAIN	 16 /* id of the domain the thread runs in */
#define GT_TRUSTED	 24 /* VA of this thread's TRUSTED pages */
#define GT_DEPTH_LIMIT	 32 /* VA one past the last continuation slot */
#define GT_SCRATCH	 40 /* the gate\'s: the method word between two steps */

/* Per-thread TRUSTED pages. */
#define GTT_CONT_TOP  0	 /* VA of the next free continuation */
#define GTT_DOMAIN_SP 64 /* [GATE_MAX_DOMAINS] stack to enter each domain on */
#define GTT_CONTS     (64 + 8 * GATE_MAX_DOMAINS) /* the continuation stack */

/* struct continuation: what a call needs to return, or to be unwound. */
#define CONT_KIND	 0 /* CONT_XCALL, CONT_UPCALL or CONT_THREAD */
#define CONT_CALLER	 8 /* caller's domain id (0: the kernel) */
#define CONT_CALLEE	 16
#define CONT_CALLER_PKRU 24
#define CONT_CALLER_RSP	 32 /* caller's stack pointer after the return */
#define CONT_RETURN_RIP	 40
#define CONT_RBX	 48
#define CONT_RBP	 56
#define CONT_R12	 64
#define CONT_R13	 72
#define CONT_R14	 80
#define CONT_R15	 88
#define CONT_CALLEE_SP	 96  /* domain_sp[callee] before the call */
#define CONT_CALLER_SP	 104 /* domain_sp[caller] before the call */
#define CONT_START_TSC	 112 /* for the watchdog */
#define CONT_WORD	 120 /* the method word, with its RRef transfer bits */
#define CONT_ARGS	 128 /* the four arguments, for RRef transfers on return */
#define CONT_SIZE	 192

#define CONT_XCALL  1 /* domain to domain, returns through the gate */
#define CONT_UPCALL 2 /* the kernel called into a domain */
#define CONT_THREAD 3 /* the first frame of a domain's own thread */

#define GATE_THREAD_RO_SIZE	 0x1000
#define GATE_THREAD_TRUSTED_SIZE (GTT_CONTS + CONT_SIZE * GATE_MAX_DEPTH)
#define GATE_THREAD_SLOT	 0x8000 /* RO page, TRUSTED pages, guard */

#ifndef __ASSEMBLY__
#include <stdint.h>

struct gate_domain {
	uint64_t state;
	uint64_t gen;
	uint64_t pkru;
	uint64_t nmethods;
	uint64_t active;
	uint64_t calls;
	uint64_t calls_out;
	uint64_t reserved;
	uint64_t methods[GATE_MAX_METHODS];
};

struct gate_thread_ro {
	uint64_t self;
	uint64_t expected_pkru;
	uint64_t domain;
	uint64_t trusted;
	uint64_t depth_limit;
	uint64_t scratch;
};

struct continuation {
	uint64_t kind;
	uint64_t caller;
	uint64_t callee;
	uint64_t caller_pkru;
	uint64_t caller_rsp;
	uint64_t return_rip;
	uint64_t rbx, rbp, r12, r13, r14, r15;
	uint64_t callee_sp;
	uint64_t caller_sp;
	uint64_t start_tsc;
	uint64_t word;
	uint64_t args[4];
	uint64_t pad[4];
};

struct gate_thread_trusted {
	uint64_t cont_top;
	uint64_t reserved[7];
	uint64_t domain_sp[GATE_MAX_DOMAINS];
	struct continuation conts[GATE_MAX_DEPTH];
};

#include <stddef.h>
_Static_assert(offsetof(struct gate_domain, state) == GD_STATE, "layout");
_Static_assert(offsetof(struct gate_domain, gen) == GD_GEN, "layout");
_Static_assert(offsetof(struct gate_domain, pkru) == GD_PKRU, "layout");
_Static_assert(offsetof(struct gate_domain, nmethods) == GD_NMETHODS, "layout");
_Static_assert(offsetof(struct gate_domain, active) == GD_ACTIVE, "layout");
_Static_assert(offsetof(struct gate_domain, calls) == GD_CALLS, "layout");
_Static_assert(offsetof(struct gate_domain, calls_out) == GD_CALLS_OUT, "layout");
_Static_assert(offsetof(struct gate_domain, methods) == GD_METHODS, "layout");
_Static_assert(sizeof(struct gate_domain) == GD_SIZE, "layout");
_Static_assert(offsetof(struct gate_thread_ro, expected_pkru) == GT_EXPECTED_PKRU, "layout");
_Static_assert(offsetof(struct gate_thread_ro, domain) == GT_DOMAIN, "layout");
_Static_assert(offsetof(struct gate_thread_ro, trusted) == GT_TRUSTED, "layout");
_Static_assert(offsetof(struct gate_thread_ro, depth_limit) == GT_DEPTH_LIMIT, "layout");
_Static_assert(offsetof(struct gate_thread_ro, scratch) == GT_SCRATCH, "layout");
_Static_assert(offsetof(struct gate_thread_trusted, domain_sp) == GTT_DOMAIN_SP, "layout");
_Static_assert(offsetof(struct gate_thread_trusted, conts) == GTT_CONTS, "layout");
_Static_assert(offsetof(struct continuation, caller) == CONT_CALLER, "layout");
_Static_assert(offsetof(struct continuation, callee) == CONT_CALLEE, "layout");
_Static_assert(offsetof(struct continuation, caller_pkru) == CONT_CALLER_PKRU, "layout");
_Static_assert(offsetof(struct continuation, caller_rsp) == CONT_CALLER_RSP, "layout");
_Static_assert(offsetof(struct continuation, return_rip) == CONT_RETURN_RIP, "layout");
_Static_assert(offsetof(struct continuation, rbx) == CONT_RBX, "layout");
_Static_assert(offsetof(struct continuation, r15) == CONT_R15, "layout");
_Static_assert(offsetof(struct continuation, callee_sp) == CONT_CALLEE_SP, "layout");
_Static_assert(offsetof(struct continuation, caller_sp) == CONT_CALLER_SP, "layout");
_Static_assert(offsetof(struct continuation, start_tsc) == CONT_START_TSC, "layout");
_Static_assert(offsetof(struct continuation, word) == CONT_WORD, "layout");
_Static_assert(offsetof(struct continuation, args) == CONT_ARGS, "layout");
_Static_assert(sizeof(struct continuation) == CONT_SIZE, "layout");
_Static_assert(GATE_THREAD_RO_SIZE + GATE_THREAD_TRUSTED_SIZE + 0x1000 <= GATE_THREAD_SLOT,
	       "a thread's gate pages and a guard fit its slot");
#endif

#endif
