/*
 * tests_sigframe: the hosted tests of where signal frames lie and which
 * ones a handler takes (docs/platform.md, "What it enforces": the signal
 * stacks are the runtime's, key 0, on Linux 6.12 and later). Each is a line
 * of `maple-hosted test`: what a domain finds of another domain's system
 * call on the signal stack of the same upcall, a frame of a signal already
 * handled jumped into again, the faults Linux before 6.12 could not deliver
 * (under the gate's raised rights with a zeroed GS base or the trap flag,
 * and after one of the runtime's WRPKRUs with rights that deny SHARED),
 * the probe's refusal of such a kernel, and no live frame at start-up.
 */
#define _GNU_SOURCE
#include "tests_sigframe.h"

#include "audit.h"
#include "domains.h"
#include "entry.h"
#include "gate.h"
#include "gatepage.h"
#include "jump.h"
#include "pkeys.h"
#include "runtime.h"
#include "sigstack.h"
#include "tests.h"

#include <domain/gate_layout.h>
#include <idl/hello_methods.h>
#include <idl/rogue_methods.h>
#include <maple/abi.h>
#include <test/rogue/attack4_cases.h>
#include <test/rogue/cases.h>
#include <test/rogue/frames_cases.h>

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#define WHY 512

/* The entry stubs' WRPKRUs (sigentry.S). */
extern const char entry_keyed_fault_wrpkru[], entry_keyed_sigsys_wrpkru[];

/* A fresh rogue (id), run(a) as an upcall, and its outcome line compared
 * with want exactly; rogue must be failed after. */
static int rogue_fails_so(unsigned id, const long a[4], const char *want, const char *what,
			  char *why, size_t len)
{
	struct hosted_domain rogue;
	char got[WHY];
	if (htest_start("rogue", id, &rogue, why, len) < 0)
		return -1;
	htest_outcome(&rogue, rogue.methods[Rogue_run_METHOD], a, got, sizeof got);
	if (strcmp(got, want) || hgate_state(&rogue) != GATE_DOMAIN_FAILED)
		return htest_fail(why, len, "%s: '%.300s' (state %lu), want '%s' (failed)", what,
				  got, (unsigned long)hgate_state(&rogue), want);
	return 0;
}

/*
 * rogue 1 calls rogue 2 through the gate inside one upcall; rogue 2 logs a
 * line holding ROGUE_H_SECRET (with the secret in its callee-saved
 * registers too) and returns; rogue 1 then reads the thread's signal stack
 * of that upcall for it. The stack is the runtime's (key 0): rogue 1's
 * first read faults, at the stack's first byte. Before (the stack SHARED,
 * the PKU guest): rogue 1 found the secret on it ('rogue returned' an
 * offset) in the same upcall, where no scrub could reach.
 */
static int run_scan_same_upcall(char *why, size_t len)
{
	struct hosted_domain one, two;
	if (htest_start("rogue", 1, &one, why, len) < 0 ||
	    htest_start("rogue", 2, &two, why, len) < 0)
		return -1;
	uint64_t lo = entry_level_stack(0), hi = lo + ENTRY_SIGSTACK_BYTES;
	const long a[4] = {ROGUE_F_CALL_THEN_SCAN, (long)hgate_handle(&two), (long)lo,
			   (long)(hi - lo)};
	char got[WHY], want[160];
	htest_outcome(&one, one.methods[Rogue_run_METHOD], a, got, sizeof got);
	snprintf(want, sizeof want,
		 "^rogue failed: SIGSEGV \\(SEGV_PKUERR, key %d\\) at rogue\\+0x[0-9a-f]+, address "
		 "%#lx$",
		 PKEY_KERNEL, (unsigned long)lo);
	if (!htest_matches(want, got))
		return htest_fail(
			why, len,
			"rogue 1 reading the signal stack (%#lx, %lu bytes) after rogue 2 "
			"logged its secret in the same upcall: '%.300s', want /%s/",
			(unsigned long)lo, (unsigned long)(hi - lo), got, want);
	return htest_runtime_clean(why, len);
}

/*
 * rogue makes a SYS_NULL, whose frame Linux writes where every frame of
 * the upcall's level goes, and then jumps to each handler entry's WRPKRU
 * with %rsp there and %rdx/%rsi where Linux puts them: everything the
 * entry checked before. The frame was consumed (entry_sigreturn zeroed its
 * si_signo), so the entry traps. Before (the SHARED stacks' entry, 6.12
 * PKU guest): 'rogue returned -22', rogue running: the entry served the
 * old frame again and returned through it, with its registers.
 */
static int run_replay(char *why, size_t len)
{
	static const struct {
		const char *name;
		const char *site;
	} sites[] = {{"entry_keyed_sigsys", entry_keyed_sigsys_wrpkru},
		     {"entry_keyed_fault", entry_keyed_fault_wrpkru}};
	char want[64], what[96];
	snprintf(want, sizeof want, "rogue failed: SIGILL at %#lx",
		 (unsigned long)hosted_pkru_violation);
	for (unsigned i = 0; i < sizeof sites / sizeof sites[0]; i++) {
		const long a[4] = {ROGUE_F_REPLAY_FRAME, (long)sites[i].site,
				   (long)sigstack_frame(0), 0};
		snprintf(what, sizeof what, "%s's WRPKRU with the level's frame again",
			 sites[i].name);
		if (rogue_fails_so(i + 1, a, want, what, why, len) < 0)
			return -1;
	}
	return htest_runtime_clean(why, len);
}

/* The first of n bytes at or after p within the next 64, or NULL. */
static const uint8_t *find_after(const uint8_t *p, const uint8_t *bytes, size_t n)
{
	for (unsigned i = 0; i < 64; i++)
		if (!memcmp(p + i, bytes, n))
			return p + i;
	return NULL;
}

/*
 * Every WRPKRU of the gate that raises (RAISE_TO_GATE: movl $PKRU_GATE,
 * %eax; xorl %ecx, %ecx; xorl %edx, %edx; wrpkru), entered by a fresh
 * rogue as `how` says with %eax = PKRU_GATE, must fail rogue alone with the
 * line `outcome` gives for that site (0, or -1 with why filled), and hello
 * answer through the gate after: the process goes on.
 */
typedef int outcome_fn(const uint8_t *site, char *want, size_t wantlen, char *why, size_t len);

static int each_raise(long how, const char *as, outcome_fn *outcome, char *why, size_t len)
{
	const struct gatepage *gp = runtime_gatepage();
	const uint8_t *gate = (const uint8_t *)MAPLE_GATE_VA;
	const uint32_t pkru = PKRU_GATE;
	/* Its first 9 bytes; the WRPKRU (0f 01 ef) is compared byte by byte,
	 * so that this code holds no such sequence itself (audit.c). */
	uint8_t raise[9] = {0xb8, 0, 0, 0, 0, 0x31, 0xc9, 0x31, 0xd2};
	memcpy(raise + 1, &pkru, 4);
	struct hosted_domain hello;
	unsigned sites = 0;
	if (htest_start("hello", 3, &hello, why, len) < 0)
		return -1;
	for (uint64_t off = 0; off + sizeof raise + 3 <= gp->size; off++) {
		const uint8_t *w = gate + off + sizeof raise;
		if (memcmp(gate + off, raise, sizeof raise) || w[0] != 0x0f || w[1] != 0x01 ||
		    w[2] != 0xef)
			continue;
		char want[128], what[96];
		if (outcome(w, want, sizeof want, why, len) < 0)
			return -1;
		snprintf(what, sizeof what, "the raise at gate+%#lx %s", (unsigned long)(w - gate),
			 as);
		const long a[4] = {how, (long)w, (long)pkru, 0};
		if (rogue_fails_so(++sites, a, want, what, why, len) < 0)
			return -1;
		const long greet[4] = {5, 0, 0, 0};
		char got[WHY], answer[32];
		htest_outcome(&hello, hello.methods[Hello_greet_METHOD], greet, got, sizeof got);
		snprintf(answer, sizeof answer, "hello returned %u", 5 + hello.id);
		if (strcmp(got, answer))
			return htest_fail(why, len, "after %s, hello.greet(5): '%.300s', want '%s'",
					  what, got, answer);
	}
	if (sites < 2) /* the call's raise and the return's */
		return htest_fail(why, len, "%u raising WRPKRUs in the gate page, want at least 2",
				  sites);
	return htest_runtime_clean(why, len);
}

/* With a zeroed GS base the check after the WRPKRU passes, and the next
 * instruction, movq %gs:GT_GATE_STACK, %rsp, faults at that offset. */
static int zeroed_gs_outcome(const uint8_t *site, char *want, size_t wantlen, char *why, size_t len)
{
	const uint8_t load[] = {0x65, 0x48, 0x8b, 0x24, 0x25}; /* movq %gs:disp32, %rsp */
	const uint8_t *fault = find_after(site, load, sizeof load);
	if (!fault)
		return htest_fail(why, len,
				  "no movq %%gs:..., %%rsp within 64 bytes of the raise at %#lx",
				  (unsigned long)site);
	snprintf(want, wantlen, "rogue failed: SIGSEGV (SEGV_MAPERR) at gate+%#lx, address %#lx",
		 (unsigned long)(fault - (const uint8_t *)MAPLE_GATE_VA),
		 (unsigned long)offsetof(struct gate_thread_ro, gate_stack));
	return 0;
}

/* With the trap flag the single-step #DB comes right after the WRPKRU. */
static int trap_flag_outcome(const uint8_t *site, char *want, size_t wantlen, char *why, size_t len)
{
	(void)why;
	(void)len;
	snprintf(want, wantlen, "rogue failed: SIGTRAP at gate+%#lx",
		 (unsigned long)(site + 3 - (const uint8_t *)MAPLE_GATE_VA));
	return 0;
}

/*
 * Each raise jumped to after rogue loaded %gs with a selector (base 0):
 * the fault comes with PKRU_GATE, which denies SHARED and every domain
 * key; it is delivered (key-0 signal stack, Linux 6.12) and fails rogue
 * alone. Before (Linux 6.1 in the PKU guest, the stack SHARED): Linux
 * could not write the frame and killed the process ('the runtime died of
 * SIGSEGV').
 */
static int run_gs_raise(char *why, size_t len)
{
	return each_raise(ROGUE_F_GS_RAISE, "with a zeroed GS base", zeroed_gs_outcome, why, len);
}

/*
 * Each raise entered by iretq with the trap flag set: the #DB after the
 * WRPKRU comes with PKRU_GATE, and is delivered as a SIGTRAP that fails
 * rogue alone. Before (Linux 6.1 in the PKU guest, the stack SHARED): the
 * process was killed.
 */
static int run_tf_raise(char *why, size_t len)
{
	return each_raise(ROGUE_F_TF_RAISE, "with the trap flag", trap_flag_outcome, why, len);
}

/*
 * Every audited WRPKRU of the runtime (audit.c), reached by a call with
 * %eax = 0xfffffffc (rights that deny SHARED, GATE_RO and every domain
 * key: ROGUE_H_JUMP_PKRU) and %ecx = %edx = 0: each site's check refuses
 * it, by a trap (the handler entries test %eax) or by a read of GATE_RO
 * memory that faults (hosted_enter's compare with the expected PKRU, the
 * timing pair's read of the dispatch selector), under rights that deny
 * SHARED. Delivered (key-0 signal stack), each fails rogue alone. Before
 * (Linux 6.1 in the PKU guest, the stack SHARED): each killed the process.
 */
static int run_runtime_wrpkru_denying_shared(char *why, size_t len)
{
	const uint8_t cmp_expected[] = {0x65, 0x3b, 0x04, 0x25}; /* cmpl %gs:disp32, %eax */
	const uint8_t cmp_selector[] = {0x80, 0x39, SUD_ALLOW};	 /* cmpb $SUD_ALLOW, (%rcx) */
	const char *name;
	const void *site;
	unsigned i = 0;
	for (; (site = audit_site(i, &name)); i++) {
		char want[160], what[96];
		const uint8_t *at = NULL;
		uint64_t addr = 0;
		if (!strcmp(name, "hosted_enter_wrpkru")) {
			at = find_after(site, cmp_expected, sizeof cmp_expected);
			addr = entry_bases[hgate_thread_slot()].gs +
			       offsetof(struct gate_thread_ro, expected_pkru);
		} else if (!strncmp(name, "hosted_wrpkru_pair", 18)) {
			at = find_after(site, cmp_selector, sizeof cmp_selector);
			addr = (uint64_t)entry_selector;
		}
		if (at)
			snprintf(
				want, sizeof want,
				"rogue failed: SIGSEGV (SEGV_PKUERR, key %d) at %#lx, address %#lx",
				PKEY_GATE_RO, (unsigned long)at, (unsigned long)addr);
		else if (!strncmp(name, "entry_keyed_", 12))
			snprintf(want, sizeof want, "rogue failed: SIGILL at %#lx",
				 (unsigned long)hosted_pkru_violation);
		else
			return htest_fail(why, len, "audited WRPKRU %s: no outcome known for it",
					  name);
		snprintf(what, sizeof what, "%s with %%eax 0xfffffffc", name);
		const long a[4] = {ROGUE_H_JUMP_PKRU, (long)site, (long)0xfffffffc, 0};
		if (rogue_fails_so(i + 1, a, want, what, why, len) < 0)
			return -1;
	}
	if (i < 5)
		return htest_fail(why, len, "%u audited WRPKRUs, want 5", i);
	return htest_runtime_clean(why, len);
}

/*
 * The probe's refusal (pkeys.c), by its seam: the verdict that a signal
 * did not arrive on a stack whose key the interrupted rights deny gives
 * the line maple-hosted prints as `hosted: pku: no: ...`, naming this
 * kernel; the verdict that it did keeps keys. Apart from the probe so that
 * it is tested on a kernel that delivers (the 6.12 guest) or a CPU without
 * PKU (this host) alike; no 6.1 boot is kept for it.
 */
static int run_probe_refusal(char *why, size_t len)
{
	struct utsname u;
	char got[256] = "", want[256];
	if (uname(&u) < 0)
		return htest_fail(why, len, "uname failed");
	snprintf(want, sizeof want,
		 "Linux %s writes a signal frame with the interrupted rights (before 6.12): keys "
		 "need Linux 6.12 or later",
		 u.release);
	if (pkeys_judge_delivery(0, got, sizeof got) || strcmp(got, want))
		return htest_fail(why, len, "not delivered: '%s', want false and '%s'", got, want);
	if (!pkeys_judge_delivery(1, got, sizeof got))
		return htest_fail(why, len, "delivered: false, want true");
	return 0;
}

/*
 * THE INVARIANT (sigentry.S): a keyed handler entry takes only the frame of
 * the signal being delivered, so no frame at a level's address is live
 * while that level's domain code can run: in particular none before any
 * domain ran. The start-up measurement (sigstack.c) delivers a SIGUSR1
 * right there, on level 0; before its frame was marked consumed its
 * si_signo stayed 10 until level 0's first signal.
 */
static int run_nothing_live_at_start(char *why, size_t len)
{
	sigstack_use(0);
	const siginfo_t *si = (const siginfo_t *)(entry_sigstack.frame + SIGFRAME_INFO);
	if (si->si_signo != 0)
		return htest_fail(
			why, len,
			"before any domain ran, level 0's frame at %#lx holds si_signo %d "
			"(a live frame of SIG%s); want 0 (consumed)",
			(unsigned long)entry_sigstack.frame, si->si_signo,
			sigabbrev_np(si->si_signo) ? sigabbrev_np(si->si_signo) : "?");
	return 0;
}

const struct hosted_named_test hosted_sigframe_tests[HOSTED_SIGFRAME_TESTS] = {
	{"sigframe-stack-shows-a-domain-nothing-of-its-callees-syscall", run_scan_same_upcall,
	 "isolation"},
	{"sigframe-consumed-frame-jumped-into-again-traps", run_replay, "isolation"},
	{"sigframe-gate-raise-with-a-zeroed-gs-base-fails-the-domain", run_gs_raise, "isolation"},
	{"sigframe-gate-raise-with-the-trap-flag-fails-the-domain", run_tf_raise, "isolation"},
	{"sigframe-runtime-wrpkru-denying-shared-fails-the-domain",
	 run_runtime_wrpkru_denying_shared, "isolation"},
	{"sigframe-probe-refuses-a-kernel-that-writes-frames-with-the-interrupted-rights",
	 run_probe_refusal, NULL},
	{"sigframe-no-frame-is-live-before-a-domain-runs", run_nothing_live_at_start, NULL},
};
