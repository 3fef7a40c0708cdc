/*
 * The first instructions of the runtime's signal handlers when domains run
 * under their keys (entry.c), and the handlers' one way back into a domain
 * or the gate: the restorer entry_sigreturn, below.
 *
 * Linux (6.12 and later: pkeys.c refuses keys on an older one) writes the
 * signal frame with every key enabled onto the level's signal stack, the
 * runtime's key-0 memory (sigstack.c), and enters a handler with its default
 * PKRU (init_pkru: key 0 only), whatever the interrupted code held. The
 * entries' first memory access is that key-0 stack, after they wrote the
 * handlers' known rights, PKRU 0 (every key). The interrupted rights are
 * not lost: they are in the frame's XSAVE area, which the handler rewrites
 * from the gate's state before rt_sigreturn restores them (entry.c, with
 * sigstack_set_pkru); rt_sigreturn reads the frame with the handler's rights,
 * PKRU 0, which reach it. A handler that leaves with siglongjmp goes on in
 * the runtime, whose rights are PKRU 0.
 *
 * THE INVARIANT (ERIM's rule for a WRPKRU outside the gate): protection
 * keys do not govern instruction fetch, so a domain can jump straight to
 * the WRPKRU below with %eax = 0 and every other register of its choosing,
 * %rsp included. It must get nothing: a handler runs only on the thread
 * Linux delivers to, for a frame Linux wrote for the signal it is
 * delivering now. After the WRPKRU, before any store and before any C
 * code, the entry checks:
 *   - %eax is 0, the one value this site writes;
 *   - the thread that runs is the one whose thread slot %rsp lies in
 *     (entry_prove_thread, below): domain threads run at once, and a
 *     domain on thread A could otherwise put %rsp at thread B's live frame
 *     (B parked in a handler, say asleep in SYS_SLEEP_NS) and run a second
 *     handler on B's stack with B's TLS;
 *   - %rsp is exactly where Linux puts a frame on this thread's signal
 *     stack of the upcall level that runs (entry_sigstack.frame, set by
 *     sigstack.c's sigstack_use, in the thread's key-0 TLS, which %fs
 *     addresses once entry_restore_bases has written the proven slot's
 *     bases back). That is key-0 memory, which no domain can write: the
 *     frame there is Linux's;
 *   - its siginfo's si_signo is not 0: entry_sigreturn zeroes it before
 *     each rt_sigreturn through the frame, and sigstack_retire when
 *     a handler left it by siglongjmp, so a frame of a signal already
 *     handled (another domain's registers, say) is never served again;
 *   - %rdx (the ucontext) and %rsi (the siginfo) are exactly where Linux
 *     puts them in that frame (arch/x86/kernel/signal.c: struct
 *     rt_sigframe at %rsp);
 * and otherwise traps at hosted_pkru_violation (a real SIGILL, which fails
 * the domain). A real delivery passes every check, whatever the domain
 * did to its registers and segment bases first: a trap here runs with
 * every signal blocked and would kill the process, so only a jump may
 * fail one. Then the entry sets RFLAGS (no DF, TF or AC of the jumper's)
 * and CALLS the C handler, and, should it return, goes to entry_sigreturn
 * itself: the frame's return address is never used.
 */
#include "jump.h"

#include <asm/unistd.h>

	.text
.macro KEYED name, target
	.globl \name
	.type \name, @function
\name:
	movq %rdx, %r8			/* the ucontext: WRPKRU needs %ecx = %edx = 0 */
	xorl %eax, %eax
	xorl %ecx, %ecx
	xorl %edx, %edx
	.globl \name\()_wrpkru
\name\()_wrpkru:
	wrpkru
	testl %eax, %eax
	jnz hosted_pkru_violation
	leaq 1f(%rip), %r9
	jmp entry_prove_thread
1:	cld
	movq entry_sigstack@gottpoff(%rip), %rax
	cmpq %fs:SIGSTACK_FRAME(%rax), %rsp	/* where Linux puts this level's frame */
	jne hosted_pkru_violation
	cmpl $0, SIGFRAME_INFO(%rsp)		/* si_signo: 0 once consumed */
	je hosted_pkru_violation
	leaq SIGFRAME_UC(%rsp), %rax
	cmpq %rax, %r8
	jne hosted_pkru_violation
	leaq SIGFRAME_INFO(%rsp), %rax
	cmpq %rax, %rsi
	jne hosted_pkru_violation
	movq %r8, %rdx
	pushq $0x202			/* IF and the always-set bit */
	popfq
	subq $8, %rsp			/* the C handler's call frame, aligned */
	call \target
	addq $16, %rsp			/* that, and the frame's return address */
	jmp entry_sigreturn
	.size \name, . - \name
.endm

	KEYED entry_keyed_fault, entry_on_fault
	KEYED entry_keyed_sigsys, entry_on_sigsys

#define RFLAGS_AC (1 << 18)

/*
 * Without keys (nothing isolates anything, but a domain must still not
 * stop the process): the handlers' entries write the runtime's FS and GS
 * bases back, clear RFLAGS.AC (Linux keeps the domain's AC for a handler,
 * and with CR0.AM set, as Linux runs user code, glibc's misaligned loads
 * in the handler, or in the runtime after a siglongjmp, would take SIGBUS
 * and kill the process) and go on to the C handler as if Linux had
 * called it: its return address is still the restorer.
 */
.macro PLAIN name, target
	.globl \name
	.type \name, @function
\name:
	leaq 1f(%rip), %r11
	jmp entry_restore_bases
1:	pushfq
	andl $~RFLAGS_AC, (%rsp)
	popfq
	jmp \target
	.size \name, . - \name
.endm

	PLAIN entry_plain_fault, entry_on_fault
	PLAIN entry_plain_sigsys, entry_on_sigsys

/*
 * entry_restore_bases: the runtime's FS base (the thread pointer) and GS
 * base (the thread's GATE_RO page, which the gate reads at %gs) back from
 * entry_bases[slot] (entry.c), slot being the thread slot whose share of
 * SIGSTACKS_VA holds %rsp (each thread's signal stacks lie in its own;
 * jump.h), then on to *%r11. Reached from the entries above only (the
 * keyed ones' after their WRPKRU check, PKRU 0, and entry_prove_thread,
 * below, which proved the thread the slot's), and before any %fs or %gs
 * access: a domain can load %fs or %gs with a selector (base 0), and the
 * handlers' TLS reads and the gate's reads would fault, with every signal
 * blocked: the process would die. Clobbers %rax, %rcx and %r10 only (the
 * plain entries keep the handler's arguments).
 *
 * THE INVARIANT (hosted/audit.c audits these two sites, the only WRFSBASE
 * and WRGSBASE in the process): either writes a base the runtime recorded
 * for a thread slot, or traps. A domain can jump straight to either
 * instruction with registers of its choosing: each is followed by a read
 * of key-0 memory (entry_base_slots), which faults under any domain's
 * rights (SEGV_PKUERR: the fault's handler entry proves its thread
 * without the wrong base, entry_prove_thread, and writes both bases back
 * before anything else), then by a compare of what it wrote with the
 * recorded value of the slot %rsp names, bounds-checked so the compare too
 * reads entry_bases (key 0) or traps at hosted_pkru_violation; without
 * keys it traps there unless the value was a slot's. A base changes only
 * what %fs and %gs address, never rights; the wrong one lives only until
 * that fault's entry rewrites it. A slot with no thread has 0: traps.
 */
.macro SLOT_BASES reg
	movq entry_base_slots(%rip), %rcx
	movq %rsp, \reg
	shrq $SIGSTACKS_SHIFT, \reg
	subq $(SIGSTACKS_VA >> SIGSTACKS_SHIFT), \reg
	cmpq %rcx, \reg
	jae hosted_pkru_violation
	shlq $BASES_SHIFT, \reg
	leaq entry_bases(%rip), %rcx
	addq %rcx, \reg
.endm

	.type entry_restore_bases, @function
entry_restore_bases:
	SLOT_BASES %r10
	movq BASES_FS(%r10), %rax
	testq %rax, %rax
	jz hosted_pkru_violation
	.globl entry_restore_fsbase
entry_restore_fsbase:
	wrfsbase %rax
	SLOT_BASES %r10
	cmpq BASES_FS(%r10), %rax
	jne hosted_pkru_violation
	movq BASES_GS(%r10), %rax
	testq %rax, %rax
	jz hosted_pkru_violation
	.globl entry_restore_gsbase
entry_restore_gsbase:
	wrgsbase %rax
	SLOT_BASES %r10
	cmpq BASES_GS(%r10), %rax
	jne hosted_pkru_violation
	jmp *%r11
	.size entry_restore_bases, . - entry_restore_bases

/*
 * entry_prove_thread: under keys, after the entry's WRPKRU and its %eax
 * check (PKRU 0), before anything is rewritten: is the thread that runs
 * the one whose thread slot %rsp lies in? Then on to entry_restore_bases,
 * which writes that slot's bases back, and *%r9. A jump has PKRU 0 here
 * too, but no control: from its WRPKRU to the first check that fails, the
 * code below is a fixed path that stores nothing and takes no register of
 * the jumper's but %rsp, whose slot is what it proves.
 *
 * THE INVARIANT: a thread's live FS and GS bases are the runtime's for
 * that thread (entry_bases[slot]: its TLS, its slot's GATE_RO page), or
 * 0, or, until the very next instruction faults, whatever a domain wrote
 * by jumping to an audited base write below (each is followed by a read
 * of key-0 memory); nothing else. A domain cannot otherwise write either
 * base: WRFSBASE and WRGSBASE exist in the process only in entry_restore_bases
 * (hosted/audit.c, and the loader's scan of every image), arch_prctl is a
 * system call and no system call of a domain reaches Linux (filter.c),
 * and loading a selector gives base 0: every descriptor a domain can load
 * (Linux's GDT user code and data segments and its per-CPU segment, base
 * 0; its TLS slots are empty, as the runtime never calls
 * set_thread_area, and loading an empty one faults; the LDT is empty, as
 * the runtime never calls modify_ldt) has base 0, and a null selector
 * leaves 0 (on older AMD CPUs, the old base: its own). Distinct live threads have
 * distinct TLS pointers and distinct slots. So:
 *   - a nonzero FS base equal to the slot's proves the thread;
 *   - else a nonzero GS base equal to the slot's proves it;
 *   - else (a domain zeroed both, or a jump to a base write left one
 *     wrong before it faulted) the slow path asks Linux: a gettid at the
 *     one `syscall` the filter allows for it (entry_gettid, below),
 *     compared with the tid the slot's thread recorded (sigstack.c).
 * A real delivery always passes one of the three: never a trap in a
 * handler. A domain on thread A with %rsp at thread B's frame passes none
 * (A's bases and tid are not B's), and traps. A slot with no thread has
 * all three 0, which no thread matches. Clobbers %rax, %rcx, %r10 and
 * %r11.
 */
	.type entry_prove_thread, @function
entry_prove_thread:
	SLOT_BASES %r10
	rdfsbase %rax
	testq %rax, %rax
	jz 1f
	cmpq BASES_FS(%r10), %rax
	je entry_proven
1:	rdgsbase %rax
	testq %rax, %rax
	jz 2f
	cmpq BASES_GS(%r10), %rax
	je entry_proven
2:	movl $__NR_gettid, %eax
	jmp entry_gettid
entry_proven:
	movq %r9, %r11
	jmp entry_restore_bases
	.size entry_prove_thread, . - entry_prove_thread

/*
 * entry_sigreturn: the restorer of every handler of entry.c (installed
 * with SA_RESTORER; under keys the entries above come here themselves):
 * reached still with the handler's rights (PKRU 0) and every signal
 * blocked (the handlers' sa_mask). The handlers are entered from domain or
 * gate code, so this returns to such code: it sets the thread's syscall
 * user dispatch selector to BLOCK and makes the rt_sigreturn, with the
 * runtime's secret in %rdi. The one exception is the watchdog's signal
 * landing in the runtime's own code (entry.c, on_watchdog), which
 * sets entry_resume_runtime (key-0 TLS, which no domain can write): then
 * the selector stays ALLOW, as the runtime runs with it, and the flag is
 * cleared.
 *
 * THE INVARIANT (filter.c): the `syscall` below is the only one Linux lets
 * through while the selector says BLOCK (its address, entry_sigreturn_end,
 * is the dispatch's whole allowed region), and the seccomp filter lets it
 * through only as an rt_sigreturn whose %rdi is the secret. A domain that
 * jumps to it cannot have loaded the secret: it lies in key-0 memory, which
 * no domain's rights can read, and a domain that jumps to the load faults
 * there, at the first instruction. No signal can arrive between the load
 * and the `syscall` (all are blocked), so no signal frame ever holds it;
 * rt_sigreturn then replaces %rdi with the frame's. The frame it returns
 * through lies at %rsp - 8 (a handler's `ret` popped its return address);
 * its si_signo is zeroed, so the keyed entries never take it again.
 */
	.globl entry_sigreturn
	.type entry_sigreturn, @function
entry_sigreturn:
	movq entry_sigreturn_token(%rip), %rdi
	movl $0, SIGFRAME_INFO - 8(%rsp)	/* si_signo: this frame is consumed */
	movq entry_resume_runtime@gottpoff(%rip), %rax
	cmpb $0, %fs:(%rax)
	movb $0, %fs:(%rax)		/* the flags are the compare's */
	jne 1f
	movq entry_selector@gottpoff(%rip), %rax
	movq %fs:(%rax), %rax
	movb $SUD_BLOCK, (%rax)
1:	movl $__NR_rt_sigreturn, %eax
	syscall
	.globl entry_sigreturn_end
entry_sigreturn_end:			/* Linux answers a bad frame with SIGSEGV first */
	ud2
	.size entry_sigreturn, . - entry_sigreturn

/*
 * entry_gettid: entry_prove_thread's slow path, with %eax = gettid. Its
 * `syscall` lies 4 bytes after entry_sigreturn's, so syscall user dispatch's
 * one allowed region covers both (filter.c: the addresses after them and
 * the three bytes between, which end no system call instruction: 0f 0b
 * 0f), and the seccomp filter lets it through only as a gettid (an x86-64
 * call of that number), which reads and changes nothing but %rax, %rcx
 * and %r11: the thread's own id. A domain that jumps to it with another
 * number gets a SIGSYS from outside the domains and the gate, and fails;
 * with gettid, its next instruction reads key-0 memory (SLOT_BASES) and
 * faults, and it fails.
 */
	.globl entry_gettid
	.type entry_gettid, @function
entry_gettid:
	syscall
	.globl entry_gettid_end
entry_gettid_end:
	SLOT_BASES %r10
	cmpl BASES_TID(%r10), %eax
	jne hosted_pkru_violation
	jmp entry_proven
	.size entry_gettid, . - entry_gettid
	.if entry_gettid_end - entry_sigreturn_end - 4
	.error "entry_gettid's syscall must follow entry_sigreturn's ud2 (filter.c's region)"
	.endif
	.section .note.GNU-stack, "", @progbits
