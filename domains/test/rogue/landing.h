/*
 * The two ends that rogue's jumps into the runtime share (escape.c's forged
 * rt_sigreturn, gadget.c's jumps to the runtime's own PKRU writes), as
 * text for their asm statements. Before the jump ROGUE_PUSH_CALLEE_SAVED
 * pushes rogue's callee-saved registers. If the runtime ever lets rogue
 * resume at the jump's label, with %rsp back where they were pushed and
 * %rdi at the word chosen, ROGUE_SCRIBBLE_AND_RETURN stores ROGUE_SCRIBBLE
 * there (it lands only if rogue got PKRU 0, every key: a TRUSTED word; under
 * rogue's own rights it faults with SEGV_PKUERR), pops the registers and
 * leaves ROGUE_NOT_CONTAINED in %eax. The asm statement names the operands
 * [scribble] "i"(ROGUE_SCRIBBLE) and [nc] "i"(ROGUE_NOT_CONTAINED), and
 * lists %rdi as an operand it changes.
 */
#ifndef DOMAINS_ROGUE_LANDING_H
#define DOMAINS_ROGUE_LANDING_H

#define ROGUE_PUSH_CALLEE_SAVED                                                                    \
	"pushq %%rbx\n\t"                                                                          \
	"pushq %%rbp\n\t"                                                                          \
	"pushq %%r12\n\t"                                                                          \
	"pushq %%r13\n\t"                                                                          \
	"pushq %%r14\n\t"                                                                          \
	"pushq %%r15\n\t"

#define ROGUE_SCRIBBLE_AND_RETURN                                                                  \
	"movabsq %[scribble], %%rax\n\t"                                                           \
	"movq %%rax, (%%rdi)\n\t"                                                                  \
	"popq %%r15\n\t"                                                                           \
	"popq %%r14\n\t"                                                                           \
	"popq %%r13\n\t"                                                                           \
	"popq %%r12\n\t"                                                                           \
	"popq %%rbp\n\t"                                                                           \
	"popq %%rbx\n\t"                                                                           \
	"movl %[nc], %%eax"

#endif
