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
	const uint64_t methods[] = {
		[NetBench_frame_METHOD] = MAPLE_METHOD(nb_frame),
		[NetBench_bench_METHOD] = MAPLE_METHOD(bench),
		[NetBench_result_METHOD] = MAPLE_METHOD(nb_bench_result),
	};
	_Static_assert(DOM_ARRAY_LEN(methods) == NetBench_METHODS, "NetBench: every method");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
