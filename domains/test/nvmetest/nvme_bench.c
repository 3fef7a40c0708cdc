/*
 * nvme_bench: the NVMe driver with the benchmark's client in its own domain
 * (bench=nvme's path=indomain, kernel/bench/nvme.c): the loop of loop.c
 * calls the driver's init and submit as plain functions, no gate between
 * them. It exports nvmetest's interface (domains/idl/nvmetest.idl); bench
 * takes device 0 (this domain's driver) and nothing else, and probe, which
 * needs a BlockDevice handle, refuses every call with -MAPLE_EINVAL.
 */
#include <block/nvme/nvme.h>
#include <test/nvmetest/loop.h>

static long direct_init(uint64_t device, uint64_t blocks, uint64_t bsize)
{
	(void)device;
	return nvme_impl.init(blocks, bsize);
}

static long direct_submit(uint64_t device, rref_t reqs)
{
	(void)device;
	return nvme_impl.submit(reqs);
}

static long bench(long device, long mix, long qd, long ms)
{
	if (device != 0)
		return -MAPLE_EINVAL;
	const struct nvt_target t = {.init = direct_init, .submit = direct_submit};
	return nvt_bench_start(&t, mix, qd, ms);
}

static long probe(long device, long which)
{
	(void)device;
	(void)which;
	return -MAPLE_EINVAL;
}

long domain_main(long arg)
{
	(void)arg;
	long r = nvme_ctrl_start();
	if (r < 0)
		return r;
	return nvt_export(probe, bench);
}
