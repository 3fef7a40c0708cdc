/*
 * rogue's cases from the attack3 review (attack3_cases.h): a server whose
 * method holds its own lock for a while, and a client that calls it and
 * fails (another of its threads panics) while its thread is inside the
 * server, holding the server's lock; privileged or odd instructions that
 * must fault in ring 3; and raw syscalls with pointers chosen by the test.
 */
#include <sdk/dom.h>
#include <sdk/syscall.h>
#include <test/rogue/attack3_cases.h>
#include <test/rogue/cases.h>

static struct dom_lock server_lock = DOM_LOCK_INIT;
static long locked_result = ROGUE_X_PENDING;

/* Honest server work: the lock is held only here, and always released. */
static long locked_work(uint64_t ns)
{
	dom_lock(&server_lock);
	uint64_t end = maple_clock_ns() + ns;
	while (maple_clock_ns() < end)
		__asm__ volatile("pause");
	__atomic_store_n(&locked_result, ROGUE_X_DONE, __ATOMIC_RELEASE);
	dom_unlock(&server_lock);
	return ROGUE_X_DONE;
}

static uint64_t die_after_ns;

static void die_later(void *arg)
{
	(void)arg;
	maple_sleep_ns(die_after_ns);
	maple_panic("attack3: failing while a call of ours runs in the server");
}

/* A client that keeps using the server for as long as it is served. */
static long call_and_die(uint64_t server, uint64_t ns)
{
	die_after_ns = ns / 2;
	long tid = maple_thread_create(die_later, NULL);
	if (tid < 0)
		return tid;
	long r;
	do
		r = maple_xcall(server, Rogue_run_METHOD, ROGUE_X_LOCKED_WORK, (long)ns, 0, 0);
	while (r == ROGUE_X_DONE);
	return r;
}

/* Each instruction that must fault in ring 3; reaching the end means it ran. */
static long odd_insn(unsigned long which)
{
	switch (which) {
	case ROGUE_X_ICEBP:
		__asm__ volatile(".byte 0xf1");
		break;
	case ROGUE_X_SYSENTER:
		__asm__ volatile("sysenter" : : : "rcx", "r11", "memory");
		break;
	case ROGUE_X_OUT_RESET:
		__asm__ volatile("outb %%al, $0x64" : : "a"(0xfe));
		break;
	case ROGUE_X_HLT:
		__asm__ volatile("hlt");
		break;
	case ROGUE_X_CLI:
		__asm__ volatile("cli");
		break;
	default:
		return -MAPLE_EINVAL;
	}
	return ROGUE_NOT_CONTAINED;
}

/* The gate's entry past its pushes, with a caller's %rsp of our choice. */
static long raise_with_rsp(uint64_t callee, uint64_t raise_va, uint64_t rsp)
{
	__asm__ volatile("movq %[rsp], %%r12\n\t"
			 "movq %[callee], %%rdi\n\t"
			 "movl %[method], %%esi\n\t"
			 "movl %[number], %%r10d\n\t"
			 "xorl %%r11d, %%r11d\n\t"
			 "xorl %%r8d, %%r8d\n\t"
			 "xorl %%r9d, %%r9d\n\t"
			 "jmp *%[va]"
			 :
			 : [rsp] "r"(rsp), [callee] "r"(callee), [method] "i"(Rogue_run_METHOD),
			   [number] "i"(ROGUE_NULL_DEREF), [va] "a"(raise_va)
			 : "rdi", "rsi", "r8", "r9", "r10", "r11", "r12", "memory");
	__builtin_unreachable();
}

long rogue_attack3_case(long number, unsigned long target, unsigned long a2, unsigned long a3)
{
	switch (number) {
	case ROGUE_X_RELAY:
		return maple_xcall(target, Rogue_run_METHOD, ROGUE_X_CALL_AND_DIE, (long)a2,
				   (long)a3, 0);
	case ROGUE_X_LOCKED_WORK:
		return locked_work(target);
	case ROGUE_X_CALL_AND_DIE:
		return call_and_die(target, a2);
	case ROGUE_X_INSN:
		return odd_insn(target);
	case ROGUE_X_RAISE_WITH_RSP:
		return raise_with_rsp(target, a2, a3);
	case ROGUE_X_SYSCALL:
		return syscall3((long)target, (long)a2, (long)a3, 0);
	case ROGUE_X_INFO_INTO: {
		static const char name[] = "nvme0";
		return syscall3(SYS_DEVICE_INFO, (long)name, sizeof name - 1, (long)target);
	}
	case ROGUE_X_LOCKED_RESULT:
		return __atomic_load_n(&locked_result, __ATOMIC_ACQUIRE);
	default:
		return -MAPLE_EINVAL;
	}
}
