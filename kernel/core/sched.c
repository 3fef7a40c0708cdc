/*
 * Kernel threads and the scheduler. One run queue for all CPUs, FIFO,
 * guarded by sched_lock; a thread runs for SCHED_SLICE_TICKS ticks before
 * the tick asks for a reschedule, which happens at interrupt exit (after
 * the EOI), never inside a handler.
 *
 * The lock protocol: sched_lock is only taken with interrupts off, and it
 * is held *across* context_switch, released by whichever thread resumes.
 * So a thread that was just put back on the run queue cannot be picked by
 * another CPU before its registers are saved, and a waiter that checked its
 * condition under the lock cannot miss the wake-up that follows.
 */
#include <arch/x86/cpu.h>
#include <arch/x86/lapic.h>
#include <arch/x86/percpu.h>
#include <arch/x86/traps.h>
#include <core/log.h>
#include <core/panic.h>
#include <core/sched.h>
#include <core/thread.h>
#include <core/time.h>
#include <domain/gate.h>
#include <domain/watchdog.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <mm/kmalloc.h>

#define SCHED_SLICE_TICKS 2

void context_switch(uint64_t *save_rsp, uint64_t new_rsp);
void thread_boot(void);
void thread_start(void);

static volatile uint32_t sched_locked;
static struct thread *run_head, *run_tail;
static struct thread *sleepers;
static struct thread *all_threads;
static uint32_t next_id = 1;

static void sched_lock(void)
{
	while (__atomic_exchange_n(&sched_locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&sched_locked, __ATOMIC_RELAXED))
			cpu_relax();
}

static void sched_unlock(void)
{
	__atomic_store_n(&sched_locked, 0, __ATOMIC_RELEASE);
}

static uint8_t resched_vector;

/* Wake one idle CPU other than this one, so new work does not wait for its
 * next tick. The answer may be stale by the time the IPI lands; the cost
 * of a wrong guess is one spurious reschedule. Lock held. */
static void kick_idle_cpu(void)
{
	struct cpu *me = this_cpu();
	for (uint32_t i = 0; i < MAX_CPUS && resched_vector; i++) {
		struct cpu *c = &cpus[i];
		if (c != me && c->online && c->current == c->idle) {
			lapic_send_ipi(c->apic_id, resched_vector);
			return;
		}
	}
}

static void resched_interrupt(struct trap_frame *frame, void *arg)
{
	(void)frame;
	(void)arg;
	this_cpu()->need_resched = true; /* acted on by sched_irq_exit */
}

static void enqueue(struct thread *t)
{
	t->state = THREAD_RUNNABLE;
	t->ready_tsc = rdtsc();
	t->next = NULL;
	if (run_tail)
		run_tail->next = t;
	else
		run_head = t;
	run_tail = t;
	if (t != this_cpu()->current)
		kick_idle_cpu();
}

static struct thread *dequeue(void)
{
	struct thread *t = run_head;
	if (t) {
		run_head = t->next;
		if (!run_head)
			run_tail = NULL;
	}
	return t;
}

static void reap(struct thread *t)
{
	struct thread **pp = &all_threads;
	while (*pp != t)
		pp = &(*pp)->all_next;
	*pp = t->all_next;
	if (!t->static_stack)
		kstack_free(&t->stack);
	kfree(t);
}

/* The resumed thread's half of a switch: account for and maybe reap prev. */
static void finish_switch(void)
{
	struct cpu *c = this_cpu();
	struct thread *prev = c->prev;
	c->prev = NULL;
	c->switch_in_ns = time_ns();
	if (prev && prev->state == THREAD_DEAD)
		reap(prev);
}

/* Switch to the next runnable thread. Lock held, interrupts off; returns
 * (with the lock held again) when this thread is next scheduled. */
static void schedule_locked(void)
{
	struct cpu *c = this_cpu();
	struct thread *prev = c->current;
	if (prev->state == THREAD_RUNNING && prev != c->idle)
		enqueue(prev);
	struct thread *next = dequeue(); /* may be prev, just requeued */
	if (!next)
		next = c->idle;
	next->state = THREAD_RUNNING;
	next->cpu = c->id;
	next->slice = SCHED_SLICE_TICKS;
	if (next->ready_tsc) {
		uint64_t now = rdtsc(); /* enqueued on another CPU: skew is no wait */
		watchdog_discount_wait(next, now > next->ready_tsc ? now - next->ready_tsc : 0);
		next->ready_tsc = 0;
	}
	if (next == prev)
		return;
	prev->runtime_ns += time_ns() - c->switch_in_ns;
	next->switches++;
	c->context_switches++;
	c->prev = prev;
	c->current = next;
	arch_thread_switch(prev, next);
	context_switch(&prev->rsp, next->rsp);
	finish_switch();
}

/* Where every new thread starts (via thread_boot): finish the switch that
 * brought us here, then run the thread's function. */
void thread_start(void)
{
	finish_switch();
	/* Before interrupts are on: once preemptible, this thread may move to
	 * another CPU between reading GS and reading `current`. */
	struct thread *t = this_cpu()->current;
	sched_unlock();
	irq_enable();
	t->fn(t->arg);
	thread_exit();
}

static struct thread *thread_alloc(const char *name)
{
	struct thread *t = kzalloc(sizeof *t);
	if (!t)
		return NULL;
	strlcpy(t->name, name, sizeof t->name);
	return t;
}

/* Make t known to `threads` and give it an id. Interrupts off. */
static void thread_publish(struct thread *t)
{
	sched_lock();
	t->id = next_id++;
	t->all_next = all_threads;
	all_threads = t;
	sched_unlock();
}

/* A thread that will start in fn(arg) the first time it is switched to. */
static struct thread *thread_new(const char *name, void (*fn)(void *), void *arg)
{
	struct thread *t = thread_alloc(name);
	if (!t)
		return NULL;
	if (kstack_alloc(&t->stack) < 0) {
		kfree(t);
		return NULL;
	}
	t->fn = fn;
	t->arg = arg;
	/* The frame context_switch pops: r15 r14 r13 r12 rbx rbp, then the
	 * return address; rbp = 0 ends backtraces. */
	uint64_t *sp = (uint64_t *)t->stack.top;
	*--sp = (uint64_t)thread_boot;
	for (int i = 0; i < 6; i++)
		*--sp = 0;
	t->rsp = (uint64_t)sp;
	t->kentry = t->stack.top;
	return t;
}

struct thread *thread_create(const char *name, void (*fn)(void *), void *arg)
{
	struct thread *t = thread_new(name, fn, arg);
	if (!t)
		return NULL;
	bool irq = irq_enabled();
	irq_disable();
	thread_publish(t);
	sched_lock();
	enqueue(t);
	sched_unlock();
	if (irq)
		irq_enable();
	return t;
}

void thread_exit(void)
{
	/* Needs interrupts and may sleep (TLB shootdown): before the lock. */
	gate_thread_release(thread_current());
	irq_disable();
	sched_lock();
	this_cpu()->current->state = THREAD_DEAD;
	schedule_locked();
	panic("thread_exit: a dead thread was scheduled");
}

void thread_yield(void)
{
	bool irq = irq_enabled();
	irq_disable();
	sched_lock();
	schedule_locked();
	sched_unlock();
	if (irq)
		irq_enable();
}

void thread_sleep_ns(uint64_t ns)
{
	bool irq = irq_enabled();
	irq_disable();
	sched_lock();
	struct thread *t = this_cpu()->current;
	t->wake_ns = time_ns() + ns;
	t->state = THREAD_SLEEPING;
	t->next = sleepers;
	sleepers = t;
	schedule_locked();
	sched_unlock();
	if (irq)
		irq_enable();
}

void waitq_wait(struct waitq *wq, bool (*ready)(void *), void *arg)
{
	bool irq = irq_enabled();
	irq_disable();
	sched_lock();
	while (!ready(arg)) {
		struct thread *t = this_cpu()->current;
		t->state = THREAD_BLOCKED;
		t->next = wq->head;
		wq->head = t;
		schedule_locked();
	}
	sched_unlock();
	if (irq)
		irq_enable();
}

void waitq_wake_all(struct waitq *wq)
{
	bool irq = irq_enabled();
	irq_disable();
	sched_lock();
	struct thread *t = wq->head;
	wq->head = NULL;
	while (t) {
		struct thread *next = t->next;
		enqueue(t);
		t = next;
	}
	sched_unlock();
	if (irq)
		irq_enable();
}

struct thread *thread_current(void)
{
	return this_cpu_current();
}

/* Move the sleepers pred picks to the run queue. Lock held. */
static void wake_sleepers_locked(bool (*pred)(struct thread *t, void *arg), void *arg)
{
	struct thread **pp = &sleepers;
	while (*pp) {
		struct thread *t = *pp;
		if (pred(t, arg)) {
			*pp = t->next;
			enqueue(t);
		} else {
			pp = &t->next;
		}
	}
}

static bool sleep_is_over(struct thread *t, void *now)
{
	return t->wake_ns <= *(uint64_t *)now;
}

void sched_wake_sleepers_if(bool (*pred)(struct thread *t, void *arg), void *arg)
{
	bool irq = irq_enabled();
	irq_disable();
	sched_lock();
	wake_sleepers_locked(pred, arg);
	sched_unlock();
	if (irq)
		irq_enable();
}

void sched_kick_all_cpus(void)
{
	struct cpu *me = this_cpu();
	for (uint32_t i = 0; i < MAX_CPUS && resched_vector; i++)
		if (&cpus[i] != me && cpus[i].online)
			lapic_send_ipi(cpus[i].apic_id, resched_vector);
}

void sched_tick(void)
{
	struct cpu *c = this_cpu();
	c->ticks++;
	if (!c->current)
		return; /* the timer runs before this CPU has threads */
	struct watchdog_catch overdue = {0};
	sched_lock();
	/* Before waking sleepers: a SYS_SLEEP_NS cut short at its call's
	 * deadline is still parked here, and is judged as such. */
	for (struct thread *t = all_threads; t; t = t->all_next)
		if (t->state == THREAD_SLEEPING || t->state == THREAD_BLOCKED)
			watchdog_judge_parked(t, &overdue);
	if (sleepers) {
		uint64_t now = time_ns();
		wake_sleepers_locked(sleep_is_over, &now);
	}
	struct thread *cur = c->current;
	if (run_head && (cur == c->idle || --cur->slice == 0))
		c->need_resched = true;
	sched_unlock();
	watchdog_fail_caught(&overdue); /* wakes the threads inside what it fails */
}

void sched_irq_exit(void)
{
	struct cpu *c = this_cpu();
	if (!c->need_resched)
		return;
	c->need_resched = false;
	sched_lock();
	schedule_locked();
	sched_unlock();
}

/* Each CPU's idle thread: run whatever is runnable, else halt until an interrupt. */
static __attribute__((noreturn)) void idle_loop(void)
{
	for (;;) {
		irq_disable();
		sched_lock();
		if (run_head)
			schedule_locked();
		sched_unlock();
		/* sti takes effect after hlt starts, so no wake-up slips between. */
		__asm__ volatile("sti; hlt" ::: "memory");
	}
}

static void idle_thread_fn(void *unused)
{
	(void)unused;
	idle_loop();
}

/* Turn the code running now (on a static boot stack) into a thread. */
static struct thread *adopt_current(const char *name)
{
	struct thread *t = thread_alloc(name);
	if (!t)
		panic("sched: no memory for the %s thread", name);
	t->static_stack = true;
	t->state = THREAD_RUNNING;
	t->cpu = this_cpu()->id;
	thread_publish(t);
	this_cpu()->current = t;
	this_cpu()->switch_in_ns = time_ns();
	return t;
}

void sched_init(void)
{
	struct cpu *c = this_cpu();
	int vector = irq_alloc_vector();
	if (vector < 0)
		panic("sched: no interrupt vector left for the reschedule IPI");
	resched_vector = (uint8_t)vector;
	irq_set_handler(resched_vector, resched_interrupt, NULL);
	adopt_current("main");
	char name[THREAD_NAME_MAX];
	fmt_snprintf(name, sizeof name, "idle/%u", c->id);
	/* Never on the run queue: it runs only when nothing else can. */
	struct thread *idle = thread_new(name, idle_thread_fn, NULL);
	if (!idle)
		panic("sched: no memory for the idle thread");
	thread_publish(idle);
	c->idle = idle;
}

void sched_ap_entry(void)
{
	char name[THREAD_NAME_MAX];
	fmt_snprintf(name, sizeof name, "idle/%u", this_cpu()->id);
	this_cpu()->idle = adopt_current(name);
	idle_loop();
}

int sched_snapshot(struct thread_info *out, int max)
{
	bool irq = irq_enabled();
	irq_disable();
	sched_lock();
	int n = 0;
	for (struct thread *t = all_threads; t && n < max; t = t->all_next, n++) {
		out[n].id = t->id;
		strlcpy(out[n].name, t->name, sizeof out[n].name);
		out[n].state = t->state;
		out[n].cpu = t->cpu;
		out[n].runtime_ns = t->runtime_ns;
		out[n].switches = t->switches;
	}
	sched_unlock();
	if (irq)
		irq_enable();
	return n;
}

const char *thread_state_name(int state)
{
	static const char *const names[] = {"runnable", "running", "sleeping", "blocked", "dead"};
	return state >= 0 && state <= THREAD_DEAD ? names[state] : "?";
}
