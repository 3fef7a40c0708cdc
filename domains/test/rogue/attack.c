/*
 * rogue's cases from the outside attack review (attack_cases.h): a callee
 * that ends the thread its caller called it on; an honest callee's CPU
 * work, and domain threads that hog the CPUs while it runs; x87 registers
 * carried from a caller into its callee; a flood of log lines; the gate's
 * lazy-stack syscall reached by a jump; a callee's scratch registers
 * handed back to its caller.
 */
#include <sdk/dom.h>
#include <sdk/syscall.h>
#include <test/rogue/attack_cases.h>
#include <test/rogue/cases.h>

static volatile uint64_t work_sink;
static volatile int spinners_stop;

/* Fixed work, so its duration depends only on the CPU it gets. */
static long work(uint64_t rounds)
{
	uint64_t x = work_sink;
	for (uint64_t i = 0; i < rounds; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	work_sink = x;
	return ROGUE_A_WORK_DONE;
}

/* A domain thread's own frame has no deadline: nothing ever stops this
 * but ROGUE_A_SPINNERS_END. */
static void spin(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&spinners_stop, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
}

static long start_spinners(uint64_t n)
{
	long started = 0;
	__atomic_store_n(&spinners_stop, 0, __ATOMIC_RELEASE);
	for (uint64_t i = 0; i < n; i++, started++)
		if (maple_thread_create(spin, NULL) < 0)
			break;
	return started;
}

static long fpu_leave(uint64_t callee)
{
	static volatile int64_t secret = ROGUE_A_FPU_SECRET;
	__asm__ volatile("fildq %0" : : "m"(secret));
	return maple_xcall(callee, Rogue_run_METHOD, ROGUE_A_FPU_PEEK, 0, 0, 0);
}

static long fpu_peek(void)
{
	int64_t seen = 0;
	__asm__ volatile("fistpq %0" : "=m"(seen));
	return seen;
}

static long log_flood(uint64_t n)
{
	static const char line[] = "rogue: flood";
	long accepted = 0;
	for (uint64_t i = 0; i < n; i++)
		accepted += maple_log(line, sizeof line - 1) == (long)sizeof line - 1;
	return accepted;
}

static uint64_t full_cont_top = ~0ULL; /* where the gate reads a cont_top */
static uint64_t active_scratch[512];   /* where it decrements an `active` */

/*
 * The gate's code after its syscall pops six words, checks the result,
 * reads cont_top through %rbx (here ~0: "too deep"), decrements an active
 * count through %r15 (here scratch), lowers to rogue's own rights and
 * leaves through gate_resume on the frame at %r12: rogue's own callee-saved
 * registers and a return to the label. All of it with rogue's rights.
 */
static long gate_stack_by_jump(uint64_t id, uint64_t syscall_va)
{
	long r;
	__asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "pushq %%rbx\n\t"
			 "pushq %%rbp\n\t"
			 "pushq %%r12\n\t"
			 "pushq %%r13\n\t"
			 "pushq %%r14\n\t"
			 "pushq %%r15\n\t"
			 "movq %%rsp, %%r12\n\t"
			 "subq $48, %%rsp\n\t"
			 "movq %%rdx, %%rbx\n\t"
			 "movq %%rcx, %%r15\n\t"
			 "movl %[nr], %%eax\n\t"
			 "jmp *%%rsi\n"
			 "1:"
			 : "=a"(r), "+D"(id), "+S"(syscall_va)
			 : "d"(&full_cont_top), "c"(active_scratch), [nr] "i"(SYS_GATE_STACK)
			 : "rbx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "memory",
			   "cc");
	return r;
}

static struct {
	uint64_t id, syscall_va;
	long result;
} jump = {.result = ROGUE_A_PENDING};

static void gate_stack_jump_thread(void *arg)
{
	(void)arg;
	__atomic_store_n(&jump.result, gate_stack_by_jump(jump.id, jump.syscall_va),
			 __ATOMIC_RELEASE);
}

static long start_gate_stack_jump(uint64_t id, uint64_t syscall_va)
{
	jump.id = id;
	jump.syscall_va = syscall_va;
	__atomic_store_n(&jump.result, ROGUE_A_PENDING, __ATOMIC_RELEASE);
	return maple_thread_create(gate_stack_jump_thread, NULL);
}

#define STR_(x) #x
#define STR(x)	STR_(x)

/* ROGUE_A_LEAVE_REGS: loads the registers last; only epilogues (pops and
 * returns) run between here and the gate. */
__asm__(".pushsection .text\n"
	"rogue_leave_regs:\n\t"
	"movabsq $" STR(ROGUE_A_REG_SECRET) ", %rdi\n\t"
					    "movq %rdi, %rsi\n\t"
					    "movq %rdi, %r8\n\t"
					    "movq %rdi, %r9\n\t"
					    "movq %rdi, %r11\n\t"
					    "xorl %eax, %eax\n\t"
					    "ret\n"
					    ".popsection");

long rogue_leave_regs(void);

/* The call made by hand, to see the registers the gate returns with. */
static long peek_regs(uint64_t callee)
{
	uint64_t seen;
	__asm__ volatile("movabsq %[gate], %%rax\n\t"
			 "call *%%rax\n\t"
			 "movq %%rdi, %%rax\n\t"
			 "orq %%rsi, %%rax\n\t"
			 "orq %%r8, %%rax\n\t"
			 "orq %%r9, %%rax\n\t"
			 "orq %%r11, %%rax"
			 : "=a"(seen), "+D"(callee)
			 : "S"((uint64_t)Rogue_run_METHOD), "d"((long)ROGUE_A_LEAVE_REGS),
			   "c"(0L), [gate] "i"(MAPLE_GATE_XCALL_VA)
			 : "r8", "r9", "r10", "r11", "memory", "cc");
	return (long)seen;
}

long rogue_attack_case(long number, unsigned long target, unsigned long a2)
{
	dom_printf("rogue: attack case %ld, target 0x%lx", number, (unsigned long)target);
	switch (number) {
	case ROGUE_A_CALL_EXITER:
		if (!target)
			return -MAPLE_EINVAL;
		return maple_xcall(target, Rogue_run_METHOD, ROGUE_A_EXIT_CALLERS_THREAD, 0, 0, 0);
	case ROGUE_A_EXIT_CALLERS_THREAD:
		/* By hand: maple_thread_exit traps should the kernel return,
		 * and this case wants the kernel's answer. */
		return syscall0(SYS_THREAD_EXIT);
	case ROGUE_A_WORK:
		return work(target);
	case ROGUE_A_SPINNERS:
		return start_spinners(target);
	case ROGUE_A_SPINNERS_END:
		__atomic_store_n(&spinners_stop, 1, __ATOMIC_RELEASE);
		return 0;
	case ROGUE_A_FPU_LEAVE:
		return target ? fpu_leave(target) : -MAPLE_EINVAL;
	case ROGUE_A_FPU_PEEK:
		return fpu_peek();
	case ROGUE_A_LOG_FLOOD:
		return log_flood(target);
	case ROGUE_A_GATE_STACK_JUMP:
		return target && a2 ? start_gate_stack_jump(target, a2) : -MAPLE_EINVAL;
	case ROGUE_A_PEEK_REGS:
		return target ? peek_regs(target) : -MAPLE_EINVAL;
	case ROGUE_A_LEAVE_REGS:
		return rogue_leave_regs();
	case ROGUE_A_GATE_STACK_RESULT:
		return __atomic_load_n(&jump.result, __ATOMIC_ACQUIRE);
	}
	return -MAPLE_EINVAL;
}
