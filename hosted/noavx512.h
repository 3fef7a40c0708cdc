/* Static glibc kept off AVX-512 state, so the gate need not zero it
 * (noavx512.c). */
#ifndef HOSTED_NOAVX512_H
#define HOSTED_NOAVX512_H

#include <stdint.h>

/* XINUSE's opmask and %zmm16-31 bits (XGETBV with ECX = 1) for this
 * thread; 0 where the CPU cannot say. */
uint32_t noavx512_in_use(void);

/* Where glibc's start-up left AVX-512 state in use, exec this program
 * again, once, with GLIBC_TUNABLES hiding AVX-512 from glibc; returns only
 * where it did not (nothing to do, or the exec failed). Call it first in
 * main, before anything else runs. */
void noavx512_reexec(char **argv);

#endif
