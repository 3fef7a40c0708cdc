/*
 * maple-hosted test [NAME...]: the hosted platform's own tests, the same
 * on a machine with protection keys (a PKU CPU, or the Linux guest under
 * QEMU's `-cpu max`) and without. Each test runs in a child process of its
 * own (a fresh key layout, its own seccomp filter, and a crash of the
 * runtime is a FAIL naming the signal, never a lost line). A test that
 * needs enforced keys to mean anything is a SKIP naming why keys are
 * missing on a machine without them: there a rogue read of another domain
 * would succeed, and must not be reported as a pass. The others run there
 * too, the gate's WRPKRU emulated as an instruction that enforces nothing
 * (entry.c). Output, one line each:
 *
 *   hosted-test: NAME ok
 *   hosted-test: NAME FAIL <what happened, and what was expected>
 *   hosted-test: NAME SKIP <reason>
 *   hosted-test: N passed, N failed, N skipped
 */
#define _GNU_SOURCE
#include "tests.h"

#include "audit.h"
#include "entry.h"
#include "gate.h"
#include "ksigaction.h"
#include "loader.h"
#include "pkeys.h"
#include "runtime.h"
#include "tests_domains.h"
#include "tests_rogue.h"
#include "tests_watch.h"

#include <domain/gate_layout.h>
#include <idl/hello_methods.h>
#include <idl/xa_methods.h>
#include <maple/abi.h>
#include <test/rogue/attack4_cases.h>
#include <test/rogue/cases.h>
#include <test/rogue/escape_cases.h>
#include <test/rogue/gadget_cases.h>
#include <test/rogue/gate_cases.h>
#include <test/rogue/watch_cases.h>
#include <test/rrefs/evil.h>
#include <test/rrefs/rrefs.h>
#include <xheap/rref.h>

#include <asm/prctl.h>
#include <cpuid.h>
#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEST_SECONDS 10 /* a test that takes longer has hung */
#define WHY	     512
#define DOMAINS	     "out/domains/"
#define RFLAGS_AC    (1u << 18)
#define LOW_PAGE     0x10000000ul /* below 4 GiB, where the runtime maps nothing */

/* Where a rogue case aims (its `target` argument). */
enum target {
	T_NONE,	   /* 0: the case's own default (the kernel's VA, MAPLE_TRUSTED_VA) */
	T_OTHER,   /* hello's first page: another domain's memory */
	T_RUNTIME, /* a word of the runtime's own data (key 0) */
	T_GATE,	   /* the gate page */
	T_LOW,	   /* an address in LOW_PAGE, below 4 GiB (run_sysenter maps it) */
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
	 * keeps its secret, {TRAP} for the runtime's PKRU check's ud2
	 * (hosted_pkru_violation) and {TRUSTED} for MAPLE_TRUSTED_VA. */
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
	/* A frame forged where Linux would put it passes the entry's checks:
	 * the handler serves it (a SYS_NULL) and returns through the frame,
	 * but with rogue's own rights, not the frame's PKRU 0. */
	{"rogue-jump-to-the-sigsys-entry-with-a-frame-on-the-signal-stack-keeps-its-rights", 1,
	 ROGUE_G_SIGSYS_ENTRY, T_SIGSYS_WRPKRU_ON_SIGSTACK,
	 PKUERR(XSTR(PKEY_TRUSTED), "{TRUSTED}")},
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

static int keys;
static char no_keys[160];

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
 * so between upcalls sigaltstack reports it disarmed. */
static uint64_t sigstack_top(void)
{
	return entry_sigstack.hi;
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

/* Run fn (already initialised domain d) and describe the outcome as
 * "NAME returned R" or "NAME failed: WHY". */
static void outcome(struct hosted_domain *d, uint64_t fn, const long a[4], char *out, size_t len)
{
	char why[WHY];
	long r;
	fflush(stdout);
	if (entry_upcall(d, fn, a, &r, why, sizeof why) < 0)
		snprintf(out, len, "%s failed: %.400s", d->name, why);
	else
		snprintf(out, len, "%s returned %ld", d->name, r);
}

/* Load and initialise image `name` as domain id; 0, or -1 with why. */
static int start(const char *name, unsigned id, struct hosted_domain *d, char *why, size_t len)
{
	char path[128], got[WHY];
	static const long none[4];
	snprintf(path, sizeof path, DOMAINS "%s.elf", name);
	if (hosted_load(path, id, keys, d, why, len) < 0 || hgate_add(d, why, len) < 0)
		return -1;
	outcome(d, d->entry, none, got, sizeof got);
	char want[64];
	snprintf(want, sizeof want, "%s returned 0", d->name);
	if (strcmp(got, want)) {
		snprintf(why, len, "initialising %s: %.300s, want '%.60s'", name, got, want);
		return -1;
	}
	return 0;
}

static int matches(const char *pattern, const char *s)
{
	regex_t re;
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB))
		return 0;
	int ok = !regexec(&re, s, 0, NULL, 0);
	regfree(&re);
	return ok;
}

/* Hello answers greet(a) with a + its id, with its own rights again after
 * whatever the previous upcall did; 0, or -1 with why. */
static int hello_answers(struct hosted_domain *hello, char *why, size_t len)
{
	const long a[4] = {5, 0, 0, 0};
	char got[WHY], want[64];
	outcome(hello, hello->methods[Hello_greet_METHOD], a, got, sizeof got);
	snprintf(want, sizeof want, "hello returned %u", 5 + hello->id);
	if (strcmp(got, want)) {
		snprintf(why, len, "then hello.greet(5): %.300s, want '%.60s'", got, want);
		return -1;
	}
	return 0;
}

/* The runtime's own state after a test's upcalls: no continuation left
 * on the thread, its own rights (PKRU 0) again, RFLAGS.AC clear (a
 * domain's alignment checks are not the runtime's) and its own GS base
 * (the gate's GATE_RO page; a domain's selector load gives base 0). */
static int runtime_clean(char *why, size_t len)
{
	uint32_t pkru = 0;
	uint64_t flags, gs = 0;
	if (keys)
		__asm__ volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
	__asm__ volatile("pushfq\n\tpopq %0" : "=r"(flags));
	syscall(SYS_arch_prctl, ARCH_GET_GS, &gs);
	if (pkru || hgate_depth() || flags & RFLAGS_AC || gs != entry_gs_base) {
		snprintf(why, len,
			 "after the upcalls the runtime holds PKRU %#x, %u continuations, RFLAGS "
			 "%#lx and GS base %#lx, want 0, 0, AC (%#x) clear and %#lx",
			 pkru, hgate_depth(), (unsigned long)flags, (unsigned long)gs, RFLAGS_AC,
			 (unsigned long)entry_gs_base);
		return -1;
	}
	return 0;
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
		} else if (!strncmp(from, "{TRUSTED}", 9)) {
			n += (size_t)snprintf(out + n, len - n, "%#lx",
					      (unsigned long)MAPLE_TRUSTED_VA);
			from += 9;
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
	if (start("rogue", 1, &rogue, why, len) < 0 || start("hello", 2, &hello, why, len) < 0)
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
	char got[WHY], pattern[WHY];
	outcome(&rogue, rogue.methods[Rogue_run_METHOD], a, got, sizeof got);
	expand(t->expect, target ? target : MAPLE_TRUSTED_VA, hello.pkey, pattern, sizeof pattern);
	char full[WHY + 4];
	snprintf(full, sizeof full, "^%s$", pattern);
	if (!matches(full, got)) {
		snprintf(why, len, "'%.300s', want /%.180s/", got, pattern);
		return -1;
	}
	if (hello_answers(&hello, why, len) < 0)
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
	if (runtime_clean(why, len) < 0)
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

/* hello alone: initialised with one method, greet(5) returns 5 + its id. */
static int run_hello(char *why, size_t len)
{
	struct hosted_domain hello;
	if (start("hello", 1, &hello, why, len) < 0)
		return -1;
	if (hello.nmethods != 1) {
		snprintf(why, len, "hello exported %u methods, want 1", hello.nmethods);
		return -1;
	}
	return hello_answers(&hello, why, len);
}

/* The VM's nested chain through the real gate: xa -> xb -> xc -> back into
 * xa (xa/xa.h): xa.chain(1) = 1118, the thread in xa twice. */
static int run_chain(char *why, size_t len)
{
	struct hosted_domain xa, xb, xc;
	if (start("xa", 1, &xa, why, len) < 0 || start("xb", 2, &xb, why, len) < 0 ||
	    start("xc", 3, &xc, why, len) < 0)
		return -1;
	const long a[4] = {1, 0, 0, 0};
	char got[WHY];
	outcome(&xa, xa.methods[Xa_chain_METHOD], a, got, sizeof got);
	if (strcmp(got, "xa returned 1118")) {
		snprintf(why, len, "xa.chain(1): %.300s, want 'xa returned 1118'", got);
		return -1;
	}
	return runtime_clean(why, len);
}

/*
 * A callee that fails mid-call (rogue 2 takes #UD with the trap flag set,
 * ROGUE_W_TF_FAULT) is unwound to its caller (rogue 1), which gets
 * -MAPLE_ECALLEE at gate_resume with its own rights and without the
 * callee's trap flag, and runs on (ROGUE_W_SURVIVED); the callee stays
 * failed (a new call gets -MAPLE_EDEAD from the gate) and the caller still
 * answers.
 */
static int run_unwind(char *why, size_t len)
{
	struct hosted_domain caller, callee;
	if (start("rogue", 1, &caller, why, len) < 0 || start("rogue", 2, &callee, why, len) < 0)
		return -1;
	char got[WHY], want[64];
	const long call[4] = {ROGUE_W_CALL_TF_FAULT, (long)callee.id, 0, 0};
	uint64_t run = caller.methods[Rogue_run_METHOD];
	outcome(&caller, run, call, got, sizeof got);
	snprintf(want, sizeof want, "rogue returned %d", ROGUE_W_SURVIVED);
	if (strcmp(got, want)) {
		snprintf(why, len, "rogue 1 calling rogue 2's #UD: %.300s, want '%s'", got, want);
		return -1;
	}
	if (hgate_state(&callee) != GATE_DOMAIN_FAILED ||
	    hgate_state(&caller) != GATE_DOMAIN_RUNNING) {
		snprintf(why, len, "states after the fault: caller %lu, callee %lu; want %d and %d",
			 (unsigned long)hgate_state(&caller), (unsigned long)hgate_state(&callee),
			 GATE_DOMAIN_RUNNING, GATE_DOMAIN_FAILED);
		return -1;
	}
	outcome(&caller, run, call, got, sizeof got);
	snprintf(want, sizeof want, "rogue returned -%d", MAPLE_EDEAD);
	if (strcmp(got, want)) {
		snprintf(why, len, "calling the failed rogue 2 again: %.300s, want '%s'", got,
			 want);
		return -1;
	}
	return runtime_clean(why, len);
}

/* The cases of kernel/ktest/rref_attacks.c that need neither threads nor
 * a heap of the domain's own (SYS_HEAP_GROW, which EV_QUOTA's malloc
 * needs, is the VM's alone), on two rref_evil instances. */
struct evil_test {
	const char *name;
	long ev, a, b;
};
static const struct evil_test evil_tests[] = {
	{"rref-nesting-past-the-bound-is-edepth", EV_NEST_CHAIN, 0, 0},
	{"rref-nesting-counts-the-childs-whole-subtree", EV_NEST_WHOLE, 0, 0},
	{"rref-stale-handle-after-free-and-realloc-is-refused", EV_STALE, 0, 0},
	{"rref-info-on-another-domains-rref-is-eperm", EV_INFO_PERM, 0, 0},
	/* rref_quota_is_equota_and_the_domain_runs_on: it needs malloc (SYS_HEAP_GROW). */
	{"rref-quota-is-equota-and-the-domain-runs-on", EV_QUOTA, RREF_DEFAULT_HEADERS,
	 RREF_DEFAULT_BYTES},
};

static uint64_t live_rrefs(void)
{
	struct rref_stats s;
	rref_get_stats(&s);
	return s.live;
}

/*
 * rref_a.run(rcase) with rref_b and rref_c loaded returns 1 (every check
 * it made held), and removing rref_b reclaims whatever it kept (for
 * RCASE_KEEP_SOME exactly 8: 1, a box of 4 and its box, 2 more), as at the
 * VM's destroy; once the three are gone no RRef is left.
 */
static int run_rref(long rcase, char *why, size_t len)
{
	struct hosted_domain a, b, c;
	if (start("rref_b", 1, &b, why, len) < 0 || start("rref_a", 2, &a, why, len) < 0 ||
	    start("rref_c", 3, &c, why, len) < 0)
		return -1;
	const long arg[4] = {rcase, 0, 0, 0};
	char got[WHY];
	outcome(&a, a.methods[RrefA_run_METHOD], arg, got, sizeof got);
	if (strcmp(got, "rref_a returned 1")) {
		snprintf(why, len, "rref_a.run(%ld): %.300s, want 'rref_a returned 1'", rcase, got);
		return -1;
	}
	uint64_t held = live_rrefs();
	hgate_remove(&b);
	uint64_t after_b = live_rrefs();
	hgate_remove(&a);
	hgate_remove(&c);
	/* Only rref_b keeps RRefs past a case (RCASE_NOT_OWNER's, the kept 8). */
	if ((rcase == RCASE_KEEP_SOME && held != 8) || after_b || live_rrefs()) {
		snprintf(
			why, len,
			"live RRefs: %lu after the case%s, %lu once rref_b is gone, %lu at the end "
			"(want 0 and 0)",
			(unsigned long)held, rcase == RCASE_KEEP_SOME ? " (want 8)" : "",
			(unsigned long)after_b, (unsigned long)live_rrefs());
		return -1;
	}
	return runtime_clean(why, len);
}

/*
 * rref_evil one's run(case, two's handle, a, b) returns EV_PASSED (every
 * exact outcome it checked held), one still runs, and when both are gone
 * no RRef is left.
 */
static int run_evil(const struct evil_test *t, char *why, size_t len)
{
	struct hosted_domain one, two;
	if (start("rref_evil", 1, &one, why, len) < 0 || start("rref_evil", 2, &two, why, len) < 0)
		return -1;
	const long arg[4] = {t->ev, (long)two.id, t->a, t->b};
	char got[WHY], want[64];
	outcome(&one, one.methods[RrefEvil_run_METHOD], arg, got, sizeof got);
	snprintf(want, sizeof want, "rref_evil returned %d", EV_PASSED);
	if (strcmp(got, want)) {
		snprintf(why, len, "rref_evil.run(%ld): %.300s, want '%s'", t->ev, got, want);
		return -1;
	}
	uint64_t state = hgate_state(&one);
	hgate_remove(&one);
	hgate_remove(&two);
	if (state != GATE_DOMAIN_RUNNING || live_rrefs()) {
		snprintf(why, len,
			 "after the case: state %lu (want %d), %lu RRefs left once both are gone "
			 "(want 0)",
			 (unsigned long)state, GATE_DOMAIN_RUNNING, (unsigned long)live_rrefs());
		return -1;
	}
	return runtime_clean(why, len);
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
		if (start("rogue", ++sites, &rogue, why, len) < 0)
			return -1;
		const long a[4] = {ROGUE_H_JUMP_PKRU, (long)(MAPLE_GATE_VA + off), pkru, 0};
		char got[WHY];
		outcome(&rogue, rogue.methods[Rogue_run_METHOD], a, got, sizeof got);
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
	return runtime_clean(why, len);
}

static int run_every_wrpkru(char *why, size_t len)
{
	return every_wrpkru(0, why, len);
}

static int run_every_wrpkru_denying_shared(char *why, size_t len)
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
static int run_every_runtime_wrpkru(char *why, size_t len)
{
	char want[64];
	snprintf(want, sizeof want, "rogue failed: SIGILL at %#lx",
		 (unsigned long)hosted_pkru_violation);
	const char *name;
	const void *site;
	unsigned i = 0;
	for (; (site = audit_site(i, &name)); i++) {
		struct hosted_domain rogue;
		if (start("rogue", i + 1, &rogue, why, len) < 0)
			return -1;
		const long a[4] = {ROGUE_JUMP_GATE, (long)site, 0, 0};
		char got[WHY];
		outcome(&rogue, rogue.methods[Rogue_run_METHOD], a, got, sizeof got);
		if (strcmp(got, want) || hgate_state(&rogue) != GATE_DOMAIN_FAILED) {
			snprintf(why, len, "WRPKRU at %s: %.300s, want '%s'", name, got, want);
			return -1;
		}
	}
	if (i < 5) {
		snprintf(why, len, "%u audited WRPKRUs, want 5", i);
		return -1;
	}
	return runtime_clean(why, len);
}

/*
 * The runtime's WRFSBASE and WRGSBASE (sigentry.S, entry_restore_bases),
 * reached by a call with %rax = 0 (ROGUE_H_JUMP_PKRU): each compares what
 * it wrote with the runtime's value in key-0 memory next, and that read
 * faults under rogue's rights; the fault's own entry writes the runtime's
 * bases back (runtime_clean checks GS, and hello answers through the gate
 * after). A fresh rogue for each site.
 */
static int run_every_base_write(char *why, size_t len)
{
	static const struct {
		const char *name;
		const char *site;
		const uint64_t *value;
	} sites[] = {{"entry_restore_fsbase", entry_restore_fsbase, &entry_fs_base},
		     {"entry_restore_gsbase", entry_restore_gsbase, &entry_gs_base}};
	struct hosted_domain hello;
	if (start("hello", 3, &hello, why, len) < 0)
		return -1;
	for (unsigned i = 0; i < sizeof sites / sizeof sites[0]; i++) {
		struct hosted_domain rogue;
		if (start("rogue", i + 1, &rogue, why, len) < 0)
			return -1;
		char got[WHY], want[128];
		/* The compare after the 5-byte WRFSBASE/WRGSBASE (F3 REX.W 0F AE /r). */
		snprintf(want, sizeof want,
			 "rogue failed: SIGSEGV (SEGV_PKUERR, key %d) at %#lx, "
			 "address %#lx",
			 PKEY_KERNEL, (unsigned long)sites[i].site + 5,
			 (unsigned long)sites[i].value);
		const long a[4] = {ROGUE_H_JUMP_PKRU, (long)sites[i].site, 0, 0};
		outcome(&rogue, rogue.methods[Rogue_run_METHOD], a, got, sizeof got);
		if (strcmp(got, want) || hgate_state(&rogue) != GATE_DOMAIN_FAILED) {
			snprintf(why, len, "%s jumped to: '%.200s', want '%s'", sites[i].name, got,
				 want);
			return -1;
		}
		if (hello_answers(&hello, why, len) < 0)
			return -1;
	}
	return runtime_clean(why, len);
}

/* A chain of calls of rogue into itself past GATE_MAX_DEPTH is refused with
 * -MAPLE_EDEPTH, passed back up every level, and rogue runs on. */
static int run_depth(char *why, size_t len)
{
	struct hosted_domain rogue;
	if (start("rogue", 1, &rogue, why, len) < 0)
		return -1;
	const long a[4] = {ROGUE_GATE_DEPTH, 0, 0, 0};
	char got[WHY], want[64];
	outcome(&rogue, rogue.methods[Rogue_run_METHOD], a, got, sizeof got);
	snprintf(want, sizeof want, "rogue returned -%d", MAPLE_EDEPTH);
	if (strcmp(got, want) || hgate_state(&rogue) != GATE_DOMAIN_RUNNING ||
	    hgate_calls(&rogue) < GATE_MAX_DEPTH) {
		snprintf(why, len,
			 "%.300s after %lu calls into rogue, state %lu; want '%s', at least %d "
			 "calls, running",
			 got, (unsigned long)hgate_calls(&rogue),
			 (unsigned long)hgate_state(&rogue), want, GATE_MAX_DEPTH);
		return -1;
	}
	return runtime_clean(why, len);
}

/*
 * A call to Linux's vsyscall page reaches Linux as a system call at that
 * address (seccomp sees it) where the kernel emulates the page, and the
 * filter traps it like every other system call of a domain (entry.c):
 * Maple syscall 96, -MAPLE_ENOSYS. Where the kernel has none
 * (vsyscall=none: no [vsyscall] line in /proc/self/maps, as in the PKU
 * guest), the call faults there and fails rogue.
 */
static int run_vsyscall(char *why, size_t len)
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
static int run_sysenter(char *why, size_t len)
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
	    (keys && pkey_mprotect(low, 4096, PROT_READ | PROT_WRITE, PKEY_SHARED) < 0)) {
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

/*
 * Vector state crosses the gate in neither direction (gate.S's
 * ZERO_VECTORS at the callee's entry and at gate_resume, which the hosted
 * runtime turns on): rogue 1's %xmm and x87 registers are zero (and the
 * x87 ones empty) in rogue 2's method, and rogue 2's when rogue 1 is back,
 * whether rogue 2 returned or failed after loading them.
 */
static int run_vectors(char *why, size_t len)
{
	struct hosted_domain one, two;
	if (start("rogue", 1, &one, why, len) < 0 || start("rogue", 2, &two, why, len) < 0)
		return -1;
	static const struct {
		long number, a2;
		const char *want;
	} steps[] = {
		{ROGUE_H_VECTORS_LEAVE, 0, "rogue returned 0"},
		{ROGUE_H_VECTORS_CALLBACK, ROGUE_H_VECTORS_SET, "rogue returned 0"},
		{ROGUE_H_VECTORS_CALLBACK, ROGUE_H_VECTORS_SET_FAIL, "rogue returned 0"},
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		const long a[4] = {steps[i].number, (long)two.id, steps[i].a2, 0};
		char got[WHY];
		outcome(&one, one.methods[Rogue_run_METHOD], a, got, sizeof got);
		if (strcmp(got, steps[i].want)) {
			snprintf(why, len, "rogue 1 run(%ld, rogue 2, %ld): '%.300s', want '%s'",
				 steps[i].number, steps[i].a2, got, steps[i].want);
			return -1;
		}
	}
	if (hgate_state(&two) != GATE_DOMAIN_FAILED) {
		snprintf(why, len, "rogue 2 state %lu after its ud2, want %d",
			 (unsigned long)hgate_state(&two), GATE_DOMAIN_FAILED);
		return -1;
	}
	return runtime_clean(why, len);
}

/*
 * A callee that fails in 32-bit mode (a far jump to Linux's __USER32_CS,
 * then a fault at address 0) is unwound to its caller in the caller's own
 * 64-bit mode: rogue 1 gets -MAPLE_ECALLEE (it ran on to its SYS_RETURN),
 * rogue 2 stays failed.
 */
static int run_compat(char *why, size_t len)
{
	struct hosted_domain one, two;
	if (start("rogue", 1, &one, why, len) < 0 || start("rogue", 2, &two, why, len) < 0)
		return -1;
	char got[WHY], want[64];
	const long call[4] = {ROGUE_H_CALL, (long)two.id, ROGUE_H_COMPAT, 0};
	outcome(&one, one.methods[Rogue_run_METHOD], call, got, sizeof got);
	snprintf(want, sizeof want, "rogue returned -%d", MAPLE_ECALLEE);
	if (strcmp(got, want) || hgate_state(&two) != GATE_DOMAIN_FAILED) {
		snprintf(why, len,
			 "rogue 1 calling rogue 2's jump to 32-bit mode: '%.300s', rogue 2 state "
			 "%lu; want '%s', %d",
			 got, (unsigned long)hgate_state(&two), want, GATE_DOMAIN_FAILED);
		return -1;
	}
	return runtime_clean(why, len);
}

/*
 * Nothing a finished upcall's handlers left stays on the SHARED signal
 * stack for the next upcall's domain (entry_upcall clears it): rogue 2
 * makes a SYS_LOG of a line holding ROGUE_H_SECRET, with the secret in its
 * callee-saved registers too, and returns; rogue 1, in the next upcall,
 * reads that whole stack (level 0) and does not find those 8 bytes (-1).
 */
static int run_sigstack(char *why, size_t len)
{
	struct hosted_domain one, two;
	if (start("rogue", 1, &one, why, len) < 0 || start("rogue", 2, &two, why, len) < 0)
		return -1;
	char got[WHY], want[64];
	const long log[4] = {ROGUE_H_LOG_SECRET, 0, 0, 0};
	outcome(&two, two.methods[Rogue_run_METHOD], log, got, sizeof got);
	snprintf(want, sizeof want, "rogue returned %zu",
		 sizeof "attack4: S3CR3T!! in a log line" - 1);
	if (strcmp(got, want)) {
		snprintf(why, len, "rogue 2's SYS_LOG of its secret: '%.300s', want '%s'", got,
			 want);
		return -1;
	}
	uint64_t lo = entry_level_stack(0), hi = entry_sigstack.hi;
	const long scan[4] = {ROGUE_H_SCAN, (long)lo, (long)(hi - lo), 0};
	outcome(&one, one.methods[Rogue_run_METHOD], scan, got, sizeof got);
	if (strcmp(got, "rogue returned -1")) {
		snprintf(why, len,
			 "rogue 1 scanning the signal stack (%#lx, %lu bytes) for rogue 2's "
			 "secret: '%.300s', want 'rogue returned -1'",
			 (unsigned long)lo, (unsigned long)(hi - lo), got);
		return -1;
	}
	return runtime_clean(why, len);
}

/* For the other hosted test files (tests_rogue.c), the same outcome line
 * and the same matching as here. */
void htest_outcome(struct hosted_domain *d, uint64_t fn, const long a[4], char *out, size_t len)
{
	outcome(d, fn, a, out, len);
}

int htest_matches(const char *pattern, const char *s)
{
	return matches(pattern, s);
}

/* Every test: hello, the rogue cases, the cross-domain calls, the RRefs. */
struct test {
	const char *name;
	const char *needs; /* NULL, or what it needs keys for (its SKIP says so) */
	int (*run)(char *why, size_t len);
	const struct rogue_test *rogue;
	long rcase; /* an rref_a case: run by run_rref */
	int evil;   /* 1 + an index in evil_tests: run by run_evil */
	int vm;	    /* 1 + a case of tests_rogue.c's table */
};

/* The RRef cases of the VM's kernel/ktest/rrefs.c, named as its ktests,
 * through the same domains: rref_a drives rref_b (and through it rref_c). */
static const struct {
	const char *name;
	long rcase;
} rref_tests[] = {
	{"rref-move-gives-the-callee-ownership", RCASE_MOVE},
	{"rref-gate-refuses-an-rref-the-caller-does-not-own", RCASE_NOT_OWNER},
	{"rref-borrow-keeps-ownership-and-ends-with-the-call", RCASE_BORROW},
	{"rref-result-moves-to-the-caller", RCASE_RESULT},
	{"rref-borrowed-rref-returns-when-the-borrower-crashes", RCASE_CRASH_BORROW},
	{"rref-nested-children-move-with-their-parent", RCASE_NESTED},
	{"rref-borrowed-rref-can-be-lent-on-but-not-moved", RCASE_LEND_ON},
	{"rref-borrowed-rref-is-lent-on-across-three-domains", RCASE_LEND_ON_3},
	{"rref-failed-domain-rrefs-are-reclaimed", RCASE_KEEP_SOME},
};

#define NROGUE (sizeof rogue_tests / sizeof rogue_tests[0])
#define NRREF  (sizeof rref_tests / sizeof rref_tests[0])
#define NEVIL  (sizeof evil_tests / sizeof evil_tests[0])
/* Room for every test; add() refuses to write past it, so a test added in
 * one file without growing this fails loudly instead of overrunning. */
#define MAX_TESTS 256
static struct test tests[MAX_TESTS];
static int ntests;

static void add(struct test t)
{
	if (ntests == MAX_TESTS) {
		fprintf(stderr, "hosted-test: more than %d tests: %s has no room (MAX_TESTS)\n",
			MAX_TESTS, t.name);
		exit(2);
	}
	tests[ntests++] = t;
}

static void list_tests(void)
{
	add((struct test){.name = "hello-answers", .run = run_hello});
	for (size_t i = 0; i < NROGUE; i++)
		add((struct test){.name = rogue_tests[i].name,
				  .needs = rogue_tests[i].keyed ? "isolation" : NULL,
				  .rogue = &rogue_tests[i]});
	add((struct test){.name = "rogue-vsyscall-gettimeofday-is-enosys-or-faults",
			  .run = run_vsyscall});
	add((struct test){.name = "rogue-sysenter-with-a-stack-below-4-gib-fails-rogue",
			  .run = run_sysenter});
	add((struct test){.name = "xcall-chain-through-the-gate", .run = run_chain});
	add((struct test){.name = "xcall-callee-failing-in-32-bit-mode-unwinds-to-64-bit",
			  .run = run_compat});
	add((struct test){.name = "gate-vector-state-crosses-no-call", .run = run_vectors});
	add((struct test){.name = "signal-stack-keeps-nothing-of-an-earlier-upcall",
			  .run = run_sigstack});
	add((struct test){.name = "xcall-callee-fault-unwinds-to-caller", .run = run_unwind});
	add((struct test){.name = "gate-call-depth-past-the-limit-is-edepth", .run = run_depth});
	add((struct test){
		.name = "gate-every-wrpkru-jumped-to-with-zero-rights-faults-at-the-violation-site",
		.needs = "isolation", /* without keys every domain's rights are 0 too */
		.run = run_every_wrpkru});
	add((struct test){
		.name = "gate-every-wrpkru-jumped-to-denying-shared-faults-at-the-violation-site",
		.needs = "isolation",
		.run = run_every_wrpkru_denying_shared});
	add((struct test){.name = "runtime-every-base-write-jumped-to-faults-at-its-check",
			  .needs = "isolation", /* without keys the check's read succeeds */
			  .run = run_every_base_write});
	add((struct test){.name = "runtime-every-wrpkru-jumped-to-with-zero-rights-traps",
			  .needs = "isolation", /* without keys a WRPKRU is #UD where it stands */
			  .run = run_every_runtime_wrpkru});
	for (size_t i = 0; i < NRREF; i++)
		add((struct test){.name = rref_tests[i].name, .rcase = rref_tests[i].rcase});
	for (size_t i = 0; i < NEVIL; i++)
		add((struct test){.name = evil_tests[i].name, .evil = (int)i + 1});
	for (size_t i = 0; i < HOSTED_DOMAIN_TESTS; i++)
		add((struct test){.name = hosted_domain_tests[i].name,
				  .needs = hosted_domain_tests[i].needs,
				  .run = hosted_domain_tests[i].run});
	for (unsigned i = 0; i < HOSTED_ROGUE_CASES; i++) {
		const char *needs;
		const char *name = hosted_rogue_case_name(i, &needs);
		add((struct test){.name = name, .needs = needs, .vm = (int)i + 1});
	}
	for (size_t i = 0; i < HOSTED_ROGUE_TESTS; i++)
		add((struct test){.name = hosted_rogue_tests[i].name,
				  .needs = hosted_rogue_tests[i].needs,
				  .run = hosted_rogue_tests[i].run});
	for (size_t i = 0; i < HOSTED_INJECT_TESTS; i++)
		add((struct test){.name = inject_tests[i].name,
				  .needs = inject_tests[i].needs,
				  .run = inject_tests[i].run});
	for (size_t i = 0; i < HOSTED_WATCH_TESTS; i++)
		add((struct test){.name = hosted_watch_tests[i].name,
				  .needs = hosted_watch_tests[i].needs,
				  .run = hosted_watch_tests[i].run});
}

int htest_start(const char *name, unsigned id, struct hosted_domain *d, char *why, size_t len)
{
	return start(name, id, d, why, len);
}

int htest_runtime_clean(char *why, size_t len)
{
	return runtime_clean(why, len);
}

int htest_keys(void)
{
	return keys;
}

/* The child: set the runtime up, run one test, report on the pipe. */
static void child(int fd, const struct test *t)
{
	char why[WHY] = "";
	alarm(TEST_SECONDS);
	int rc = runtime_start(keys, why, sizeof why);
	if (rc == 0)
		rc = t->rogue  ? run_rogue(t->rogue, why, sizeof why)
		     : t->run  ? t->run(why, sizeof why)
		     : t->evil ? run_evil(&evil_tests[t->evil - 1], why, sizeof why)
		     : t->vm   ? hosted_rogue_case((unsigned)t->vm - 1, why, sizeof why)
			       : run_rref(t->rcase, why, sizeof why);
	if (rc == 0)
		why[0] = 0;
	else if (!why[0])
		snprintf(why, sizeof why, "failed without a reason");
	if (write(fd, why, strlen(why)) < 0)
		_exit(3);
	_exit(rc == 0 ? 0 : rc == HTEST_SKIP ? 2 : 1);
}

struct tally {
	int passed, failed, skipped;
};

static void one(const struct test *test, struct tally *t)
{
	const char *name = test->name;
	if (test->needs && !keys) {
		printf("hosted-test: %s SKIP %s needs protection keys: %s\n", name, test->needs,
		       no_keys);
		t->skipped++;
		return;
	}
	int p[2];
	fflush(stdout);
	if (pipe(p) < 0) {
		printf("hosted-test: %s FAIL cannot make a pipe\n", name);
		t->failed++;
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		child(p[1], test);
	}
	close(p[1]);
	char why[WHY] = "";
	size_t got = 0;
	ssize_t k;
	while (pid > 0 && got < sizeof why - 1 &&
	       (k = read(p[0], why + got, sizeof why - 1 - got)) > 0)
		got += (size_t)k;
	why[got] = 0;
	close(p[0]);
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		printf("hosted-test: %s FAIL cannot run a child process\n", name);
		t->failed++;
	} else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
		printf("hosted-test: %s FAIL did not finish in %d s\n", name, TEST_SECONDS);
		t->failed++;
	} else if (WIFSIGNALED(status)) {
		/* Containment failed: the host process itself died. */
		printf("hosted-test: %s FAIL the runtime died of SIG%s\n", name,
		       sigabbrev_np(WTERMSIG(status)));
		t->failed++;
	} else if (WEXITSTATUS(status) == 2) {
		printf("hosted-test: %s SKIP %s\n", name, why);
		t->skipped++;
	} else if (WEXITSTATUS(status) != 0) {
		printf("hosted-test: %s FAIL %s\n", name, why);
		t->failed++;
	} else {
		printf("hosted-test: %s ok\n", name);
		t->passed++;
	}
}

int hosted_tests(int n, char **names)
{
	list_tests();
	for (int k = 0; k < n; k++) {
		int i = 0;
		while (i < ntests && strcmp(names[k], tests[i].name))
			i++;
		if (i == ntests) {
			fprintf(stderr,
				"maple-hosted: test: no test named '%s'; there are:", names[k]);
			for (i = 0; i < ntests; i++)
				fprintf(stderr, " %s", tests[i].name);
			fputc('\n', stderr);
			return 2;
		}
	}
	keys = pkeys_available(no_keys, sizeof no_keys);
	printf("hosted-test: protection keys: %s\n", keys ? "yes" : no_keys);
	struct tally t = {0, 0, 0};
	for (int i = 0; i < ntests; i++) {
		int wanted = n == 0;
		for (int k = 0; k < n && !wanted; k++)
			wanted = !strcmp(names[k], tests[i].name);
		if (wanted)
			one(&tests[i], &t);
	}
	printf("hosted-test: %d passed, %d failed, %d skipped\n", t.passed, t.failed, t.skipped);
	return t.failed ? 1 : 0;
}
