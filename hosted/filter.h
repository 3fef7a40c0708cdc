/*
 * The wall between domain and gate code and Linux's system calls
 * (filter.c): syscall user dispatch for each thread that enters domains,
 * and the process's seccomp filter under it.
 */
#ifndef HOSTED_FILTER_H
#define HOSTED_FILTER_H

#include <stddef.h>
#include <stdint.h>

#define GATE_SPAN (1u << 20) /* gatepage.c's limit on the gate's size */

/* Whether the filter traps every system call at ip, whatever it is: a
 * domain slot, the gate's block or the vsyscall page. */
int filter_trapped_at(uint64_t ip);

/* This thread's syscall user dispatch (selector ALLOW for now; under keys
 * on a GATE_RO page). 0, or -1 with err filled. */
int filter_confine_thread(int keys, char *err, size_t errlen);

/* Draw entry_sigreturn_token and install the seccomp filter for the whole
 * process (every later thread inherits it). 0, or -1 with err filled. */
int filter_install(char *err, size_t errlen);

#endif
