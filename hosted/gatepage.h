/* The gate page of the linux platform (gatepage.c). */
#ifndef HOSTED_GATEPAGE_H
#define HOSTED_GATEPAGE_H

#include <stddef.h>
#include <stdint.h>

/* The kernel image whose gate pages run here: the one ninja builds,
 * relative to the repository root (where ci/test and bench/ run us). */
#define GATEPAGE_KERNEL_ELF "out/kernel/kernel.elf"

/*
 * Map the gate page of `kernel_elf` (the bytes from __gate_start to
 * __gate_end: gate.S and the gate-side C, the very code the VM maps for
 * ring 3) at MAPLE_GATE_VA, read and execute only, with key GATE_RO if
 * use_keys, and say where its gate_resume runs (*resume_va: the VM
 * kernel's unwinding resumes a failed callee's caller there). 0, or -1
 * with err filled.
 */
int gatepage_map(const char *kernel_elf, int use_keys, uint64_t *resume_va, char *err,
		 size_t errlen);

#endif
