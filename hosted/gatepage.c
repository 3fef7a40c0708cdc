/*
 * gatepage: the same gate code in the hosted process. The kernel links
 * gate.S and the gate-side C into whole pages between __gate_start and
 * __gate_end and maps them again at MAPLE_GATE_VA for ring 3; they are
 * position-independent (tools/check-gate-object), so copying those bytes
 * from out/kernel/kernel.elf to the same address here runs them unchanged.
 * The kernel image is checked (elf_check, ELF_KIND_KERNEL) before any
 * offset in it is used.
 */
#define _GNU_SOURCE
#include "gatepage.h"

#include "loader.h"

#include <lib/elf.h>
#include <maple/abi.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* The file offset of link address va inside a segment's file bytes, or -1. */
static long long file_offset(const struct elf_info *info, uint64_t va, uint64_t len)
{
	for (unsigned i = 0; i < info->nsegs; i++) {
		const struct elf_segment *s = &info->seg[i];
		if (va >= s->vaddr && len <= s->filesz && va - s->vaddr <= s->filesz - len)
			return (long long)(s->offset + (va - s->vaddr));
	}
	return -1;
}

int gatepage_map(const char *kernel_elf, int use_keys, struct gatepage *out, char *err,
		 size_t errlen)
{
	size_t size;
	uint8_t *file = hosted_read(kernel_elf, &size, err, errlen);
	if (!file)
		return -1;
	struct elf_info info;
	struct elf_error e;
	uint64_t lo, hi, resume, violation;
	long long off = -1;
	int rc = -1;
	if (elf_check(file, size, ELF_KIND_KERNEL, &info, &e) < 0) {
		snprintf(err, errlen, "%s: %s", kernel_elf, e.msg);
		goto out;
	}
	if (!elf_symbol_value(file, size, "__gate_start", &lo) ||
	    !elf_symbol_value(file, size, "__gate_end", &hi) || hi <= lo ||
	    !elf_symbol_value(file, size, "gate_resume", &resume) || resume - lo >= hi - lo ||
	    !elf_symbol_value(file, size, "gate_violation", &violation) ||
	    violation - lo >= hi - lo || (lo | hi) % ELF_PAGE_SIZE || hi - lo > (1u << 20) ||
	    (off = file_offset(&info, lo, hi - lo)) < 0) {
		snprintf(err, errlen,
			 "%s: no gate pages (__gate_start, gate_resume, gate_violation, "
			 "__gate_end) in its file bytes",
			 kernel_elf);
		goto out;
	}
	void *at = mmap((void *)MAPLE_GATE_VA, hi - lo, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (at != (void *)MAPLE_GATE_VA) {
		snprintf(err, errlen, "cannot map the gate at %#lx: %s", MAPLE_GATE_VA,
			 at == MAP_FAILED ? strerror(errno) : "placed elsewhere");
		if (at != MAP_FAILED)
			munmap(at, hi - lo);
		goto out;
	}
	memcpy(at, file + off, hi - lo);
	if ((use_keys ? pkey_mprotect(at, hi - lo, PROT_READ | PROT_EXEC, PKEY_GATE_RO)
		      : mprotect(at, hi - lo, PROT_READ | PROT_EXEC)) < 0) {
		snprintf(err, errlen, "cannot protect the gate: %s", strerror(errno));
		munmap(at, hi - lo);
		goto out;
	}
	*out = (struct gatepage){.resume = MAPLE_GATE_VA + (resume - lo),
				 .violation = MAPLE_GATE_VA + (violation - lo),
				 .size = hi - lo};
	static const char *const stubs[] = {"gate_fault_pf", "gate_fault_gp", "gate_fault_ud",
					    "gate_fault_de", "gate_fault_pk"};
	_Static_assert(sizeof stubs / sizeof stubs[0] == sizeof out->fault / sizeof out->fault[0],
		       "one address per fault stub");
	for (unsigned i = 0; i < sizeof stubs / sizeof stubs[0]; i++) {
		uint64_t va;
		if (!elf_symbol_value(file, size, stubs[i], &va) || va - lo >= hi - lo) {
			snprintf(err, errlen, "%s: no %s in its gate pages", kernel_elf, stubs[i]);
			munmap(at, hi - lo);
			goto out;
		}
		out->fault[i] = MAPLE_GATE_VA + (va - lo);
	}
	rc = 0;
out:
	free(file);
	return rc;
}

/* The gate's every WRPKRU follows `xorl %edx, %edx` (gate.S: WRPKRU needs
 * %ecx = %edx = 0), which tells an instruction from the same three bytes
 * inside another one. The NOP: Intel SDM Vol. 2B, NOP, the recommended
 * three-byte sequence (NOP DWORD ptr [EAX]). */
static const uint8_t xor_edx[2] = {0x31, 0xd2};
static const uint8_t nop3[3] = {0x0f, 0x1f, 0x00};

/* The offset of the first forbidden instruction at or after `from` in the
 * page (elf_forbidden_at, at every byte as the audit scans), or -1. */
static long long next_forbidden(const uint8_t *p, uint64_t size, uint64_t from, const char **name)
{
	for (uint64_t i = from; i + 3 <= size; i++)
		if (p[i] == 0x0f && (*name = elf_forbidden_at(p[i + 1], p[i + 2])))
			return (long long)i;
	return -1;
}

int gatepage_nop_wrpkru(const struct gatepage *g, struct gatepage_nops *out, char *err,
			size_t errlen)
{
	uint8_t *p = (uint8_t *)MAPLE_GATE_VA;
	const char *name = NULL;
	out->n = 0;
	for (long long at = next_forbidden(p, g->size, 0, &name); at >= 0;
	     at = next_forbidden(p, g->size, (uint64_t)at + 1, &name)) {
		if (strcmp(name, "WRPKRU") || at < 2 || memcmp(p + at - 2, xor_edx, 2)) {
			snprintf(err, errlen,
				 "the gate page has %s at gate+%#llx, not the gate's `xorl %%edx, "
				 "%%edx; wrpkru`: nothing made a NOP",
				 name, at);
			return -1;
		}
		if (out->n == GATEPAGE_MAX_NOPS) {
			snprintf(err, errlen, "the gate page has more than %d WRPKRUs",
				 GATEPAGE_MAX_NOPS);
			return -1;
		}
		out->offset[out->n++] = (uint64_t)at;
	}
	if (!out->n) {
		snprintf(err, errlen, "the gate page has no WRPKRU to make a NOP");
		return -1;
	}
	if (mprotect(p, g->size, PROT_READ | PROT_WRITE) < 0) {
		snprintf(err, errlen, "cannot make the gate page writable: %s", strerror(errno));
		return -1;
	}
	/* 0f 1f 00 makes no forbidden sequence with its neighbours: each
	 * starts with 0f and goes on with 01, ae or c7 (elf_forbidden_at). */
	for (unsigned i = 0; i < out->n; i++)
		memcpy(p + out->offset[i], nop3, sizeof nop3);
	if (mprotect(p, g->size, PROT_READ | PROT_EXEC) < 0) {
		snprintf(err, errlen, "cannot protect the gate page again: %s", strerror(errno));
		return -1;
	}
	return 0;
}
