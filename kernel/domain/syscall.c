/*
 * System calls from domains (numbers and conventions in maple/abi.h).
 * Every pointer argument is checked against the calling domain's own
 * regions before it is read, and the read itself runs under the
 * exception table with the caller's PKRU still loaded, so a bad pointer
 * costs the caller -MAPLE_EFAULT and nothing else.
 */
#include <arch/x86/cpu.h>
#include <arch/x86/cpu_features.h>
#include <arch/x86/traps.h>
#include <arch/x86/usermode.h>
#include <core/log.h>
#include <core/sched.h>
#include <core/thread.h>
#include <core/time.h>
#include <dev/device.h>
#include <domain/domain.h>
#include <domain/gate.h>
#include <domain/log_share.h>
#include <domain/watchdog.h>
#include <lib/fmt.h>
#include <lib/log_text.h>
#include <lib/string.h>
#include <mm/kmalloc.h>
#include <xheap/rref.h>

#define LOG_TEXT_MAX 200

/* Whether d may write one more log line: its share (domain/log_share.h),
 * taken under its lock, since its threads may log at once. */
static bool log_share(struct domain *d)
{
	bool note;
	spin_lock(&d->lock);
	bool ok = log_share_take(&d->log_share, time_ns(), &note);
	spin_unlock(&d->lock);
	if (note)
		log_share_note(d->name, d->id);
	return ok;
}

static long sys_log(struct domain *d, uint64_t text, uint64_t len)
{
	char buf[LOG_TEXT_MAX];
	uint64_t n = len < sizeof buf ? len : sizeof buf;
	if (!dmem_owns(d, text, n) || copy_from_user(buf, text, n) < 0)
		return -MAPLE_EFAULT;
	if (!log_share(d))
		return -MAPLE_EQUOTA;
	n = log_text_clean(buf, n);
	klog("[%s] %.*s", d->name, (int)n, buf);
	return (long)len;
}

static long sys_export(struct domain *d, uint64_t entries, uint64_t n)
{
	uint64_t table[GATE_MAX_METHODS];
	if (n > GATE_MAX_METHODS)
		return -MAPLE_EINVAL;
	if (!dmem_owns(d, entries, n * 8) || copy_from_user(table, entries, n * 8) < 0)
		return -MAPLE_EFAULT;
	for (uint64_t i = 0; i < n; i++)
		if (table[i] < d->image_lo || table[i] >= d->image_hi)
			return -MAPLE_EINVAL; /* a method must be the domain's own code */
	struct gate_domain *gd = gate_domtab(d->id);
	__atomic_store_n(&gd->nmethods, 0, __ATOMIC_RELEASE);
	memcpy(gd->methods, table, n * 8);
	__atomic_store_n(&gd->nmethods, n, __ATOMIC_RELEASE);
	return 0;
}

static long sys_lookup(struct domain *d, uint64_t name, uint64_t len)
{
	char buf[MAPLE_DOMAIN_NAME_MAX];
	if (len >= sizeof buf)
		return -MAPLE_EINVAL;
	if (!dmem_owns(d, name, len) || copy_from_user(buf, name, len) < 0)
		return -MAPLE_EFAULT;
	buf[len] = '\0';
	long why;
	struct domain *target = domain_get_by_name(buf, &why);
	long h = !target			   ? why
		 : target->state == DOMAIN_RUNNING ? (long)domain_handle(target)
						   : -MAPLE_ESRCH;
	domain_put(target);
	return h;
}

struct domain_thread_start {
	uint32_t id;
	uint32_t gen;
	uint64_t fn;
	uint64_t arg;
	struct thread_gate *gate; /* its gate slot, taken when it was created */
};

/*
 * A thread a domain made. It holds one of the domain's thread charges from
 * sys_thread_create until here, after its call into the domain is over;
 * the domain is looked up by id and generation, never through a pointer
 * kept since creation, because it may be destroyed meanwhile. Its gate
 * slot and its stacks go before the charge does, so a domain at its limit
 * never holds more of them than its limit, even while churning.
 */
static void domain_thread_main(void *p)
{
	struct domain_thread_start s = *(struct domain_thread_start *)p;
	kfree(p);
	gate_thread_attach(thread_current(), s.gate);
	struct domain *d = domain_get(s.id); /* not inside d yet: hold it */
	if (d && d->gen == s.gen)
		gate_upcall(d, s.fn, CONT_THREAD, (long)s.arg, 0, 0, 0);
	if (d)
		domain_put(d);
	gate_thread_release(thread_current()); /* thread_exit's own call is then a no-op */
	domain_thread_uncharge(s.id, s.gen);
	thread_exit();
}

/* The limit is checked and charged before anything is allocated, so a
 * domain at its limit costs the kernel nothing: -MAPLE_EAGAIN. */
static long sys_thread_create(struct domain *d, uint64_t fn, uint64_t arg)
{
	if (fn < d->image_lo || fn >= d->image_hi)
		return -MAPLE_EINVAL;
	long rc = domain_thread_charge(d);
	if (rc < 0)
		return rc;
	/* The gate slot first: past GATE_MAX_THREADS the caller hears
	 * -MAPLE_EAGAIN now, rather than the thread failing later. A new
	 * kernel thread runs with PKRU 0 until it enters the domain. */
	long err;
	struct thread_gate *g = gate_thread_alloc(0, &err);
	if (!g) {
		domain_thread_uncharge(d->id, d->gen);
		return err;
	}
	struct domain_thread_start *s = kmalloc(sizeof *s);
	struct thread *t = NULL;
	if (s) {
		*s = (struct domain_thread_start){
			.id = d->id, .gen = d->gen, .fn = fn, .arg = arg, .gate = g};
		char name[THREAD_NAME_MAX];
		fmt_snprintf(name, sizeof name, "%s/thread", d->name);
		t = thread_create(name, domain_thread_main, s);
	}
	if (!t) {
		gate_thread_free(g);
		kfree(s);
		domain_thread_uncharge(d->id, d->gen);
		return -MAPLE_ENOMEM;
	}
	return t->id;
}

static long sys_panic(struct domain *d, uint64_t msg, uint64_t len)
{
	char buf[96];
	uint64_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
	if (!dmem_owns(d, msg, n) || copy_from_user(buf, msg, n) < 0)
		n = 0;
	buf[n] = '\0';
	domain_fail(d, "panic: %s", buf);
	return 0; /* the way back to ring 3 unwinds */
}

static long sys_gate_stack(struct domain *caller, struct trap_frame *tf, uint64_t id)
{
	extern const char __gate_start[], __gate_end[];
	/* Only the gate asks for stacks, and only for a running domain. */
	if (tf->rip < MAPLE_GATE_VA ||
	    tf->rip >= MAPLE_GATE_VA + (uint64_t)(__gate_end - __gate_start))
		return -MAPLE_EINVAL;
	/* And only from its raised pass, which counted the call in the
	 * callee's `active` first: that count is what makes destroy wait
	 * before it forgets the domain's stacks. A domain that jumps to this
	 * syscall holds its own rights (it cannot raise without running the
	 * gate's straight line through the count), and would otherwise get an
	 * uncounted stack, charged to the target, stored after a racing
	 * destroy has forgotten them. SYSCALL leaves PKRU as ring 3 had it. */
	if (cpu_has_pku() && arch_get_pkru() != PKRU_GATE) {
		if (domain_log_refusal(caller))
			klog("gate: %s asked for a stack in domain %lu outside the gate's pass",
			     caller->name, id);
		return -MAPLE_EPERM;
	}
	/* A reference: the thread is entering d, not yet inside it. */
	struct domain *d = domain_get((uint32_t)id);
	struct thread_gate *g = thread_current()->gate;
	long r = 0;
	if (!d || !g)
		r = -MAPLE_ESRCH;
	else if (d->state != DOMAIN_RUNNING)
		/* The gate counted the call and saw d running; d failed since:
		 * the caller hears what the gate would have said. */
		r = -MAPLE_EDEAD;
	else if (!g->tt->domain_sp[d->id]) {
		long top = dmem_stack_alloc(d, g->slot);
		if (top > 0)
			g->tt->domain_sp[d->id] = (uint64_t)top;
		else /* a domain failing meanwhile maps nothing more: EDEAD */
			r = top;
	}
	domain_put(d);
	return r;
}

/* Shadows restart the drivers behind them (maple/abi.h), within what the
 * manifest allows (docs/isolation.md, "Authority"). */
static long sys_domain_create(struct domain *d, uint64_t image, uint64_t len)
{
	char name[MAPLE_DOMAIN_NAME_MAX];
	if (len >= sizeof name)
		return -MAPLE_EINVAL;
	if (!dmem_owns(d, image, len) || copy_from_user(name, image, len) < 0)
		return -MAPLE_EFAULT;
	name[len] = '\0';
	return domain_create_by(d, name);
}

/* The syscalls that name a device: (name, len, ...), the name checked and
 * copied like every pointer argument. */
static long sys_device(struct domain *d, struct trap_frame *tf)
{
	char name[32];
	uint64_t a0 = tf->rdi, a1 = tf->rsi, a2 = tf->rdx;
	if (a1 >= sizeof name)
		return -MAPLE_EINVAL;
	if (!dmem_owns(d, a0, a1) || copy_from_user(name, a0, a1) < 0)
		return -MAPLE_EFAULT;
	name[a1] = '\0';
	switch (tf->rax) {
	case SYS_DEVICE_MAP:
		return device_map(d, name);
	case SYS_DEVICE_SIZE:
		return device_size(name);
	case SYS_DEVICE_BAR:
		return device_bar(d, name, a2);
	case SYS_DEVICE_BAR_SIZE:
		return device_bar_size(name, a2);
	case SYS_DEVICE_BUSMASTER:
		return device_busmaster(d, name, a2);
	case SYS_DEVICE_CONFIG:
		return device_config(d, name, a2);
	default: { /* SYS_DEVICE_INFO */
		struct maple_pci_info info;
		long rc = device_info(name, &info);
		if (rc < 0)
			return rc;
		if (!dmem_owns(d, a2, sizeof info) || copy_to_user(a2, &info, sizeof info) < 0)
			return -MAPLE_EFAULT;
		return 0;
	}
	}
}

static long dispatch(struct domain *d, struct trap_frame *tf)
{
	uint64_t a0 = tf->rdi, a1 = tf->rsi;
	switch (tf->rax) {
	case SYS_NULL:
		return 0;
	case SYS_LOG:
		return sys_log(d, a0, a1);
	case SYS_THREAD_EXIT: {
		long r = gate_exit_thread(); /* returns only when refused */
		if (r == -MAPLE_EPERM && domain_log_refusal(d))
			klog("domain: %s may not end its thread: another domain's call is "
			     "in progress on it",
			     d->name);
		return r;
	}
	case SYS_YIELD:
		thread_yield();
		return 0;
	case SYS_SLEEP_NS:
		/* Inside a call, no longer than its deadline: then the tick
		 * fails the callee and the thread unwinds (domain/watchdog.h). */
		thread_sleep_ns(watchdog_bound_sleep_ns(thread_current(), a0));
		return 0;
	case SYS_CLOCK_NS:
		return (long)time_ns();
	case SYS_HEAP_GROW:
		return dmem_heap_grow(d, a0);
	case SYS_THREAD_CREATE:
		return sys_thread_create(d, a0, a1);
	case SYS_PANIC:
		return sys_panic(d, a0, a1);
	case SYS_EXPORT:
		return sys_export(d, a0, a1);
	case SYS_LOOKUP:
		return sys_lookup(d, a0, a1);
	case SYS_DOMAIN_ID:
		return (long)domain_handle(d);
	case SYS_RETURN:
		gate_return((long)a0);
		domain_fail(d, "returned through the gate without a call to return from");
		return 0;
	case SYS_GATE_STACK:
		return sys_gate_stack(d, tf, a0);
	case SYS_RREF_ALLOC:
		return rref_alloc(d->id, &d->rref_limits, (uint32_t)a0, a1);
	case SYS_RREF_FREE:
		return rref_free(d->id, a0);
	case SYS_RREF_NEST:
		return rref_nest(d->id, a0, a1);
	case SYS_RREF_UNNEST:
		return rref_unnest(d->id, a0);
	case SYS_RREF_BUS:
		return rref_bus(d->id, a0, a1);
	case SYS_RREF_SIZE:
		return rref_size(d->id, a0);
	case SYS_RREF_RECALL:
		return rref_recall(d->id, a0);
	case SYS_RREF_INFO:
		return rref_info(d->id, a0);
	case SYS_DOMAIN_CREATE:
		return sys_domain_create(d, a0, a1);
	case SYS_DOMAIN_DESTROY:
		return domain_destroy_by(d, a0);
	case SYS_DEVICE_MAP:
	case SYS_DEVICE_SIZE:
	case SYS_DEVICE_BAR:
	case SYS_DEVICE_BAR_SIZE:
	case SYS_DEVICE_BUSMASTER:
	case SYS_DEVICE_INFO:
	case SYS_DEVICE_CONFIG:
		return sys_device(d, tf);
	case SYS_DMA_ALLOC:
		return dmem_dma_alloc(d, a0);
	case SYS_DMA_BUS:
		return dmem_dma_bus(d, a0);
	default:
		return -MAPLE_ENOSYS;
	}
}

void syscall_dispatch(struct trap_frame *tf)
{
	struct thread *t = thread_current();
	struct domain *d = domain_by_id(gate_current_domain(t));
	if (!d) {
		tf->rax = (uint64_t)-MAPLE_EINVAL;
	} else {
		__atomic_add_fetch(&d->syscalls, 1, __ATOMIC_RELAXED);
		tf->rax = (uint64_t)dispatch(d, tf);
	}
	irq_disable();
	gate_return_to_user(tf);
}
