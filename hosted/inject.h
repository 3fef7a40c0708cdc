/*
 * inject: making a hosted domain fail on purpose, for the fault campaign
 * (hosted/faults.c, docs/bench-faults.md) and its tests: the counterpart of
 * the VM's `inject` redirects and kill (ktest/driver_faults.h), bit flips
 * in a domain's memory, and when the runtime saw a domain fail.
 */
#ifndef HOSTED_INJECT_H
#define HOSTED_INJECT_H

#include "loader.h"

#include <bench/fault_campaign.h>

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>

/*
 * Arm a strike on the domain handle names (hgate_domain): kind
 * FAULT_PF..FAULT_PK (bench/fault_campaign.h) makes the next thread that
 * runs its own code take that CPU fault, at the gate page's stub for it,
 * with its rights; FAULT_KILL fails it there ("killed to test recovery").
 * Replaces a strike not yet taken. A handle that names no domain now (it
 * was destroyed, its slot perhaps reused) strikes nothing. 0, or -1 with
 * why. Safe from a thread other than the one that destroys domains.
 */
int inject_strike(uint64_t handle, int kind, char *why, size_t whylen);

/* Around domains.c's teardown of d, from before its pages are unmapped to
 * after its slot's generation moved on: the begin drops a strike on d not
 * yet taken (waiting out a change in progress), so giving its pages back
 * later cannot touch a successor's in the same slot, and no strike is
 * armed until the end (inject_strike then finds d gone). */
void inject_teardown_begin(const struct hosted_domain *d);
void inject_teardown_end(void);

/* Whether a strike is armed and not yet taken. */
int inject_armed(void);

/* Drop a strike not yet taken, giving the code pages their rights back;
 * before the struck domain is destroyed (its slot may be reused). */
void inject_cancel(void);

/* What a SIGSEGV means to the strike (inject_fault's answer). */
enum inject_take {
	INJECT_NOT_OURS,   /* a fault of the domain's own: fail it as usual */
	INJECT_RETRY,	   /* the page's rights were changing: run the instruction again */
	INJECT_REDIRECTED, /* the context now runs the stub: return to it */
	INJECT_KILL,	   /* fail the current domain, killed to test recovery */
};

/* From the fault handler (entry.c), for a SIGSEGV: whether it is the armed
 * strike's trap, and if so, take it (uc is rewritten for a redirect). */
enum inject_take inject_fault(ucontext_t *uc, const siginfo_t *si);

/*
 * Flip bit `bit` of the byte at va, which lies in the image or the stack
 * of the domain handle names (none now, or va outside its slot: -1);
 * a page that is not writable is made writable (and not executable) for
 * the write alone. 0, or -1 with why.
 */
int inject_flip(uint64_t handle, uint64_t va, unsigned bit, char *why, size_t whylen);

/* Take a snapshot of the rights of d's image pages (/proc/self/maps) for
 * inject_page_is; 0, or -1 with why. */
int inject_snapshot(const struct hosted_domain *d, char *why, size_t whylen);
/* In the snapshot: whether the page at va is executable (kind
 * FAULT_FLIP_CODE) or writable (FAULT_FLIP_DATA). */
int inject_page_is(uint64_t va, int kind);

/* The end of the mapping that holds va (a stack's top), or 0. */
uint64_t inject_mapping_end(uint64_t va);

/* The fault handler says d failed, why: the time (CLOCK_MONOTONIC) and
 * the reason are kept for inject_failed. Async-signal-safe. */
void inject_note_failed(const struct hosted_domain *d, const char *why);
/* Whether the instance with handle h failed, and when (*ns) and why
 * (copied into why, if not NULL): its first failure, kept until another
 * instance in its slot fails. */
int inject_failed(uint64_t h, uint64_t *ns, char *why, size_t whylen);

/* CLOCK_MONOTONIC in ns. */
uint64_t inject_now_ns(void);

#endif
