/*
 * The runtime's signal stacks and the frames on them (sigstack.c): one
 * stack per upcall level, key 0, armed with SS_AUTODISARM; the frame
 * address the keyed entries accept; the PKRU rt_sigreturn restores.
 */
#ifndef HOSTED_SIGSTACK_H
#define HOSTED_SIGSTACK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>

/* Level 0's stack, where Linux puts a frame on it (one real delivery
 * measures it) and the FS and GS bases the entries write back. 0, or -1
 * with err filled. */
int sigstack_init(char *err, size_t errlen);

/* This thread's FS and GS bases for its slot's entry_bases (entry.h),
 * which the handler entries write back. 0, or -1 with err filled. */
int sigstack_bases(char *err, size_t errlen);

/* Arm level's stack for the domain code an upcall at that level runs
 * (mapped the first time), and name it in entry_sigstack. 0, or -1 with
 * err filled (too deep, or Linux refused). */
int sigstack_arm(unsigned level, char *err, size_t errlen);

/* Where Linux puts a frame on this thread's stack of level (between
 * upcalls entry_sigstack names no stack). */
uint64_t sigstack_frame(unsigned level);
/* The same on thread slot slot's stack of level, once that slot's thread
 * has mapped it, else 0 (for tests that aim at another thread's frame). */
uint64_t sigstack_frame_of(unsigned slot, unsigned level);

/* Name level's stack in entry_sigstack again (its upcall runs on). */
void sigstack_use(unsigned level);

/* Mark level's frame consumed: its handler left by siglongjmp. */
void sigstack_retire(unsigned level);

/* Write pkru into the frame's XSAVE area for rt_sigreturn; 0, or -1 when
 * the area is not Linux's (not in the signal stack, no PKRU component). */
int sigstack_set_pkru(ucontext_t *uc, uint32_t pkru);

/* The PKRU rt_sigreturn would restore: the interrupted rights Linux saved
 * in the frame's XSAVE area; 0, or -1 as sigstack_set_pkru. */
int sigstack_get_pkru(ucontext_t *uc, uint32_t *pkru);

/* Install handler for sig: on the signal stack, every signal blocked,
 * entry_sigreturn its restorer. 0, or -1 with errno. */
int sigstack_handle(int sig, void (*handler)(int, siginfo_t *, void *));

/* Under keys, unregister glibc's rseq area (Linux writes it at delivery
 * with the interrupted domain's rights). 0, or -1 with err filled. */
int sigstack_rseq_off(char *err, size_t errlen);

#endif
