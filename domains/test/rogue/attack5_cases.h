/*
 * attack5's rogue cases (220-239): what landed in maple-hosted with the
 * watchdog's strikes, attacked under real keys. Run by gadget.c, whose
 * frame forging and jump they share; the hosted tests that run them are in
 * hosted/tests_watch.c.
 */
#ifndef DOMAINS_ROGUE_ATTACK5_CASES_H
#define DOMAINS_ROGUE_ATTACK5_CASES_H

#define ROGUE_LINUX_SIGSEGV	11 /* x86-64 Linux's SIGSEGV */
#define ROGUE_LINUX_SEGV_ACCERR 2  /* its si_code for rights that refuse the access */

enum rogue_attack5_case {
	ROGUE_A5_FIRST = 220,
	/* Jump to target, the WRPKRU of the fault handlers' entry stub
	 * (sigentry.S), as Linux would enter it for a SIGSEGV, with a frame
	 * forged below a3 (the top of the thread's signal stack, SHARED) for
	 * a refused instruction fetch (SEGV_ACCERR, si_addr = the resumed
	 * %rip = the label) and an XSAVE area holding PKRU 0. Where a strike
	 * once took execution from rogue's code and gave it back, the handler
	 * takes that for a fetch refused while the rights changed and runs
	 * the instruction again: through the frame. */
	ROGUE_A5_FAULT_ENTRY_RETRY = 220,
	ROGUE_A5_END
};

#endif
