/*
 * rogue's cases for maple-hosted's watchdog by signal (280-299): loops the
 * watchdog must reach outside the callee's own code. Run by watch.c; the
 * hosted tests that run them are in hosted/tests_watch.c.
 */
#ifndef DOMAINS_ROGUE_WATCHSIG_CASES_H
#define DOMAINS_ROGUE_WATCHSIG_CASES_H

enum rogue_watchsig_case {
	ROGUE_WS_FIRST = 280,
	/* Load target into every general register but %rsp and %rbp and far
	 * return to it in 64-bit mode (`lretq`, bench/faults' finding 8):
	 * aimed at a `jmp *%reg` outside rogue's code, a loop there that
	 * fetches none of rogue's pages and makes no system call. */
	ROGUE_WS_FAR_RETURN_LOOP = 280,
	ROGUE_WS_END
};

#endif
