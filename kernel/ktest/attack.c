/*
 * In-guest tests from the outside attack review (test/rogue/attack_cases.h):
 * each reproduces a hole a hostile domain could use against another and
 * asserts the safe outcome, exactly, with no leaks (ktest_run_counted).
 */
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <domain/watchdog.h>
#include <ktest/counted.h>
#include <ktest/ktest.h>
#include <lib/string.h>
#include <test/rogue/attack_cases.h>
#include <test/rogue/cases.h>

#define WAIT_NS	    60000000000ULL /* only stops a hang */
#define BUDGET_MS   200
#define WORK_NS	    (BUDGET_MS * 1000000ULL / 5) /* the honest call: a fifth of its budget */
#define SPINNERS    DOMAIN_THREADS_DEFAULT	 /* all one attacker may have */
#define HOGS	    2				 /* attacking domains */
#define SPIN_END_NS 100000000ULL		 /* for the spinners to return */

/*
 * A callee may not end the thread its caller called it on: SYS_THREAD_EXIT
 * from inside another domain's call is refused with -MAPLE_EPERM, which the
 * callee hands back as its result, so the caller's call returns normally.
 * Before the fix the kernel popped every continuation down to the thread's
 * first upcall: the caller's frames were abandoned mid-call (with whatever
 * locks they held) and the kernel's domain_call into the caller came back
 * with 0, a result the caller never returned. A domain ending its own
 * upcall, with no other domain's call on the thread, still may (0).
 */
static void callee_ends_callers_thread(struct ktest_ctx *t)
{
	struct domain *caller = ktest_create(t, "rogue"),
		      *callee = caller ? ktest_create(t, "rogue") : NULL;
	if (!callee) {
		ktest_destroy(caller);
		return;
	}
	long nested = domain_call(caller, Rogue_run_METHOD, ROGUE_A_CALL_EXITER,
				  (long)domain_handle(callee), 0, 0);
	long own = domain_call(callee, Rogue_run_METHOD, ROGUE_A_EXIT_CALLERS_THREAD, 0, 0, 0);
	enum domain_state caller_state = caller->state, callee_state = callee->state;
	ktest_destroy(callee);
	ktest_destroy(caller);
	KT_ASSERT_EQ(nested, -MAPLE_EPERM);
	KT_ASSERT_EQ(own, 0);
	KT_ASSERT_EQ(caller_state, DOMAIN_RUNNING);
	KT_ASSERT_EQ(callee_state, DOMAIN_RUNNING);
}

KTEST(attack_callee_cannot_end_its_callers_thread)
{
	ktest_run_counted(t, "kt-atk-exit", callee_ends_callers_thread, WAIT_NS);
}

/* Rounds of ROGUE_A_WORK that take about WORK_NS on an idle machine. */
static uint64_t calibrate(struct domain *d, uint64_t *ns)
{
	uint64_t rounds = 1 << 16;
	for (;;) {
		uint64_t start = time_ns();
		domain_call(d, Rogue_run_METHOD, ROGUE_A_WORK, (long)rounds, 0, 0);
		*ns = time_ns() - start;
		if (*ns >= WORK_NS / 4 || rounds >= 1ULL << 40)
			break;
		rounds *= 2;
	}
	rounds = rounds * WORK_NS / (*ns ? *ns : 1);
	uint64_t start = time_ns();
	domain_call(d, Rogue_run_METHOD, ROGUE_A_WORK, (long)rounds, 0, 0);
	*ns = time_ns() - start;
	return rounds;
}

/*
 * The watchdog judges a call by wall-clock time, and a domain thread's own
 * frame has no deadline, so a domain may spin on every CPU for ever while
 * an honest callee elsewhere gets a sliver of them. A call that needs a
 * fifth of its budget on an idle machine must still not be failed for
 * time it spent waiting for a CPU the attacker held: the honest callee
 * returns its result and keeps running.
 */
static void hogged_callee(struct ktest_ctx *t)
{
	struct domain *honest = ktest_create(t, "rogue"), *hog[HOGS] = {NULL};
	bool made = honest;
	for (int i = 0; i < HOGS && made; i++)
		made = (hog[i] = ktest_create(t, "rogue"));
	if (!made) {
		for (int i = 0; i < HOGS; i++)
			ktest_destroy(hog[i]);
		ktest_destroy(honest);
		return;
	}
	uint64_t idle_ns, hogged_ns;
	uint64_t rounds = calibrate(honest, &idle_ns);
	long started = 0;
	for (int i = 0; i < HOGS; i++)
		started += domain_call(hog[i], Rogue_run_METHOD, ROGUE_A_SPINNERS, SPINNERS, 0, 0);
	uint64_t old = watchdog_set_budget_ms(BUDGET_MS);
	uint64_t start = time_ns();
	long r = domain_call(honest, Rogue_run_METHOD, ROGUE_A_WORK, (long)rounds, 0, 0);
	hogged_ns = time_ns() - start;
	watchdog_set_budget_ms(old);
	for (int i = 0; i < HOGS; i++)
		domain_call(hog[i], Rogue_run_METHOD, ROGUE_A_SPINNERS_END, 0, 0, 0);
	thread_sleep_ns(SPIN_END_NS);
	enum domain_state state = honest->state;
	klog("ktest: %lu rounds of work took %lu us idle, %lu us beside %ld spinning threads",
	     rounds, idle_ns / 1000, hogged_ns / 1000, started);
	for (int i = 0; i < HOGS; i++)
		ktest_destroy(hog[i]);
	ktest_destroy(honest);
	KT_ASSERT_EQ(started, HOGS * SPINNERS);
	KT_ASSERT(idle_ns < BUDGET_MS * 1000000ULL / 2);
	KT_ASSERT_EQ(r, ROGUE_A_WORK_DONE);
	KT_ASSERT_EQ(state, DOMAIN_RUNNING);
}

KTEST(attack_spinning_threads_cannot_time_out_an_honest_callee)
{
	ktest_run_counted(t, "kt-atk-hog", hogged_callee, WAIT_NS);
}

/*
 * The kernel never saves, restores or clears x87/MMX/SSE state, so those
 * registers would carry values from one domain to the next: from a caller
 * into its callee through the gate, and between threads of different
 * domains on one CPU. No domain is built to use them (-mgeneral-regs-only),
 * so the kernel turns them off in ring 3 (cpu_features.c): the first x87
 * instruction faults (#NM) and fails its domain, and the value never
 * reaches the callee.
 */
static void fpu_across_a_call(struct ktest_ctx *t)
{
	struct domain *caller = ktest_create(t, "rogue"),
		      *callee = caller ? ktest_create(t, "rogue") : NULL;
	if (!callee) {
		ktest_destroy(caller);
		return;
	}
	long r = domain_call(caller, Rogue_run_METHOD, ROGUE_A_FPU_LEAVE,
			     (long)domain_handle(callee), 0, 0);
	enum domain_state caller_state = caller->state, callee_state = callee->state;
	bool nm = strstr(caller->fail_reason, "#NM (error 0), rip") != NULL;
	ktest_destroy(callee);
	ktest_destroy(caller);
	KT_ASSERT(r != ROGUE_A_FPU_SECRET);
	KT_ASSERT_EQ(r, -MAPLE_ECALLEE);
	KT_ASSERT_EQ(caller_state, DOMAIN_FAILING);
	KT_ASSERT(nm);
	KT_ASSERT_EQ(callee_state, DOMAIN_RUNNING);
}

KTEST(attack_x87_registers_do_not_cross_the_gate)
{
	ktest_run_counted(t, "kt-atk-fpu", fpu_across_a_call, WAIT_NS);
}

/*
 * SYS_LOG writes a kernel log line, synchronously to COM1 under the log
 * lock, for every call: one domain looping on it floods the log every
 * other domain and the kernel share, and on a real UART holds its lock
 * for most of the time. Each domain gets a burst, then a steady rate
 * (domain/domain.h, DOMAIN_LOG_*): 5000 calls in a loop put no more than
 * the burst, the rate over the loop's time and the note saying how many
 * were dropped into the log.
 */
#define FLOOD_CALLS 5000

static void log_flood(struct ktest_ctx *t)
{
	struct domain *r = ktest_create(t, "rogue");
	if (!r)
		return;
	uint64_t lines = log_lines(), start = time_ns();
	long accepted = domain_call(r, Rogue_run_METHOD, ROGUE_A_LOG_FLOOD, FLOOD_CALLS, 0, 0);
	uint64_t ns = time_ns() - start;
	lines = log_lines() - lines;
	enum domain_state state = r->state;
	ktest_destroy(r);
	uint64_t allowed = DOMAIN_LOG_BURST + DOMAIN_LOG_PER_S * (ns / 1000000000ULL + 1);
	klog("ktest: %d SYS_LOG calls in %lu us: %ld accepted, %lu lines logged (at most %lu)",
	     FLOOD_CALLS, ns / 1000, accepted, lines, allowed);
	KT_ASSERT_EQ(state, DOMAIN_RUNNING);
	KT_ASSERT(accepted >= DOMAIN_LOG_BURST - 1); /* the case's own line took one */
	KT_ASSERT((uint64_t)accepted <= allowed);
	/* The flood's lines, the case's own line and one "dropped" note. */
	KT_ASSERT(lines <= allowed + 2);
}

KTEST(attack_a_domain_cannot_flood_the_log)
{
	ktest_run_counted(t, "kt-atk-log", log_flood, WAIT_NS);
}

/*
 * The gate's lazy-stack syscall (SYS_GATE_STACK) is made from inside a
 * raised pass, after the gate counted the call in the callee's `active`,
 * which is what keeps destroy from tearing the callee down under it. The
 * kernel checked only that the syscall's RIP lies in the gate page, so a
 * domain could jump to that syscall with its own rights and have a stack
 * made (and charged) in any running domain, uncounted: racing a destroy,
 * the stack pointer lands in the thread's table after destroy forgot that
 * domain's stacks, and the next domain in the slot is entered on a stack
 * it never mapped (it faults, and fails). Refused now unless the thread
 * holds the gate's rights: -MAPLE_EPERM, and the target's memory is
 * untouched.
 */
extern const char __gate_start[], __gate_end[];

#define JUMP_WAIT_NS 5000000000ULL
#define JUMP_POLL_NS 1000000ULL

/* The gate's SYS_GATE_STACK syscall: `movl $SYS_GATE_STACK, %eax; syscall`. */
static uint64_t gate_stack_syscall_va(void)
{
	const uint8_t want[] = {0xb8, SYS_GATE_STACK, 0, 0, 0, 0x0f, 0x05};
	for (const char *p = __gate_start; p + sizeof want <= __gate_end; p++)
		if (!memcmp(p, want, sizeof want))
			return MAPLE_GATE_VA + (uint64_t)(p - __gate_start) + 5;
	return 0;
}

static void gate_stack_jump(struct ktest_ctx *t)
{
	struct domain *jumper = ktest_create(t, "rogue"),
		      *target = jumper ? ktest_create(t, "rogue") : NULL;
	if (!target) {
		ktest_destroy(jumper);
		return;
	}
	uint64_t va = gate_stack_syscall_va(), pages = target->pages, start = time_ns();
	long tid = domain_call(jumper, Rogue_run_METHOD, ROGUE_A_GATE_STACK_JUMP, (long)target->id,
			       (long)va, 0);
	long r = ROGUE_A_PENDING;
	while (tid > 0 && r == ROGUE_A_PENDING && time_ns() - start < JUMP_WAIT_NS) {
		thread_sleep_ns(JUMP_POLL_NS);
		r = domain_call(jumper, Rogue_run_METHOD, ROGUE_A_GATE_STACK_RESULT, 0, 0, 0);
	}
	/* The thread is ending now; its exit frees its stacks everywhere. */
	uint64_t grown = target->pages - pages;
	enum domain_state state = jumper->state;
	ktest_destroy(target);
	ktest_destroy(jumper);
	klog("ktest: SYS_GATE_STACK by a jump to %#lx: %ld, the target grew %lu pages", va, r,
	     grown);
	KT_ASSERT(va);
	KT_ASSERT(tid > 0);
	KT_ASSERT_EQ(r, -MAPLE_EPERM);
	KT_ASSERT_EQ(grown, 0);
	KT_ASSERT_EQ(state, DOMAIN_RUNNING);
}

KTEST(attack_gate_stack_syscall_needs_the_gates_rights)
{
	ktest_run_counted(t, "kt-atk-gstack", gate_stack_jump, WAIT_NS);
}

/*
 * What a callee leaves in its scratch registers stays its own: the gate's
 * return path overwrote %rax, %rcx, %rdx and %r10 but handed the caller
 * the callee's %rdi, %rsi, %r8, %r9 and %r11 as they were (an unwound
 * caller, likewise, got the failed callee's trap-frame scratch registers;
 * this test checks the return path). The caller must see none of
 * ROGUE_A_REG_SECRET's bits in them.
 */
static void regs_back_to_caller(struct ktest_ctx *t)
{
	struct domain *caller = ktest_create(t, "rogue"),
		      *callee = caller ? ktest_create(t, "rogue") : NULL;
	if (!callee) {
		ktest_destroy(caller);
		return;
	}
	long seen = domain_call(caller, Rogue_run_METHOD, ROGUE_A_PEEK_REGS,
				(long)domain_handle(callee), 0, 0);
	enum domain_state caller_state = caller->state, callee_state = callee->state;
	ktest_destroy(callee);
	ktest_destroy(caller);
	klog("ktest: the caller saw %#lx in the callee's scratch registers", seen);
	KT_ASSERT_EQ((uint64_t)seen & ROGUE_A_REG_SECRET, 0);
	KT_ASSERT_EQ(caller_state, DOMAIN_RUNNING);
	KT_ASSERT_EQ(callee_state, DOMAIN_RUNNING);
}

KTEST(attack_callee_registers_do_not_reach_the_caller)
{
	ktest_run_counted(t, "kt-atk-regs", regs_back_to_caller, WAIT_NS);
}
