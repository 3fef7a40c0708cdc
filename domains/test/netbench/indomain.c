/*
 * NetBench for an image holding its driver (indomain.h): bench takes
 * device 0 (this domain's driver) and nothing else.
 */
#include <test/netbench/indomain.h>
#include <test/netbench/loop.h>

static const struct Net_impl *driver;

static long direct_submit(uint64_t device, rref_t batch, rref_t *out)
{
	(void)device;
	return driver->submit_and_poll(batch, out);
}

static long direct_link(uint64_t device)
{
	(void)device;
	return driver->link();
}

static long bench(long device, long dir, long batch, long ms)
{
	if (device != 0)
		return -MAPLE_EINVAL;
	const struct nb_target t = {.submit = direct_submit, .link = direct_link};
	return nb_bench_start(&t, dir, batch, ms);
}

long nb_export_indomain(const struct Net_impl *impl)
{
	driver = impl;
	return nb_export(bench);
}
