/*
 * What hosted_enter (enter.S) needs to start a domain function besides its
 * four arguments, shared by enter.S and entry.c: the offsets are asserted
 * against the struct in entry.c.
 */
#ifndef HOSTED_JUMP_H
#define HOSTED_JUMP_H

#define JUMP_FN	  0
#define JUMP_RSP  8
#define JUMP_PKRU 16
#define JUMP_KEYS 24

#ifndef __ASSEMBLER__
#include <stdint.h>

struct hosted_jump {
	uint64_t fn;   /* the domain function */
	uint64_t rsp;  /* its stack, the return address on top */
	uint64_t pkru; /* the domain's rights (PKRU_DOMAIN of its key) */
	uint64_t keys; /* nonzero: write pkru before the jump */
};
#endif

#endif
