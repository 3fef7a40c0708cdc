/*
 * In-guest tests from the attack3 review (test/rogue/attack3_cases.h): a
 * domain that fails while its thread runs inside a domain it does not own
 * must neither take that domain down with it, nor go on calling it, nor
 * hand its own caller a result; instructions ring 3 may not run fail only
 * the domain that runs them; and no syscall takes a pointer that is not
 * the caller's. Each asserts the exact outcome, with no
 * leaks (ktest_run_counted).
 */
#include <arch/x86/cpu.h>
#include <core/log.h>
#include <dev/pci.h>
#include <domain/domain.h>
#include <domain/gate.h>
#include <domain/gate_layout.h>
#include <domain/watchdog.h>
#include <ktest/counted.h>
#include <ktest/ktest.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <maple/rref_abi.h>
#include <test/rogue/attack3_cases.h>
#include <test/rogue/cases.h>

#define WAIT_NS	  60000000000ULL /* only stops a hang */
#define HOLD_NS	  200000000ULL	 /* the server's locked work in the client's call */
#define BUDGET_MS 500		 /* the watchdog, for the server's next call */
#define SHORT_NS  1000000ULL	 /* that call's locked work */

static uint64_t calls_into(const struct domain *d)
{
	return gate_domain_calls(d->id).in;
}

/*
 * A client fails (another of its threads panics) while its call runs
 * inside a server, holding the server's lock; `relay`, when not NULL,
 * called the client. The server's work must run to its end: its lock is
 * released, and its next caller is served (ROGUE_X_DONE). The client,
 * which calls the server for as long as it is served, is refused its next
 * call, so the server saw exactly one call from it; and whoever called the
 * client (the kernel, or relay through the gate) gets -MAPLE_ECALLEE, not
 * the result the failed client went on to return.
 *
 * Before the fix the kernel unwound the thread out of the server at the
 * client's failure, mid-method: the server's lock stayed held for ever,
 * so its next call spun on it until the watchdog failed the server
 * (finished was ROGUE_X_PENDING, next -MAPLE_ETIMEDOUT): any client could
 * take down any server it could call, by dying in it.
 */
static void die_inside_server(struct ktest_ctx *t, bool relayed)
{
	unsigned domains = ktest_domains_alive();
	struct domain *server = ktest_create(t, "rogue"),
		      *client = server ? ktest_create(t, "rogue") : NULL,
		      *relay = client && relayed ? ktest_create(t, "rogue") : NULL;
	if (!client || (relayed && !relay)) {
		ktest_destroy(client);
		ktest_destroy(server);
		return;
	}
	uint64_t calls = calls_into(server);
	long died = relay ? domain_call(relay, Rogue_run_METHOD, ROGUE_X_RELAY,
					(long)domain_handle(client), (long)domain_handle(server),
					(long)HOLD_NS)
			  : domain_call(client, Rogue_run_METHOD, ROGUE_X_CALL_AND_DIE,
					(long)domain_handle(server), (long)HOLD_NS, 0);
	uint64_t client_calls = calls_into(server) - calls;
	long finished = domain_call(server, Rogue_run_METHOD, ROGUE_X_LOCKED_RESULT, 0, 0, 0);
	uint64_t old = watchdog_set_budget_ms(BUDGET_MS);
	long next =
		domain_call(server, Rogue_run_METHOD, ROGUE_X_LOCKED_WORK, (long)SHORT_NS, 0, 0);
	watchdog_set_budget_ms(old);
	enum domain_state client_state = client->state, server_state = server->state;
	enum domain_state relay_state = relay ? relay->state : DOMAIN_RUNNING;
	uint64_t server_failures = server->failures;
	int relay_gone = ktest_destroy(relay), client_gone = ktest_destroy(client),
	    server_gone = ktest_destroy(server);
	KT_ASSERT_EQ(relay_gone, 0);
	KT_ASSERT_EQ(client_gone, 0);
	KT_ASSERT_EQ(server_gone, 0);
	KT_ASSERT_EQ(died, -MAPLE_ECALLEE);
	KT_ASSERT_EQ(client_calls, 1);
	KT_ASSERT_EQ(client_state, DOMAIN_FAILING);
	KT_ASSERT_EQ(relay_state, DOMAIN_RUNNING);
	KT_ASSERT_EQ(finished, ROGUE_X_DONE);
	KT_ASSERT_EQ(next, ROGUE_X_DONE);
	KT_ASSERT_EQ(server_state, DOMAIN_RUNNING);
	KT_ASSERT_EQ(server_failures, 0);
	KT_ASSERT_EQ(ktest_domains_alive(), domains);
}

static void kernel_calls_client(struct ktest_ctx *t)
{
	die_inside_server(t, false);
}

static void domain_calls_client(struct ktest_ctx *t)
{
	die_inside_server(t, true);
}

KTEST(attack3_a_caller_failing_inside_a_callee_leaves_the_callee_whole)
{
	ktest_run_counted(t, "kt-atk3-die", kernel_calls_client, WAIT_NS);
}

/* The same through the gate: relay -> client -> server, the client fails. */
KTEST(attack3_a_failed_middle_domain_returns_its_caller_an_error)
{
	ktest_run_counted(t, "kt-atk3-mid", domain_calls_client, WAIT_NS);
}

/* CPUID leaf 0's vendor string starts "Genu" (GenuineIntel) on Intel;
 * QEMU's TCG names itself "TCGTCGTCGTCG" at the hypervisor leaf when
 * CPUID.1:ECX bit 31 (hypervisor present) is set. */
#define CPUID_VENDOR_INTEL_EBX 0x756e6547
#define CPUID_HYPERVISOR_LEAF  0x40000000
#define CPUID_HYPERVISOR_BIT   (1u << 31)
#define CPUID_TCG_EBX	       0x54474354 /* "TCGT" */

static bool under_tcg(void)
{
	return (cpuid(1, 0).ecx & CPUID_HYPERVISOR_BIT) &&
	       cpuid(CPUID_HYPERVISOR_LEAF, 0).ebx == CPUID_TCG_EBX;
}

/*
 * Instructions a domain may not run, each in a fresh rogue: the domain
 * fails with exactly the CPU's exception and the machine runs on. INT1
 * (icebp) raises #DB whatever the IDT gate's DPL (SDM Vol. 3A 6.4.2),
 * except under QEMU's TCG, which decodes it as #UD; SYSENTER in 64-bit mode
 * is #UD on AMD (APM Vol. 3, SYSENTER) and #GP(0) on Intel while
 * IA32_SYSENTER_CS is 0, which the kernel never sets (SDM Vol. 2B,
 * SYSENTER); port I/O is #GP(0) because the TSS's I/O bitmap offset lies
 * beyond its limit and IOPL is 0 in every RFLAGS the kernel enters ring 3
 * with (else writing 0xfe to port 0x64 resets the machine); HLT and CLI
 * are privileged (IOPL 0 for CLI).
 */
static void odd_instructions(struct ktest_ctx *t)
{
	bool intel = cpuid(0, 0).ebx == CPUID_VENDOR_INTEL_EBX;
	const char *icebp = under_tcg() ? "#UD (error 0), rip" : "#DB (error 0), rip";
	const char *sysenter = intel ? "#GP (error 0), rip" : "#UD (error 0), rip";
	const struct {
		const char *name;
		unsigned long which;
		const char *fault;
	} cases[] = {
		{"icebp", ROGUE_X_ICEBP, icebp},
		{"sysenter", ROGUE_X_SYSENTER, sysenter},
		{"outb to port 0x64", ROGUE_X_OUT_RESET, "#GP (error 0), rip"},
		{"hlt", ROGUE_X_HLT, "#GP (error 0), rip"},
		{"cli", ROGUE_X_CLI, "#GP (error 0), rip"},
	};
	_Static_assert(sizeof cases / sizeof cases[0] == ROGUE_X_INSNS, "every instruction");
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *want = cases[i].fault;
		struct domain *rogue = ktest_create(t, "rogue");
		if (!rogue)
			return;
		long r = domain_call(rogue, Rogue_run_METHOD, ROGUE_X_INSN, (long)cases[i].which, 0,
				     0);
		enum domain_state state = rogue->state;
		bool named = strstr(rogue->fail_reason, want) != NULL;
		if (!named)
			klog("ktest: rogue '%s' failed with '%s', want '%s'", cases[i].name,
			     rogue->fail_reason, want);
		int gone = ktest_destroy(rogue);
		KT_ASSERT_EQ(r, -MAPLE_ECALLEE);
		KT_ASSERT_EQ(state, DOMAIN_FAILING);
		KT_ASSERT(named);
		KT_ASSERT_EQ(gone, 0);
	}
}

KTEST(attack3_privileged_and_odd_instructions_fail_only_their_domain)
{
	ktest_run_counted(t, "kt-atk3-insn", odd_instructions, WAIT_NS);
}

/*
 * Every syscall that takes a pointer, handed one that is not the caller's:
 * the kernel's image, a non-canonical address, one whose range wraps past
 * the top of the address space, the TRUSTED pages, the gate page, the
 * shared heap (no region of any domain), null, and a range that starts in
 * the caller's own image and runs past its end. Each gets exactly
 * -MAPLE_EFAULT and the caller runs on: dmem_owns checks the whole range
 * against the caller's regions, overflow included, before anything is
 * read or written.
 */
static void bad_pointers(struct ktest_ctx *t)
{
	struct domain *rogue = ktest_create(t, "rogue");
	if (!rogue)
		return;
	const uint64_t ptrs[] = {
		ROGUE_KERNEL_VA,
		0x8000000000000000ULL,
		0xfffffffffffffff8ULL,
		MAPLE_TRUSTED_VA,
		MAPLE_GATE_VA,
		SHARED_HEAP_VA,
		0,
		rogue->image_hi - 8,
	};
	/* The syscalls that read a (pointer, length) pair first. */
	const uint64_t nrs[] = {SYS_LOG,	   SYS_EXPORT,		SYS_LOOKUP,
				SYS_DOMAIN_CREATE, SYS_DEVICE_MAP,	SYS_DEVICE_SIZE,
				SYS_DEVICE_BAR,	   SYS_DEVICE_BAR_SIZE, SYS_DEVICE_BUSMASTER,
				SYS_DEVICE_INFO,   SYS_DEVICE_CONFIG};
	/* SYS_DEVICE_INFO's out pointer is written only for a function that
	 * exists: without nvme0 the name is refused first. */
	long info_want = pci_find("nvme0") ? -MAPLE_EFAULT : -MAPLE_ESRCH;
	long bad = 0;
	for (unsigned p = 0; p < sizeof ptrs / sizeof ptrs[0] && !bad; p++) {
		for (unsigned n = 0; n < sizeof nrs / sizeof nrs[0] && !bad; n++) {
			long r = domain_call(rogue, Rogue_run_METHOD, ROGUE_X_SYSCALL, (long)nrs[n],
					     (long)ptrs[p], 16);
			if (r != -MAPLE_EFAULT) {
				klog("ktest: syscall %lu with pointer %#lx returned %ld", nrs[n],
				     ptrs[p], r);
				bad = r ? r : -1;
			}
		}
		long r = domain_call(rogue, Rogue_run_METHOD, ROGUE_X_SYSCALL, SYS_DMA_BUS,
				     (long)ptrs[p], 0);
		long info = domain_call(rogue, Rogue_run_METHOD, ROGUE_X_INFO_INTO, (long)ptrs[p],
					0, 0);
		if (r != -MAPLE_EFAULT || info != info_want) {
			klog("ktest: pointer %#lx: SYS_DMA_BUS returned %ld, SYS_DEVICE_INFO %ld",
			     ptrs[p], r, info);
			bad = -1;
		}
	}
	enum domain_state state = rogue->state;
	int gone = ktest_destroy(rogue);
	KT_ASSERT_EQ(bad, 0);
	KT_ASSERT_EQ(state, DOMAIN_RUNNING);
	KT_ASSERT_EQ(gone, 0);
}

KTEST(attack3_every_pointer_syscall_refuses_memory_not_the_callers)
{
	ktest_run_counted(t, "kt-atk3-ptr", bad_pointers, WAIT_NS);
}

extern const char __gate_start[], gate_entry_raise[], gate_resume[];

/*
 * A caller that enters the gate past its pushes chooses the %rsp the gate
 * records for it (CONT_CALLER_RSP), and when its callee fails the kernel
 * resumes it at gate_resume on that %rsp with an iretq. A non-canonical
 * one must not fault the iretq in kernel mode (no exception-table entry
 * there: a panic); IRET checks the new RIP, not the new RSP (SDM Vol. 2A,
 * IRET, and AMD APM Vol. 3), so the caller's first pop faults in ring 3,
 * as the caller, at gate_resume (#SS on hardware, #GP under TCG, hence
 * only the rip is pinned): it fails, its own caller (the kernel) gets
 * -MAPLE_ECALLEE, and the callee failed on its own null dereference.
 */
static void noncanonical_caller_rsp(struct ktest_ctx *t)
{
	struct domain *caller = ktest_create(t, "rogue"),
		      *callee = caller ? ktest_create(t, "rogue") : NULL;
	if (!callee) {
		ktest_destroy(caller);
		return;
	}
	uint64_t raise = MAPLE_GATE_VA + (uint64_t)(gate_entry_raise - __gate_start);
	uint64_t resume = MAPLE_GATE_VA + (uint64_t)(gate_resume - __gate_start);
	long r = domain_call(caller, Rogue_run_METHOD, ROGUE_X_RAISE_WITH_RSP,
			     (long)domain_handle(callee), (long)raise, (long)0x8000000000000000ULL);
	char want[64];
	fmt_snprintf(want, sizeof want, "rip %#lx (gate", resume);
	bool at_resume = strstr(caller->fail_reason, want) != NULL;
	bool null = strstr(callee->fail_reason, "#PF at 0 (error 0x4)") != NULL;
	klog("ktest: caller failed with '%s'; callee with '%s'", caller->fail_reason,
	     callee->fail_reason);
	int callee_gone = ktest_destroy(callee), caller_gone = ktest_destroy(caller);
	KT_ASSERT_EQ(r, -MAPLE_ECALLEE);
	KT_ASSERT(at_resume);
	KT_ASSERT(null);
	KT_ASSERT_EQ(callee_gone, 0);
	KT_ASSERT_EQ(caller_gone, 0);
}

KTEST(attack3_unwinding_to_a_noncanonical_caller_stack_faults_only_the_caller)
{
	ktest_run_counted(t, "kt-atk3-rsp", noncanonical_caller_rsp, WAIT_NS);
}
