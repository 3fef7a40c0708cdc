/*
 * Chaos: a driver that crashes inside its own domain_main (issue 14).
 * bdclient runs its verified workload through bdev_shadow_initfail while
 * the test strikes the serving membdev_initfail again and again; that image
 * crashes with a #PF in domain_main on the schedule the test writes into
 * the page of ramdisk0 it reserves (drivers/block/membdev/initfail.h), which
 * outlives every instance. With period 2 each restart's first start crashes
 * and its second serves: the client must see nothing, and each restart
 * must show exactly the strike and one domain_main #PF at the expected
 * address in the kernel's failure record (domain/failures.h). With period 0
 * every start after the first crashes: the client must get the shadow's
 * error after its 3 attempts, every time, with no hang and no panic. Both
 * end with frames, kernel heap, RRefs, domains and threads where they began.
 */
#include <block/membdev/initfail.h>
#include <core/sched.h>
#include <core/time.h>
#include <dev/device.h>
#include <domain/failures.h>
#include <ktest/counted.h>
#include <ktest/driver_faults.h>
#include <ktest/shadowed.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <test/bdclient/bdclient.h>

#define SHADOW	    "bdev_shadow_initfail"
#define DRIVER	    "membdev_initfail"
#define DEVICE	    "ramdisk0"
#define CRASHES	    20
#define STARTS	    3		  /* per crash: BlockDevice_SHADOW_RESTARTS (tools/idl/shadow.py) */
#define PF_WRITE    0x6		  /* #PF error code: not present, write, user (SDM 4.7) */
#define SETTLE_NS   5000000000ULL /* exited threads reaped; only stops a hang */
#define RUN_WAIT_NS (SHADOWED_RUN_WAIT_NS + SHADOWED_FAULT_WAIT_NS * CRASHES)

static uint64_t *words; /* the reserved page of ramdisk0 */
static uint64_t seen;	/* the last failure record checked */

/* Point `words` at the reserved page and set the schedule; false (t failed) if the device has none.
 */
static bool schedule(struct ktest_ctx *t, uint64_t period)
{
	long size = device_size(DEVICE);
	words = size > MEMBDEV_INITFAIL_RESERVED
			? device_word(DEVICE, (uint64_t)size - MEMBDEV_INITFAIL_RESERVED)
			: NULL;
	if (!words) {
		ktest_fail(t, __FILE__, __LINE__, "no reserved page in %s (size %ld)", DEVICE,
			   size);
		return false;
	}
	__atomic_store_n(&words[MEMBDEV_INITFAIL_RUNS], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&words[MEMBDEV_INITFAIL_PERIOD], period, __ATOMIC_RELEASE);
	seen = failures_count();
	return true;
}

static uint64_t runs(void)
{
	return __atomic_load_n(&words[MEMBDEV_INITFAIL_RUNS], __ATOMIC_ACQUIRE);
}

/* The next failure record; false (t failed) if there is none or it was overwritten. */
static bool next_failure(struct ktest_ctx *t, struct failure *f)
{
	if (failures_get(seen + 1, f)) {
		seen++;
		return true;
	}
	ktest_fail(t, __FILE__, __LINE__, "failure %lu: %s", seen + 1,
		   seen < failures_count() ? "overwritten" : "not recorded");
	return false;
}

/* Whether f is an instance of the driver crashing in domain_main with the
 * image's #PF: "#PF at 0x18 (error 0x6), rip 0x... (domain_main+0x...)". */
static bool domain_main_pf(const struct failure *f)
{
	char want[64];
	fmt_snprintf(want, sizeof want, "#PF at %#lx (error %#lx), rip ",
		     (uint64_t)MEMBDEV_INITFAIL_FAULT_VA, (uint64_t)PF_WRITE);
	return !strcmp(f->name, DRIVER) && !strncmp(f->reason, want, strlen(want)) &&
	       strstr(f->reason, " (domain_main+0x");
}

/* The failures since the last check: the struck instance, then `starts`
 * domain_main crashes of other instances, and nothing else. */
static bool failures_were(struct ktest_ctx *t, unsigned i, uint64_t struck, uint64_t now,
			  uint64_t starts)
{
	struct failure f;
	if (!next_failure(t, &f))
		return false;
	if (f.handle != struck) {
		ktest_fail(t, __FILE__, __LINE__, "crash %u: first failure %s %#lx (%s), not %#lx",
			   i, f.name, f.handle, f.reason, struck);
		return false;
	}
	for (uint64_t k = 0; k < starts; k++) {
		if (!next_failure(t, &f))
			return false;
		if (!domain_main_pf(&f) || f.handle == struck || f.handle == now) {
			ktest_fail(t, __FILE__, __LINE__,
				   "crash %u, start %lu: %s %#lx failed: %s (want a #PF at %#x in "
				   "domain_main)",
				   i, k, f.name, f.handle, f.reason, MEMBDEV_INITFAIL_FAULT_VA);
			return false;
		}
	}
	if (failures_count() != seen) {
		failures_get(seen + 1, &f);
		ktest_fail(t, __FILE__, __LINE__, "crash %u: one failure too many: %s: %s", i,
			   f.name, f.reason);
		return false;
	}
	return true;
}

/* Period 2: after each strike exactly one start crashed and the next serves. */
static bool restarted(struct ktest_ctx *t, unsigned i, uint64_t struck, uint64_t now)
{
	if (!failures_were(t, i, struck, now, 1))
		return false;
	if (runs() != 1 + 2 * (i + 1)) {
		ktest_fail(t, __FILE__, __LINE__, "crash %u: %lu domain_main runs, want %u", i,
			   runs(), 1 + 2 * (i + 1));
		return false;
	}
	return true;
}

static void ended(struct ktest_ctx *t, struct domain *shadow)
{
	if (shadow->state != DOMAIN_RUNNING)
		ktest_fail(t, __FILE__, __LINE__, "the shadow did not survive: %s",
			   shadow->fail_reason);
	else if (runs() != 1 + 2 * CRASHES || failures_count() != seen)
		ktest_fail(t, __FILE__, __LINE__, "%lu domain_main runs, %lu failures unchecked",
			   runs(), failures_count() - seen);
}

/* After everything is destroyed: domains and threads back to the start
 * counts (exited threads take a moment to be reaped). */
static void settled(struct ktest_ctx *t, unsigned domains, int threads)
{
	uint64_t deadline = time_ns() + SETTLE_NS;
	while ((ktest_domains_alive() != domains || ktest_threads_alive() != threads) &&
	       time_ns() < deadline)
		thread_sleep_ns(5000000);
	if (ktest_domains_alive() != domains || ktest_threads_alive() != threads)
		ktest_fail(t, __FILE__, __LINE__, "%u domains and %d threads, %u and %d before",
			   ktest_domains_alive(), ktest_threads_alive(), domains, threads);
}

static void crashes_in_domain_main(struct ktest_ctx *t)
{
	unsigned domains = ktest_domains_alive();
	int threads = ktest_threads_alive();
	if (!schedule(t, 2))
		return;
	const struct shadowed_run run = {.shadow_image = SHADOW,
					 .driver_image = DRIVER,
					 .crashes = CRASHES,
					 .restarted = restarted,
					 .ended = ended};
	shadowed_crash_driver(t, &run);
	if (!t->failed)
		settled(t, domains, threads);
}

/* The ramdisk's frames are the device's for good: made before the count. */
KTEST(chaos_driver_crashes_inside_its_domain_main)
{
	if (shadowed_populate_ramdisk(t))
		ktest_run_counted(t, "kt-chaos", crashes_in_domain_main, RUN_WAIT_NS);
}

/*
 * Period 0: one strike, and from then on every start crashes. Each submit
 * costs the shadow its 3 starts (STARTS) and then fails:
 * the one in flight at the strike with -MAPLE_ECALLEE, every later one with
 * -MAPLE_EDEAD (the shadow's driver is the dead one still), which is the
 * last error the client sees, since its read-back runs after the strike.
 */
static void always_crashes(struct ktest_ctx *t)
{
	unsigned domains = ktest_domains_alive();
	int threads = ktest_threads_alive();
	if (!schedule(t, 0))
		return;
	struct domain *shadow = ktest_create(t, SHADOW);
	struct domain *client = shadow ? ktest_create(t, "bdclient") : NULL;
	if (!client)
		goto out;
	long r = domain_call(client, BdClient_start_METHOD, SHADOWED_UNBOUNDED_OPS,
			     SHADOWED_WRITE_PERCENT, (long)domain_handle(shadow), 0);
	uint64_t h = r ? 0
		       : driver_wait_serving(DRIVER, 0, BlockDevice_stats_METHOD,
					     time_ns() + SHADOWED_FAULT_WAIT_NS);
	if (!h || !driver_strike(h, driver_fault(0))) {
		ktest_fail(t, __FILE__, __LINE__, "bdclient.start %ld; no %s to strike", r, DRIVER);
		goto out;
	}
	uint64_t deadline = time_ns() + SHADOWED_FAULT_WAIT_NS;
	while (shadowed_stat(client, BDC_ERRORS) == 0 && time_ns() < deadline)
		thread_sleep_ns(2000000);
	if (!shadowed_finish(client)) {
		ktest_fail(t, __FILE__, __LINE__, "the workload did not end");
		goto out;
	}
	long errors = shadowed_stat(client, BDC_ERRORS),
	     last = shadowed_stat(client, BDC_LAST_ERROR);
	if (errors < 1 || last != -MAPLE_EDEAD || shadowed_stat(client, BDC_LOST)) {
		ktest_fail(t, __FILE__, __LINE__,
			   "%ld errors (last %ld, want %d), %ld wrong blocks", errors, last,
			   -MAPLE_EDEAD, shadowed_stat(client, BDC_LOST));
		goto out;
	}
	/* Every failed submit, and only those, cost exactly the shadow's
	 * starts, each one a #PF in domain_main. */
	uint64_t starts = (uint64_t)errors * STARTS;
	if (runs() != 1 + starts) {
		ktest_fail(t, __FILE__, __LINE__, "%lu domain_main runs for %ld failed submits",
			   runs(), errors);
		goto out;
	}
	if (!failures_were(t, 0, h, 0, starts))
		goto out;
	if (shadow->state != DOMAIN_RUNNING || client->state != DOMAIN_RUNNING)
		ktest_fail(t, __FILE__, __LINE__, "the shadow or the client failed: %s / %s",
			   shadow->fail_reason, client->fail_reason);
out:
	ktest_destroy(client);
	ktest_destroy(shadow);
	ktest_destroy_handle(driver_current(DRIVER));
	if (!t->failed)
		settled(t, domains, threads);
}

KTEST(chaos_driver_always_crashing_in_domain_main_fails_cleanly)
{
	if (shadowed_populate_ramdisk(t))
		ktest_run_counted(t, "kt-chaos", always_crashes, RUN_WAIT_NS);
}
