/*
 * The NVMe benchmark's loop (loop.c), shared by nvmetest (through a
 * BlockDevice handle: one crossing, or through the shadow) and nvme_bench
 * (the driver's own submit, in the same domain).
 */
#ifndef DOMAINS_NVMETEST_LOOP_H
#define DOMAINS_NVMETEST_LOOP_H

#include <idl/bdev.h>
#include <test/nvmetest/nvmetest.h>

/* How requests reach the driver: proxy calls, or the driver's functions. */
struct nvt_target {
	long (*init)(uint64_t device, uint64_t nblocks, uint64_t block_size);
	long (*submit)(uint64_t device, rref_t reqs);
	uint64_t device;
};

/* bench(): validate, size the device, then run mix at qd for ms on a
 * thread of its own (which allocates the requests first, untimed). */
long nvt_bench_start(const struct nvt_target *target, long mix, long qd, long ms);

/* Export NvmeTest (domains/idl/nvmetest.idl): the loop's result(), and the
 * image's probe and bench_fn(device, mix, qd, ms), which picks its target
 * and calls nvt_bench_start. maple_export's result. */
long nvt_export(long (*probe)(long device, long which),
		long (*bench_fn)(long device, long mix, long qd, long ms));

#endif
