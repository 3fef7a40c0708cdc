/*
 * audit: no instruction that can write PKRU (or the FS and GS bases the
 * handlers and the gate trust) lies anywhere in this process's executable
 * memory but at the runtime's audited sites, each of which checks after
 * its WRPKRU what it wrote or who runs (enter.S, sigentry.S,
 * wrpkru_pair.S), and the handler entries' WRFSBASE and WRGSBASE, each of
 * which checks what it wrote against the runtime's value in key-0 memory
 * (sigentry.S, entry_restore_bases: a base grants no rights, and a domain
 * that jumps there faults at that check). It is the loader's rule for a domain image
 * (kernel/lib/elf_check.c, elf_forbidden_at: at every byte offset, since a
 * jump may land inside another instruction) applied to the process itself,
 * as ERIM does at start-up.
 *
 * runtime_start runs it before anything else, so before any domain is
 * placed; what becomes executable later is only the gate page (out of
 * kernel.elf: the gate's own WRPKRUs, each checked, gate.S "ERIM
 * discipline") and domain images (elf_check refuses the lot). maple-hosted
 * is linked statically (tools/configure), so neither glibc's pkey_set
 * (`wrpkru; xor %eax,%eax; ret`) nor ld.so's lazy-binding XRSTOR is in the
 * process (nolazy.S keeps static glibc's copy of the latter out); a build
 * that brings one back refuses to run, naming it. A mapping that cannot be
 * read cannot be scanned: only Linux's [vsyscall] page may be such (its
 * execution is emulated by the kernel, which runs none of its bytes).
 */
#define _GNU_SOURCE
#include "audit.h"

#include "entry.h"

#include <lib/elf.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

void hosted_wrpkru_pair_first(void);
void hosted_wrpkru_pair_second(void);
void hosted_enter_wrpkru(void);
void entry_keyed_fault_wrpkru(void);
void entry_keyed_sigsys_wrpkru(void);

/* The audited sites: every WRPKRU of the runtime's code, and its WRFSBASE
 * and WRGSBASE, each checked. A site's 0f byte, where the scan finds it,
 * is `prefix` bytes into its instruction (F3 REX.W before WRFSBASE's and
 * WRGSBASE's: Intel SDM Vol. 2D, WRFSBASE/WRGSBASE). */
static const struct {
	const char *name;
	const char *insn; /* what elf_forbidden_at must call it there */
	const void *at;
	unsigned prefix;
} audited[] = {
	{"hosted_enter_wrpkru", "WRPKRU", (const void *)hosted_enter_wrpkru, 0},
	{"entry_keyed_fault_wrpkru", "WRPKRU", (const void *)entry_keyed_fault_wrpkru, 0},
	{"entry_keyed_sigsys_wrpkru", "WRPKRU", (const void *)entry_keyed_sigsys_wrpkru, 0},
	{"entry_restore_fsbase", "WRFSBASE", entry_restore_fsbase, 2},
	{"entry_restore_gsbase", "WRGSBASE", entry_restore_gsbase, 2},
	{"hosted_wrpkru_pair_first", "WRPKRU", (const void *)hosted_wrpkru_pair_first, 0},
	{"hosted_wrpkru_pair_second", "WRPKRU", (const void *)hosted_wrpkru_pair_second, 0},
};
#define NAUDITED (sizeof audited / sizeof audited[0])

#define MAX_MAPS 64

struct mapping {
	uint64_t lo, hi, offset;
	int readable;
	char name[160];
};

/* The executable mappings, in address order as Linux lists them. */
static int exec_mappings(struct mapping *m, int max, char *why, size_t whylen)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f) {
		snprintf(why, whylen, "cannot read /proc/self/maps");
		return -1;
	}
	char line[512];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi, off;
		char perms[8];
		int at = 0;
		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &lo, &hi, perms, &off, &at) < 4 ||
		    perms[2] != 'x')
			continue;
		if (n == max) {
			snprintf(why, whylen, "more than %d executable mappings", max);
			fclose(f);
			return -1;
		}
		m[n] = (struct mapping){
			.lo = lo, .hi = hi, .offset = off, .readable = perms[0] == 'r'};
		snprintf(m[n].name, sizeof m[n].name, "%s", at ? line + at : "");
		m[n].name[strcspn(m[n].name, "\n")] = 0;
		if (!m[n].name[0])
			snprintf(m[n].name, sizeof m[n].name, "[anonymous]");
		n++;
	}
	fclose(f);
	return n;
}

/* Byte `at` of executable readable memory: in m[i] or, past its end, in
 * the mappings that follow it directly; -1 where none is. */
static int exec_byte(const struct mapping *m, int n, int i, uint64_t at)
{
	while (i < n && at >= m[i].hi) {
		if (i + 1 == n || m[i + 1].lo != m[i].hi || !m[i + 1].readable)
			return -1;
		i++;
	}
	return i < n ? *(const volatile uint8_t *)at : -1;
}

static const char *audited_name(uint64_t at, const char *insn)
{
	for (unsigned k = 0; k < NAUDITED; k++)
		if ((uint64_t)audited[k].at + audited[k].prefix == at &&
		    !strcmp(audited[k].insn, insn))
			return audited[k].name;
	return NULL;
}

const void *audit_site(unsigned i, const char **name)
{
	for (unsigned k = 0; k < NAUDITED; k++)
		if (!strcmp(audited[k].insn, "WRPKRU") && !i--) {
			*name = audited[k].name;
			return audited[k].at;
		}
	return NULL;
}

int audit_process(int verbose, char *why, size_t whylen)
{
	struct mapping m[MAX_MAPS];
	int n = exec_mappings(m, MAX_MAPS, why, whylen);
	if (n < 0)
		return -1;
	unsigned found = 0, others = 0;
	uint64_t bytes = 0;
	why[0] = 0;
	for (int i = 0; i < n; i++) {
		if (!m[i].readable) {
			if (strcmp(m[i].name, "[vsyscall]")) {
				snprintf(why, whylen,
					 "the executable mapping %#lx-%#lx %s cannot be read, so "
					 "not scanned",
					 (unsigned long)m[i].lo, (unsigned long)m[i].hi, m[i].name);
				return -1;
			}
			continue; /* Linux emulates it: none of its bytes runs */
		}
		bytes += m[i].hi - m[i].lo;
		for (uint64_t p = m[i].lo; p < m[i].hi; p++) {
			if (*(const volatile uint8_t *)p != 0x0f)
				continue;
			int opcode = exec_byte(m, n, i, p + 1), modrm = exec_byte(m, n, i, p + 2);
			const char *insn =
				opcode < 0 || modrm < 0
					? NULL
					: elf_forbidden_at((uint8_t)opcode, (uint8_t)modrm);
			if (!insn)
				continue;
			const char *name = audited_name(p, insn);
			if (name) {
				found++;
				if (verbose)
					printf("hosted: audit: %s (0f %02x %02x) at %s, audited\n",
					       insn, opcode, modrm, name);
				continue;
			}
			char line[400];
			snprintf(
				line, sizeof line,
				"forbidden instruction %s (0f %02x %02x) at %s offset %#lx (%#lx), "
				"which no audit covers: a domain could jump there",
				insn, opcode, modrm, m[i].name,
				(unsigned long)(m[i].offset + (p - m[i].lo)), (unsigned long)p);
			if (!others++)
				snprintf(why, whylen, "%s", line);
			if (verbose)
				printf("hosted: audit: %s\n", line);
		}
	}
	if (!others && found != NAUDITED)
		snprintf(why, whylen,
			 "%u of the %u audited sites found: the list in hosted/audit.c is stale",
			 found, (unsigned)NAUDITED);
	if (verbose)
		printf("hosted: audit: %u of %u audited sites and %u other forbidden instructions "
		       "in %d executable mappings (%lu KiB)\n",
		       found, (unsigned)NAUDITED, others, n, (unsigned long)(bytes >> 10));
	return others || found != NAUDITED ? -1 : 0;
}
