/*
 * The runtime's own code keeps AVX-512 state out of use, so that the gate,
 * which zeroes only the vector state XINUSE reports in use
 * (VECTORS_INUSE, domain/gate_layout.h), has %zmm16-31 and %k0-7 to zero
 * on no switch of a thread whose domains never touch them.
 *
 * Static glibc picks its string functions (memcpy, strlen, ...) before
 * main, from CPUID and the GLIBC_TUNABLES environment variable. On a CPU
 * with AVX512VL and AVX512BW it picks the EVEX ones, which use %ymm16-31
 * and the opmask registers: the process starts with XINUSE bits 5 and 7
 * set, and nothing resets them but an XRSTOR, which maple-hosted may not
 * hold (hosted/audit.c). Domains are built with -mgeneral-regs-only, so
 * glibc alone kept them in use: on this host's Xeon XGETBV(1) read 0x2a2
 * (SSE, opmask, %zmm16-31 and PKRU) at every upcall, and the gate zeroed
 * the sixteen registers and eight masks twice a call.
 *
 * So main starts the program again, once, with the tunable that hides
 * AVX-512 from glibc's choice (its AVX2 functions end with VZEROUPPER, so
 * they leave only SSE's state behind, which VZEROALL clears). Performance
 * only, never soundness: XINUSE tells the gate the truth whatever glibc
 * picked, and a domain that does touch AVX-512 state has it zeroed (and
 * keeps its bits set for the thread). Where the exec fails the program
 * runs on as it started.
 */
#define _GNU_SOURCE
#include "noavx512.h"

#include <domain/gate_layout.h>

#include <cpuid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* glibc's names for the features its EVEX and AVX-512 choices test. */
#define TUNABLE_OFF "glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD"

uint32_t noavx512_in_use(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)) ||
	    !__get_cpuid_count(0xd, 1, &a, &b, &c, &d) || !(a & 4))
		return 0; /* no XGETBV(1): no VECTORS_INUSE either (hosted/gate.c) */
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
	return lo & (XFEATURE_OPMASK | XFEATURE_HI16_ZMM);
}

void noavx512_reexec(char **argv)
{
	const char *t = getenv("GLIBC_TUNABLES");
	/* Once: the started-again program has the tunable, and so does a
	 * glibc that ignored it, which then runs on as it is. */
	if ((t && strstr(t, TUNABLE_OFF)) || !noavx512_in_use())
		return;
	char *v;
	if (asprintf(&v, "%s%s%s", t ? t : "", t ? ":" : "", TUNABLE_OFF) < 0 ||
	    setenv("GLIBC_TUNABLES", v, 1) < 0)
		return;
	fflush(NULL);
	execv("/proc/self/exe", argv);
	/* No /proc: the gate zeroes what glibc keeps in use, at its cost. */
	free(v);
}
