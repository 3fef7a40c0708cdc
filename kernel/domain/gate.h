/*
 * The kernel's side of the cross-domain gate: the gate's pages, each
 * thread's continuation stack, calls from the kernel into domains
 * (upcalls), and unwinding a thread out of a failed domain.
 */
#ifndef CORE_GATE_H
#define CORE_GATE_H

#include <domain/gate_layout.h>
#include <stdbool.h>
#include <stdint.h>

struct thread;
struct trap_frame;
struct domain;

/* Registers an upcall returns to (arch/x86/usermode.S). */
struct upcall_ctx {
	uint64_t rsp; /* callee-saved registers are pushed below it */
};

struct thread_gate {
	int32_t slot;
	uint64_t ro_va;		   /* user address of the GATE_RO page */
	struct gate_thread_ro *ro; /* the same pages through the direct map */
	struct gate_thread_trusted *tt;
	uint64_t tt_va;
	struct upcall_ctx *ctx[GATE_MAX_DEPTH]; /* for each UPCALL continuation */
};

/* Map the gate's code and the domain table (boot CPU, after paging). */
void gate_init(void);
/* The domain table entry for id, through the direct map. */
struct gate_domain *gate_domtab(uint32_t id);
/* This thread's gate pages, made the first time; NULL if out of memory
 * or of thread slots. */
struct thread_gate *gate_thread(struct thread *t);
/* Gate pages for a thread yet to run, in a slot of their own: NULL with
 * *err = -MAPLE_EAGAIN when all GATE_MAX_THREADS slots are taken, or
 * -MAPLE_ENOMEM. pkru: its expected PKRU until it enters a domain. */
struct thread_gate *gate_thread_alloc(uint32_t pkru, long *err);
/* Give t the pages from gate_thread_alloc. */
void gate_thread_attach(struct thread *t, struct thread_gate *g);
/* Free pages from gate_thread_alloc that no thread took. */
void gate_thread_free(struct thread_gate *g);
/* Thread slots free right now (tests). */
int gate_threads_free(void);
/* Free a thread's gate pages and its stacks in every domain (thread exit). */
void gate_thread_release(struct thread *t);
/* Forget every thread's stack in domain id and its counts of calls into
 * id and out of it (the domain is going away; its calls are drained). */
void gate_forget_domain(uint32_t id);
/* The calls made into domain id and out of it, every thread's summed (each
 * counts its own, gate_layout.h): the console's `domains`, the ktests. */
struct gate_calls {
	uint64_t in, out;
};
struct gate_calls gate_domain_calls(uint32_t id);
/* The domain a thread runs in now (0: the kernel). */
uint32_t gate_current_domain(struct thread *t);

/* Enter d at `entry` with the argument registers set, on this thread, and
 * return what it returns (or the error it was unwound with). kind is
 * CONT_UPCALL (a call: the watchdog applies) or CONT_THREAD (a domain
 * thread's life). */
long gate_upcall(struct domain *d, uint64_t entry, int kind, long a0, long a1, long a2, long a3);
/* SYS_RETURN: end the innermost upcall with `value`; returns only if the
 * thread has no upcall to end (then the caller fails the domain). */
void gate_return(long value);
/* SYS_THREAD_EXIT: end the outermost upcall with 0. Returns only when it
 * may not: -MAPLE_EINVAL outside any upcall, -MAPLE_EPERM when another
 * domain's call is in progress on the thread. */
long gate_exit_thread(void);

/*
 * On every way back to ring 3: deliver an injected fault, enforce the call
 * watchdog, and unwind the thread out of any failed domain it is inside.
 * May not return (when unwinding ends an upcall).
 */
void gate_return_to_user(struct trap_frame *tf);

/* Faults `inject` can make a domain take, at stubs in the gate page. */
enum inject_fault {
	INJECT_NONE,
	INJECT_PF, /* read of address 0 */
	INJECT_GP, /* non-canonical access */
	INJECT_UD, /* ud2 */
	INJECT_DE, /* divide by zero */
	INJECT_PK, /* read of TRUSTED memory: a protection-key fault */
};
/* Name to fault; INJECT_NONE if unknown. */
enum inject_fault inject_parse(const char *name);
const char *inject_names(void);

#endif
