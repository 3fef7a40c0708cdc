/*
 * The hosted runtime's side of the gate (gate.c), as kernel/domain/gate.c is
 * the VM kernel's: the gate's TRUSTED data in this process (the domain
 * table, the thread's GATE_RO page, gate stack and continuation stack at
 * %gs), the continuations of upcalls, and unwinding a
 * thread out of a failed domain. Every thread that enters domains has a
 * thread slot of its own (the runtime's own thread slot 0, each domain
 * thread made by SYS_THREAD_CREATE another, syscalls.c), as in the VM.
 */
#ifndef HOSTED_GATE_H
#define HOSTED_GATE_H

#include "loader.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A fixed, zeroed, read-write mapping of the layout at va, with `key`
 * under keys; NULL with why naming `what` and the reason. */
void *hgate_map(uint64_t va, uint64_t bytes, int key, const char *what, char *why, size_t whylen);

/* Map the domain table (key TRUSTED with keys) and take thread slot 0 for
 * this thread (hgate_slot_take, hgate_thread_attach); resume_va is where
 * the gate page's gate_resume runs (gatepage.c), for unwinding. 0, or -1
 * with why filled. */
int hgate_init(int use_keys, uint64_t resume_va, char *why, size_t whylen);
/* XCR0: the state components Linux turned on (x87 and SSE where the CPU
 * lacks OSXSAVE). */
uint64_t hgate_xcr0(void);
/* Whether ZERO_VECTORS at `level` keeps every state component `xcr0`
 * enables from crossing the gate (hgate_init's check): 0, or -1 with why
 * naming the components it would leave. */
int hgate_vectors_covered(uint64_t xcr0, uint64_t level, char *why, size_t whylen);

/* Take a free thread slot for a thread about to enter domains: its gate
 * pages (GATE_RO page, gate stack, TRUSTED continuation stack, mapped once
 * and kept for the slot's later threads) cleared, and a stack in every
 * domain (hgate_add gives it one in each later domain). The slot, or
 * -MAPLE_EAGAIN when all GATE_MAX_THREADS are taken (the VM's answer) or
 * -MAPLE_ENOMEM, with why. */
long hgate_slot_take(char *why, size_t whylen);

/* Make slot (hgate_slot_take's) this thread's: its GATE_RO page at the GS
 * base, where the gate finds it. 0, or -1 with why. */
int hgate_thread_attach(unsigned slot, char *why, size_t whylen);

/* Give back a slot taken for a thread that never attached. */
void hgate_slot_give_back(unsigned slot);

/* This thread leaves its slot (no continuation left on it): its stacks in
 * every domain go and the slot is free for another thread. */
void hgate_thread_detach(void);

/* The tops of d's thread stacks (every slot's that has one in d, as the
 * VM's fault campaign takes them), at most max; how many (0 if d, or a
 * copy of it, is no longer in its slot). They stay mapped until d's
 * teardown. */
unsigned hgate_stack_tops(const struct hosted_domain *d, uint64_t *tops, unsigned max);

/* How many thread slots are taken. */
unsigned hgate_slots_taken(void);

/* This thread's slot. */
unsigned hgate_thread_slot(void);

/* The thread id of the thread that last attached to slot (maybe ended
 * since), or 0 if none ever did (the watchdog's signal, watchdog.c). */
pid_t hgate_slot_tid(unsigned slot);

/* Publish d (loaded, not yet initialised) as a running domain: its rights
 * in the domain table and a stack in it for every thread slot taken. 0, or
 * -1 with why. */
int hgate_add(struct hosted_domain *d, char *why, size_t whylen);

/* Unmap every thread's stack in d, forget d's entry (nothing may run in it),
 * reclaim the RRefs it owns (how many: the return value) and move its
 * slot's generation on, so no handle of d names a later domain there. */
uint64_t hgate_remove(struct hosted_domain *d);

/* d's handle: its id and its slot's generation (HANDLE_GEN_SHIFT). */
uint64_t hgate_handle(const struct hosted_domain *d);

/* The domain a handle names (its generation too), or NULL. The pointer
 * stays good only while nothing can destroy it: the caller is in it, or
 * holds domains.c's lifecycle lock, or holds it (hgate_hold). */
struct hosted_domain *hgate_domain(uint64_t handle);

/* The running domain a handle names, held: counted in its `active`, which
 * a destroy waits for, until hgate_release; NULL if none runs so. */
struct hosted_domain *hgate_hold(uint64_t handle);
void hgate_release(struct hosted_domain *d);

/* Whatever domain is in slot id, or NULL. */
struct hosted_domain *hgate_slot(unsigned id);

/* Mark d failed in the gate's table, as the VM's domain_fail publishes it;
 * 1 if it was running, 0 if it had failed already. */
int hgate_fail(struct hosted_domain *d);

/* Calls in progress into d (the gate's count). */
uint64_t hgate_active(const struct hosted_domain *d);

/* Test-only fault injection (tests_membdev.c): point every method of d in
 * the gate's table at `at`, a fault stub of the gate page, so the next call
 * into d takes a real fault there, in d, with d's rights. */
void hgate_inject(struct hosted_domain *d, uint64_t at);

/* The domain the thread runs in (the gate's GT_DOMAIN), or NULL. */
struct hosted_domain *hgate_current(void);

/* For a diagnosis from another thread: the first thread slot whose thread
 * is in a domain, its thread's id and that domain (*in, NULL if gone), or
 * -1 (none is). */
int hgate_busy_slot(pid_t *tid, struct hosted_domain **in);

/* The rights the gate holds for this thread outside the gate (its
 * GATE_RO page's expected_pkru): the current domain's, 0 in the runtime. */
uint32_t hgate_expected_pkru(void);

/* SYS_EXPORT's effect: d's methods, in its domain table entry too. */
void hgate_export(struct hosted_domain *d, const uint64_t *methods, unsigned n);

/* The domain a name or decimal id addresses by the VM's rule
 * (kernel/domain/names.h), or NULL with *why -MAPLE_ESRCH or
 * -MAPLE_ENOTUNIQ; *count (if given): how many have that name. */
struct hosted_domain *hgate_find(const char *name_or_id, long *why, unsigned *count);

/* SYS_LOOKUP: the handle (id and generation, HANDLE_GEN_SHIFT) of the
 * running domain name addresses (hgate_find), or -MAPLE_ESRCH or
 * -MAPLE_ENOTUNIQ, as the VM's. */
long hgate_lookup(const char *name);

/* The handle of the first domain called `name`, running or failed (the
 * fault campaign's teardown), or -MAPLE_ESRCH. */
long hgate_lookup_any(const char *name);

/* Whether [p, p + n) lies in d's image, the calling thread's stack in d, the heap
 * it grew (SYS_HEAP_GROW) or its mapped device: dmem_owns's regions. */
int hgate_owns(const struct hosted_domain *d, uint64_t p, uint64_t n);

/*
 * An upcall into d as gate_upcall pushes it: a CONT_UPCALL continuation,
 * the thread now in d with d's rights expected. The stack pointer to
 * enter on (its return address goes at sp - 8), or 0 if the continuation
 * stack is full (-MAPLE_EDEPTH), d does not run (-MAPLE_EDEAD) or the
 * stack pointer recorded for d lies outside d's thread stack
 * (-MAPLE_ECALLEE, that pointer in *refused): *err.
 */
uint64_t hgate_upcall_push(struct hosted_domain *d, long *err, uint64_t *refused);

/* With yes, the next hgate_upcall_push starts a domain's own thread
 * (SYS_THREAD_CREATE's, syscalls.c): a CONT_THREAD continuation, which has
 * no deadline (the watchdog's rule; the calls it makes do). With 0, an
 * upcall that did not get as far as the push leaves no mark behind. */
void hgate_next_upcall_is_thread(int yes);

/* SYS_RETURN from the gate page: if the innermost continuation is an
 * upcall or a thread's first frame in the current domain, pop it (1),
 * else 0. */
int hgate_upcall_pop(void);

/*
 * The current domain failed (why): mark it failed and unwind as the VM's
 * unwind_failed does, to the outermost continuation into a failed domain
 * at or above index floor (the current upcall's own: an upcall nested in a
 * SIGSYS handler never unwinds the calls of the upcall around it).
 * Returns 1 when that was an upcall (the runtime resumes where it
 * entered: siglongjmp), or 0 with where the caller resumes: at
 * gate_resume, *rsp = its continuation's caller_rsp, *pkru its rights,
 * *err the error (the failed callee's fail_errno, else -MAPLE_ECALLEE).
 */
int hgate_unwind(unsigned floor, uint64_t *rip, uint64_t *rsp, uint32_t *pkru, long *err);

/* Signal HWATCH_SIGNAL at the thread of every other slot whose current
 * domain is d (failed: the VM's kick), so it unwinds without waiting for
 * its next system call (entry.c, on_watchdog). Only once d's failure and
 * its reason are stored: a kicked thread unwinds with that reason. */
void hgate_kick(const struct hosted_domain *d);

/* Continuations on the thread's stack (0 between upcalls). */
unsigned hgate_depth(void);

/* Whether domains run under their keys (hgate_init's use_keys). */
int hgate_keys(void);

/* This thread's TRUSTED gate pages and their address (*tt_va), or NULL
 * for a thread with no slot (the watchdog's, the campaign's). */
const struct gate_thread_trusted *hgate_thread_conts(uint64_t *tt_va);

/* Stamp this thread's innermost call now if the gate left it unstamped
 * (domain/watchdog_rule.h): 1 if it did. Only the thread itself stamps its
 * calls (its watchdog signal's handler, its SYS_SLEEP_NS), so nothing races
 * the stamp. */
int hgate_stamp_call(void);

/* Thread slot `slot`'s, or NULL if no thread has it (the watchdog reads
 * every thread's: the pages stay mapped, so a read races only with the
 * continuations' contents, which watchdog_rule.c checks). */
const struct gate_thread_trusted *hgate_slot_conts(unsigned slot, uint64_t *tt_va);

/* Whether a call into d is on this thread's continuation stack (below
 * whoever asks: it cannot leave before they return). */
int hgate_on_my_stack(const struct hosted_domain *d);

/* SYS_THREAD_EXIT, as the VM's gate_exit_thread: pop every continuation
 * from index floor (the current upcall's) and 0, or -MAPLE_EINVAL (no
 * upcall to end) or -MAPLE_EPERM (a frame there is not the current
 * domain's own), with nothing popped. */
long hgate_exit_thread(unsigned floor);

/* Calls ever made into d (the gate's count and the runtime's upcalls),
 * and out of d to other domains: each thread slot counts its own
 * (gate_layout.h), summed here under the table's lock. */
uint64_t hgate_calls(const struct hosted_domain *d);
uint64_t hgate_calls_out(const struct hosted_domain *d);

/* The state of domain d in the gate's table (GATE_DOMAIN_RUNNING, ...). */
uint64_t hgate_state(const struct hosted_domain *d);

#endif
