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
