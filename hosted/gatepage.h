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
 * use_keys, and say where its symbols the runtime needs run (*out). 0, or
 * -1 with err filled.
 */
struct gatepage {
	uint64_t resume;    /* gate_resume: where unwinding resumes a failed callee's caller */
	uint64_t violation; /* gate_violation: the ud2 every failed check jumps to */
	uint64_t size;	    /* bytes mapped at MAPLE_GATE_VA */
	/* The fault stubs the VM's `inject` points a domain's thread at
	 * (gate_fault_pf, _gp, _ud, _de, _pk, in GATEPAGE_FAULTS order): a
	 * real fault taken in the domain with its own rights. */
	uint64_t fault[5];
};
#define GATEPAGE_FAULTS "pf gp ud de pk"

int gatepage_map(const char *kernel_elf, int use_keys, struct gatepage *out, char *err,
		 size_t errlen);

/* Where the gate page's WRPKRUs were (offsets from MAPLE_GATE_VA), once
 * gatepage_nop_wrpkru has made each a NOP. The gate has 7 today. */
#define GATEPAGE_MAX_NOPS 16
struct gatepage_nops {
	unsigned n;
	uint64_t offset[GATEPAGE_MAX_NOPS];
};

/*
 * For `maple-hosted bench --nop-wrpkru` only (runtime_start_nop_wrpkru, which
 * states when it may run): replace each WRPKRU of the gate page mapped at g,
 * without keys, by a NOP of the same length, so that the gate's other work
 * runs natively and nothing writes PKRU. Each site must be the gate's own
 * `xorl %edx, %edx; wrpkru`, and no other forbidden instruction may be in
 * the page, or nothing is changed. 0, or -1 with err filled.
 */
int gatepage_nop_wrpkru(const struct gatepage *g, struct gatepage_nops *out, char *err,
			size_t errlen);

#endif
