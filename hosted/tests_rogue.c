/*
 * maple-hosted's ports of the VM's rogue ktests that tests.c's own rogue
 * table did not cover (tests_rogue.h; the inventory of every case, hosted or
 * not and why, is docs/platform.md "The rogue suite, hosted"): the rest of
 * kernel/ktest/domains.c's rogue suite (another domain's heap and data, the
 * thread's continuation stack and expected-PKRU word), kernel/ktest/
 * watchdog.c's debug traps, kernel/ktest/attack3.c's odd instructions and
 * pointer syscalls, kernel/ktest/attack.c's scratch registers back to the
 * caller and kernel/ktest/domains.c's thirteenth domain. Each asserts the
 * VM's outcome in the hosted runtime's words (the same fault kind, address
 * and faulting offset, the same error code), and ends with the leak check of
 * tests_domains.c. tests.c runs each in a child of its own.
 */
#define _GNU_SOURCE
#include "tests_rogue.h"

#include "domains.h"
#include "entry.h"
#include "gate.h"
#include "tests_domains.h"

#include <cpuid.h>
#include <domain/gate_layout.h>
#include <idl/rogue_methods.h>
#include <idl/victim_methods.h>
#include <maple/abi.h>
#include <test/rogue/attack3_cases.h>
#include <test/rogue/attack_cases.h>
#include <test/rogue/cases.h>
#include <test/rogue/watch_cases.h>
#include <test/victim/victim.h>
#include <xheap/rref.h>

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define WHY 512

/* What a case's `target` argument is. */
enum aim {
	AIM_LIT,	   /* the case's literal */
	AIM_VICTIM_HEAP,   /* victim's heap buffer (its key) */
	AIM_VICTIM_DATA,   /* victim's .data array (its key) */
	AIM_CONTS,	   /* the thread's continuation stack: TRUSTED */
	AIM_EXPECTED_PKRU, /* the thread's GATE_RO page's expected-PKRU word */
	AIM_PEER,	   /* a second rogue's handle */
};

/*
 * One case of a VM ktest's table: rogue.run(number, target) with victim
 * (or, for AIM_PEER, a second rogue) beside it. `expect` is the outcome
 * line as a regular expression, in which {ADDR} is the target address,
 * {KEY} victim's protection key, {TRAP} where the VM's ktest says the trap
 * of case `lit` is reported (rogue+offset of ROGUE_W_TRAP_RIP's answer),
 * {ICEBP} the signal INT1 raises here and {SYSENTER} what SYSENTER becomes
 * (below).
 */
struct vm_case {
	const char *name;
	const char *needs; /* NULL, or what it needs protection keys for */
	long number;
	enum aim aim;
	long lit;
	const char *expect;
};

#define STR(x)		  #x
#define XSTR(x)		  STR(x)
#define AT		  "at rogue\\+0x[0-9a-f]+"
#define FAILED		  "rogue failed: "
#define PKUERR(key)	  FAILED "SIGSEGV \\(SEGV_PKUERR, key " key "\\) " AT ", address {ADDR}"
#define GP		  FAILED "SIGSEGV \\(SI_KERNEL\\) " AT ", address 0"
#define ROGUE_SEES_NO_REG "rogue returned 0"

static const struct vm_case vm_cases[] = {
	/* kernel/ktest/domains.c, domain_rogue_suite_is_contained_without_leaks:
	 * "#PF at ADDR (error 0x25)" / "(error 0x27)", a protection-key fault
	 * reading / writing ADDR. */
	{"rogue-read-victim-heap-is-pkuerr", "isolation", ROGUE_READ_DOMAIN, AIM_VICTIM_HEAP, 0,
	 PKUERR("{KEY}")},
	{"rogue-write-victim-heap-is-pkuerr", "isolation", ROGUE_WRITE_DOMAIN, AIM_VICTIM_HEAP, 0,
	 PKUERR("{KEY}")},
	{"rogue-write-victim-data-is-pkuerr", "isolation", ROGUE_WRITE_DOMAIN, AIM_VICTIM_DATA, 0,
	 PKUERR("{KEY}")},
	{"rogue-write-a-continuation-stack-is-pkuerr", "isolation", ROGUE_WRITE_TRUSTED, AIM_CONTS,
	 0, PKUERR(XSTR(PKEY_TRUSTED))},
	{"rogue-write-its-expected-pkru-word-is-pkuerr", "isolation", ROGUE_WRITE_TRUSTED,
	 AIM_EXPECTED_PKRU, 0, PKUERR(XSTR(PKEY_GATE_RO))},
	/* kernel/ktest/watchdog.c, domain_debug_traps_fail_it_with_one_log_line:
	 * the trap fails rogue, reported at the instruction after the one that
	 * trapped (the VM's "#DB"/"#BP ..., rip R"). */
	{"rogue-single-step-fails-rogue-at-the-trap", NULL, ROGUE_W_SINGLE_STEP, AIM_LIT,
	 ROGUE_W_SINGLE_STEP, FAILED "SIGTRAP at {TRAP}"},
	{"rogue-int3-fails-rogue-at-the-trap", NULL, ROGUE_W_INT3, AIM_LIT, ROGUE_W_INT3,
	 FAILED "SIGTRAP at {TRAP}"},
	/* kernel/ktest/attack3.c, attack3_privileged_and_odd_instructions_fail_only_
	 * their_domain: #DB (#UD under TCG) for icebp, #GP(0) for the rest;
	 * Linux turns a user #GP into SIGSEGV with SI_KERNEL and address 0. */
	{"rogue-icebp-fails-rogue", NULL, ROGUE_X_INSN, AIM_LIT, ROGUE_X_ICEBP,
	 FAILED "{ICEBP} " AT},
	{"rogue-sysenter-fails-rogue", NULL, ROGUE_X_INSN, AIM_LIT, ROGUE_X_SYSENTER,
	 FAILED "{SYSENTER}"},
	{"rogue-out-to-the-reset-port-fails-rogue", NULL, ROGUE_X_INSN, AIM_LIT, ROGUE_X_OUT_RESET,
	 GP},
	{"rogue-hlt-fails-rogue", NULL, ROGUE_X_INSN, AIM_LIT, ROGUE_X_HLT, GP},
	{"rogue-cli-fails-rogue", NULL, ROGUE_X_INSN, AIM_LIT, ROGUE_X_CLI, GP},
	/* kernel/ktest/attack.c, attack_callee_registers_do_not_reach_the_caller:
	 * none of the callee's ROGUE_A_REG_SECRET reaches the caller; the
	 * gate zeroes the scratch registers, so here exactly 0. */
	{"attack-callee-registers-do-not-reach-the-caller", NULL, ROGUE_A_PEEK_REGS, AIM_PEER, 0,
	 ROGUE_SEES_NO_REG},
};

#define NCASES (sizeof vm_cases / sizeof vm_cases[0])

static int fail(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* d.run(a): "NAME returned R" or "NAME failed: WHY" into out. */
static void outcome(struct hosted_domain *d, unsigned method, const long a[4], char *out,
		    size_t len)
{
	char why[WHY];
	long r = 0;
	fflush(stdout);
	if (entry_upcall(d, d->methods[method], a, &r, why, sizeof why) < 0)
		snprintf(out, len, "%s failed: %.400s", d->name, why);
	else
		snprintf(out, len, "%s returned %ld", d->name, r);
}

/* A method's plain result (it must return): 0 with *r, or -1 with why. */
static int answer(struct hosted_domain *d, unsigned method, const long a[4], long *r, char *why,
		  size_t len)
{
	char f[WHY];
	fflush(stdout);
	if (entry_upcall(d, d->methods[method], a, r, f, sizeof f) < 0)
		return fail(why, len, "%s.%u failed: %.300s", d->name, method, f);
	return 0;
}

/* QEMU's TCG decodes INT1 (icebp) as #UD; hardware raises #DB (SDM Vol. 3A
 * 6.4.2), which Linux delivers as SIGTRAP. The same test as the VM's
 * kernel/ktest/attack3.c: the hypervisor leaf's "TCGT". */
static const char *icebp_signal(void)
{
	unsigned a, b, c, d;
	__cpuid(1, a, b, c, d);
	if (!(c & (1u << 31)))
		return "SIGTRAP";
	__cpuid(0x40000000, a, b, c, d);
	return b == 0x54474354 ? "SIGILL" : "SIGTRAP";
}

/* SYSENTER in 64-bit mode is #UD on AMD (APM Vol. 3, SYSENTER), and so
 * under QEMU's TCG (seen in the PKU guest): SIGILL. On Intel it enters
 * Linux at the SYSENTER_EIP it set, entry_SYSENTER_compat, as a 32-bit
 * system call, which the trusted entry fails as it fails `int 0x80`: that
 * line is Linux's documented path, not run on this (AMD) machine. */
static const char *sysenter_outcome(void)
{
	unsigned a, b, c, d;
	__cpuid(0, a, b, c, d);
	return b == 0x756e6547 ? "a 32-bit system call \\([0-9]+\\) at [^ ]+" : "SIGILL " AT;
}

/* from with {ADDR}, {KEY}, {TRAP}, {ICEBP} and {SYSENTER} filled in. */
static void expand(const char *from, uint64_t addr, int key, uint64_t trap, char *out, size_t len)
{
	size_t n = 0;
	while (*from && n + 32 < len) {
		if (!strncmp(from, "{ADDR}", 6)) {
			n += (size_t)snprintf(out + n, len - n, "%#lx", (unsigned long)addr);
			from += 6;
		} else if (!strncmp(from, "{KEY}", 5)) {
			n += (size_t)snprintf(out + n, len - n, "%d", key);
			from += 5;
		} else if (!strncmp(from, "{TRAP}", 6)) {
			n += (size_t)snprintf(out + n, len - n, "rogue\\+%#lx",
					      (unsigned long)trap);
			from += 6;
		} else if (!strncmp(from, "{SYSENTER}", 10)) {
			n += (size_t)snprintf(out + n, len - n, "%s", sysenter_outcome());
			from += 10;
		} else if (!strncmp(from, "{ICEBP}", 7)) {
			n += (size_t)snprintf(out + n, len - n, "%s", icebp_signal());
			from += 7;
		} else {
			out[n++] = *from++;
		}
	}
	out[n] = 0;
}

static int matches(const char *pattern, const char *s)
{
	char full[WHY + 4];
	snprintf(full, sizeof full, "^%s$", pattern);
	regex_t re;
	if (regcomp(&re, full, REG_EXTENDED | REG_NOSUB))
		return 0;
	int ok = !regexec(&re, s, 0, NULL, 0);
	regfree(&re);
	return ok;
}

/* victim's VICTIM_WORDS words at p all hold VICTIM_SECRET. */
static int intact(uint64_t p)
{
	const volatile uint64_t *w = (const volatile uint64_t *)p;
	for (unsigned i = 0; i < VICTIM_WORDS; i++)
		if (w[i] != VICTIM_SECRET)
			return 0;
	return 1;
}

/* The whole gate domain-table entry of id, to compare before and after. */
static struct gate_domain entry_of(unsigned id)
{
	return ((const volatile struct gate_domain *)GATE_DOMTAB_VA)[id];
}

/*
 * One case: rogue (and victim, or a second rogue) created as the runtime;
 * the outcome must match; a case that faults leaves rogue failed and one
 * that answers leaves it running; victim's heap and data and its domain-
 * table entry are as before; then the leak check. victim's third buffer
 * lives on its keeper thread's stack, which never runs hosted (a thread
 * that sleeps for ever holds the one thread, docs/platform.md), so its
 * check() is not called: the runtime reads the two buffers itself.
 */
static int run_case(const struct vm_case *c, char *why, size_t len)
{
	struct hosted_domain *rogue = htest_create("rogue", why, len);
	struct hosted_domain *peer =
		rogue ? htest_create(c->aim == AIM_PEER ? "rogue" : "victim", why, len) : NULL;
	if (!peer)
		return -1;
	long heap = 0, data = 0;
	const long none[4] = {0};
	if (c->aim != AIM_PEER &&
	    (answer(peer, Victim_heap_addr_METHOD, none, &heap, why, len) < 0 ||
	     answer(peer, Victim_data_addr_METHOD, none, &data, why, len) < 0))
		return -1;
	uint64_t tt_va = GATE_THREADS_VA + GATE_SLOT_TRUSTED_OFF;
	uint64_t target = c->aim == AIM_VICTIM_HEAP   ? (uint64_t)heap
			  : c->aim == AIM_VICTIM_DATA ? (uint64_t)data
			  : c->aim == AIM_CONTS	      ? tt_va + GTT_CONTS
			  : c->aim == AIM_EXPECTED_PKRU
				  ? GATE_THREADS_VA + GATE_SLOT_RO_OFF +
					    offsetof(struct gate_thread_ro, expected_pkru)
			  : c->aim == AIM_PEER ? hgate_handle(peer)
					       : (uint64_t)c->lit;
	uint64_t trap = 0;
	if (c->number == ROGUE_W_SINGLE_STEP || c->number == ROGUE_W_INT3) {
		const long q[4] = {ROGUE_W_TRAP_RIP, c->lit, 0, 0};
		long rip = 0;
		if (answer(rogue, Rogue_run_METHOD, q, &rip, why, len) < 0)
			return -1;
		trap = (uint64_t)rip - rogue->base;
	}
	struct gate_domain before = entry_of(peer->id);
	uint64_t watched = c->aim == AIM_CONTS || c->aim == AIM_EXPECTED_PKRU ? target : 0;
	uint64_t watched_word = watched ? *(volatile uint64_t *)watched : 0;
	const long a[4] = {c->number, (long)target, 0, 0};
	char got[WHY], pattern[WHY];
	outcome(rogue, Rogue_run_METHOD, a, got, sizeof got);
	expand(c->expect, target, peer->pkey, trap, pattern, sizeof pattern);
	if (!matches(pattern, got))
		return fail(why, len, "'%.300s', want /%.180s/", got, pattern);
	uint64_t state = hgate_state(rogue);
	uint64_t want_state = !strncmp(c->expect, FAILED, strlen(FAILED)) ? GATE_DOMAIN_FAILED
									  : GATE_DOMAIN_RUNNING;
	if (state != want_state)
		return fail(why, len, "rogue's state after the case: %lu, want %lu",
			    (unsigned long)state, (unsigned long)want_state);
	struct gate_domain after = entry_of(peer->id);
	/* A peer rogue is called (its calls count moves); victim never is. */
	if ((c->aim != AIM_PEER && memcmp(&before, &after, sizeof before)) ||
	    (c->aim != AIM_PEER && (!intact((uint64_t)heap) || !intact((uint64_t)data))))
		return fail(why, len, "rogue changed %s's data or its domain-table entry",
			    peer->name);
	/* The continuation stack and the expected-PKRU word are the runtime's
	 * again after the upcall: what was there before rogue ran. */
	if (watched && *(volatile uint64_t *)watched != watched_word)
		return fail(why, len, "the word at %#lx changed", (unsigned long)watched);
	return htest_leak_check(why, len);
}

const char *hosted_rogue_case_name(unsigned i, const char **needs)
{
	*needs = vm_cases[i].needs;
	return vm_cases[i].name;
}

int hosted_rogue_case(unsigned i, char *why, size_t len)
{
	return run_case(&vm_cases[i], why, len);
}
_Static_assert(NCASES == HOSTED_ROGUE_CASES, "tests_rogue.h counts every case");

/*
 * kernel/ktest/attack3.c, attack3_every_pointer_syscall_refuses_memory_not_
 * the_callers: every syscall that reads a (pointer, length) pair, handed
 * one that is not rogue's (the VM's kernel image, non-canonical, wrapping,
 * TRUSTED, the gate page, the shared heap, null, and a range that starts in
 * rogue's image and runs past its end), gets exactly -MAPLE_EFAULT and
 * rogue runs on. SYS_DEVICE_INFO into such a pointer is -MAPLE_ESRCH as in
 * a VM without nvme0 (the name is refused before the pointer is written).
 * SYS_DMA_BUS is the one difference: there is no DMA hosted, so it is
 * -MAPLE_ENOSYS before any pointer is looked at (the VM: -MAPLE_EFAULT).
 */
static int run_pointers(char *why, size_t len)
{
	struct hosted_domain *rogue = htest_create("rogue", why, len);
	if (!rogue)
		return -1;
	const uint64_t ptrs[] = {
		ROGUE_KERNEL_VA,
		0x8000000000000000ULL,
		0xfffffffffffffff8ULL,
		MAPLE_TRUSTED_VA,
		MAPLE_GATE_VA,
		SHARED_HEAP_VA,
		0,
		rogue->base + rogue->span - 8,
	};
	static const uint64_t nrs[] = {SYS_LOG,		  SYS_EXPORT,	       SYS_LOOKUP,
				       SYS_DOMAIN_CREATE, SYS_DEVICE_MAP,      SYS_DEVICE_SIZE,
				       SYS_DEVICE_BAR,	  SYS_DEVICE_BAR_SIZE, SYS_DEVICE_BUSMASTER,
				       SYS_DEVICE_INFO,	  SYS_DEVICE_CONFIG};
	for (unsigned p = 0; p < sizeof ptrs / sizeof ptrs[0]; p++) {
		long r;
		for (unsigned n = 0; n < sizeof nrs / sizeof nrs[0]; n++) {
			const long a[4] = {ROGUE_X_SYSCALL, (long)nrs[n], (long)ptrs[p], 16};
			if (answer(rogue, Rogue_run_METHOD, a, &r, why, len) < 0)
				return -1;
			if (r != -MAPLE_EFAULT)
				return fail(why, len, "syscall %lu with pointer %#lx: %ld, want %d",
					    (unsigned long)nrs[n], (unsigned long)ptrs[p], r,
					    -MAPLE_EFAULT);
		}
		const long dma[4] = {ROGUE_X_SYSCALL, SYS_DMA_BUS, (long)ptrs[p], 0};
		const long info[4] = {ROGUE_X_INFO_INTO, (long)ptrs[p], 0, 0};
		long i;
		if (answer(rogue, Rogue_run_METHOD, dma, &r, why, len) < 0 ||
		    answer(rogue, Rogue_run_METHOD, info, &i, why, len) < 0)
			return -1;
		if (r != -MAPLE_ENOSYS || i != -MAPLE_ESRCH)
			return fail(why, len,
				    "pointer %#lx: SYS_DMA_BUS %ld, SYS_DEVICE_INFO %ld; want %d "
				    "and %d",
				    (unsigned long)ptrs[p], r, i, -MAPLE_ENOSYS, -MAPLE_ESRCH);
	}
	if (hgate_state(rogue) != GATE_DOMAIN_RUNNING)
		return fail(why, len, "rogue failed; want it running on");
	return htest_leak_check(why, len);
}

/*
 * kernel/ktest/domains.c, domain_thirteenth_is_refused_with_no_key_left:
 * twelve domains hold the twelve domain keys (4 to 15, each once); the
 * thirteenth alive at once is refused with the VM's reason; a key comes
 * back when its domain goes. Keyed: without keys nothing is handed out.
 */
static int run_thirteenth(char *why, size_t len)
{
	enum { KEYS = PKEY_COUNT - PKEY_FIRST_DOMAIN };
	struct hosted_domain *held[KEYS];
	unsigned keys = 0;
	for (unsigned n = 0; n < KEYS; n++) {
		if (!(held[n] = htest_create("hello", why, len)))
			return -1;
		keys |= 1u << held[n]->pkey;
	}
	struct hosted_domain *extra = NULL;
	char err[256] = "";
	hdom_create(NULL, "hello", &extra, err, sizeof err);
	if (extra || !strstr(err, "no protection key left (12 domains hold the 12 domain keys)"))
		return fail(why, len, "the thirteenth: %s, want refused: '%.200s'",
			    extra ? "created" : "refused", err);
	if (keys != (0xffffu & ~((1u << PKEY_FIRST_DOMAIN) - 1)))
		return fail(why, len, "keys handed out %#x, want %#x", keys,
			    0xffffu & ~((1u << PKEY_FIRST_DOMAIN) - 1));
	if (hdom_destroy(hgate_handle(held[0]), err, sizeof err) < 0)
		return fail(why, len, "destroying the first: %.200s", err);
	if (!htest_create("hello", why, len))
		return -1;
	return htest_leak_check(why, len);
}

const struct hosted_named_test hosted_rogue_tests[HOSTED_ROGUE_TESTS] = {
	{"attack3-every-pointer-syscall-refuses-memory-not-the-callers", run_pointers, NULL},
	{"domain-thirteenth-is-refused-with-no-key-left", run_thirteenth, "isolation"},
};
