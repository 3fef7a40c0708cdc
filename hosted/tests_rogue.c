/*
 * maple-hosted's ports of the VM's rogue ktests that tests_escape.c's rogue
 * table did not cover (tests_rogue.h; the inventory of every case, hosted or
 * not and why, is docs/platform.md "The rogue suite, hosted"). A table of
 * rogue.run cases: the rest of kernel/ktest/domains.c's rogue suite
 * (another domain's heap and data, the thread's continuation stack and
 * expected-PKRU word), watchdog.c's debug traps, attack3.c's odd
 * instructions and attack.c's scratch registers back to the caller. Then
 * tests of their own shape: attack3.c's pointer syscalls and non-canonical
 * caller stack, gate.c's jump onto the domain table and its upcall stack
 * pointer check, domains.c's thirteenth domain, and rref_attacks.c's and
 * attack2_recall.c's exchange-heap cases. Each asserts the VM's outcome in
 * the hosted runtime's words (the same fault kind, address and faulting
 * offset, the same error code or reason), and ends with the leak check of
 * tests_domains.c. tests.c runs each in a child of its own.
 */
#define _GNU_SOURCE
#include "tests_rogue.h"

#include "domains.h"
#include "entry.h"
#include "gate.h"
#include "gatepage.h"
#include "loader.h"
#include "runtime.h"
#include "tests.h"
#include "tests_domains.h"

#include <cpuid.h>
#include <domain/gate_layout.h>
#include <idl/rogue_methods.h>
#include <idl/rref_evil_methods.h>
#include <idl/victim_methods.h>
#include <lib/elf.h>
#include <maple/abi.h>
#include <test/rogue/attack3_cases.h>
#include <test/rogue/attack_cases.h>
#include <test/rogue/cases.h>
#include <test/rogue/gate_cases.h>
#include <test/rogue/watch_cases.h>
#include <test/rrefs/evil.h>
#include <test/victim/victim.h>
#include <xheap/rref.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY	    512
#define WIDE_LEAVES 500 /* kernel/ktest/rref_attacks.c's tree */
#define NESTED_HELD (RREF_MAX_LEVELS + 1 + 2 * WIDE_LEAVES)

/* What a case's `target` argument is. */
enum aim {
	AIM_LIT,	   /* the case's literal */
	AIM_VICTIM_HEAP,   /* victim's heap buffer (its key) */
	AIM_VICTIM_DATA,   /* victim's .data array (its key) */
	AIM_VICTIM_STACK,  /* the buffer on victim's keeper thread's stack (its key) */
	AIM_CONTS,	   /* the thread's continuation stack: TRUSTED */
	AIM_EXPECTED_PKRU, /* the thread's GATE_RO page's expected-PKRU word */
	AIM_PEER,	   /* a second rogue's handle */
};

/*
 * One case of a VM ktest's table: rogue.run(number, target) with victim
 * (or, for AIM_PEER, a second rogue) beside it. `expect` is the outcome
 * line as a regular expression, in which {ADDR} is the target address,
 * {KEY} victim's protection key, {TRAP} where the VM's ktest says the trap
 * of case `lit` is reported (rogue+offset of ROGUE_W_TRAP_RIP's answer)
 * and {SYSENTER} what SYSENTER becomes (below).
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
	{"rogue-read-victim-stack-is-pkuerr", "isolation", ROGUE_READ_DOMAIN, AIM_VICTIM_STACK, 0,
	 PKUERR("{KEY}")},
	{"rogue-write-victim-stack-is-pkuerr", "isolation", ROGUE_WRITE_DOMAIN, AIM_VICTIM_STACK, 0,
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
	 * their_domain: #DB for icebp (SDM Vol. 3A 6.4.2: SIGTRAP; so under
	 * QEMU 10.0's TCG, the PKU guest's: 7.2's decoded it as #UD, SIGILL),
	 * #GP(0) for the rest; Linux turns a user #GP into SIGSEGV with
	 * SI_KERNEL and address 0. */
	{"rogue-icebp-fails-rogue", NULL, ROGUE_X_INSN, AIM_LIT, ROGUE_X_ICEBP,
	 FAILED "SIGTRAP " AT},
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

/* A method's plain result (it must return): 0 with *r, or -1 with why. */
static int answer(struct hosted_domain *d, unsigned method, const long a[4], long *r, char *why,
		  size_t len)
{
	char f[WHY];
	fflush(stdout);
	if (entry_upcall(d, d->methods[method], a, r, f, sizeof f) < 0)
		return htest_fail(why, len, "%s.%u failed: %.300s", d->name, method, f);
	return 0;
}

/* SYSENTER in 64-bit mode is #UD on AMD (APM Vol. 3, SYSENTER), and so
 * under QEMU's TCG (seen in the PKU guest): SIGILL. On Intel it enters
 * Linux at entry_SYSENTER_compat as a 32-bit system call, whose fast path
 * first reads the sixth argument from the low 32 bits of %rsp
 * (do_fast_syscall_32). rogue's stack lies above 4 GiB, so that read fails,
 * no system call is made, and Linux returns in 32-bit mode to its vDSO
 * landing pad, truncated to 32 bits, where nothing is mapped: SIGSEGV at
 * that address, which fails rogue (seen on an Intel Xeon host, Linux 6.18).
 * tests_escape.c's rogue-sysenter-with-a-stack-below-4-gib-fails-rogue takes the
 * path where the call is made. */
static const char *sysenter_outcome(void)
{
	unsigned a, b, c, d;
	__cpuid(0, a, b, c, d);
	return b == 0x756e6547 ? "SIGSEGV \\(SEGV_MAPERR\\) at (0x[0-9a-f]{1,8}), address \\1"
			       : "SIGILL " AT;
}

/* from with {ADDR}, {KEY}, {TRAP} and {SYSENTER} filled in. */
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
		} else {
			out[n++] = *from++;
		}
	}
	out[n] = 0;
}

/* s is the whole of what pattern matches. */
static int matches(const char *pattern, const char *s)
{
	char full[WHY + 4];
	snprintf(full, sizeof full, "^%s$", pattern);
	return htest_matches(full, s);
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
 * table entry are as before, and so is its third buffer, on the stack of
 * its keeper thread (a domain thread asleep for ever in SYS_SLEEP_NS,
 * syscalls.c), whose address stack_addr answers once the thread has run;
 * then the leak check (its destroy wakes the keeper, which unwinds).
 */
static int run_case(const struct vm_case *c, char *why, size_t len)
{
	struct hosted_domain *rogue = htest_create("rogue", why, len);
	struct hosted_domain *peer =
		rogue ? htest_create(c->aim == AIM_PEER ? "rogue" : "victim", why, len) : NULL;
	if (!peer)
		return -1;
	long heap = 0, data = 0, stack = 0;
	const long none[4] = {0};
	if (c->aim != AIM_PEER &&
	    (answer(peer, Victim_heap_addr_METHOD, none, &heap, why, len) < 0 ||
	     answer(peer, Victim_data_addr_METHOD, none, &data, why, len) < 0 ||
	     answer(peer, Victim_stack_addr_METHOD, none, &stack, why, len) < 0))
		return -1;
	uint64_t tt_va = GATE_THREADS_VA + GATE_SLOT_TRUSTED_OFF;
	uint64_t target = c->aim == AIM_VICTIM_HEAP    ? (uint64_t)heap
			  : c->aim == AIM_VICTIM_DATA  ? (uint64_t)data
			  : c->aim == AIM_VICTIM_STACK ? (uint64_t)stack
			  : c->aim == AIM_CONTS	       ? tt_va + GTT_CONTS
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
	htest_outcome(rogue, rogue->methods[Rogue_run_METHOD], a, got, sizeof got);
	expand(c->expect, target, peer->pkey, trap, pattern, sizeof pattern);
	if (!matches(pattern, got))
		return htest_fail(why, len, "'%.300s', want /%.180s/", got, pattern);
	uint64_t state = hgate_state(rogue);
	uint64_t want_state = !strncmp(c->expect, FAILED, strlen(FAILED)) ? GATE_DOMAIN_FAILED
									  : GATE_DOMAIN_RUNNING;
	if (state != want_state)
		return htest_fail(why, len, "rogue's state after the case: %lu, want %lu",
				  (unsigned long)state, (unsigned long)want_state);
	struct gate_domain after = entry_of(peer->id);
	/* A peer rogue is called (its calls count moves); victim never is. */
	if ((c->aim != AIM_PEER && memcmp(&before, &after, sizeof before)) ||
	    (c->aim != AIM_PEER &&
	     (!intact((uint64_t)heap) || !intact((uint64_t)data) || !intact((uint64_t)stack))))
		return htest_fail(why, len, "rogue changed %s's data or its domain-table entry",
				  peer->name);
	/* The continuation stack and the expected-PKRU word are the runtime's
	 * again after the upcall: what was there before rogue ran. */
	if (watched && *(volatile uint64_t *)watched != watched_word)
		return htest_fail(why, len, "the word at %#lx changed", (unsigned long)watched);
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
				return htest_fail(why, len,
						  "syscall %lu with pointer %#lx: %ld, want %d",
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
			return htest_fail(
				why, len,
				"pointer %#lx: SYS_DMA_BUS %ld, SYS_DEVICE_INFO %ld; want %d "
				"and %d",
				(unsigned long)ptrs[p], r, i, -MAPLE_ENOSYS, -MAPLE_ESRCH);
	}
	if (hgate_state(rogue) != GATE_DOMAIN_RUNNING)
		return htest_fail(why, len, "rogue failed; want it running on");
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
		return htest_fail(why, len, "the thirteenth: %s, want refused: '%.200s'",
				  extra ? "created" : "refused", err);
	if (keys != (0xffffu & ~((1u << PKEY_FIRST_DOMAIN) - 1)))
		return htest_fail(why, len, "keys handed out %#x, want %#x", keys,
				  0xffffu & ~((1u << PKEY_FIRST_DOMAIN) - 1));
	if (hdom_destroy(hgate_handle(held[0]), err, sizeof err) < 0)
		return htest_fail(why, len, "destroying the first: %.200s", err);
	if (!htest_create("hello", why, len))
		return -1;
	return htest_leak_check(why, len);
}

/* ---- kernel/ktest/gate.c and attack3.c: jumps into the gate past its
 * entry ---- */

uint64_t htest_gate_sym(const char *name, char *why, size_t len)
{
	size_t size;
	uint64_t lo = 0, va = 0;
	uint8_t *file = hosted_read(GATEPAGE_KERNEL_ELF, &size, why, len);
	if (!file)
		return 0;
	if (!elf_symbol_value(file, size, "__gate_start", &lo) ||
	    !elf_symbol_value(file, size, name, &va) || va < lo)
		htest_fail(why, len, "%s: no %s", GATEPAGE_KERNEL_ELF, name);
	free(file);
	return va >= lo && lo ? MAPLE_GATE_VA + (va - lo) : 0;
}

/* The address a "..., address 0x..." failure line names, or 0. */
static uint64_t address_in(const char *line)
{
	const char *p = strstr(line, ", address 0x");
	return p ? strtoull(p + 10, NULL, 16) : 0; /* at its "0x" */
}

/*
 * gate_jump_with_stack_on_the_domain_table_faults_as_the_caller: rogue
 * jumps past the gate's pushes (gate_entry_pushed) with %rsp on victim's
 * domain-table entry and a call the gate refuses. The gate must not write
 * there: rogue fails with a protection-key fault on TRUSTED inside the
 * domain table, with its own rights; victim's entry is unchanged. Keyed:
 * without keys the table is ordinary memory.
 */
static int run_jump_stack(char *why, size_t len)
{
	struct hosted_domain *victim = htest_create("victim", why, len);
	struct hosted_domain *rogue = victim ? htest_create("rogue", why, len) : NULL;
	uint64_t pushed = rogue ? htest_gate_sym("gate_entry_pushed", why, len) : 0;
	const long none[4] = {0};
	long stack;
	/* Its entry settled: its keeper thread has entered it (stack_addr
	 * waits for that), so no call of its own moves the counts below. */
	if (!pushed || answer(victim, Victim_stack_addr_METHOD, none, &stack, why, len) < 0)
		return -1;
	uint64_t rsp = GATE_DOMTAB_VA + victim->id * sizeof(struct gate_domain) +
		       offsetof(struct gate_domain, active) + 8;
	struct gate_domain before = entry_of(victim->id);
	const long a[4] = {ROGUE_GATE_JUMP_STACK, (long)rsp, (long)pushed,
			   (long)hgate_handle(victim)};
	char got[WHY];
	htest_outcome(rogue, rogue->methods[Rogue_run_METHOD], a, got, sizeof got);
	struct gate_domain after = entry_of(victim->id);
	uint64_t at = address_in(got);
	const char *want = FAILED "SIGSEGV \\(SEGV_PKUERR, key " XSTR(
		PKEY_TRUSTED) "\\) at gate\\+0x[0-9a-f]+, address 0x[0-9a-f]+";
	if (!matches(want, got) || at < GATE_DOMTAB_VA ||
	    at >= GATE_DOMTAB_VA + GATE_MAX_DOMAINS * sizeof(struct gate_domain))
		return htest_fail(why, len,
				  "'%.300s', want /%s/ with an address in the domain table", got,
				  want);
	if (memcmp(&before, &after, sizeof before) || hgate_state(rogue) != GATE_DOMAIN_FAILED)
		return htest_fail(why, len,
				  "victim's domain-table entry changed, or rogue runs on");
	return htest_leak_check(why, len);
}

/*
 * attack3_unwinding_to_a_noncanonical_caller_stack_faults_only_the_caller:
 * the caller enters the gate at its raise (gate_entry_raise) as a call of
 * the callee's null dereference, with the %rsp the gate records set to a
 * non-canonical address. The callee fails on its null dereference; the
 * unwinding resumes the caller at gate_resume on that %rsp, and its first
 * pop faults there, as the caller: it fails, the runtime lives on. The
 * fault is #SS on hardware (SIGBUS) and #GP under TCG (SIGSEGV), both
 * SI_KERNEL: as the VM's test, only where it happened is pinned.
 */
static int run_noncanonical_rsp(char *why, size_t len)
{
	struct hosted_domain *caller = htest_create("rogue", why, len);
	struct hosted_domain *callee = caller ? htest_create("rogue", why, len) : NULL;
	uint64_t raise = callee ? htest_gate_sym("gate_entry_raise", why, len) : 0;
	if (!raise)
		return -1;
	const long a[4] = {ROGUE_X_RAISE_WITH_RSP, (long)hgate_handle(callee), (long)raise,
			   (long)0x8000000000000000ULL};
	char got[WHY], want[160];
	htest_outcome(caller, caller->methods[Rogue_run_METHOD], a, got, sizeof got);
	snprintf(want, sizeof want,
		 FAILED "SIG(SEGV|BUS) \\(SI_KERNEL\\) at gate\\+%#lx, address 0",
		 (unsigned long)(runtime_gatepage()->resume - MAPLE_GATE_VA));
	if (!matches(want, got))
		return htest_fail(why, len, "'%.300s', want /%s/", got, want);
	if (hgate_state(caller) != GATE_DOMAIN_FAILED || hgate_state(callee) != GATE_DOMAIN_FAILED)
		return htest_fail(why, len, "caller %lu, callee %lu after; want both failed (%d)",
				  (unsigned long)hgate_state(caller),
				  (unsigned long)hgate_state(callee), GATE_DOMAIN_FAILED);
	return htest_leak_check(why, len);
}

/*
 * gate_upcall_refuses_a_domain_stack_pointer_outside_the_thread_stack:
 * the stack pointer the runtime enters a domain with (the thread's
 * domain_sp in TRUSTED, which the gate sets from a caller's %rsp) aimed at
 * victim's heap must not make the runtime write the return slot there with
 * its own rights: victim fails with the VM's reason, the heap is untouched.
 */
static int run_upcall_sp_outside(char *why, size_t len)
{
	struct hosted_domain *victim = htest_create("victim", why, len);
	long heap = 0;
	const long none[4] = {0};
	if (!victim || answer(victim, Victim_heap_addr_METHOD, none, &heap, why, len) < 0)
		return -1;
	uint64_t tt_va;
	hgate_thread_conts(&tt_va);
	volatile uint64_t *sp = (volatile uint64_t *)(tt_va + offsetof(struct gate_thread_trusted,
								       domain_sp[victim->id]));
	uint64_t saved = *sp;
	*sp = (uint64_t)heap + 8; /* the return slot would be the heap's first word */
	char got[WHY], want[200];
	htest_outcome(victim, victim->methods[Victim_heap_addr_METHOD], none, got, sizeof got);
	*sp = saved;
	snprintf(want, sizeof want,
		 "victim failed: gate: thread slot 0 would enter it at %#lx, outside its stack "
		 "there",
		 (unsigned long)heap + 8);
	if (strcmp(got, want) || !intact((uint64_t)heap) ||
	    hgate_state(victim) != GATE_DOMAIN_FAILED)
		return htest_fail(why, len,
				  "'%.200s' (heap %s, state %lu); want '%s', intact, failed", got,
				  intact((uint64_t)heap) ? "intact" : "written",
				  (unsigned long)hgate_state(victim), want);
	return htest_leak_check(why, len);
}

/* ---- kernel/ktest/rref_attacks.c and attack2_recall.c: the exchange
 * heap (the VM's own rref.c) under rref_evil, checked from the runtime ---- */

static uint64_t live_rrefs(void)
{
	struct rref_stats s;
	rref_get_stats(&s);
	return s.live;
}

/* Two rref_evil instances: 0 with *one and *two, or -1 with why. */
static int evil_pair(struct hosted_domain **one, struct hosted_domain **two, char *why, size_t len)
{
	*one = htest_create("rref_evil", why, len);
	*two = *one ? htest_create("rref_evil", why, len) : NULL;
	return *two ? 0 : -1;
}

/* one.run(which, two's handle, a, b): 0 with *r, or -1 with why. */
static int evil_run(struct hosted_domain *one, struct hosted_domain *two, long which, long a,
		    long b, long *r, char *why, size_t len)
{
	const long arg[4] = {which, (long)hgate_handle(two), a, b};
	return answer(one, RrefEvil_run_METHOD, arg, r, why, len);
}

static int destroy(struct hosted_domain *d, char *why, size_t len)
{
	char err[256];
	if (hdom_destroy(hgate_handle(d), err, sizeof err) < 0)
		return htest_fail(why, len, "destroying %s: %.200s", d->name, err);
	return 0;
}

/*
 * rref_destroying_the_owner_of_deep_and_wide_trees_reclaims_them: one
 * keeps a chain as deep as nesting allows and a tree of 2 * 500 below one
 * root, all charged to it (128 bytes each); destroying it frees every one
 * and its charge (the VM's #DF before its fix was a recursive free).
 */
static int run_reclaim_trees(char *why, size_t len)
{
	struct hosted_domain *one, *two;
	if (evil_pair(&one, &two, why, len) < 0)
		return -1;
	uint64_t before = live_rrefs(), count, bytes, count_after, bytes_after;
	long r;
	if (evil_run(one, two, EV_KEEP_TREES, EV_CHAIN, WIDE_LEAVES, &r, why, len) < 0)
		return -1;
	uint64_t held = live_rrefs() - before;
	uint32_t id = one->id;
	rref_domain_usage(id, &count, &bytes);
	if (destroy(one, why, len) < 0)
		return -1;
	rref_domain_usage(id, &count_after, &bytes_after);
	if (r != EV_PASSED || held != NESTED_HELD || count != NESTED_HELD ||
	    bytes != NESTED_HELD * 128 || live_rrefs() != before || count_after || bytes_after)
		return htest_fail(
			why, len,
			"run %ld, held %lu (charged %lu, %lu bytes), after the destroy %lu "
			"more live (charged %lu, %lu bytes); want %d, %d (%d, %d), 0 (0, 0)",
			r, (unsigned long)held, (unsigned long)count, (unsigned long)bytes,
			(unsigned long)(live_rrefs() - before), (unsigned long)count_after,
			(unsigned long)bytes_after, EV_PASSED, NESTED_HELD, NESTED_HELD,
			NESTED_HELD * 128);
	return htest_leak_check(why, len);
}

/*
 * rref_charge_passes_to_the_holder_when_the_allocator_is_destroyed:
 * EV_INFO_PERM leaves one 128-byte RRef that one allocated with two; when
 * one is destroyed, two is charged for it and one's id for nothing.
 */
static int run_charge_moves(char *why, size_t len)
{
	struct hosted_domain *one, *two;
	if (evil_pair(&one, &two, why, len) < 0)
		return -1;
	long r;
	if (evil_run(one, two, EV_INFO_PERM, 0, 0, &r, why, len) < 0)
		return -1;
	uint32_t a = one->id, b = two->id;
	uint64_t c1, b1, c2, b2, gone_c, gone_b, held_c, held_b;
	rref_domain_usage(a, &c1, &b1);
	rref_domain_usage(b, &c2, &b2);
	if (destroy(one, why, len) < 0)
		return -1;
	rref_domain_usage(a, &gone_c, &gone_b);
	rref_domain_usage(b, &held_c, &held_b);
	if (r != EV_PASSED || c1 != 1 || b1 != 128 || c2 || gone_c || gone_b || held_c != 1 ||
	    held_b != 128)
		return htest_fail(
			why, len,
			"run %ld; charged: one %lu (%lu bytes), two %lu; once one is gone: "
			"one %lu (%lu), two %lu (%lu); want %d; 1 (128), 0; 0 (0), 1 (128)",
			r, (unsigned long)c1, (unsigned long)b1, (unsigned long)c2,
			(unsigned long)gone_c, (unsigned long)gone_b, (unsigned long)held_c,
			(unsigned long)held_b, EV_PASSED);
	return htest_leak_check(why, len);
}

static long held_rrefs[RREF_MAX];

/*
 * rref_reused_header_has_a_new_generation_and_running_out_is_enomem: a
 * freed header comes back (FIFO) with the next generation, so the old
 * handle names nothing (-MAPLE_EINVAL); with every header taken the
 * allocation is -MAPLE_ENOMEM, not a quota error.
 */
static int run_reused_header(char *why, size_t len)
{
	struct hosted_domain *one, *two;
	if (evil_pair(&one, &two, why, len) < 0)
		return -1;
	uint32_t id = one->id;
	const struct rref_limits unlimited = {.headers = RREF_MAX, .bytes = 1UL << 40};
	long old = rref_alloc(id, &unlimited, EV_TYPE, 64);
	if (old <= 0 || rref_free(id, (uint64_t)old) != 0)
		return htest_fail(why, len, "the first alloc and free: %ld", old);
	long n = 0, r = 0, again = 0;
	while (n < RREF_MAX && (r = rref_alloc(id, &unlimited, EV_TYPE, 64)) > 0) {
		held_rrefs[n++] = r;
		if (RREF_HANDLE_INDEX((uint64_t)r) == RREF_HANDLE_INDEX((uint64_t)old))
			again = r;
	}
	long stale_free = rref_free(id, (uint64_t)old), stale_info = rref_info(id, (uint64_t)old);
	long new_info = again ? rref_info(id, (uint64_t)again) : 0;
	for (long i = 0; i < n; i++)
		if (rref_free(id, (uint64_t)held_rrefs[i]) != 0)
			return htest_fail(why, len, "freeing RRef %ld of %ld failed", i, n);
	if (r != -MAPLE_ENOMEM || again <= 0 || again == old ||
	    RREF_HANDLE_GEN((uint64_t)again) !=
		    ((RREF_HANDLE_GEN((uint64_t)old) + 1) & RREF_GEN_MASK) ||
	    stale_free != -MAPLE_EINVAL || stale_info != -MAPLE_EINVAL || new_info != (long)id)
		return htest_fail(
			why, len,
			"after %ld: %ld; header reused as %#lx (old %#lx); stale free %ld, "
			"info %ld; new info %ld; want %d, the next generation, %d, %d, %u",
			n, r, (unsigned long)again, (unsigned long)old, stale_free, stale_info,
			new_info, -MAPLE_ENOMEM, -MAPLE_EINVAL, -MAPLE_EINVAL, id);
	return htest_leak_check(why, len);
}

/* A new RRef the holder pays for, nested in parent: 1, or 0 if refused. */
static uint64_t junk_into(uint32_t holder, const struct rref_limits *l, long parent)
{
	long j = rref_alloc(holder, l, EV_TYPE, 64);
	return j > 0 && parent > 0 && rref_nest(holder, (uint64_t)j, (uint64_t)parent) == 0;
}

/*
 * attack2_recall_does_not_return_the_holders_rrefs: a payer moves k and r
 * (r to be recalled) to a holder, which nests k in r and fills r with as
 * many RRefs of its own as its limit allows; destroying the holder gives
 * the payer back r with k in it, charged for those two alone (before the
 * VM's fix: 2050 RRefs, past its limit of 2048).
 */
static int run_recall_with_junk(char *why, size_t len)
{
	struct hosted_domain *payer, *holder;
	if (evil_pair(&payer, &holder, why, len) < 0)
		return -1;
	const struct rref_limits limits = RREF_LIMITS_DEFAULT; /* the runtime's, entry.c */
	uint64_t live_before = live_rrefs();
	uint32_t pid = payer->id, hid = holder->id;
	long k, r;
	if (evil_run(payer, holder, EV_RECALL_LEND, 1, 0, &k, why, len) < 0 ||
	    evil_run(payer, holder, EV_RECALL_LEND, 0, 0, &r, why, len) < 0)
		return -1;
	long j1 = rref_alloc(hid, &limits, EV_TYPE, 64);
	uint64_t nested = j1 > 0 && k > 0 && rref_nest(hid, (uint64_t)j1, (uint64_t)k) == 0;
	nested += junk_into(hid, &limits, j1);
	nested += k > 0 && r > 0 && rref_nest(hid, (uint64_t)k, (uint64_t)r) == 0;
	uint64_t junk = limits.headers - 2;
	for (uint64_t i = 0; i < junk; i++)
		nested += junk_into(hid, &limits, r);
	uint64_t count_before, bytes_before, count_after, bytes_after;
	rref_domain_usage(pid, &count_before, &bytes_before);
	if (destroy(holder, why, len) < 0)
		return -1;
	long info_r = r > 0 ? rref_info(pid, (uint64_t)r) : 0;
	long info_k = k > 0 ? rref_info(pid, (uint64_t)k) : 0;
	rref_domain_usage(pid, &count_after, &bytes_after);
	uint64_t live_after = live_rrefs() - live_before;
	long unnest_k = k > 0 ? rref_unnest(pid, (uint64_t)k) : 0;
	if (k <= 0 || r <= 0 || nested != junk + 3 || count_before != 2 || bytes_before != 256 ||
	    info_r != (long)pid || info_k != (long)pid || unnest_k || count_after != 2 ||
	    bytes_after != 256 || live_after != 2)
		return htest_fail(
			why, len,
			"k %ld r %ld, %lu nested (want %lu); payer charged %lu (%lu bytes) "
			"before, %lu (%lu) after; info r %ld k %ld, unnest k %ld, %lu more "
			"live; want 2 (256) both times, %u, %u, 0, 2",
			k, r, (unsigned long)nested, (unsigned long)(junk + 3),
			(unsigned long)count_before, (unsigned long)bytes_before,
			(unsigned long)count_after, (unsigned long)bytes_after, info_r, info_k,
			unnest_k, (unsigned long)live_after, pid, pid);
	return htest_leak_check(why, len);
}

const struct hosted_named_test hosted_rogue_tests[HOSTED_ROGUE_TESTS] = {
	{"rref-destroying-the-owner-of-deep-and-wide-trees-reclaims-them", run_reclaim_trees, NULL},
	{"rref-charge-passes-to-the-holder-when-the-allocator-is-destroyed", run_charge_moves,
	 NULL},
	{"rref-reused-header-has-a-new-generation-and-running-out-is-enomem", run_reused_header,
	 NULL},
	{"attack2-recall-does-not-return-the-holders-rrefs", run_recall_with_junk, NULL},
	{"gate-jump-with-stack-on-the-domain-table-faults-as-the-caller", run_jump_stack,
	 "isolation"},
	{"gate-upcall-refuses-a-domain-stack-pointer-outside-the-thread-stack",
	 run_upcall_sp_outside, NULL},
	{"attack3-unwinding-to-a-noncanonical-caller-stack-faults-only-the-caller",
	 run_noncanonical_rsp, NULL},
	{"attack3-every-pointer-syscall-refuses-memory-not-the-callers", run_pointers, NULL},
	{"domain-thirteenth-is-refused-with-no-key-left", run_thirteenth, "isolation"},
};
