/*
 * _domain_start: the entry point of every domain image. The kernel enters
 * it in ring 3 on a fresh stack with the load argument in %rdi and
 * MAPLE_GATE_RETURN_VA already pushed as the return address, so returning
 * hands domain_main's result (in %rax) to the gate, which ends the thread.
 */
	.text
	.globl _domain_start
	.type _domain_start, @function
_domain_start:
	/* A zero saved frame pointer ends frame-pointer backtraces here; the
	 * push also restores the 16-byte alignment the call needs. */
	xorl %ebp, %ebp
	pushq %rbp
	movq %rsp, %rbp
	call domain_main
	popq %rbp
	ret
	.size _domain_start, . - _domain_start

	.section .note.GNU-stack, "", @progbits
