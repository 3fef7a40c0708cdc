/*
 * In-guest tests of isolation domains: loading, calls (nested, across
 * three domains, back into the first), and the rogue-domain suite: each
 * case makes `rogue` try one bad thing and checks that it was stopped or
 * contained, that the victim's data is intact, that the kernel runs on,
 * and, at the end, that no frame leaked. Needs the domain images as boot
 * modules (ci/ passes every image in out/domains/).
 */
#include <arch/x86/cpu_features.h>
#include <arch/x86/layout.h>
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <domain/gate.h>
#include <idl/hello_methods.h>
#include <idl/xa_methods.h>
#include <ktest/counted.h>
#include <ktest/ktest.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <mm/frame.h>
#include <stddef.h>
#include <test/rogue/cases.h>
#include <test/victim/victim.h>

#define XA_EXPECTED   1118 /* xa.chain(1) = (1 + 3) * 2 + 1110 */
#define KERNEL_CANARY 0x6b65726e656c2121ULL

static volatile uint64_t kernel_canary = KERNEL_CANARY;
extern const char __gate_start[], gate_xcall_checked[], gate_violation[];

/*
 * What a rogue's failure reason must say (domain/gate.c trap_user_fault): the
 * exception, and for a page fault its address (the case's `at`) and error
 * code: P 0x1, W 0x2, U 0x4, PK 0x20. Supervisor pages refuse a user access
 * by the U bit; another key's pages by PK.
 */
#define READ_SUPERVISOR	 "#PF at %#lx (error 0x5)"
#define WRITE_SUPERVISOR "#PF at %#lx (error 0x7)"
#define READ_OTHER_KEY	 "#PF at %#lx (error 0x25)"
#define WRITE_OTHER_KEY	 "#PF at %#lx (error 0x27)"
#define GATE_CHECK	 "#UD (error 0), rip %#lx (gate+"

/* Create a domain or end the test (ktest_create has failed it, naming why). */
#define CREATE(var, name)                                                                          \
	struct domain *var = ktest_create(t, name);                                                \
	if (!var)                                                                                  \
	return

#define DESTROY(var) KT_ASSERT_EQ(ktest_destroy(var), 0)

#define HELLO_GREET_ARG 1000

/* hello.greet(x) = x + its handle: the call ran in hello, which knew its own handle. */
KTEST(domain_loads_runs_and_is_destroyed_once)
{
	KT_ASSERT(cpu_has_pku());
	CREATE(d, "hello");
	uint64_t handle = domain_handle(d);
	uint32_t id = d->id;
	KT_ASSERT(d->pkey >= PKEY_FIRST_DOMAIN);
	uint64_t calls_before = gate_domain_calls(id).in;
	long greeting = domain_call(d, Hello_greet_METHOD, HELLO_GREET_ARG, 0, 0, 0);
	uint64_t calls = gate_domain_calls(id).in - calls_before;
	char err[96];
	int first = domain_destroy(handle, err, sizeof err);
	int second = domain_destroy(handle, err, sizeof err); /* twice: a clean refusal */
	KT_ASSERT_EQ(greeting, HELLO_GREET_ARG + handle);
	KT_ASSERT_EQ(calls, 1);
	KT_ASSERT_EQ(first, 0);
	KT_ASSERT_EQ(gate_domtab(id)->state, GATE_DOMAIN_FREE);
	KT_ASSERT_EQ(second, -MAPLE_ESRCH);
	KT_ASSERT(strstr(err, "no such domain"));
}

KTEST(domain_images_with_forbidden_instructions_are_refused)
{
	char err[128];
	KT_ASSERT(domain_create("bad_wrpkru", err, sizeof err) == NULL);
	KT_ASSERT(strstr(err, "WRPKRU"));
	KT_ASSERT(domain_create("bad_xrstor", err, sizeof err) == NULL);
	KT_ASSERT(strstr(err, "XRSTOR"));
	KT_ASSERT(domain_create("bad_wrgsbase", err, sizeof err) == NULL);
	KT_ASSERT(strstr(err, "WRGSBASE"));
	KT_ASSERT(domain_create("no-such-image", err, sizeof err) == NULL);
}

KTEST(domain_calls_nest_across_three_domains_and_back)
{
	CREATE(xa, "xa");
	CREATE(xb, "xb");
	CREATE(xc, "xc");
	long r = domain_call(xa, Xa_chain_METHOD, 1, 0, 0, 0);
	long again = domain_call(xa, Xa_chain_METHOD, 1, 0, 0, 0);
	uint64_t calls_b = gate_domain_calls(xb->id).in;
	DESTROY(xc);
	/* xb's call into the destroyed xc fails cleanly, and xa hears of it. */
	long dead = domain_call(xa, Xa_chain_METHOD, 1, 0, 0, 0);
	DESTROY(xb);
	DESTROY(xa);
	KT_ASSERT_EQ(r, XA_EXPECTED);
	KT_ASSERT_EQ(again, XA_EXPECTED);
	KT_ASSERT(calls_b >= 2);
	KT_ASSERT_EQ(dead, -MAPLE_EDEAD);
}

static bool victim_intact(struct domain *victim)
{
	return domain_call(victim, Victim_check_METHOD, 0, 0, 0, 0) == 1;
}

/* Run one case against a fresh rogue; returns run()'s result. */
static long run_case(int number, uint64_t target, struct domain **rogue_out)
{
	char err[96];
	struct domain *rogue = domain_create("rogue", err, sizeof err);
	if (!rogue)
		return -1000;
	long r = domain_call(rogue, Rogue_run_METHOD, number, (long)target, 0, 0);
	*rogue_out = rogue;
	return r;
}

static void rogue_suite(struct ktest_ctx *t)
{
	CREATE(victim, "victim");
	KT_ASSERT(victim_intact(victim));
	uint64_t heap = (uint64_t)domain_call(victim, Victim_heap_addr_METHOD, 0, 0, 0, 0);
	uint64_t data = (uint64_t)domain_call(victim, Victim_data_addr_METHOD, 0, 0, 0, 0);
	uint64_t stack = (uint64_t)domain_call(victim, Victim_stack_addr_METHOD, 0, 0, 0, 0);
	uint64_t gen_before = gate_domtab(victim->id)->gen;
	uint64_t jump = MAPLE_GATE_VA + (uint64_t)(gate_xcall_checked - __gate_start) - 3;
	/* This thread's own gate pages: rogue runs on it, so they are live. */
	struct thread_gate *g = gate_thread(thread_current());
	KT_ASSERT(g != NULL);
	uint64_t conts = g->tt_va + GTT_CONTS;
	uint64_t expected = g->ro_va + offsetof(struct gate_thread_ro, expected_pkru);
	uint64_t canary = (uint64_t)&kernel_canary;
	uint64_t violation = MAPLE_GATE_VA + (uint64_t)(gate_violation - __gate_start);
	const struct {
		const char *name;
		int number;
		uint64_t target;
		long expect;
		const char *fault; /* in the failure reason, formatted with `at` */
		uint64_t at;
	} cases[] = {
		{"read kernel memory", ROGUE_READ_KERNEL, canary, -MAPLE_ECALLEE, READ_SUPERVISOR,
		 canary},
		{"write kernel memory", ROGUE_WRITE_KERNEL, canary, -MAPLE_ECALLEE,
		 WRITE_SUPERVISOR, canary},
		{"read victim heap", ROGUE_READ_DOMAIN, heap, -MAPLE_ECALLEE, READ_OTHER_KEY, heap},
		{"write victim heap", ROGUE_WRITE_DOMAIN, heap, -MAPLE_ECALLEE, WRITE_OTHER_KEY,
		 heap},
		{"write victim data", ROGUE_WRITE_DOMAIN, data, -MAPLE_ECALLEE, WRITE_OTHER_KEY,
		 data},
		{"read victim stack", ROGUE_READ_DOMAIN, stack, -MAPLE_ECALLEE, READ_OTHER_KEY,
		 stack},
		{"write victim stack", ROGUE_WRITE_DOMAIN, stack, -MAPLE_ECALLEE, WRITE_OTHER_KEY,
		 stack},
		{"write TRUSTED domain table", ROGUE_WRITE_TRUSTED, GATE_DOMTAB_VA, -MAPLE_ECALLEE,
		 WRITE_OTHER_KEY, GATE_DOMTAB_VA},
		{"read TRUSTED domain table", ROGUE_READ_TRUSTED, GATE_DOMTAB_VA, -MAPLE_ECALLEE,
		 READ_OTHER_KEY, GATE_DOMTAB_VA},
		{"write a continuation stack", ROGUE_WRITE_TRUSTED, conts, -MAPLE_ECALLEE,
		 WRITE_OTHER_KEY, conts},
		{"write its expected-PKRU word", ROGUE_WRITE_TRUSTED, expected, -MAPLE_ECALLEE,
		 WRITE_OTHER_KEY, expected},
		{"jump to the gate's WRPKRU", ROGUE_JUMP_GATE, jump, -MAPLE_ECALLEE, GATE_CHECK,
		 violation},
		{"null dereference", ROGUE_NULL_DEREF, 0, -MAPLE_ECALLEE, "#PF at 0 (error 0x4)",
		 0},
		{"divide by zero", ROGUE_DIV_ZERO, 0, -MAPLE_ECALLEE, "#DE (error 0)", 0},
		{"ud2", ROGUE_UD2, 0, -MAPLE_ECALLEE, "#UD (error 0)", 0},
		{"vector instruction", ROGUE_VECTOR, 0, -MAPLE_ECALLEE, "#UD (error 0)", 0},
		/* Needs UMIP: without it SGDT answers (the loop skips it). */
		{"sgdt (UMIP)", ROGUE_SGDT, 0, -MAPLE_ECALLEE, "#GP (error 0)", 0},
		/* A write into the unmapped guard below the stack: W|U. */
		{"unbounded recursion", ROGUE_RECURSE, 0, -MAPLE_ECALLEE, "(error 0x6)", 0},
		{"endless loop (watchdog)", ROGUE_SPIN, 0, -MAPLE_ETIMEDOUT,
		 "watchdog: a call ran longer than", 0},
		{"syscall with a kernel pointer", ROGUE_LOG_KERNEL, canary, -MAPLE_EFAULT, NULL, 0},
		{"syscall with a victim pointer", ROGUE_LOG_DOMAIN, heap, -MAPLE_EFAULT, NULL, 0},
		/* Linux's exit_group number is no Maple syscall (the linux platform's
		 * hosted group runs the same case: the host process must live on). */
		{"raw linux syscall", ROGUE_RAW_SYSCALL, 0, -MAPLE_ENOSYS, NULL, 0},
		/* Vector 0x80's IDT gate refuses ring 3: #GP whose error code names
		 * the IDT entry (SDM Vol. 3A 6.13); its scaling differs between TCG
		 * (0x802) and hardware, so only the #GP is pinned. */
		{"int 0x80", ROGUE_INT80, 0, -MAPLE_ECALLEE, "#GP (error 0x", 0},
	};
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i].number == ROGUE_SGDT && !cpu_has_umip()) {
			klog("ktest: rogue '%s' skipped: this CPU has no UMIP", cases[i].name);
			continue;
		}
		struct domain *rogue = NULL;
		long r = run_case(cases[i].number, cases[i].target, &rogue);
		bool rogue_alive = rogue && rogue->state == DOMAIN_RUNNING;
		char reason[sizeof rogue->fail_reason] = "", want[96] = "";
		if (rogue)
			memcpy(reason, rogue->fail_reason, sizeof reason);
		if (cases[i].fault)
			fmt_snprintf(want, sizeof want, cases[i].fault, cases[i].at);
		if (rogue)
			ktest_destroy(rogue);
		if (r != cases[i].expect) {
			ktest_fail(t, __FILE__, __LINE__,
				   "rogue '%s': run() returned %ld, want %ld", cases[i].name, r,
				   cases[i].expect);
			break;
		}
		if (!strstr(reason, want)) {
			ktest_fail(t, __FILE__, __LINE__, "rogue '%s' failed with '%s', want '%s'",
				   cases[i].name, reason, want);
			break;
		}
		/* A rejected syscall leaves the caller running; a fault does not. */
		bool rejected =
			cases[i].expect == -MAPLE_EFAULT || cases[i].expect == -MAPLE_ENOSYS;
		if (rogue_alive != rejected) {
			ktest_fail(t, __FILE__, __LINE__, "rogue '%s': domain %s afterwards",
				   cases[i].name, rogue_alive ? "still running" : "failed");
			break;
		}
		if (kernel_canary != KERNEL_CANARY || !victim_intact(victim) ||
		    gate_domtab(victim->id)->gen != gen_before) {
			ktest_fail(t, __FILE__, __LINE__, "rogue '%s' changed someone's data",
				   cases[i].name);
			break;
		}
	}
	DESTROY(victim);
}

KTEST(domain_rogue_suite_is_contained_without_leaks)
{
	ktest_run_counted(t, "kt-rogue", rogue_suite, 60000000000UL);
}

/*
 * Twelve protection keys are left for domains (PKEY_FIRST_DOMAIN..15): the
 * thirteenth domain alive at once is refused with the reason, not given a
 * shared or a kernel key, and a key comes back when its domain goes.
 */
static void keys_run_out(struct ktest_ctx *t)
{
	enum { KEYS = PKEY_COUNT - PKEY_FIRST_DOMAIN };
	struct domain *held[KEYS] = {0};
	uint16_t keys = 0;
	int alive = ktest_domains_alive(), n = 0;
	char err[128] = "";
	/* Domains other tests left alive would hold keys: there are none. */
	KT_ASSERT_EQ(alive, 0);
	for (; n < KEYS; n++) {
		held[n] = domain_create("hello", err, sizeof err);
		if (!held[n])
			break;
		keys |= (uint16_t)(1u << held[n]->pkey);
	}
	char why[128] = "";
	struct domain *extra = n == KEYS ? domain_create("hello", why, sizeof why) : NULL;
	struct domain *again = NULL;
	if (n == KEYS && !extra && ktest_destroy(held[0]) == 0) {
		held[0] = NULL;
		again = domain_create("hello", err, sizeof err);
	}
	for (int i = 0; i < n; i++)
		if (held[i])
			ktest_destroy(held[i]);
	if (extra)
		ktest_destroy(extra);
	if (again)
		ktest_destroy(again);
	KT_ASSERT_EQ(n, KEYS);
	KT_ASSERT(extra == NULL);
	KT_ASSERT(strstr(why, "no protection key left (12 domains hold the 12 domain keys)"));
	KT_ASSERT(again != NULL);
	/* Every domain key handed out once, none below PKEY_FIRST_DOMAIN. */
	KT_ASSERT_EQ(keys, (uint16_t)(0xffffu << PKEY_FIRST_DOMAIN));
	KT_ASSERT_EQ(ktest_domains_alive(), alive);
}

KTEST(domain_thirteenth_is_refused_with_no_key_left)
{
	ktest_run_counted(t, "kt-keys", keys_run_out, 30000000000UL);
}
