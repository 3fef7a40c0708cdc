/*
 * The exception table: (faulting instruction, fixup) pairs that EXTABLE
 * (traps.h) emits into section .extable, which kernel.ld gathers between
 * __extable_start and __extable_end. A kernel fault at a listed instruction
 * resumes at its fixup instead of panicking: the basis of user-memory access
 * and of fault-injection tests.
 */
#include <arch/x86/traps.h>

extern const struct extable_entry __extable_start[], __extable_end[];

bool extable_fixup(struct trap_frame *tf, uint64_t cr2)
{
	/* Few entries, unsorted (each object file adds its own): scan them. */
	for (const struct extable_entry *e = __extable_start; e < __extable_end; e++) {
		if (e->insn != tf->rip)
			continue;
		tf->rip = e->fixup;
		tf->rax = tf->vector;
		tf->rdx = tf->error_code;
		tf->rcx = tf->vector == T_PF ? cr2 : 0;
		return true;
	}
	return false;
}
