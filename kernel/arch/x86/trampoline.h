/*
 * The parameter block at the end of the AP start-up trampoline
 * (trampoline.S), which smp.c fills in the low-memory copy before each
 * start-up IPI. Shared by C and assembly.
 */
#ifndef ARCH_PC_TRAMPOLINE_H
#define ARCH_PC_TRAMPOLINE_H

#define TRAMP_CR3	  0  /* kernel PML4, physical; below 4 GiB (loaded in 32-bit mode) */
#define TRAMP_STACK	  8  /* top of the AP's kernel stack, virtual */
#define TRAMP_ENTRY	  16 /* C entry point, virtual; never returns */
#define TRAMP_PARAMS_SIZE 24

#ifndef __ASSEMBLY__
#include <stddef.h>
#include <stdint.h>

struct tramp_params {
	uint64_t cr3;
	uint64_t stack_top;
	uint64_t entry;
};
_Static_assert(offsetof(struct tramp_params, cr3) == TRAMP_CR3, "layout");
_Static_assert(offsetof(struct tramp_params, stack_top) == TRAMP_STACK, "layout");
_Static_assert(offsetof(struct tramp_params, entry) == TRAMP_ENTRY, "layout");
_Static_assert(sizeof(struct tramp_params) == TRAMP_PARAMS_SIZE, "layout");

/* The image smp.c copies: [start, end), parameters at `params`. */
extern const char smp_trampoline_start[], smp_trampoline_params[], smp_trampoline_end[];
#endif

#endif
