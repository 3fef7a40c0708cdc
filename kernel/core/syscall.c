/*
 * System calls from domains (numbers and conventions in maple/abi.h).
 * Every pointer argument is checked against the calling domain's own
 * regions before it is read, and the read itself runs under the
 * exception table with the caller's PKRU still loaded, so a bad pointer
 * costs the caller -MAPLE_EFAULT and nothing else.
 */
#include <arch/pc/cpu.h>
#include <arch/pc/traps.h>
#include <core/device.h>
#include <core/domain.h>
#include <core/gate.h>
#include <core/log.h>
#include <core/rref.h>
#include <core/sched.h>
#include <core/thread.h>
#include <core/time.h>
#include <core/usermode.h>
#include <maple/fmt.h>
#include <maple/string.h>
#include <mm/kmalloc.h>

#define LOG_TEXT_MAX 200

static long sys_log(struct domain *d, uint64_t text, uint64_t len)
{
	char buf[LOG_TEXT_MAX];
	uint64_t n = len < sizeof buf ? len : sizeof buf;
	if (!dmem_owns(d, text, n) || copy_from_user(buf, text, n) < 0)
		return -MAPLE_EFAULT;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	for (uint64_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
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
	struct domain *target = domain_find(buf);
	if (!target || target->state != DOMAIN_RUNNING)
		return -MAPLE_ESRCH;
	return (long)domain_handle(target);
}

struct domain_thread_start {
	struct domain *d;
	uint64_t gen;
	uint64_t fn;
	uint64_t arg;
};

static void domain_thread_main(void *p)
{
	struct domain_thread_start s = *(struct domain_thread_start *)p;
	kfree(p);
	if (s.d->gen == s.gen && domain_by_id(s.d->id) == s.d)
		gate_upcall(s.d, s.fn, CONT_THREAD, (long)s.arg, 0, 0, 0);
	thread_exit();
}

static long sys_thread_create(struct domain *d, uint64_t fn, uint64_t arg)
{
	if (fn < d->image_lo || fn >= d->image_hi)
		return -MAPLE_EINVAL;
	struct domain_thread_start *s = kmalloc(sizeof *s);
	if (!s)
		return -MAPLE_ENOMEM;
	*s = (struct domain_thread_start){.d = d, .gen = d->gen, .fn = fn, .arg = arg};
	char name[THREAD_NAME_MAX];
	fmt_snprintf(name, sizeof name, "%s/thread", d->name);
	struct thread *t = thread_create(name, domain_thread_main, s);
	if (!t) {
		kfree(s);
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
	(void)caller;
	struct domain *d = domain_by_id((uint32_t)id);
	struct thread_gate *g = thread_current()->gate;
	if (!d || d->state != DOMAIN_RUNNING || !g)
		return -MAPLE_ESRCH;
	if (g->tt->domain_sp[d->id])
		return 0;
	uint64_t sp = dmem_stack_alloc(d, g->slot);
	if (!sp)
		return -MAPLE_ENOMEM;
	g->tt->domain_sp[d->id] = sp;
	return 0;
}

/* Shadows restart the drivers behind them (maple/abi.h). */
static long sys_domain_create(struct domain *d, uint64_t image, uint64_t len)
{
	char name[MAPLE_DOMAIN_NAME_MAX], err[128];
	if (len >= sizeof name)
		return -MAPLE_EINVAL;
	if (!dmem_owns(d, image, len) || copy_from_user(name, image, len) < 0)
		return -MAPLE_EFAULT;
	name[len] = '\0';
	struct domain *created = domain_create(name, err, sizeof err);
	if (!created) {
		klog("domain: %s could not create %s: %s", d->name, name, err);
		return -MAPLE_EINVAL;
	}
	return (long)domain_handle(created);
}

static long sys_domain_destroy(uint64_t handle)
{
	char err[128];
	return domain_destroy(handle, err, sizeof err) < 0 ? -MAPLE_ESRCH : 0;
}

static long dispatch(struct domain *d, struct trap_frame *tf)
{
	uint64_t a0 = tf->rdi, a1 = tf->rsi;
	switch (tf->rax) {
	case SYS_NULL:
		return 0;
	case SYS_LOG:
		return sys_log(d, a0, a1);
	case SYS_THREAD_EXIT:
		gate_exit_thread();
		return -MAPLE_EINVAL; /* not inside any thread or upcall */
	case SYS_YIELD:
		thread_yield();
		return 0;
	case SYS_SLEEP_NS:
		thread_sleep_ns(a0);
		return 0;
	case SYS_CLOCK_NS:
		return (long)time_ns();
	case SYS_HEAP_GROW: {
		uint64_t va = dmem_heap_grow(d, a0);
		return va ? (long)va : -MAPLE_ENOMEM;
	}
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
		return rref_bus(d->id, a0);
	case SYS_RREF_INFO:
		return rref_info(d->id, a0);
	case SYS_DOMAIN_CREATE:
		return sys_domain_create(d, a0, a1);
	case SYS_DOMAIN_DESTROY:
		return sys_domain_destroy(a0);
	case SYS_DEVICE_MAP:
	case SYS_DEVICE_SIZE: {
		char name[32];
		if (a1 >= sizeof name)
			return -MAPLE_EINVAL;
		if (!dmem_owns(d, a0, a1) || copy_from_user(name, a0, a1) < 0)
			return -MAPLE_EFAULT;
		name[a1] = '\0';
		return tf->rax == SYS_DEVICE_MAP ? device_map(d, name) : device_size(name);
	}
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
