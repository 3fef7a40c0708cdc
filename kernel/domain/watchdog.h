/*
 * The call watchdog: every call into a domain (a continuation on the
 * calling thread's gate stack) has a deadline, its start plus the budget
 * (`watchdog_ms=`, default 1000 ms; 0 turns it off); a call through the
 * gate, which reads no clock, starts when one of the checks below first
 * finds it the innermost (watchdog_rule.h: at most a tick after its real
 * start, never before it). A callee still inside
 * its call past the deadline fails with MAPLE_ETIMEDOUT, and the thread
 * unwinds to the caller. A domain thread's own life (its CONT_THREAD
 * continuation) has no deadline; the calls it makes do.
 *
 * Who checks which thread:
 *   - a thread on its way back to ring 3 (every timer tick that interrupts
 *     ring 3, every syscall return) checks itself: watchdog_check_current;
 *   - threads parked in the kernel (sleeping or blocked) are checked from
 *     the timer tick: watchdog_judge_parked, then watchdog_fail_caught;
 *   - SYS_SLEEP_NS never sleeps past the deadline: watchdog_bound_sleep_ns.
 * A thread running kernel code is judged when that code returns to ring 3:
 * no syscall computes for long, and whatever waits, sleeps.
 */
#ifndef CORE_WATCHDOG_H
#define CORE_WATCHDOG_H

#include <stdint.h>

struct thread;

/* Read `watchdog_ms=` (boot CPU, after the TSC is calibrated). */
void watchdog_init(void);
/* Set the budget of a call in ms (0: off); returns the old one. */
uint64_t watchdog_set_budget_ms(uint64_t ms);

/*
 * t (the current thread) is about to return to ring 3 at rip: fail the
 * callee of its innermost call if that call is past its deadline. The
 * caller then unwinds the thread (gate_return_to_user).
 */
void watchdog_check_current(struct thread *t, uint64_t rip);

/* What a SYS_SLEEP_NS of ns may sleep: no longer than the innermost call
 * of t (the current thread) has left; ns when it has no deadline. */
uint64_t watchdog_bound_sleep_ns(struct thread *t, uint64_t ns);

/* Overdue callees found by one scan, failed once the scheduler lock is
 * dropped; a scan that finds more leaves them to the next tick. */
#define WATCHDOG_CATCH_MAX 8
struct watchdog_catch {
	uint32_t n;
	struct {
		uint32_t id;	 /* the callee's domain id */
		uint64_t gen;	 /* and generation, so its successor is never failed */
		uint32_t thread; /* a thread parked inside the overdue call */
	} caught[WATCHDOG_CATCH_MAX];
};

/* From every timer tick, scheduler lock held, t parked (sleeping or
 * blocked), so its gate state cannot change under us: note its callee in c
 * if its innermost call is overdue. */
void watchdog_judge_parked(struct thread *t, struct watchdog_catch *c);
/* Scheduler lock dropped (interrupt context is fine): fail what c holds;
 * failing a domain wakes the threads asleep inside it, and they unwind. */
void watchdog_fail_caught(const struct watchdog_catch *c);
/*
 * t waited tsc ticks for a CPU while runnable (the scheduler, as it
 * switches t in): move the deadline of every call on t's stack on by as
 * much. A call is judged by the time it ran or slept, never by the time
 * other threads held the CPUs; else any domain could spin on every CPU
 * from threads of its own (whose frames have no deadline) and have an
 * honest callee elsewhere failed.
 */
void watchdog_discount_wait(struct thread *t, uint64_t tsc);
/*
 * t's thread is being unwound out of a failed call that started at
 * start_tsc (gate.c, unwind_failed, after popping it): the callers below it
 * did not run that long themselves, so move their deadlines on by the
 * failed call's length. Else a callee the watchdog failed for running too
 * long leaves its caller (a shadow) overdue too, and the watchdog fails the
 * caller while it restarts the callee: bench/faults found every hang of
 * membdev taking bdev_shadow down with it (docs/bench-faults.md, finding 3).
 */
void watchdog_credit_failed_call(struct thread *t, uint64_t start_tsc);

#endif
