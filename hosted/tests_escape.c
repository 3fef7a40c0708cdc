/*
 * maple-hosted's rogue table (tests_escape.h): rogue.run cases aimed at
 * what a domain must never reach from its slot, each with the exact
 * outcome line it must give. Linux itself (a raw system call, int 0x80,
 * the vsyscall page, SYSENTER), the runtime's trusted entries (a call to
 * its own `syscall`, a forged signal frame, its WRPKRUs and base writes
 * jumped to), the gate page (each of its WRPKRUs), another domain's memory
 * and the runtime's data. After each: hello still answers, every word
 * aimed at is unchanged, the runtime holds its own rights and rogue's slot
 * holds nothing but its image. tests.c runs each in a child of its own.
 */
#define _GNU_SOURCE
#include "tests_escape.h"

#include "audit.h"
#include "domains.h"
#include "entry.h"
#include "gate.h"
#include "ksigaction.h"
#include "loader.h"
#include "pkeys.h"
#include "runtime.h"
#include "tests.h"
#include "tests_domains.h"

#include <domain/gate_layout.h>
#include <idl/rogue_methods.h>
#include <maple/abi.h>
#include <test/rogue/attack4_cases.h>
#include <test/rogue/cases.h>
#include <test/rogue/escape_cases.h>
#include <test/rogue/gadget_cases.h>
#include <test/rogue/wide_cases.h>

#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOW_PAGE 0x10000000ul /* below 4 GiB, where the runtime maps nothing */

/* Where a rogue case aims (its `target` argument). */
enum target {
	T_NONE,	   /* 0: the case's own default (the kernel's VA, MAPLE_TRUSTED_VA) */
	T_OTHER,   /* hello's first page: another domain's memory */
	T_RUNTIME, /* a word of the runtime's own data (key 0) */
	T_GATE,	   /* the gate page */
	T_LOW,	   /* an address in LOW_PAGE, below 4 GiB (htest_sysenter maps it) */
	/* The `syscall` instruction of glibc's getpid, which the runtime's
	 * own system calls may use. */
	T_RUNTIME_SYSCALL,
	/* The `syscall` instruction of entry_sigreturn, where the runtime's
	 * handlers return to domains; Linux must hold it as the SIGSYS
	 * handler's restorer. */
	T_SIGRETURN_SYSCALL,
	T_SIGRETURN, /* entry_sigreturn's first instruction */
	/* The WRPKRU of hosted_enter, the runtime's domain entry. */
	T_ENTER_WRPKRU,
	/* The WRPKRU of entry_keyed_sigsys, the SIGSYS handler's entry; the
	 * frame forged in rogue's own memory, or (T_SIGSYS_WRPKRU_ON_SIGSTACK)
	 * at the top of the thread's signal stack. */
	T_SIGSYS_WRPKRU,
	T_SIGSYS_WRPKRU_ON_SIGSTACK,
};

struct rogue_test {
	const char *name;
	int keyed; /* meaningful only under protection keys */
	long number;
	enum target target;
	/* The outcome line the upcall must give: a regular expression in
	 * which {ADDR} stands for the target address, {KEY} for hello's
	 * protection key, {SECRET} for where the runtime's signal return
	 * keeps its secret and {TRAP} for the runtime's PKRU check's ud2
	 * (hosted_pkru_violation). */
	const char *expect;
};

#define STR(x)	 #x
#define XSTR(x)	 STR(x)
#define AT	 "at rogue\\+0x[0-9a-f]+"
#define FAILED	 "rogue failed: "
#define RETURNED "rogue returned "
/* A Linux system call (nr) that a domain made from the runtime's code. */
#define ESCAPED(nr, how)  FAILED "a system call \\(" XSTR(nr) "\\) at {ADDR}" how
#define OUTSIDE		  " outside the domains and the gate"
#define NO_TOKEN	  ", the runtime's signal return, without its token"
#define PKUERR(key, addr) FAILED "SIGSEGV \\(SEGV_PKUERR, key " key "\\) " AT ", address " addr

static const struct rogue_test rogue_tests[] = {
	{"rogue-raw-linux-syscall-is-enosys", 0, ROGUE_RAW_SYSCALL, T_NONE,
	 RETURNED "-" XSTR(MAPLE_ENOSYS)},
	{"rogue-int80-fails-rogue", 0, ROGUE_INT80, T_NONE,
	 FAILED "a 32-bit system call \\(1\\) " AT},
	{"rogue-null-deref-fails-rogue", 0, ROGUE_NULL_DEREF, T_NONE,
	 FAILED "SIGSEGV \\(SEGV_MAPERR\\) " AT ", address 0"},
	{"rogue-div-zero-fails-rogue", 0, ROGUE_DIV_ZERO, T_NONE, FAILED "SIGFPE " AT},
	{"rogue-ud2-fails-rogue", 0, ROGUE_UD2, T_NONE, FAILED "SIGILL " AT},
	/* Tile data is behind XFD until the process asks Linux for it: the
	 * #NM is Linux's SIGILL (#UD where there is no AMX). */
	{"rogue-amx-tile-data-without-permission-fails-rogue", 0, ROGUE_Z_TILEZERO, T_NONE,
	 FAILED "SIGILL " AT},
	/* Bus locks: a delay of rogue's own under Linux's default (warn), a
	 * SIGBUS with split_lock_detect=fatal; never the SIGTRAP that would
	 * blame the #DB on a debugger's trap. */
	{"rogue-split-locks-delay-or-fail-only-rogue", 0, ROGUE_Z_SPLIT_LOCK, T_NONE,
	 "(" RETURNED XSTR(ROGUE_Z_SPLIT_LOCKS) "|" FAILED "SIGBUS " AT ".*)"},
	{"rogue-recurse-fails-rogue", 0, ROGUE_RECURSE, T_NONE,
	 FAILED "SIGSEGV \\(SEGV_MAPERR\\) " AT ", address 0x[0-9a-f]+"},
	{"rogue-log-of-a-kernel-address-is-efault", 0, ROGUE_LOG_KERNEL, T_NONE,
	 RETURNED "-" XSTR(MAPLE_EFAULT)},
	{"rogue-log-of-another-domain-is-efault", 0, ROGUE_LOG_DOMAIN, T_OTHER,
	 RETURNED "-" XSTR(MAPLE_EFAULT)},
	{"rogue-log-of-the-gate-page-is-efault", 0, ROGUE_LOG_DOMAIN, T_GATE,
	 RETURNED "-" XSTR(MAPLE_EFAULT)},
	{"rogue-log-of-the-runtime-is-efault", 0, ROGUE_LOG_DOMAIN, T_RUNTIME,
	 RETURNED "-" XSTR(MAPLE_EFAULT)},
	{"rogue-read-another-domain-is-pkuerr", 1, ROGUE_READ_DOMAIN, T_OTHER,
	 PKUERR("{KEY}", "{ADDR}")},
	{"rogue-write-another-domain-is-pkuerr", 1, ROGUE_WRITE_DOMAIN, T_OTHER,
	 PKUERR("{KEY}", "{ADDR}")},
	{"rogue-read-trusted-is-pkuerr", 1, ROGUE_READ_TRUSTED, T_NONE,
	 PKUERR(XSTR(PKEY_TRUSTED), "{ADDR}")},
	{"rogue-write-trusted-is-pkuerr", 1, ROGUE_WRITE_TRUSTED, T_NONE,
	 PKUERR(XSTR(PKEY_TRUSTED), "{ADDR}")},
	{"rogue-read-the-runtime-is-pkuerr", 1, ROGUE_READ_KERNEL, T_RUNTIME,
	 PKUERR(XSTR(PKEY_KERNEL), "{ADDR}")},
	{"rogue-write-the-runtime-is-pkuerr", 1, ROGUE_WRITE_KERNEL, T_RUNTIME,
	 PKUERR(XSTR(PKEY_KERNEL), "{ADDR}")},
	/* A domain that jumps into the runtime's code to make a Linux system
	 * call from there, or to have Linux obey a signal frame it forged. */
	{"rogue-linux-syscall-in-runtime-code-fails-rogue", 0, ROGUE_E_CALL_SYSCALL,
	 T_RUNTIME_SYSCALL, ESCAPED(SYS_getpid, OUTSIDE)},
	{"rogue-forged-sigreturn-in-runtime-code-fails-rogue", 1, ROGUE_E_FORGED_SIGRETURN,
	 T_RUNTIME_SYSCALL, ESCAPED(ROGUE_LINUX_RT_SIGRETURN, OUTSIDE)},
	{"rogue-forged-sigreturn-without-the-token-fails-rogue", 0, ROGUE_E_FORGED_SIGRETURN,
	 T_SIGRETURN_SYSCALL, ESCAPED(ROGUE_LINUX_RT_SIGRETURN, NO_TOKEN)},
	/* The whole restorer would load the secret: that load, its first
	 * instruction, faults (runtime memory, key 0). */
	{"rogue-forged-sigreturn-through-the-whole-restorer-is-pkuerr", 1, ROGUE_E_FORGED_SIGRETURN,
	 T_SIGRETURN,
	 FAILED "SIGSEGV \\(SEGV_PKUERR, key " XSTR(PKEY_KERNEL) "\\) at {ADDR}, address {SECRET}"},
	/* A domain that jumps to one of the runtime's own WRPKRUs with zero
	 * rights in %eax: each checks what it wrote (or where it was entered
	 * from) and traps at hosted_pkru_violation. */
	{"rogue-jump-to-the-domain-entrys-wrpkru-with-zero-rights-traps", 1, ROGUE_G_ENTER_WRPKRU,
	 T_ENTER_WRPKRU, FAILED "SIGILL at {TRAP}"},
	{"rogue-jump-to-the-sigsys-entrys-wrpkru-with-a-frame-of-its-own-traps", 1,
	 ROGUE_G_SIGSYS_ENTRY, T_SIGSYS_WRPKRU, FAILED "SIGILL at {TRAP}"},
	/* A frame forged where Linux would put it: the signal stack is the
	 * runtime's (key 0), so forging it faults. Before (SHARED), the
	 * entry took it and the handler served it (a SYS_NULL), returning
	 * through it with rogue's rights: PKUERR key 1 at the label's store. */
	{"rogue-frame-forged-on-the-signal-stack-is-pkuerr-on-the-runtimes-key", 1,
	 ROGUE_G_SIGSYS_ENTRY, T_SIGSYS_WRPKRU_ON_SIGSTACK,
	 PKUERR(XSTR(PKEY_KERNEL), "0x[0-9a-f]+")},
	/* The runtime's vector and x87 registers do not reach a domain
	 * (enter.S, ZERO_VECTORS). */
	{"rogue-finds-no-vector-state-at-entry", 0, ROGUE_H_VECTORS, T_NONE, RETURNED "0"},
	/* A domain's %fs (base 0 once loaded with a selector) is not the
	 * handlers' thread pointer: they take the runtime's back first
	 * (sigentry.S, entry_restore_bases), and serve the syscall. */
	{"rogue-fs-loaded-then-a-syscall-is-served", 0, ROGUE_H_FS_SYSCALL, T_NONE, RETURNED "0"},
	/* A domain's %gs (base 0 once loaded with a selector) is not the
	 * gate's: the gate's first read of %gs faults with rogue's rights
	 * (GT_DOMAIN, at offset 16 from base 0), not raised, where Linux
	 * before 6.12 could not deliver the fault. */
	{"rogue-gs-loaded-then-a-call-faults-at-the-gate-entry", 0, ROGUE_H_GS_XCALL, T_NONE,
	 FAILED "SIGSEGV \\(SEGV_MAPERR\\) at gate\\+0, address 0x10"},
	/* RFLAGS.AC, which Linux leaves set for a handler, is the domain's
	 * alone: the handlers clear it (sigentry.S), so neither they nor the
	 * runtime after them take alignment faults (runtime_clean checks). */
	{"rogue-ac-set-at-a-syscall-is-served", 0, ROGUE_H_AC_LOG, T_NONE, RETURNED "41"},
	{"rogue-ac-set-at-its-return-stays-in-rogue", 0, ROGUE_H_AC_RETURN, T_NONE, RETURNED "0"},
	/* A fault with %rsp on memory rogue may not touch: the frame goes to
	 * the signal stack regardless (SA_ONSTACK), and rogue fails alone
	 * (attack4's case 214, tried and held). */
	{"rogue-fault-with-rsp-on-trusted-fails-rogue", 0, ROGUE_H_UD2_ON_STACK, T_NONE,
	 FAILED "SIGILL " AT},
};

/* The runtime word the T_RUNTIME cases aim at; it must stay as it is. */
static volatile uint64_t runtime_word = 0x52554e54494d45; /* "RUNTIME" */

/* The `syscall` instruction of glibc's getpid (its first 0f 05), or 0. */
static uint64_t getpid_syscall(void)
{
	const uint8_t *p = (const uint8_t *)getpid;
	for (unsigned i = 0; i + 1 < 16; i++)
		if (p[i] == 0x0f && p[i + 1] == 0x05)
			return (uint64_t)getpid + i;
	return 0;
}

/* The first WRPKRU (0f 01 ef) in the first 512 bytes of fn, or 0
 * (hosted_enter's comes after ZERO_VECTORS, some 300 bytes). */
static uint64_t wrpkru_in(const void *fn)
{
	const uint8_t *p = fn;
	for (unsigned i = 0; i + 2 < 512; i++)
		if (p[i] == 0x0f && p[i + 1] == 0x01 && p[i + 2] == 0xef)
			return (uint64_t)fn + i;
	return 0;
}

/* The top of the signal stack an upcall at level 0 (the test's into rogue)
 * takes its signals on: entry.c arms it with SS_AUTODISARM at each upcall,
 * so between upcalls sigaltstack reports it disarmed (and entry_sigstack
 * names no stack). */
static uint64_t sigstack_top(void)
{
	return entry_level_stack(0) + ENTRY_SIGSTACK_BYTES;
}

/* The `syscall` of the restorer Linux returns SIGSYS handlers through,
 * which must be the runtime's entry_sigreturn; else 0. */
static uint64_t sigreturn_syscall(void)
{
	struct ksigaction old;
	if (syscall(SYS_rt_sigaction, SIGSYS, NULL, &old, sizeof old.mask) < 0 ||
	    old.restorer != entry_sigreturn)
		return 0;
	return (uint64_t)entry_sigreturn_end - 2; /* `syscall` is 0f 05 */
}

/* t's pattern with {ADDR}, {KEY} and {SECRET} filled in. */
static void expand(const char *from, uint64_t addr, int key, char *out, size_t len)
{
	size_t n = 0;
	while (*from && n + 24 < len) {
		if (!strncmp(from, "{ADDR}", 6)) {
			n += (size_t)snprintf(out + n, len - n, "%#lx", (unsigned long)addr);
			from += 6;
		} else if (!strncmp(from, "{SECRET}", 8)) {
			n += (size_t)snprintf(out + n, len - n, "%#lx",
					      (unsigned long)&entry_sigreturn_token);
			from += 8;
		} else if (!strncmp(from, "{TRAP}", 6)) {
			n += (size_t)snprintf(out + n, len - n, "%#lx",
					      (unsigned long)hosted_pkru_violation);
			from += 6;
		} else if (!strncmp(from, "{KEY}", 5)) {
			n += (size_t)snprintf(out + n, len - n, "%d", key);
			from += 5;
		} else {
			out[n++] = *from++;
		}
	}
	out[n] = 0;
}

/* Rogue as domain 1 and hello as domain 2 (its target); the case's
 * outcome, then: hello still answers, the words aimed at are unchanged,
 * the runtime holds its own rights again, and rogue's slot holds nothing
 * but its image. */
static int run_rogue(const struct rogue_test *t, char *why, size_t len)
{
	struct hosted_domain rogue, hello;
	if (htest_start("rogue", 1, &rogue, why, len) < 0 ||
	    htest_start("hello", 2, &hello, why, len) < 0)
		return -1;
	uint64_t target = t->target == T_OTHER		     ? hello.base
			  : t->target == T_RUNTIME	     ? (uint64_t)&runtime_word
			  : t->target == T_GATE		     ? MAPLE_GATE_VA
			  : t->target == T_LOW		     ? LOW_PAGE + 4096 - 16
			  : t->target == T_RUNTIME_SYSCALL   ? getpid_syscall()
			  : t->target == T_SIGRETURN_SYSCALL ? sigreturn_syscall()
			  : t->target == T_SIGRETURN	     ? (uint64_t)entry_sigreturn
			  : t->target == T_ENTER_WRPKRU	     ? wrpkru_in(hosted_enter)
			  : t->target >= T_SIGSYS_WRPKRU     ? wrpkru_in(entry_keyed_sigsys)
							     : 0;
	if (t->target >= T_RUNTIME_SYSCALL && !target) {
		snprintf(why, len,
			 "nothing to aim at (a `syscall` of the SIGSYS handler's restorer, which "
			 "must be entry_sigreturn, or a WRPKRU of the runtime's entries)");
		return -1;
	}
	uint64_t hello_word = *(volatile uint64_t *)hello.base;
	uint64_t trusted_word = *(volatile uint64_t *)MAPLE_TRUSTED_VA;
	/* The escape and gadget cases' third argument: the Linux system call
	 * to make, or the TRUSTED word that PKRU 0 would let rogue write. */
	long a2 = t->number == ROGUE_E_CALL_SYSCALL ? SYS_getpid
		  : t->number == ROGUE_E_FORGED_SIGRETURN ||
				  (t->number >= ROGUE_G_FIRST && t->number < ROGUE_G_END)
			  ? (long)MAPLE_TRUSTED_VA
			  : 0;
	/* The gadget cases' fourth: where to forge the frame (0: in rogue). */
	long a3 = t->target == T_SIGSYS_WRPKRU_ON_SIGSTACK ? (long)sigstack_top() : 0;
	const long a[4] = {t->number, (long)target, a2, a3};
	char got[HTEST_WHY], pattern[HTEST_WHY];
	htest_outcome(&rogue, rogue.methods[Rogue_run_METHOD], a, got, sizeof got);
	expand(t->expect, target ? target : MAPLE_TRUSTED_VA, hello.pkey, pattern, sizeof pattern);
	char full[HTEST_WHY + 4];
	snprintf(full, sizeof full, "^%s$", pattern);
	if (!htest_matches(full, got)) {
		snprintf(why, len, "'%.300s', want /%.180s/", got, pattern);
		return -1;
	}
	if (htest_hello_answers(&hello, why, len) < 0)
		return -1;
	uint64_t changed = *(volatile uint64_t *)hello.base != hello_word ? hello.base
			   : runtime_word != 0x52554e54494d45		  ? (uint64_t)&runtime_word
			   : *(volatile uint64_t *)MAPLE_TRUSTED_VA != trusted_word
				   ? MAPLE_TRUSTED_VA
				   : 0;
	if (changed) {
		snprintf(why, len, "rogue's write landed: the word at %#lx changed",
			 (unsigned long)changed);
		return -1;
	}
	if (htest_runtime_clean(why, len) < 0)
		return -1;
	hgate_remove(&rogue);
	hgate_remove(&hello);
	int extra = hosted_slot_extra(&rogue);
	if (extra) {
		snprintf(why, len, "leak: %d mappings in rogue's slot besides its image", extra);
		return -1;
	}
	return 0;
}

/*
 * Protection keys govern every kind of data access, the odd ones too: rogue
 * writes and reads 64 bytes of the runtime's memory (key 0), of TRUSTED
 * and of hello's image with each of MOVDIR64B, MOVDIRI, MASKMOVDQU,
 * VPSCATTERQQ, XSAVE, REP MOVSB, LOCK CMPXCHG16B and VPCOMPRESSQ (and
 * their loads: VMOVDQU64, MOVNTDQA, LDDQU, VPGATHERQQ, FXRSTOR, REP MOVSB,
 * CMPXCHG16B, VPEXPANDQ), and fails each time with SEGV_PKUERR, the key
 * of the memory and an address on its page (XSAVE reports the last byte
 * of its header, 575 bytes on), nothing written. Real hardware only says so (the PKU
 * guest's TCG runs them through one emulated check); SKIP without
 * AVX-512, MOVDIRI or MOVDIR64B.
 */
static uint8_t access_page[4096] __attribute__((aligned(4096)));
int htest_every_access_kind(char *why, size_t len)
{
	unsigned a = 0, b = 0, c = 0, d = 0;
	if ((hgate_xcr0() & XFEATURES_AVX512) != XFEATURES_AVX512 ||
	    !__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(c & (1u << 27)) || !(c & (1u << 28))) {
		snprintf(why, len,
			 "no AVX-512, MOVDIRI or MOVDIR64B here: XCR0 %#lx, CPUID.7.0:ECX %#x",
			 (unsigned long)hgate_xcr0(), c);
		return HTEST_SKIP;
	}
	struct hosted_domain *hello = htest_create("hello", why, len);
	if (!hello)
		return -1;
	memset(access_page, 0x3c, sizeof access_page);
	const struct {
		uint64_t at;
		unsigned key;
	} targets[3] = {
		{(uint64_t)access_page + 1024, PKEY_KERNEL},
		{MAPLE_TRUSTED_VA + 1024, PKEY_TRUSTED},
		{hello->base + 1024, hello->pkey},
	};
	for (unsigned t = 0; t < 3; t++) {
		uint8_t before[512];
		memcpy(before, (const void *)targets[t].at, sizeof before);
		for (long by = 0; by < ROGUE_Z_ACCESSES; by++)
			for (long op = ROGUE_Z_STORE; op <= ROGUE_Z_LOAD; op++) {
				struct hosted_domain *rogue = htest_create("rogue", why, len);
				if (!rogue)
					return -1;
				const long args[4] = {op, (long)targets[t].at, by, 0};
				char got[HTEST_WHY], want[160];
				htest_outcome(rogue, rogue->methods[Rogue_run_METHOD], args, got,
					      sizeof got);
				snprintf(want, sizeof want,
					 "^rogue failed: SIGSEGV \\(SEGV_PKUERR, key %u\\) at "
					 "rogue\\+0x[0-9a-f]+, address 0x%lx[0-9a-f]{3}$",
					 targets[t].key, (unsigned long)(targets[t].at >> 12));
				if (!htest_matches(want, got))
					return htest_fail(
						why, len,
						"rogue's %s %ld at %#lx: '%.200s'; want /%s/",
						op == ROGUE_Z_STORE ? "store" : "load", by,
						(unsigned long)targets[t].at, got, want);
				if (memcmp(before, (const void *)targets[t].at, sizeof before))
					return htest_fail(
						why, len,
						"rogue's store %ld changed the bytes at %#lx", by,
						(unsigned long)targets[t].at);
				char err[HTEST_WHY];
				if (hdom_destroy(hgate_handle(hgate_slot(rogue->id)), err,
						 sizeof err) < 0)
					return htest_fail(why, len, "destroying rogue: %s", err);
			}
	}
	return htest_runtime_clean(why, len);
}

/*
 * Every WRPKRU in the gate page, reached by a call with %ecx = %edx = 0
 * and %eax = pkru (ROGUE_H_JUMP_PKRU), ends at gate_violation's ud2:
 * rogue fails with SIGILL there, and nothing runs on. With pkru 0 (a
 * WRPKRU that granted every key and went on) and with pkru 0xfffffffc,
 * rights that deny SHARED and GATE_RO, under which Linux before 6.12
 * could not deliver the gate's check faulting (gate.S, CHECK_LOWERED:
 * the process died). A fresh rogue for each site (ids 1, 2, ...: one key
 * each).
 */
static int every_wrpkru(uint32_t pkru, char *why, size_t len)
{
	const struct gatepage *gp = runtime_gatepage();
	const uint8_t *p = (const uint8_t *)MAPLE_GATE_VA;
	unsigned sites = 0;
	char want[64];
	snprintf(want, sizeof want, "rogue failed: SIGILL at gate+%#lx",
		 (unsigned long)(gp->violation - MAPLE_GATE_VA));
	for (uint64_t off = 0; off + 3 <= gp->size; off++) {
		if (p[off] != 0x0f || p[off + 1] != 0x01 || p[off + 2] != 0xef)
			continue;
		struct hosted_domain rogue;
		if (htest_start("rogue", ++sites, &rogue, why, len) < 0)
			return -1;
		const long a[4] = {ROGUE_H_JUMP_PKRU, (long)(MAPLE_GATE_VA + off), pkru, 0};
		char got[HTEST_WHY];
		htest_outcome(&rogue, rogue.methods[Rogue_run_METHOD], a, got, sizeof got);
		if (strcmp(got, want) || hgate_state(&rogue) != GATE_DOMAIN_FAILED) {
			snprintf(why, len, "WRPKRU at gate+%#lx with %%eax %#x: %.300s, want '%s'",
				 (unsigned long)off, pkru, got, want);
			return -1;
		}
	}
	if (sites < 5) { /* raise twice, into the callee, lower, the violation's */
		snprintf(why, len, "%u WRPKRUs in the gate page, want at least 5", sites);
		return -1;
	}
	return htest_runtime_clean(why, len);
}

int htest_every_gate_wrpkru(char *why, size_t len)
{
	return every_wrpkru(0, why, len);
}

int htest_every_gate_wrpkru_denying_shared(char *why, size_t len)
{
	return every_wrpkru(0xfffffffc, why, len);
}

/*
 * Every audited WRPKRU of the runtime (audit.c), reached by a call with
 * %eax = %ecx = %edx = 0 (ROGUE_JUMP_GATE: a WRPKRU that granted every key
 * and went on would come back ROGUE_NOT_CONTAINED), ends at
 * hosted_pkru_violation's ud2: rogue fails with SIGILL there. A fresh
 * rogue for each site.
 */
int htest_every_runtime_wrpkru(char *why, size_t len)
{
	char want[64];
	snprintf(want, sizeof want, "rogue failed: SIGILL at %#lx",
		 (unsigned long)hosted_pkru_violation);
	const char *name;
	const void *site;
	unsigned i = 0;
	for (; (site = audit_site(i, &name)); i++) {
		struct hosted_domain rogue;
		if (htest_start("rogue", i + 1, &rogue, why, len) < 0)
			return -1;
		const long a[4] = {ROGUE_JUMP_GATE, (long)site, 0, 0};
		char got[HTEST_WHY];
		htest_outcome(&rogue, rogue.methods[Rogue_run_METHOD], a, got, sizeof got);
		if (strcmp(got, want) || hgate_state(&rogue) != GATE_DOMAIN_FAILED) {
			snprintf(why, len, "WRPKRU at %s: %.300s, want '%s'", name, got, want);
			return -1;
		}
	}
	if (i < 5) {
		snprintf(why, len, "%u audited WRPKRUs, want 5", i);
		return -1;
	}
	return htest_runtime_clean(why, len);
}

/*
 * The runtime's WRFSBASE and WRGSBASE (sigentry.S, entry_restore_bases),
 * reached by a call with %rax = 0 (ROGUE_H_JUMP_PKRU): each compares what
 * it wrote with the runtime's value in key-0 memory next (the read of
 * entry_base_slots first), and that read
 * faults under rogue's rights; the fault's own entry writes the runtime's
 * bases back (runtime_clean checks GS, and hello answers through the gate
 * after). A fresh rogue for each site.
 */
int htest_every_base_write(char *why, size_t len)
{
	static const struct {
		const char *name;
		const char *site;
		const uint64_t *value;
	} sites[] = {{"entry_restore_fsbase", entry_restore_fsbase, &entry_base_slots},
		     {"entry_restore_gsbase", entry_restore_gsbase, &entry_base_slots}};
	struct hosted_domain hello;
	if (htest_start("hello", 3, &hello, why, len) < 0)
		return -1;
	for (unsigned i = 0; i < sizeof sites / sizeof sites[0]; i++) {
		struct hosted_domain rogue;
		if (htest_start("rogue", i + 1, &rogue, why, len) < 0)
			return -1;
		char got[HTEST_WHY], want[128];
		/* The compare after the 5-byte WRFSBASE/WRGSBASE (F3 REX.W 0F AE /r). */
		snprintf(want, sizeof want,
			 "rogue failed: SIGSEGV (SEGV_PKUERR, key %d) at %#lx, "
			 "address %#lx",
			 PKEY_KERNEL, (unsigned long)sites[i].site + 5,
			 (unsigned long)sites[i].value);
		const long a[4] = {ROGUE_H_JUMP_PKRU, (long)sites[i].site, 0, 0};
		htest_outcome(&rogue, rogue.methods[Rogue_run_METHOD], a, got, sizeof got);
		if (strcmp(got, want) || hgate_state(&rogue) != GATE_DOMAIN_FAILED) {
			snprintf(why, len, "%s jumped to: '%.200s', want '%s'", sites[i].name, got,
				 want);
			return -1;
		}
		if (htest_hello_answers(&hello, why, len) < 0)
			return -1;
	}
	return htest_runtime_clean(why, len);
}

/*
 * A call to Linux's vsyscall page reaches Linux as a system call at that
 * address (seccomp sees it) where the kernel emulates the page, and the
 * filter traps it like every other system call of a domain (entry.c):
 * Maple syscall 96, -MAPLE_ENOSYS. Where the kernel has none
 * (vsyscall=none: no [vsyscall] line in /proc/self/maps, as in the PKU
 * guest), the call faults there and fails rogue.
 */
int htest_vsyscall(char *why, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[256];
	int emulated = 0;
	while (f && fgets(line, sizeof line, f))
		emulated |= strstr(line, "[vsyscall]") != NULL;
	if (f)
		fclose(f);
	const struct rogue_test t = {
		.name = "rogue-vsyscall-gettimeofday",
		.number = ROGUE_H_VSYSCALL,
		.target = T_NONE,
		.expect = emulated ? RETURNED "-" XSTR(MAPLE_ENOSYS)
				   : FAILED "SIGSEGV \\(SEGV_MAPERR\\) at 0xffffffffff600000, "
					    "address 0xffffffffff600000",
	};
	return run_rogue(&t, why, len);
}

/*
 * SYSENTER from a domain, with %rbp below 4 GiB (tests_rogue.c's
 * rogue-sysenter-fails-rogue leaves %rbp as it is): on an Intel CPU Linux's
 * 32-bit entry reads the sixth argument there and makes an i386 call at
 * its vDSO landing pad, outside every slot, which the filter traps (the
 * runtime makes none: entry.c) and which fails rogue; the filter killed
 * the process before. An AMD CPU (and QEMU's TCG) has no SYSENTER in
 * 64-bit mode: #UD. The page is SHARED under keys: Linux reads it with
 * rogue's rights.
 */
int htest_sysenter(char *why, size_t len)
{
	unsigned a, b, c, d;
	char vendor[13] = "";
	if (__get_cpuid(0, &a, &b, &c, &d)) {
		memcpy(vendor, &b, 4);
		memcpy(vendor + 4, &d, 4);
		memcpy(vendor + 8, &c, 4);
	}
	void *low = mmap((void *)LOW_PAGE, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (low != (void *)LOW_PAGE ||
	    (htest_keys() && pkey_mprotect(low, 4096, PROT_READ | PROT_WRITE, PKEY_SHARED) < 0)) {
		snprintf(why, len, "cannot map a SHARED page at %#lx: %s", LOW_PAGE,
			 low == MAP_FAILED ? strerror(errno) : "placed elsewhere or no key");
		return -1;
	}
	const struct rogue_test t = {
		.name = "rogue-sysenter",
		.number = ROGUE_H_SYSENTER,
		.target = T_LOW,
		.expect = strcmp(vendor, "GenuineIntel") ? FAILED "SIGILL " AT
							 : FAILED
				  "a 32-bit system call \\(20\\) at 0x[0-9a-f]+",
	};
	int rc = run_rogue(&t, why, len);
	munmap(low, 4096);
	return rc;
}

#define NROGUE (sizeof rogue_tests / sizeof rogue_tests[0])

const char *hosted_escape_case_name(unsigned i, const char **needs)
{
	if (i >= NROGUE)
		return NULL;
	*needs = rogue_tests[i].keyed ? "isolation" : NULL;
	return rogue_tests[i].name;
}

int hosted_escape_case(unsigned i, char *why, size_t len)
{
	return run_rogue(&rogue_tests[i], why, len);
}
