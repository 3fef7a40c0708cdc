/*
 * The hosted runtime's trusted entry (entry.c): the seccomp filter that
 * turns every system call made from a domain or the gate page into a
 * SIGSYS, the handlers that serve those as Maple syscalls, and the faults
 * that fail a domain, and the upcall that runs a domain function.
 */
#ifndef HOSTED_ENTRY_H
#define HOSTED_ENTRY_H

#include "loader.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct hosted_jump;

/* Start a domain function (enter.S); never returns. */
void hosted_enter(long a0, long a1, long a2, long a3, const struct hosted_jump *j)
	__attribute__((noreturn));

/* The signal handlers' entries under keys (sigentry.S), which write PKRU 0
 * and go on to entry.c's handlers. */
void entry_keyed_fault(int sig, siginfo_t *si, void *ctx);
void entry_keyed_sigsys(int sig, siginfo_t *si, void *ctx);

/* The same without keys (sigentry.S): the runtime's FS and GS bases back
 * and RFLAGS.AC clear, then entry.c's handlers. */
void entry_plain_fault(int sig, siginfo_t *si, void *ctx);
void entry_plain_sigsys(int sig, siginfo_t *si, void *ctx);

/* The FS base (thread pointer) and GS base (the thread's GATE_RO page)
 * that every handler entry writes back before any C code (sigentry.S,
 * entry_restore_bases), and the thread's Linux id, one set per thread
 * slot, in key-0 memory: the entries find the slot from %rsp (its signal
 * stacks lie in its share of SIGSTACKS_VA, jump.h) and, under keys, prove
 * that the thread running is that slot's by them (entry_prove_thread)
 * before %fs is the runtime's again. A slot's set is 0 while no thread
 * has it. entry_base_slots is their count, which each base write's check
 * reads first. The two audited base writes there. */
struct entry_bases {
	uint64_t fs, gs, tid;
} __attribute__((aligned(32)));
extern struct entry_bases entry_bases[];
extern const uint64_t entry_base_slots;
extern const char entry_restore_fsbase[], entry_restore_gsbase[];

/* The ud2 where each of the runtime's PKRU writes traps when its check
 * fails (enter.S): a domain jumped to it. */
extern const char hosted_pkru_violation[];

/* The signal handlers' restorer (sigentry.S), and the address after its
 * `syscall`: the one system call Linux lets through while domain or gate
 * code runs, and only as an rt_sigreturn carrying the runtime's secret
 * (THE INVARIANT in entry.c). */
void entry_sigreturn(void);
extern const char entry_sigreturn_end[];
/* The entries' slow proof of their thread (sigentry.S): its gettid
 * `syscall`, 4 bytes after entry_sigreturn's, and the address after it,
 * which the filter lets through as a gettid only (filter.c). */
extern const char entry_gettid[], entry_gettid_end[];
/* Where that secret lies: entry_sigreturn's first instruction loads it. */
extern uint64_t entry_sigreturn_token;
/* Set by a handler that interrupted the runtime's own code (the watchdog's,
 * entry.c): entry_sigreturn then resumes it with the selector left ALLOW,
 * and clears this. */
extern __thread uint8_t entry_resume_runtime;

/* This thread's syscall user dispatch selector (entry.c: a GATE_RO page of
 * its own), which enter.S, sigentry.S and wrpkru_pair.S read or store. */
extern __thread volatile uint8_t *entry_selector;

/* The signal stack, [lo, hi), of the upcall level whose domain code this
 * thread runs (entry.c: one per level, key 0), and the one address Linux
 * puts a handler's %rsp at there (the keyed entries accept no other);
 * zero before entry_init. */
struct entry_sigstack {
	uint64_t lo, hi, frame;
};
extern __thread struct entry_sigstack entry_sigstack;

/* The bytes of each signal stack. */
#define ENTRY_SIGSTACK_BYTES (128u << 10)

/* The lowest address of this thread's signal stack of upcall nesting level `level`
 * (0: an upcall the runtime makes; n + 1: one made from a handler of level
 * n), or 0 if that level has none yet. */
uint64_t entry_level_stack(unsigned level);

/* A thread about to enter domains takes thread slot `slot`
 * (hgate_slot_take's) and sets up its own signal mask, gate pages, handler
 * bases, rseq and syscall user dispatch; 0, or -1 with err and the slot
 * given back. Before it ends, entry_thread_end gives them up (no upcall
 * may be in progress). */
int entry_thread_begin(unsigned slot, char *err, size_t errlen);
void entry_thread_end(void);

/* Install the signal handlers and then the seccomp filter, for the whole
 * process (every later thread inherits both); with use_keys, domains are
 * entered with their own rights (PKRU_DOMAIN of their key) and the runtime
 * holds PKRU 0. 0, or -1 with err filled. */
int entry_init(int use_keys, char *err, size_t errlen);

/*
 * Run fn(a[0], .., a[3]) in domain d on a stack in d's slot, returning through the
 * gate page's MAPLE_GATE_RETURN_VA. 0 with *result, or -1 when d failed,
 * with why saying how (the signal, the address, the offset in d).
 */
int entry_upcall(struct hosted_domain *d, uint64_t fn, const long a[4], long *result, char *why,
		 size_t whylen);

#endif
