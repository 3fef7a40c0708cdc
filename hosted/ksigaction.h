/*
 * Linux's x86-64 struct sigaction as the rt_sigaction system call takes it
 * (uapi asm/signal.h), not glibc's: glibc's sigaction() always installs
 * its own restorer (__restore_rt), so the runtime, whose signal handlers
 * must return through its own (entry.c), and the tests that look at which
 * restorer a handler has, call rt_sigaction directly.
 */
#ifndef HOSTED_KSIGACTION_H
#define HOSTED_KSIGACTION_H

#include <stdint.h>

#define KSA_RESTORER 0x04000000 /* SA_RESTORER, uapi asm/signal.h */

struct ksigaction {
	void *handler;
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask; /* the kernel's sigset_t: one bit a signal, 64 signals */
};

#endif
