/*
 * What hosted_enter (enter.S) needs to start a domain function besides its
 * four arguments, shared by enter.S and entry.c: the offsets are asserted
 * against the struct in entry.c. Also the two values of a syscall user
 * dispatch selector (linux/prctl.h's SYSCALL_DISPATCH_FILTER_ALLOW and
 * _BLOCK, asserted in entry.c), which enter.S and sigentry.S store and
 * linux/prctl.h cannot give assembly.
 */
#ifndef HOSTED_JUMP_H
#define HOSTED_JUMP_H

#define JUMP_FN	      0
#define JUMP_RSP      8
#define JUMP_PKRU     16
#define JUMP_KEYS     24
#define JUMP_SELECTOR 32

#define SUD_ALLOW 0 /* the runtime runs: its system calls go to Linux */
#define SUD_BLOCK 1 /* a domain or the gate runs: every system call is a SIGSYS */

/* The checks after the runtime's own WRPKRUs (enter.S, sigentry.S,
 * wrpkru_pair.S), asserted against their C sources in entry.c: */
/* struct gate_thread_ro's expected_pkru, at %gs (domain/gate_layout.h). */
#define GATE_RO_EXPECTED_PKRU 8
/* Its clear_vectors: what hosted_enter zeroes (ZERO_VECTORS). */
#define GATE_RO_CLEAR_VECTORS 48
/* PKRU_AD(0) | PKRU_AD(PKEY_TRUSTED): rights a domain never holds. */
#define PKRU_DOMAIN_DENIES 0x5
/* The thread's signal stack, struct entry_sigstack (entry.h): lo, hi and
 * where its frames lie. */
#define SIGSTACK_LO    0
#define SIGSTACK_HI    8
#define SIGSTACK_FRAME 16
/* Linux's x86-64 struct rt_sigframe above a handler's %rsp: pretcode (8),
 * struct ucontext (304: uapi asm/ucontext.h), siginfo (128). */
#define SIGFRAME_UC    8
#define SIGFRAME_INFO  (8 + 304)
#define SIGFRAME_BYTES (8 + 304 + 128)
/* The stack a handler may need below its frame (an upcall it makes takes
 * its signals on the next level's stack, entry.c): ALTSTACK (entry.c)
 * holds it below the frame and its XSAVE area. */
#define SIGSTACK_HEADROOM (16 << 10)
/* Every thread slot's signal stacks (entry.c): slot s's lie in
 * [SIGSTACKS_VA + (s << SIGSTACKS_SHIFT), + 1 << SIGSTACKS_SHIFT), so a
 * handler entry finds its thread slot's struct entry_bases (entry.h: fs,
 * gs, tid; 32 bytes) from %rsp alone, before any %fs access. Asserted in
 * sigstack.c. */
#define SIGSTACKS_VA	0x0000020000000000
#define SIGSTACKS_SHIFT 23
#define BASES_SHIFT	5
#define BASES_FS	0
#define BASES_GS	8
#define BASES_TID	16

#ifndef __ASSEMBLER__
#include <stdint.h>

struct hosted_jump {
	uint64_t fn;   /* the domain function */
	uint64_t rsp;  /* its stack, the return address on top */
	uint64_t pkru; /* the domain's rights (PKRU_DOMAIN of its key) */
	uint64_t keys; /* nonzero: write pkru before the jump */
	/* The thread's syscall user dispatch selector (entry.c): set to
	 * SYSCALL_DISPATCH_FILTER_BLOCK before the jump. */
	volatile uint8_t *selector;
};
#endif

#endif
