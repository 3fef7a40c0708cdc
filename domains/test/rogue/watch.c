/*
 * rogue's watchdog and debug-trap cases (watch_cases.h): callees that sleep
 * in the kernel, sleep forever or finish in time, a domain thread calling
 * a spinning or sleeping domain, single-stepping and int3 loops, a trap
 * flag left set for the caller, a loop inside the gate page, and a far
 * return into a loop outside rogue's code (watchsig_cases.h).
 */
#include <test/rogue/cases.h>
#include <test/rogue/watch_cases.h>
#include <test/rogue/watchsig_cases.h>

#include <sdk/dom.h>

/* The trap loops, with a label after each trapping instruction: the rip
 * the kernel reports. They never return. */
__asm__(".pushsection .text\n"
	"rogue_step_loop:\n\t"
	"pushfq\n\t"
	"orq $0x100, (%rsp)\n\t" /* RFLAGS.TF */
	"popfq\n\t"
	"nop\n" /* TF is set from here: the first trap follows this nop */
	"rogue_step_trap:\n\t"
	"jmp rogue_step_loop\n"
	"rogue_int3_loop:\n\t"
	"int3\n"
	"rogue_int3_trap:\n\t"
	"jmp rogue_int3_loop\n"
	"rogue_tf_fault:\n\t"
	"pushfq\n\t"
	"orq $0x100, (%rsp)\n\t" /* RFLAGS.TF */
	"popfq\n\t"
	"ud2\n"
	".popsection");
extern const char rogue_step_loop[], rogue_step_trap[], rogue_int3_loop[], rogue_int3_trap[],
	rogue_tf_fault[];

static volatile long thread_result = ROGUE_W_PENDING;
static volatile uint64_t gate_target;

struct thread_call {
	uint64_t callee;
	long callee_case;
};
static struct thread_call thread_call;

static void call_from_thread(void *arg)
{
	const struct thread_call *c = arg;
	long r = maple_xcall(c->callee, Rogue_run_METHOD, c->callee_case, 0, 0, 0);
	__atomic_store_n(&thread_result, r, __ATOMIC_RELEASE);
}

static long start_thread_call(uint64_t callee, long callee_case)
{
	if (!callee)
		return -MAPLE_EINVAL;
	thread_call = (struct thread_call){.callee = callee, .callee_case = callee_case};
	__atomic_store_n(&thread_result, ROGUE_W_PENDING, __ATOMIC_RELEASE);
	return maple_thread_create(call_from_thread, &thread_call);
}

static long busy(uint64_t ns)
{
	uint64_t end = maple_clock_ns() + ns;
	while (maple_clock_ns() < end)
		__asm__ volatile("pause");
	return ROGUE_W_DONE;
}

static uint64_t thread_busy_ns;

static void busy_thread(void *arg)
{
	(void)arg;
	__atomic_store_n(&thread_result, busy(thread_busy_ns), __ATOMIC_RELEASE);
}

static __attribute__((noreturn)) void enter(const char *loop)
{
	((void (*)(void))(uintptr_t)loop)();
	__builtin_unreachable();
}

/* Every register a `jmp *%reg` may name, but the stack and frame pointers,
 * loaded with %rax. */
#define LOAD_ALL_WITH_RAX                                                                          \
	"movq %%rax, %%rbx\n\t"                                                                    \
	"movq %%rax, %%rcx\n\t"                                                                    \
	"movq %%rax, %%rdx\n\t"                                                                    \
	"movq %%rax, %%rsi\n\t"                                                                    \
	"movq %%rax, %%rdi\n\t"                                                                    \
	"movq %%rax, %%r8\n\t"                                                                     \
	"movq %%rax, %%r9\n\t"                                                                     \
	"movq %%rax, %%r10\n\t"                                                                    \
	"movq %%rax, %%r11\n\t"                                                                    \
	"movq %%rax, %%r12\n\t"                                                                    \
	"movq %%rax, %%r13\n\t"                                                                    \
	"movq %%rax, %%r14\n\t"                                                                    \
	"movq %%rax, %%r15\n\t"
#define ALL_REGISTERS                                                                              \
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14",   \
		"r15", "memory"

static __attribute__((noreturn)) void jump_with_all_registers(uint64_t target)
{
	gate_target = target;
	__asm__ volatile("movq %0, %%rax\n\t" LOAD_ALL_WITH_RAX "jmp *%%rax"
			 :
			 : "m"(gate_target)
			 : ALL_REGISTERS);
	__builtin_unreachable();
}

/* The same through a far return in 64-bit mode (this code segment), the
 * shape of bench/faults' finding 8: a flip made an instruction `lret`. */
static __attribute__((noreturn)) void far_return_with_all_registers(uint64_t target)
{
	gate_target = target;
	__asm__ volatile("xorl %%ecx, %%ecx\n\t"
			 "movw %%cs, %%cx\n\t"
			 "movq %0, %%rax\n\t"
			 "pushq %%rcx\n\t"
			 "pushq %%rax\n\t" LOAD_ALL_WITH_RAX "lretq"
			 :
			 : "m"(gate_target)
			 : ALL_REGISTERS);
	__builtin_unreachable();
}

long rogue_watch_case(long number, unsigned long target)
{
	dom_printf("rogue: watch case %ld, target 0x%lx", number, target);
	switch (number) {
	case ROGUE_W_SLEEP:
		maple_sleep_ns(target);
		return ROGUE_W_DONE;
	case ROGUE_W_SLEEP_FOREVER:
		for (;;)
			maple_sleep_ns(3600000000000UL); /* an hour at a time */
	case ROGUE_W_BUSY:
		return busy(target);
	case ROGUE_W_THREAD_CALL_SPIN:
		return start_thread_call(target, ROGUE_SPIN);
	case ROGUE_W_THREAD_CALL_SLEEPER:
		return start_thread_call(target, ROGUE_W_SLEEP_FOREVER);
	case ROGUE_W_THREAD_RESULT:
		return __atomic_load_n(&thread_result, __ATOMIC_ACQUIRE);
	case ROGUE_W_SINGLE_STEP:
		enter(rogue_step_loop);
	case ROGUE_W_INT3:
		enter(rogue_int3_loop);
	case ROGUE_W_TRAP_RIP:
		return target == ROGUE_W_SINGLE_STEP ? (long)(uintptr_t)rogue_step_trap
		       : target == ROGUE_W_INT3	     ? (long)(uintptr_t)rogue_int3_trap
						     : -MAPLE_EINVAL;
	case ROGUE_W_TF_FAULT:
		enter(rogue_tf_fault);
	case ROGUE_W_CALL_TF_FAULT: {
		if (!target)
			return -MAPLE_EINVAL;
		long r = maple_xcall(target, Rogue_run_METHOD, ROGUE_W_TF_FAULT, 0, 0, 0);
		/* Still here and not single-stepped to death: unharmed. */
		return r == -MAPLE_ECALLEE ? ROGUE_W_SURVIVED : r;
	}
	case ROGUE_W_THREAD_BUSY:
		thread_busy_ns = target;
		__atomic_store_n(&thread_result, ROGUE_W_PENDING, __ATOMIC_RELEASE);
		return maple_thread_create(busy_thread, 0);
	case ROGUE_W_CALL_SPIN_THEN_BUSY: {
		if (!target)
			return -MAPLE_EINVAL;
		long r = maple_xcall(target, Rogue_run_METHOD, ROGUE_SPIN, 0, 0, 0);
		busy(ROGUE_W_AFTER_NS);
		return r;
	}
	case ROGUE_W_GATE_SPIN:
		if (!target)
			return -MAPLE_EINVAL;
		jump_with_all_registers(target);
	case ROGUE_WS_FAR_RETURN_LOOP:
		if (!target)
			return -MAPLE_EINVAL;
		far_return_with_all_registers(target);
	}
	return -MAPLE_EINVAL;
}
