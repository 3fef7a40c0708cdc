/*
 * rogue's cases from the outside attack review (attack_cases.h): a callee
 * that ends the thread its caller called it on.
 */
#include <lib/syscall.h>
#include <maple/dom.h>
#include <rogue/attack_cases.h>
#include <rogue/cases.h>

long rogue_attack_case(long number, unsigned long target)
{
	dom_printf("rogue: attack case %ld, target 0x%lx", number, (unsigned long)target);
	switch (number) {
	case ROGUE_A_CALL_EXITER:
		if (!target)
			return -MAPLE_EINVAL;
		return maple_xcall(target, ROGUE_RUN, ROGUE_A_EXIT_CALLERS_THREAD, 0, 0, 0);
	case ROGUE_A_EXIT_CALLERS_THREAD:
		/* By hand: maple_thread_exit traps should the kernel return,
		 * and this case wants the kernel's answer. */
		return syscall0(SYS_THREAD_EXIT);
	}
	return -MAPLE_EINVAL;
}
