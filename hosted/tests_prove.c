/*
 * tests_prove: the hosted tests of how a handler entry proves which thread
 * runs it (sigentry.S, entry_prove_thread), which is what lets domain
 * threads run at once under protection keys: a domain jumping to an entry
 * with its stack pointer at another thread's live signal frame, with its
 * own segment bases and with both zeroed, traps and leaves that frame and
 * that thread alone; a real delivery with both bases zeroed (a fault, a
 * system call, the watchdog's signal), or with one written wrong by a
 * jump to the runtime's own base writes, is served or fails the domain
 * alone, never the process; another live thread's own bases written on
 * a thread prove nothing; and the slow path's gettid site serves no
 * domain that calls it, nor do the two `syscall`s of the dispatch's
 * allowed region with the numbers Linux runs past seccomp. Each is a line
 * of `maple-hosted test`.
 */
#define _GNU_SOURCE
#include "tests_prove.h"

#include "domains.h"
#include "entry.h"
#include "gate.h"
#include "jump.h"
#include "sigstack.h"
#include "tests.h"
#include "watchdog.h"

#include <idl/rogue_methods.h>
#include <maple/abi.h>
#include <test/rogue/escape_cases.h>
#include <test/rogue/threads_cases.h>
#include <test/rogue/watch_cases.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#define WHY 512

/* The entry stubs' WRPKRUs (sigentry.S). */
extern const char entry_keyed_fault_wrpkru[], entry_keyed_sigsys_wrpkru[];

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* How long the test waits for the sleeper to go to sleep. */
#define SLEEPER_WAIT_NS 2000000000ull

/*
 * The sleeper the attacks on another thread's live frame aim at: rogue on
 * a runtime thread of its own, asleep for ever in its SYS_SLEEP_NS, whose
 * SIGSYS frame on that thread's level-0 signal stack is live meanwhile.
 * 0 with *frame its address, or -1 with why (the sleeper destroyed).
 */
/* The one sleeper of the tests below (each runs in a process of its own),
 * out of the stack: its result buffer is large. */
static struct htest_thread sleeper;

static int sleeper_start(struct htest_thread *s, uint64_t *frame, char *why, size_t len)
{
	struct hosted_domain *sleepy = htest_create("rogue", why, len);
	if (!sleepy)
		return -1;
	*s = (struct htest_thread){
		.d = sleepy, .fn = sleepy->methods[Rogue_run_METHOD], .a = {ROGUE_W_SLEEP_FOREVER}};
	if (htest_thread_start(s, why, len) < 0)
		return -1;
	/* Its stack is mapped at its first upcall, and its frame live once
	 * Linux delivered its SYS_SLEEP_NS's SIGSYS (before, its SYS_LOG's
	 * frame lies there a while, served and then rewritten). */
	for (uint64_t until = now_ns() + SLEEPER_WAIT_NS;
	     !(*frame = sigstack_frame_of((unsigned)s->slot, 0)) ||
	     ((const volatile siginfo_t *)(*frame + SIGFRAME_INFO))->si_signo != SIGSYS ||
	     ((const volatile siginfo_t *)(*frame + SIGFRAME_INFO))->si_syscall != SYS_SLEEP_NS;)
		if (now_ns() > until) {
			char err[160];
			hdom_destroy(hgate_handle(sleepy), err, sizeof err);
			htest_thread_join(s);
			return htest_fail(why, len,
					  "the sleeper's frame at %#lx never went live: %s",
					  (unsigned long)*frame, s->got);
		}
	return 0;
}

/* The sleeper destroyed: its sleep cut short and its upcall failed with
 * the reason, so nothing of the attacks reached it. 0, or -1 with why. */
static int sleeper_end(struct htest_thread *s, char *why, size_t len)
{
	char err[160] = "";
	int destroyed = hdom_destroy(hgate_handle(s->d), err, sizeof err);
	htest_thread_join(s);
	if (destroyed < 0 || strcmp(s->got, "rogue failed: destroyed"))
		return htest_fail(why, len,
				  "destroying the sleeper: %d (%s), its call '%.200s'; want 0, "
				  "'rogue failed: destroyed'",
				  destroyed, err[0] ? err : "no error", s->got);
	return 0;
}

/*
 * A domain on this thread jumps to each keyed entry's WRPKRU with %rsp at
 * the sleeper's live SIGSYS frame (and the ucontext and siginfo where
 * Linux puts them), once with its own FS and GS bases and once with both
 * zeroed by selector loads: each jumper fails with the trap at
 * hosted_pkru_violation, the frame's bytes are unchanged, and the sleeper,
 * asleep for ever in its own upcall meanwhile, is still there to be
 * destroyed: its sleep is cut short and its upcall fails with the reason.
 */
static int run_jump_at_another_threads_frame(char *why, size_t len)
{
	struct htest_thread *const s = &sleeper;
	uint64_t frame;
	if (sleeper_start(s, &frame, why, len) < 0)
		return -1;
	uint8_t before[SIGFRAME_BYTES];
	memcpy(before, (const void *)frame, sizeof before);
	static const struct {
		const char *name, *site;
	} sites[] = {{"entry_keyed_sigsys", entry_keyed_sigsys_wrpkru},
		     {"entry_keyed_fault", entry_keyed_fault_wrpkru}};
	char want[64], got[WHY];
	snprintf(want, sizeof want, "rogue failed: SIGILL at %#lx",
		 (unsigned long)hosted_pkru_violation);
	int bad = 0;
	for (unsigned i = 0; i < 4 && !bad; i++) {
		struct hosted_domain *jumper = htest_create("rogue", why, len);
		if (!jumper)
			return -1;
		const long a[4] = {ROGUE_TH_JUMP_AT_FRAME, (long)sites[i / 2].site, (long)frame,
				   (long)(i % 2)};
		htest_outcome(jumper, jumper->methods[Rogue_run_METHOD], a, got, sizeof got);
		if (strcmp(got, want) || memcmp(before, (const void *)frame, sizeof before))
			bad = htest_fail(
				why, len,
				"a jump to %s's WRPKRU at the sleeper's frame %#lx with %s: "
				"'%.200s', the frame %s; want '%s', unchanged",
				sites[i / 2].name, (unsigned long)frame,
				i % 2 ? "both bases zeroed" : "its own bases", got,
				memcmp(before, (const void *)frame, sizeof before) ? "rewritten"
										   : "unchanged",
				want);
	}
	char quiet[WHY]; /* the jump's failure is the one to report */
	if (sleeper_end(s, bad ? quiet : why, bad ? sizeof quiet : len) < 0 || bad)
		return -1;
	return htest_leak_check(why, len);
}

/*
 * Real deliveries on a thread whose domain zeroed both its FS and GS bases
 * by selector loads, so the entry proves the thread by its slow path (a
 * gettid): a null read fails rogue with the VM's reason, a SYS_NULL is
 * served, and a loop is failed by the watchdog's signal; the runtime goes
 * on each time with its own bases.
 */
#define BUDGET_MS 200
static int run_zeroed_bases(char *why, size_t len)
{
	static const struct {
		long then;
		const char *want;
	} cases[] = {
		{ROGUE_TH_NULL, "^rogue failed: SIGSEGV \\(SEGV_MAPERR\\) at rogue\\+0x[0-9a-f]+, "
				"address 0$"},
		{ROGUE_TH_SYSCALL, "^rogue returned 0$"},
		{ROGUE_TH_SPIN, "^rogue failed: watchdog: a call ran longer than 200 ms$"},
	};
	if (hwatch_start(0, why, len) < 0)
		return -1;
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hosted_domain *rogue = htest_create("rogue", why, len);
		if (!rogue)
			return -1;
		const long a[4] = {ROGUE_TH_ZEROED_BASES, cases[i].then, 0, 0};
		char got[WHY];
		hwatch_set_budget_ms(cases[i].then == ROGUE_TH_SPIN ? BUDGET_MS : 0);
		htest_outcome(rogue, rogue->methods[Rogue_run_METHOD], a, got, sizeof got);
		hwatch_set_budget_ms(0);
		if (!htest_matches(cases[i].want, got))
			return htest_fail(why, len,
					  "zeroed bases, then case %ld: '%.200s'; want /%s/",
					  cases[i].then, got, cases[i].want);
		if (htest_runtime_clean(why, len) < 0)
			return -1;
	}
	return htest_leak_check(why, len);
}

/*
 * A domain that jumps to one of the runtime's audited base writes
 * (entry_restore_fsbase, entry_restore_gsbase) writes a base of its
 * choosing, nonzero and not its thread's, until the key-0 read right after
 * faults: a real delivery with that wrong base, so the entry must not trap
 * on a wrong nonzero base but prove the thread by the other base or by
 * gettid. For each write, with the other base kept and with it zeroed
 * first: rogue fails at that read (SEGV_PKUERR, key 0, at the write plus
 * its 5 bytes), and the runtime goes on with its own bases. With a wrong
 * nonzero FS base trapped at once (the rule "nonzero must equal the
 * slot's"), the process died of it: 'the runtime died of SIGILL'.
 */
#define WRONG_BASE 0x5ec2e7000ull /* mapped or not, no thread's TLS or GATE_RO page */
static int run_wrong_base(char *why, size_t len)
{
	static const struct {
		const char *name, *site;
		unsigned zero; /* the other base's */
	} cases[] = {
		{"entry_restore_fsbase", entry_restore_fsbase, 0},
		{"entry_restore_fsbase", entry_restore_fsbase, ROGUE_TH_ZERO_GS},
		{"entry_restore_gsbase", entry_restore_gsbase, 0},
		{"entry_restore_gsbase", entry_restore_gsbase, ROGUE_TH_ZERO_FS},
	};
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hosted_domain *rogue = htest_create("rogue", why, len);
		if (!rogue)
			return -1;
		char got[WHY], want[128];
		/* The read after the 5-byte WRFSBASE/WRGSBASE (F3 REX.W 0F AE /r). */
		snprintf(want, sizeof want,
			 "rogue failed: SIGSEGV (SEGV_PKUERR, key %d) at %#lx, address %#lx",
			 PKEY_KERNEL, (unsigned long)cases[i].site + 5,
			 (unsigned long)&entry_base_slots);
		const long a[4] = {ROGUE_TH_BASE_WRITE, (long)cases[i].site, (long)WRONG_BASE,
				   (long)cases[i].zero};
		htest_outcome(rogue, rogue->methods[Rogue_run_METHOD], a, got, sizeof got);
		if (strcmp(got, want))
			return htest_fail(why, len, "%s with %#llx%s: '%.200s'; want '%s'",
					  cases[i].name, WRONG_BASE,
					  cases[i].zero ? ", the other base zeroed" : "", got,
					  want);
		if (htest_runtime_clean(why, len) < 0)
			return -1;
	}
	return htest_leak_check(why, len);
}

/*
 * Two threads cooperating against the proof (attack9): the sleeper's own
 * FS and GS bases, which any domain on its thread reads with RDFSBASE and
 * RDGSBASE (the loader forbids only the writes), written on this thread
 * by a jump to the audited base write, the other base kept or zeroed
 * first. The write's key-0 read faults, a real delivery on this thread
 * with a live thread's base: the entry must judge it against the slot of
 * the frame Linux wrote (this thread's), never against whichever slot
 * the base matches, so it proves this thread by the other base or gettid
 * and rogue fails at that read alone; the sleeper's live frame is
 * untouched and it is destroyed as it would be without the attack.
 */
static int run_another_threads_bases(char *why, size_t len)
{
	struct htest_thread *const s = &sleeper;
	uint64_t frame;
	if (sleeper_start(s, &frame, why, len) < 0)
		return -1;
	const struct entry_bases theirs = entry_bases[s->slot];
	uint8_t before[SIGFRAME_BYTES];
	memcpy(before, (const void *)frame, sizeof before);
	const struct {
		const char *name, *site;
		uint64_t value;
		unsigned zero; /* the other base's */
	} cases[] = {
		{"entry_restore_fsbase", entry_restore_fsbase, theirs.fs, 0},
		{"entry_restore_fsbase", entry_restore_fsbase, theirs.fs, ROGUE_TH_ZERO_GS},
		{"entry_restore_gsbase", entry_restore_gsbase, theirs.gs, 0},
		{"entry_restore_gsbase", entry_restore_gsbase, theirs.gs, ROGUE_TH_ZERO_FS},
	};
	int bad = !theirs.fs || !theirs.gs
			  ? htest_fail(why, len, "the sleeper's slot %ld has no bases recorded",
				       s->slot)
			  : 0;
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0] && !bad; i++) {
		struct hosted_domain *rogue = htest_create("rogue", why, len);
		if (!rogue) {
			bad = -1;
			break;
		}
		char got[WHY], want[128];
		snprintf(want, sizeof want,
			 "rogue failed: SIGSEGV (SEGV_PKUERR, key %d) at %#lx, address %#lx",
			 PKEY_KERNEL, (unsigned long)cases[i].site + 5,
			 (unsigned long)&entry_base_slots);
		const long a[4] = {ROGUE_TH_BASE_WRITE, (long)cases[i].site, (long)cases[i].value,
				   (long)cases[i].zero};
		htest_outcome(rogue, rogue->methods[Rogue_run_METHOD], a, got, sizeof got);
		int rewritten = memcmp(before, (const void *)frame, sizeof before) != 0;
		if (strcmp(got, want) || rewritten)
			bad = htest_fail(
				why, len,
				"%s with the sleeper's base %#lx%s: '%.200s', its frame %s; "
				"want '%s', unchanged",
				cases[i].name, (unsigned long)cases[i].value,
				cases[i].zero ? ", the other base zeroed" : "", got,
				rewritten ? "rewritten" : "unchanged", want);
		else if (htest_runtime_clean(why, len) < 0)
			bad = -1;
	}
	char quiet[WHY]; /* the attack's failure is the one to report */
	if (sleeper_end(s, bad ? quiet : why, bad ? sizeof quiet : len) < 0 || bad)
		return -1;
	return htest_leak_check(why, len);
}

/*
 * The entries' slow path's `syscall` (entry_gettid), the one a domain can
 * reach Linux through, called by rogue: with getpid's number, or with
 * gettid's as an x32 call (the same number with __X32_SYSCALL_BIT, which
 * seccomp reports under AUDIT_ARCH_X86_64 and Linux would run as gettid;
 * attack9), the filter traps it (rogue fails: a system call outside the
 * domains and the gate); with gettid's, Linux answers and the next
 * instruction's key-0 read faults (without keys, where that read
 * succeeds, the slot check traps): rogue fails either way, the id unseen,
 * and the runtime goes on.
 */
#define X32_SYSCALL_BIT 0x40000000L /* uapi asm/unistd.h's __X32_SYSCALL_BIT */
static int run_gettid_site(char *why, size_t len)
{
	static const long nr[3] = {SYS_getpid, X32_SYSCALL_BIT | SYS_gettid, SYS_gettid};
	char want[3][160];
	for (unsigned i = 0; i < 2; i++)
		snprintf(
			want[i], sizeof want[i],
			"rogue failed: a system call (%d) at %#lx outside the domains and the gate",
			(int)nr[i], (unsigned long)entry_gettid);
	if (htest_keys())
		snprintf(want[2], sizeof want[2],
			 "rogue failed: SIGSEGV (SEGV_PKUERR, key %d) at %#lx, address %#lx",
			 PKEY_KERNEL, (unsigned long)entry_gettid_end,
			 (unsigned long)&entry_base_slots);
	else
		snprintf(want[2], sizeof want[2], "rogue failed: SIGILL at %#lx",
			 (unsigned long)hosted_pkru_violation);
	for (unsigned i = 0; i < sizeof nr / sizeof nr[0]; i++) {
		struct hosted_domain *rogue = htest_create("rogue", why, len);
		if (!rogue)
			return -1;
		const long a[4] = {ROGUE_E_CALL_SYSCALL, (long)entry_gettid, nr[i], 0};
		char got[WHY];
		htest_outcome(rogue, rogue->methods[Rogue_run_METHOD], a, got, sizeof got);
		if (strcmp(got, want[i]))
			return htest_fail(why, len,
					  "entry_gettid called with %#lx: '%.200s'; want '%s'",
					  nr[i], got, want[i]);
		if (htest_runtime_clean(why, len) < 0)
			return -1;
	}
	return htest_leak_check(why, len);
}

/*
 * The two system calls Linux (6.13 and later, 6.18 on this machine) runs
 * past every seccomp filter: uretprobe (335) and uprobe (336), which
 * kernel/seccomp.c lets through unfiltered because only uprobes'
 * trampolines make them. Syscall user dispatch still traps them anywhere
 * but its allowed region, so rogue calls the region's two `syscall`s, at
 * entry_sigreturn and entry_gettid, where the filter would let through
 * only rt_sigreturn with the secret and gettid. Linux runs them: called
 * from outside a trampoline, uretprobe sends SIGILL at the instruction
 * after the `syscall` and uprobe answers -ENXIO, after which the next
 * instruction is entry_sigreturn's ud2 or entry_gettid's key-0 read (the
 * slot check without keys). Each fails rogue alone and the runtime goes
 * on. A Linux without the passthrough traps them in the filter instead
 * (the PKU guest's 6.12): that line is the other one accepted.
 */
#define NR_URETPROBE 335 /* Linux's x86-64 numbers (6.11 and 6.18) */
#define NR_UPROBE    336
static int run_uprobe_calls(char *why, size_t len)
{
	const uint64_t sites[2] = {(uint64_t)entry_sigreturn_end - 2, (uint64_t)entry_gettid};
	const uint64_t ends[2] = {(uint64_t)entry_sigreturn_end, (uint64_t)entry_gettid_end};
	static const long nr[2] = {NR_URETPROBE, NR_UPROBE};
	for (unsigned s = 0; s < 2; s++)
		for (unsigned i = 0; i < 2; i++) {
			char ran[160], trapped[160];
			if (nr[i] == NR_UPROBE && s == 1 && htest_keys())
				snprintf(ran, sizeof ran,
					 "rogue failed: SIGSEGV (SEGV_PKUERR, key %d) at %#lx, "
					 "address %#lx",
					 PKEY_KERNEL, (unsigned long)ends[s],
					 (unsigned long)&entry_base_slots);
			else if (nr[i] == NR_UPROBE && s == 1)
				snprintf(ran, sizeof ran, "rogue failed: SIGILL at %#lx",
					 (unsigned long)hosted_pkru_violation);
			else
				snprintf(ran, sizeof ran, "rogue failed: SIGILL at %#lx",
					 (unsigned long)ends[s]);
			snprintf(trapped, sizeof trapped,
				 "rogue failed: a system call (%ld) at %#lx outside the domains "
				 "and the gate",
				 nr[i], (unsigned long)sites[s]);
			struct hosted_domain *rogue = htest_create("rogue", why, len);
			if (!rogue)
				return -1;
			const long a[4] = {ROGUE_E_CALL_SYSCALL, (long)sites[s], nr[i], 0};
			char got[WHY];
			htest_outcome(rogue, rogue->methods[Rogue_run_METHOD], a, got, sizeof got);
			if (strcmp(got, ran) && strcmp(got, trapped))
				return htest_fail(
					why, len,
					"the `syscall` at %#lx called with %ld: '%.200s'; "
					"want '%s' or '%s'",
					(unsigned long)sites[s], nr[i], got, ran, trapped);
			if (htest_runtime_clean(why, len) < 0)
				return -1;
		}
	return htest_leak_check(why, len);
}

const struct hosted_named_test hosted_prove_tests[HOSTED_PROVE_TESTS] = {
	{"threads-a-jump-at-another-threads-live-frame-traps", run_jump_at_another_threads_frame,
	 "isolation"},
	{"threads-a-delivery-with-both-bases-zeroed-is-handled", run_zeroed_bases, NULL},
	{"threads-a-delivery-after-a-wrong-base-write-is-handled", run_wrong_base, "isolation"},
	{"threads-the-entries-gettid-site-serves-no-domain", run_gettid_site, NULL},
	{"filter-the-uprobe-calls-linux-runs-past-seccomp-fail-the-domain", run_uprobe_calls, NULL},
	{"threads-another-live-threads-bases-prove-nothing", run_another_threads_bases,
	 "isolation"},
};
