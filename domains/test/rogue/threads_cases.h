/*
 * rogue's cases against maple-hosted's domain threads running at once
 * under protection keys (numbers 340-359 of its run(case, target, a2, a3)
 * method, cases.h; domains/test/rogue/frames.c): a handler entry must run
 * only on the thread Linux delivered to (hosted/sigentry.S,
 * entry_prove_thread), and a real delivery must be handled whatever the
 * domain did to its segment bases first. Plain numbers, so
 * hosted/tests_threads.c can include them.
 */
#ifndef DOMAINS_ROGUE_THREADS_CASES_H
#define DOMAINS_ROGUE_THREADS_CASES_H

enum rogue_threads_case {
	ROGUE_TH_FIRST = 340,
	/* Jump to target (a handler entry's WRPKRU) with %rsp = a2, another
	 * thread's live signal frame, the ucontext in %r8 and the siginfo in
	 * %rsi where Linux puts them, %eax = %ecx = %edx = 0; with a3 not 0,
	 * first load %fs and %gs with the selector in %ss (base 0 both).
	 * Should a handler serve that frame and return through it, this
	 * thread resumes where the other thread's frame says. */
	ROGUE_TH_JUMP_AT_FRAME = 340,
	/* Load %fs and %gs with the selector in %ss (base 0 both), then, by
	 * target: ROGUE_TH_NULL a read of address 0 (a fault), ROGUE_TH_SYSCALL
	 * a SYS_NULL (what it returned), ROGUE_TH_SPIN a loop without end
	 * (the watchdog's signal). */
	ROGUE_TH_ZEROED_BASES = 341,
	/* Load %fs (a3 bit 0) and %gs (a3 bit 1) with the selector in %ss
	 * (base 0), then call target (one of the runtime's audited base
	 * writes) with %rax = a2: the base it writes is a2 until the key-0
	 * read right after it faults, a real delivery with that base. */
	ROGUE_TH_BASE_WRITE = 342,
	ROGUE_TH_END
};

#define ROGUE_TH_ZERO_FS 1
#define ROGUE_TH_ZERO_GS 2

enum rogue_threads_then {
	ROGUE_TH_NULL = 0,
	ROGUE_TH_SYSCALL = 1,
	ROGUE_TH_SPIN = 2,
};

/* rogue's own (domains/test/rogue/frames.c): run() hands it these cases. */
long rogue_threads_case(long number, unsigned long target, unsigned long a2, unsigned long a3);

#endif
