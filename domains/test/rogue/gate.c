/*
 * rogue's attacks on the cross-domain gate (gate_cases.h): entering it by
 * a jump with a stack pointer aimed at TRUSTED memory, racing the gate
 * from a second thread, running out of thread slots, calling a domain
 * that is being destroyed and recreated, and calling one in a loop.
 */
#include <test/rogue/cases.h>
#include <test/rogue/gate_cases.h>

#include <sdk/dom.h>
#include <sdk/rref.h>
#include <test/victim/victim.h>
#include <test/xb/xb.h>

long rogue_gate_case(long number, uint64_t target, uint64_t a2, uint64_t a3);
void rogue_gate_hijacked(void);

__attribute__((noreturn)) static void jump_with_stack(uint64_t rsp, uint64_t entry, uint64_t handle)
{
	__asm__ volatile("movq %0, %%rsp\n\t"
			 "xorl %%ebp, %%ebp\n\t"
			 "xorl %%edx, %%edx\n\t"
			 "xorl %%ecx, %%ecx\n\t"
			 "xorl %%r8d, %%r8d\n\t"
			 "xorl %%r9d, %%r9d\n\t"
			 "xorl %%ebx, %%ebx\n\t"
			 "jmp *%1"
			 :
			 : "r"(rsp), "a"(entry), "D"(handle), "S"(XCALL_MOVE(0))
			 : "memory");
	__builtin_unreachable();
}

/* What gate_resume pops, in order, and the return address after them. */
enum { POP_R15, POP_R14, POP_R13, POP_R12, POP_RBP, POP_RBX, POP_RET, POP_WORDS };
static uint64_t loop_frame[POP_WORDS];

/*
 * Where the gate clears vector state between domains (maple-hosted), its
 * ZERO_VECTORS at gate_resume pushes its scratch %rax, %rcx and %rdx below
 * the return slot, over the saved %rbx, %rbp and %r12 it has just popped:
 * each pass then returns here, %r12 still the frame, and the saved %r12 is
 * put back before the pass goes on into the gate's raise. Two instructions
 * of rogue's own a pass, in which the VM's grace for a thread in the gate
 * does not apply; the VM's gate pushes nothing there (VECTORS_KEEP), and
 * its loop is the gate's alone.
 */
extern const char rogue_gate_loop_again[];
extern uint64_t rogue_gate_loop_raise;
uint64_t rogue_gate_loop_raise;
_Static_assert(POP_R12 * 8 == 24, "the trampoline's offset of the saved %r12");
__asm__(".pushsection .text\n"
	"rogue_gate_loop_again:\n\t"
	"movq %r12, 24(%r12)\n\t"
	"jmp *rogue_gate_loop_raise(%rip)\n"
	".popsection");

__attribute__((noreturn)) static void loop_through_gate(uint64_t raise, uint64_t resume,
							int put_back)
{
	loop_frame[POP_R12] = (uint64_t)(uintptr_t)loop_frame;
	rogue_gate_loop_raise = raise;
	loop_frame[POP_RET] = put_back ? (uint64_t)(uintptr_t)rogue_gate_loop_again : raise;
	__asm__ volatile("movq %0, %%rsp\n\t"
			 "jmp *%1"
			 :
			 : "r"(loop_frame), "r"(resume), "D"(0UL)
			 : "memory");
	__builtin_unreachable();
}

/* ---- a second thread rewrites the caller's stack during its calls ---- */

static volatile uint64_t race_sp;    /* the first thread's %rsp at the gate */
static volatile uint64_t race_value; /* what the racer writes */
static volatile int race_stop, race_running;
static volatile uint64_t hijack_entry; /* domain table word the hijack writes */

/* Reached only if the gate returns here with raised rights: then this store
 * to the TRUSTED domain table succeeds; with rogue's own it faults. */
void rogue_gate_hijacked(void)
{
	*(volatile uint64_t *)hijack_entry = ROGUE_GATE_HIJACK_VALUE;
	maple_panic("rogue: hijacked the gate with raised rights");
}

static void racer(void *arg)
{
	(void)arg;
	race_running = 1;
	while (!race_stop) {
		uint64_t sp = race_sp;
		if (sp)
			for (int i = 1; i <= 8; i++)
				((volatile uint64_t *)sp)[-i] = race_value;
	}
	race_running = 0;
}

static uint64_t saved_rbp;

/*
 * maple_xcall with the stack pointer at the call recorded for the racer.
 * The racer may rewrite the callee-saved registers the gate keeps on this
 * stack: the compiler saves those it uses elsewhere (the clobbers), and
 * %rbp goes through a static, so only a hijack can end the loop.
 */
static long echo_call(uint64_t handle, rref_t r)
{
	long result;
	register long a0 __asm__("rdx") = (long)r;
	uint64_t word = Xb_echo_WORD;
	__asm__ volatile("movq %%rbp, %[rbp]\n\t"
			 "leaq -8(%%rsp), %%rax\n\t"
			 "movq %%rax, %[sp]\n\t"
			 "movabsq %[gate], %%rax\n\t"
			 "call *%%rax\n\t"
			 "movq %[rbp], %%rbp"
			 : "=a"(result), [sp] "=m"(race_sp), [rbp] "+m"(saved_rbp), "+d"(a0),
			   "+D"(handle), "+S"(word)
			 : [gate] "i"(MAPLE_GATE_XCALL_VA)
			 : "rbx", "rcx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
			   "memory", "cc");
	return result;
}

static long stack_race(uint64_t xb, uint64_t calls)
{
	rref_t r = rref_alloc(1, 64);
	if ((long)r <= 0)
		return (long)r;
	race_value = (uint64_t)(uintptr_t)rogue_gate_hijacked;
	if (maple_thread_create(racer, 0) < 0)
		return -MAPLE_EAGAIN;
	while (!race_running)
		maple_yield();
	long back = 0;
	for (uint64_t i = 0; i < calls; i++) {
		long got = echo_call(xb, r);
		if (got == (long)r)
			back++;
	}
	race_stop = 1;
	while (race_running)
		maple_yield();
	rref_free(r);
	return back;
}

/* ---- thread slots ---- */

static volatile int threads_live, threads_end;
static volatile long threads_err;

static void sleeper(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&threads_live, 1, __ATOMIC_SEQ_CST);
	while (!threads_end)
		maple_sleep_ns(2000000);
	__atomic_sub_fetch(&threads_live, 1, __ATOMIC_SEQ_CST);
}

/* Short steps, so that no call comes near the watchdog: the kernel test
 * calls make_threads until it is refused and waits for the slots itself. */
static long make_threads(uint64_t max)
{
	long made = 0;
	threads_end = 0;
	threads_err = 0;
	for (uint64_t i = 0; i < max; i++) {
		long r = maple_thread_create(sleeper, 0);
		if (r < 0) {
			threads_err = r;
			break;
		}
		made++;
	}
	return made;
}

static long end_threads(void)
{
	threads_end = 1;
	return 0;
}

/* ---- calls into a domain being destroyed and recreated ---- */

static long hammer_bad;

static long hammer(uint64_t times)
{
	long reached = 0;
	for (uint64_t i = 0; i < times; i++) {
		long h = maple_lookup("victim");
		long r = h < 0 ? h : maple_xcall((uint64_t)h, Victim_check_METHOD, 0, 0, 0, 0);
		reached += r == 1;
		if (r != 1 && r != -MAPLE_EDEAD && r != -MAPLE_ESRCH && r != -MAPLE_ECALLEE) {
			hammer_bad = r;
			return -1;
		}
	}
	return reached;
}

static long count_calls(uint64_t times, uint64_t handle, uint64_t method)
{
	for (uint64_t i = 0; i < times; i++) {
		long r = maple_xcall(handle, method, 0, 0, 0, 0);
		if (r < 0)
			return r;
	}
	return (long)times;
}

long rogue_gate_case(long number, uint64_t target, uint64_t a2, uint64_t a3)
{
	switch (number) {
	case ROGUE_GATE_JUMP_STACK:
		jump_with_stack(target, a2, a3);
	case ROGUE_GATE_STACK_RACE:
		hijack_entry = a3 ? a3 : MAPLE_TRUSTED_VA;
		return stack_race(target, a2);
	case ROGUE_GATE_THREADS:
		return make_threads(target);
	case ROGUE_GATE_THREADS_ERR:
		return threads_err;
	case ROGUE_GATE_THREADS_END:
		return end_threads();
	case ROGUE_GATE_HAMMER:
		return hammer(target);
	case ROGUE_GATE_HAMMER_BAD:
		return hammer_bad;
	case ROGUE_GATE_LOOP:
		loop_through_gate(target, a2, a3 != 0);
	case ROGUE_GATE_COUNT:
		return count_calls(target, a2, a3);
	case ROGUE_GATE_DEPTH:
		return maple_xcall((uint64_t)maple_domain_id(), Rogue_run_METHOD, ROGUE_GATE_DEPTH,
				   0, 0, 0);
	}
	return -MAPLE_EINVAL;
}
