/*
 * In-guest tests of the cross-domain gate under attack (domain/arch/x86/gate.S):
 * `rogue` enters it by a jump with its stack aimed at the TRUSTED domain
 * table, jumps to every WRPKRU, races it from a second thread, runs the
 * thread slots out, and calls a domain that is destroyed and recreated
 * under it from two CPUs; and the kernel refuses to write through a
 * domain stack pointer that left the thread's stack. Each case asserts
 * the exact outcome, and runs counted (ktest/counted.h) so nothing leaks.
 */
#include <core/log.h>
#include <core/sched.h>
#include <core/thread.h>
#include <core/time.h>
#include <domain/domain.h>
#include <domain/gate.h>
#include <ktest/counted.h>
#include <ktest/ktest.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <mm/vm.h>
#include <stddef.h>
#include <test/rogue/attack4_cases.h>
#include <test/rogue/cases.h>
#include <test/rogue/gate_cases.h>
#include <test/victim/victim.h>

#define PF_PK	       0x20 /* page-fault error code: protection-key violation */
#define DOMTAB_BYTES   (GATE_MAX_DOMAINS * sizeof(struct gate_domain))
#define RACE_CALLS     3000
#define CHAOS_ROUNDS   300
#define HAMMER_CALLS   40
#define RUNNING_NS     1000000
#define THREAD_STEP    16
#define SECOND	       1000000000UL
#define WAIT_GATE_SLOT (10 * SECOND)

extern const char __gate_start[], __gate_end[], gate_entry_pushed[], gate_entry_raise[],
	gate_resume[], gate_violation[];

static uint64_t gate_va(const char *sym)
{
	return MAPLE_GATE_VA + (uint64_t)(sym - __gate_start);
}

static long rogue_run(struct domain *rogue, long number, uint64_t target, uint64_t a2, uint64_t a3)
{
	return domain_call(rogue, Rogue_run_METHOD, number, (long)target, (long)a2, (long)a3);
}

/* The hex number after `key` in s; 0 if there is none. */
static uint64_t hex_after(const char *s, const char *key)
{
	const char *p = strstr(s, key);
	uint64_t v = 0;
	if (!p)
		return 0;
	for (p += strlen(key); *p; p++) {
		int digit = *p >= '0' && *p <= '9'   ? *p - '0'
			    : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
						     : -1;
		if (digit < 0)
			break;
		v = v * 16 + (uint64_t)digit;
	}
	return v;
}

struct entry_words {
	uint64_t state, gen, pkru;
};

static struct entry_words entry_of(const struct domain *d)
{
	const struct gate_domain *gd = gate_domtab(d->id);
	return (struct entry_words){gd->state, gd->gen, gd->pkru};
}

static bool same_entry(struct entry_words a, struct entry_words b)
{
	return a.state == b.state && a.gen == b.gen && a.pkru == b.pkru;
}

/*
 * rogue jumps past the gate's pushes with %rsp on the victim's domain-table
 * entry (pkru word included in what the old gate's pushes covered) and a
 * call the gate refuses after its checks. The gate must not write there:
 * the rogue fails on the pop of its first saved register, a
 * protection-key #PF reading that entry, with its own rights.
 */
static void jump_with_stack_on_the_domain_table(struct ktest_ctx *t)
{
	struct domain *victim = ktest_create(t, "victim"), *rogue = ktest_create(t, "rogue");
	if (!victim || !rogue)
		return;
	uint64_t entry = GATE_DOMTAB_VA + victim->id * sizeof(struct gate_domain);
	uint64_t rsp = entry + offsetof(struct gate_domain, active) + 8;
	struct entry_words before = entry_of(victim);
	long r = rogue_run(rogue, ROGUE_GATE_JUMP_STACK, rsp, gate_va(gate_entry_pushed),
			   domain_handle(victim));
	struct entry_words after = entry_of(victim);
	char reason[sizeof rogue->fail_reason];
	memcpy(reason, rogue->fail_reason, sizeof reason);
	bool rogue_failed = rogue->state == DOMAIN_FAILING;
	bool intact = domain_call(victim, Victim_check_METHOD, 0, 0, 0, 0) == 1;
	KT_ASSERT_EQ(ktest_destroy(rogue), 0);
	KT_ASSERT_EQ(ktest_destroy(victim), 0);
	KT_ASSERT(same_entry(before, after));
	KT_ASSERT(intact);
	KT_ASSERT_EQ(r, -MAPLE_ECALLEE);
	KT_ASSERT(rogue_failed);
	uint64_t addr = hex_after(reason, "#PF at 0x"), error = hex_after(reason, "(error 0x");
	if (!strstr(reason, "#PF at ") || addr < GATE_DOMTAB_VA ||
	    addr >= GATE_DOMTAB_VA + DOMTAB_BYTES || !(error & PF_PK))
		ktest_fail(t, __FILE__, __LINE__, "want a PK #PF in the domain table, got: %s",
			   reason);
}

KTEST(gate_jump_with_stack_on_the_domain_table_faults_as_the_caller)
{
	ktest_run_counted(t, "kt-gate-jump", jump_with_stack_on_the_domain_table, 30 * SECOND);
}

/* Every WRPKRU in the gate, reached by a call with %ecx = %edx = 0 and %eax
 * = pkru (rogue case ROGUE_H_JUMP_PKRU), ends at the gate's violation
 * ud2: #UD, the rogue fails, nobody runs on. pkru 0 grants every key;
 * 0xfffffffc denies SHARED and GATE_RO, which the checks after a lowering
 * WRPKRU refuse before they read GATE_RO (gate.S, CHECK_LOWERED: a #PF
 * there before, which maple-hosted on Linux before 6.12 cannot deliver). */
static void every_wrpkru(struct ktest_ctx *t, uint32_t pkru)
{
	const unsigned char *p = (const unsigned char *)__gate_start;
	uint64_t size = (uint64_t)(__gate_end - __gate_start), sites = 0;
	char want[40];
	fmt_snprintf(want, sizeof want, "rip %#lx", gate_va(gate_violation));
	for (uint64_t off = 0; off + 3 <= size; off++) {
		if (p[off] != 0x0f || p[off + 1] != 0x01 || p[off + 2] != 0xef)
			continue;
		sites++;
		struct domain *rogue = ktest_create(t, "rogue");
		if (!rogue)
			return;
		long r = rogue_run(rogue, ROGUE_H_JUMP_PKRU, MAPLE_GATE_VA + off, pkru, 0);
		bool ok = r == -MAPLE_ECALLEE && rogue->state == DOMAIN_FAILING &&
			  !strncmp(rogue->fail_reason, "#UD", 3) &&
			  strstr(rogue->fail_reason, want);
		if (!ok)
			ktest_fail(t, __FILE__, __LINE__,
				   "WRPKRU at gate+%#lx with %%eax %#x: run() %ld, rogue %s: %s "
				   "(want #UD, %s)",
				   off, pkru, r,
				   rogue->state == DOMAIN_FAILING ? "failed" : "running",
				   rogue->fail_reason, want);
		KT_ASSERT_EQ(ktest_destroy(rogue), 0);
		if (!ok)
			return;
	}
	KT_ASSERT(sites >= 5); /* raise twice, into the callee, lower, the violation's */
}

static void every_wrpkru_zero(struct ktest_ctx *t)
{
	every_wrpkru(t, 0);
}

static void every_wrpkru_denying_shared(struct ktest_ctx *t)
{
	every_wrpkru(t, 0xfffffffc);
}

KTEST(gate_every_wrpkru_jumped_to_with_zero_rights_faults_at_the_violation_site)
{
	ktest_run_counted(t, "kt-gate-wrpkru", every_wrpkru_zero, 60 * SECOND);
}

KTEST(gate_every_wrpkru_jumped_to_denying_shared_faults_at_the_violation_site)
{
	ktest_run_counted(t, "kt-gate-wrpkru-shared", every_wrpkru_denying_shared, 60 * SECOND);
}

/*
 * A second rogue thread rewrites the words below the first's stack pointer
 * at the gate while the first moves an RRef to xb and back, over and over.
 * Whatever it hits is the caller's own: the victim's domain-table entry
 * keeps its PKRU, and a rogue that fails does so with its own rights, not
 * from the hijack function reached with raised ones.
 */
static void stack_race(struct ktest_ctx *t)
{
	struct domain *victim = ktest_create(t, "victim"), *xb = ktest_create(t, "xb"),
		      *rogue = ktest_create(t, "rogue");
	if (!victim || !xb || !rogue)
		return;
	uint64_t pkru_word = GATE_DOMTAB_VA + victim->id * sizeof(struct gate_domain) +
			     offsetof(struct gate_domain, pkru);
	struct entry_words before = entry_of(victim);
	long r = rogue_run(rogue, ROGUE_GATE_STACK_RACE, domain_handle(xb), RACE_CALLS, pkru_word);
	bool hijacked = strstr(rogue->fail_reason, "hijacked") != NULL;
	klog("ktest: stack race: run() %ld, rogue %s %s", r,
	     rogue->state == DOMAIN_RUNNING ? "running" : "failed:", rogue->fail_reason);
	struct entry_words after = entry_of(victim);
	bool intact = domain_call(victim, Victim_check_METHOD, 0, 0, 0, 0) == 1;
	KT_ASSERT_EQ(ktest_destroy(rogue), 0);
	KT_ASSERT_EQ(ktest_destroy(xb), 0);
	KT_ASSERT_EQ(ktest_destroy(victim), 0);
	KT_ASSERT(same_entry(before, after));
	KT_ASSERT(intact);
	KT_ASSERT(!hijacked);
	KT_ASSERT(r == -MAPLE_ECALLEE || (r >= 0 && r <= RACE_CALLS));
}

KTEST(gate_second_thread_rewriting_the_callers_stack_gains_nothing)
{
	ktest_run_counted(t, "kt-gate-race", stack_race, 60 * SECOND);
}

/*
 * The stack pointer the kernel enters a domain with may have come from the
 * domain (the gate records a caller's %rsp as where calls back into it
 * start). One aimed at the victim's heap instead of this thread's stack
 * there, as a call with a crafted %rsp would leave it, must not make the
 * kernel write the return slot: the victim fails, the heap is untouched.
 */
static void upcall_stack_outside(struct ktest_ctx *t)
{
	struct domain *victim = ktest_create(t, "victim");
	if (!victim)
		return;
	uint64_t heap = (uint64_t)domain_call(victim, Victim_heap_addr_METHOD, 0, 0, 0, 0);
	struct thread_gate *g = thread_current()->gate;
	KT_ASSERT(g != NULL);
	uint64_t *word = phys_to_virt(virt_to_phys((void *)heap));
	uint64_t saved_sp = g->tt->domain_sp[victim->id], value = *word;
	g->tt->domain_sp[victim->id] = heap + 8; /* the return slot would be the first word */
	long r = domain_call(victim, Victim_check_METHOD, 0, 0, 0, 0);
	g->tt->domain_sp[victim->id] = saved_sp;
	bool failed = victim->state == DOMAIN_FAILING &&
		      strstr(victim->fail_reason, "outside its stack") != NULL;
	uint64_t after = *word;
	KT_ASSERT_EQ(ktest_destroy(victim), 0);
	KT_ASSERT_EQ(after, value);
	KT_ASSERT_EQ(r, -MAPLE_ECALLEE);
	KT_ASSERT(failed);
}

KTEST(gate_upcall_refuses_a_domain_stack_pointer_outside_the_thread_stack)
{
	ktest_run_counted(t, "kt-gate-sp", upcall_stack_outside, 30 * SECOND);
}

/*
 * rogue creates sleeping threads until the gate's thread slots run out:
 * every free slot becomes a live domain thread, the next create is refused
 * with -MAPLE_EAGAIN, the kernel runs on, and every slot comes back.
 */
static void thread_slots(struct ktest_ctx *t)
{
	struct domain *rogue = ktest_create(t, "rogue");
	if (!rogue)
		return;
	/* The gate's limit is under test, not the domain's own thread limit
	 * (domain/domain_limits.c): lift that one above it. */
	rogue->limits.threads = 2 * GATE_MAX_THREADS;
	int free_before = gate_threads_free();
	long made = 0, step, err = 0;
	do { /* in steps: each call stays well inside the watchdog */
		step = rogue_run(rogue, ROGUE_GATE_THREADS, THREAD_STEP, 0, 0);
		made += step > 0 ? step : 0;
		err = rogue_run(rogue, ROGUE_GATE_THREADS_ERR, 0, 0, 0);
	} while (step == THREAD_STEP && !err && made <= GATE_MAX_THREADS);
	int free_full = gate_threads_free();
	long ended = rogue_run(rogue, ROGUE_GATE_THREADS_END, 0, 0, 0);
	uint64_t deadline = time_ns() + WAIT_GATE_SLOT;
	while (gate_threads_free() != free_before && time_ns() < deadline)
		thread_sleep_ns(10000000);
	klog("ktest: thread slots: %d free, rogue made %ld threads, then %ld", free_before, made,
	     err);
	KT_ASSERT_EQ(ktest_destroy(rogue), 0);
	KT_ASSERT(free_before > GATE_MAX_THREADS - 16);
	KT_ASSERT_EQ(made, free_before);
	KT_ASSERT_EQ(err, -MAPLE_EAGAIN);
	KT_ASSERT_EQ(free_full, 0);
	KT_ASSERT_EQ(ended, 0);
	KT_ASSERT_EQ(gate_threads_free(), free_before);
}

/* The first round grows the kernel-stack area's page tables, which the
 * kernel keeps (it never prunes kernel tables); the second is counted. */
KTEST(gate_thread_slots_run_out_with_eagain_and_come_back)
{
	thread_slots(t);
	if (!t->failed)
		ktest_run_counted(t, "kt-gate-slots", thread_slots, 120 * SECOND);
}

/* ---- chaos: calls from two CPUs across destroy and recreate ---- */

struct hammer {
	struct domain *rogue;
	volatile bool stop, done;
	long bad;     /* the first result hammer() did not allow, or 0 */
	long rounds;  /* HAMMER_CALLS calls each */
	long reached; /* calls that returned the method's value */
};

static void hammer_thread(void *arg)
{
	struct hammer *h = arg;
	while (!h->stop && !h->bad) {
		long r = rogue_run(h->rogue, ROGUE_GATE_HAMMER, HAMMER_CALLS, 0, 0);
		if (r < 0) {
			long bad = rogue_run(h->rogue, ROGUE_GATE_HAMMER_BAD, 0, 0, 0);
			h->bad = r == -1 && bad ? bad : r; /* else rogue itself failed */
		} else {
			h->reached += r;
		}
		h->rounds++;
	}
	h->done = true;
	thread_exit();
}

static void calls_across_destroy(struct ktest_ctx *t)
{
	struct domain *rogue = ktest_create(t, "rogue"), *victim = ktest_create(t, "victim");
	if (!rogue || !victim)
		return;
	struct hammer h[2] = {{.rogue = rogue}, {.rogue = rogue}};
	int slots_before = gate_threads_free();
	for (int i = 0; i < 2; i++)
		KT_ASSERT(thread_create("kt-hammer", hammer_thread, &h[i]) != NULL);
	int rounds = 0, refused = 0;
	for (; rounds < CHAOS_ROUNDS && !h[0].bad && !h[1].bad; rounds++) {
		char err[96];
		if (ktest_destroy(victim) < 0) {
			ktest_fail(t, __FILE__, __LINE__, "destroy victim, round %d: %s", rounds,
				   err);
			refused++;
			break;
		}
		victim = ktest_create(t, "victim");
		if (!victim)
			break;
		/* Every other round it runs a while, so calls reach it; the rest
		 * destroy it at once, while callers are still entering it. */
		if (rounds % 2)
			thread_sleep_ns(RUNNING_NS);
	}
	h[0].stop = h[1].stop = true;
	uint64_t deadline = time_ns() + 30 * SECOND;
	/* Done, and gone: their gate pages are freed as they exit. */
	while ((!h[0].done || !h[1].done || gate_threads_free() != slots_before) &&
	       time_ns() < deadline)
		thread_sleep_ns(1000000);
	klog("ktest: chaos: %d recreations, %ld and %ld rounds of %d calls, %ld and %ld reached "
	     "the victim",
	     rounds, h[0].rounds, h[1].rounds, HAMMER_CALLS, h[0].reached, h[1].reached);
	KT_ASSERT(h[0].done && h[1].done);
	if (victim)
		KT_ASSERT_EQ(ktest_destroy(victim), 0);
	KT_ASSERT_EQ(ktest_destroy(rogue), 0);
	KT_ASSERT_EQ(h[0].bad, 0);
	KT_ASSERT_EQ(h[1].bad, 0);
	KT_ASSERT_EQ(refused, 0);
	KT_ASSERT_EQ(rounds, CHAOS_ROUNDS);
	KT_ASSERT(h[0].reached > 0 && h[1].reached > 0);
}

KTEST(chaos_calls_across_destroy_and_recreate)
{
	ktest_run_counted(t, "kt-chaos-calls", calls_across_destroy, 300 * SECOND);
}

/* A chain of calls past GATE_MAX_DEPTH is refused with -MAPLE_EDEPTH (not
 * -MAPLE_ENOMEM: nothing is out of memory), and the caller runs on. */
static void call_depth(struct ktest_ctx *t)
{
	struct domain *rogue = ktest_create(t, "rogue");
	if (!rogue)
		return;
	long r = rogue_run(rogue, ROGUE_GATE_DEPTH, 0, 0, 0);
	bool running = rogue->state == DOMAIN_RUNNING;
	uint64_t calls = gate_domain_calls(rogue->id).in;
	KT_ASSERT_EQ(ktest_destroy(rogue), 0);
	KT_ASSERT_EQ(r, -MAPLE_EDEPTH);
	KT_ASSERT(running);
	KT_ASSERT(calls >= GATE_MAX_DEPTH); /* the kernel's call and the chain */
}

KTEST(gate_call_depth_past_the_limit_is_edepth)
{
	ktest_run_counted(t, "kt-gate-depth", call_depth, 30 * SECOND);
}

/*
 * rogue loops through the gate for ever, returning into its entry from
 * gate_resume on a frame that leads back to itself. Half of each pass runs
 * with the gate's rights, half with rogue's: the watchdog fails it and the
 * thread unwinds at a tick that finds it with its own rights, so the call
 * times out and rogue can be destroyed (nothing stays counted in it).
 */
static void loop_in_gate(struct ktest_ctx *t)
{
	struct domain *rogue = ktest_create(t, "rogue");
	if (!rogue)
		return;
	long r = rogue_run(rogue, ROGUE_GATE_LOOP, gate_va(gate_entry_raise), gate_va(gate_resume),
			   0);
	bool failed = rogue->state == DOMAIN_FAILING && strstr(rogue->fail_reason, "watchdog");
	KT_ASSERT_EQ(ktest_destroy(rogue), 0);
	KT_ASSERT_EQ(r, -MAPLE_ETIMEDOUT);
	KT_ASSERT(failed);
}

KTEST(gate_a_loop_through_the_gate_is_unwound_by_the_watchdog)
{
	ktest_run_counted(t, "kt-gate-loop", loop_in_gate, 30 * SECOND);
}
