/*
 * The VM's half of bench/faults (docs/bench-faults.md): the platform
 * services of the shared campaign (bench/fault_campaign.h, which says what
 * it does and prints) in the test kernel, and the boot runner that starts it.
 *
 *   bench=faults faults_n=N faults_seed=S faults_window_ms=W
 *                [faults_flip_at=OFF faults_flip_bit=B]
 *
 * Redirects are `inject`'s (ktest/driver_faults.h: the next thread that
 * returns to membdev's code takes the CPU fault), kill is domain_fail; a
 * flip is written through the direct map, so read-only and execute-only
 * pages of the driver can be hit too; membdev's failures come from the
 * kernel's failed event (domain/observer.h). After the campaign, the leak
 * check: frames, kernel heap and RRefs back where they were
 * (ktest/counted.h).
 */
#include <arch/x86/pte.h>
#include <bench/bench.h>
#include <bench/fault_campaign.h>
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <domain/gate.h>
#include <domain/gate_layout.h>
#include <domain/observer.h>
#include <idl/bdev_methods.h>
#include <ktest/counted.h>
#include <ktest/driver_faults.h>
#include <ktest/shadowed.h>
#include <lib/cmdline.h>
#include <lib/string.h>
#include <mm/vm.h>
#include <platform/pc/power.h>
#include <test/bdclient/bdclient.h>

_Static_assert(FAULTS_MAX_STACKS >= GATE_MAX_THREADS, "a stack flip can pick any thread's stack");
_Static_assert(FAULTS_SERVE_WAIT_NS == SHADOWED_FAULT_WAIT_NS &&
		       FAULTS_RUN_WAIT_NS == SHADOWED_RUN_WAIT_NS &&
		       FAULTS_WORKLOAD_OPS == SHADOWED_UNBOUNDED_OPS &&
		       FAULTS_WRITE_PERCENT == SHADOWED_WRITE_PERCENT,
	       "the recovery tests' workload and waits");

static struct fault_params run;
static struct ktest_ctx *ctx; /* the campaign's, for the domains it creates */

/* The last membdev failure the kernel reported: which instance, and when. */
static uint64_t failed_handle, failed_ns;
static bool recording;

static void observe(enum domain_event ev, const struct domain *d, uint64_t ns)
{
	if (ev != DOMAIN_EV_FAILED || !__atomic_load_n(&recording, __ATOMIC_ACQUIRE) ||
	    strcmp(d->name, "membdev"))
		return;
	__atomic_store_n(&failed_ns, ns, __ATOMIC_RELAXED);
	__atomic_store_n(&failed_handle, domain_handle(d), __ATOMIC_RELEASE);
}
DOMAIN_OBSERVER(faults, observe);

void faults_record(bool on)
{
	__atomic_store_n(&recording, on, __ATOMIC_RELEASE);
}

bool faults_failed(uint64_t h, uint64_t *ns)
{
	if (__atomic_load_n(&failed_handle, __ATOMIC_ACQUIRE) != h)
		return false;
	*ns = __atomic_load_n(&failed_ns, __ATOMIC_RELAXED);
	return true;
}

bool faults_page_is(uint64_t va, int kind)
{
	uint64_t f = vm_leaf_flags(va);
	if (!(f & PTE_P))
		return false;
	return kind == FAULT_FLIP_CODE ? !(f & PTE_NX) : (f & PTE_W) != 0;
}

bool faults_strike(uint64_t h, int kind)
{
	return driver_strike(h, driver_fault((unsigned)kind));
}

/*
 * Flip one bit of instance h's memory through the direct map (its pages may
 * be read-only or execute-only to the domain; the kernel writes the frame).
 * Safe against the frame's reuse because only this campaign fails membdev,
 * and it flips only an instance that runs and serves: nothing destroys it
 * between the lookup and the write.
 */
bool faults_flip(uint64_t h, int kind, const struct fault_params *p, uint64_t *off, unsigned *bit)
{
	struct domain *d = domain_get((uint32_t)(h & HANDLE_ID_MASK));
	bool ok = d && domain_handle(d) == h && d->state == DOMAIN_RUNNING;
	uint64_t pa = 0;
	if (ok) {
		/* The gate's table of d's exported methods, and d's thread stacks. */
		const struct gate_domain *gd = gate_domtab(d->id);
		struct fault_image img = {.base = d->base,
					  .lo = d->image_lo,
					  .hi = d->image_hi,
					  .methods = gd->methods,
					  .nmethods =
						  __atomic_load_n(&gd->nmethods, __ATOMIC_ACQUIRE)};
		spin_lock(&d->lock);
		for (struct domain_region *r = d->regions; r && img.nstacks < GATE_MAX_THREADS;
		     r = r->next)
			if (r->thread_slot >= 0 && !r->device)
				img.stack_tops[img.nstacks++] = r->va + r->pages * PAGE_SIZE;
		spin_unlock(&d->lock);
		uint64_t va = fault_place(&img, kind, p, bit);
		pa = va ? vm_leaf_phys(va) : 0;
		if (pa) {
			*off = va - d->base;
			__atomic_xor_fetch((uint8_t *)phys_to_virt(pa), (uint8_t)(1u << *bit),
					   __ATOMIC_SEQ_CST);
		}
	}
	domain_put(d);
	return pa != 0;
}

uint64_t faults_current(const char *name)
{
	return driver_current(name);
}

/* A reference is held for the call: the shadow may destroy the instance. */
long faults_progress(uint64_t h)
{
	struct domain *d = domain_get((uint32_t)(h & HANDLE_ID_MASK));
	long n = d && domain_handle(d) == h ? domain_call(d, BlockDevice_stats_METHOD, 0, 0, 0, 0)
					    : -MAPLE_ESRCH;
	domain_put(d);
	return n;
}

long faults_client_stat(uint64_t client, int which)
{
	struct domain *d = domain_get((uint32_t)(client & HANDLE_ID_MASK));
	long n = d && domain_handle(d) == client ? shadowed_stat(d, which) : -MAPLE_ESRCH;
	domain_put(d);
	return n;
}

bool faults_workload_create(uint64_t *shadow, uint64_t *client, long *started)
{
	struct domain *s = ktest_create(ctx, "bdev_shadow");
	struct domain *c = s ? ktest_create(ctx, "bdclient") : NULL;
	if (!c)
		return false;
	*shadow = domain_handle(s);
	*client = domain_handle(c);
	*started = domain_call(c, BdClient_start_METHOD, SHADOWED_UNBOUNDED_OPS,
			       SHADOWED_WRITE_PERCENT, (long)*shadow, 0);
	return true;
}

bool faults_workload_finish(uint64_t client)
{
	struct domain *d = domain_get((uint32_t)(client & HANDLE_ID_MASK));
	bool ok = d && domain_handle(d) == client && shadowed_finish(d);
	domain_put(d);
	return ok;
}

void faults_workload_destroy(uint64_t shadow, uint64_t client)
{
	ktest_destroy_handle(client);
	ktest_destroy_handle(shadow);
	/* Failed instances too: a shadow failed mid-restart leaves one holding
	 * ramdisk0 (docs/bench-faults.md, finding 10). */
	int r = driver_destroy_all("membdev");
	if (r < 0)
		klog("bench: faults: tearing membdev down: %d", r);
}

uint64_t faults_now_ns(void)
{
	return time_ns();
}

void faults_sleep_ns(uint64_t ns)
{
	thread_sleep_ns(ns);
}

static bool finished;

static void campaign(struct ktest_ctx *t)
{
	ctx = t;
	finished = fault_campaign(&run);
}

static uint64_t param(const char *cmdline, const char *key, uint64_t dflt, uint64_t min,
		      uint64_t max)
{
	uint64_t v = dflt;
	if (cmdline_get_u64(cmdline, key, &v) && (v < min || v > max)) {
		klog("bench: faults: %s=%lu is not from %lu to %lu; using %lu", key, v, min, max,
		     dflt);
		v = dflt;
	}
	return v;
}

void bench_faults_thread(void *cmdline)
{
	run = (struct fault_params){
		.n = param(cmdline, "faults_n", FAULTS_DEFAULT_N, 1, FAULTS_MAX_N),
		.window_ms = param(cmdline, "faults_window_ms", FAULTS_DEFAULT_WINDOW, 1,
				   FAULTS_MAX_WINDOW),
		.flip_at = param(cmdline, "faults_flip_at", 0, 1, MAPLE_DOMAIN_SLOT - 1),
		.flip_bit = param(cmdline, "faults_flip_bit", 0, 0, 7),
		.seed = param(cmdline, "faults_seed", 1, 1, ~0ULL),
	};
	fault_campaign_start(&run);
	struct ktest_ctx t = {0};
	/* The leak check counts from after ramdisk0 exists: its frames are the
	 * device's for good (ktest/shadowed.h). */
	if (shadowed_populate_ramdisk(&t))
		ktest_run_counted(&t, "faults", campaign,
				  SHADOWED_RUN_WAIT_NS + run.n * SHADOWED_FAULT_WAIT_NS);
	fault_report_end(finished, t.failed ? t.reason : NULL);
	power_off();
}
