/* bdclient through a BlockDevice shadow while its driver is crashed (ktest/shadowed.h). */
#include <core/sched.h>
#include <core/time.h>
#include <ktest/counted.h>
#include <ktest/driver_faults.h>
#include <ktest/shadowed.h>
#include <test/bdclient/bdclient.h>

long shadowed_stat(struct domain *client, int which)
{
	return domain_call(client, BdClient_stat_METHOD, which, 0, 0, 0);
}

bool shadowed_finish(struct domain *client)
{
	domain_call(client, BdClient_stop_METHOD, 0, 0, 0, 0);
	uint64_t deadline = time_ns() + SHADOWED_RUN_WAIT_NS;
	while (shadowed_stat(client, BDC_RUNNING) == 1 && time_ns() < deadline)
		thread_sleep_ns(10000000);
	return shadowed_stat(client, BDC_RUNNING) == 0;
}

bool shadowed_populate_ramdisk(struct ktest_ctx *t)
{
	struct domain *d = ktest_create(t, "membdev");
	long r = d ? domain_call(d, BlockDevice_init_METHOD, 1, BDC_BLOCK_SIZE, 0, 0) : -1;
	ktest_destroy(d);
	if (d && r < 0)
		ktest_fail(t, __FILE__, __LINE__, "membdev.init: %ld", r);
	return r >= 0;
}

void shadowed_crash_driver(struct ktest_ctx *t, const struct shadowed_run *run)
{
	const char *driver = run->driver_image;
	struct domain *shadow = ktest_create(t, run->shadow_image);
	struct domain *client = shadow ? ktest_create(t, "bdclient") : NULL;
	if (!client)
		goto out;
	long r = domain_call(client, BdClient_start_METHOD, SHADOWED_UNBOUNDED_OPS,
			     SHADOWED_WRITE_PERCENT, (long)domain_handle(shadow), 0);
	if (r != 0) {
		ktest_fail(t, __FILE__, __LINE__, "bdclient.start: %ld", r);
		goto out;
	}
	uint64_t h = driver_wait_serving(driver, 0, BlockDevice_stats_METHOD,
					 time_ns() + SHADOWED_FAULT_WAIT_NS);
	if (!h) {
		ktest_fail(t, __FILE__, __LINE__, "%s never served before the first crash", driver);
		goto out;
	}
	/* Every wait is checked, the last one too: each crash must be followed
	 * by a new instance that serves. */
	for (unsigned i = 0; i < run->crashes; i++) {
		int fault = driver_fault(i);
		if (shadowed_stat(client, BDC_RUNNING) != 1 || !driver_strike(h, fault)) {
			ktest_fail(t, __FILE__, __LINE__, "crash %u (%s): no %s", i,
				   driver_fault_name(fault),
				   shadowed_stat(client, BDC_RUNNING) != 1 ? "workload running"
									   : "driver to strike");
			goto out;
		}
		uint64_t struck = h;
		h = driver_wait_serving(driver, h, BlockDevice_stats_METHOD,
					time_ns() + SHADOWED_FAULT_WAIT_NS);
		if (!h) {
			ktest_fail(t, __FILE__, __LINE__,
				   "crash %u (%s): no new %s served within %llu s", i,
				   driver_fault_name(fault), driver,
				   SHADOWED_FAULT_WAIT_NS / 1000000000ULL);
			goto out;
		}
		if (run->restarted && !run->restarted(t, i, struck, h))
			goto out;
	}
	if (!shadowed_finish(client)) {
		ktest_fail(t, __FILE__, __LINE__, "the workload did not end");
		goto out;
	}
	long errors = shadowed_stat(client, BDC_ERRORS), lost = shadowed_stat(client, BDC_LOST);
	long verified = shadowed_stat(client, BDC_VERIFIED);
	long unverified = shadowed_stat(client, BDC_UNVERIFIED);
	if (errors || lost || unverified)
		ktest_fail(t, __FILE__, __LINE__,
			   "across %u crashes the client saw %ld errors (last %ld), %ld wrong "
			   "blocks, %ld unverifiable reads",
			   run->crashes, errors, shadowed_stat(client, BDC_LAST_ERROR), lost,
			   unverified);
	else if (verified < BDC_BLOCKS || shadowed_stat(client, BDC_WRITES) < BDC_BLOCKS)
		ktest_fail(t, __FILE__, __LINE__, "too little work checked: %ld reads verified",
			   verified);
	else if (run->ended)
		run->ended(t, shadow);
out:
	ktest_destroy(client);
	ktest_destroy(shadow);
	ktest_destroy_handle(driver_current(driver));
}
