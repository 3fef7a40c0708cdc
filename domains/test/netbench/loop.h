/*
 * bench=net's client loop (loop.c), shared by netbench (through a Net
 * handle: one crossing, or through the shadow) and the images
 * virtio_net_bench and nullnet_bench (a driver's own submit_and_poll, in
 * the same domain).
 */
#ifndef DOMAINS_NETBENCH_LOOP_H
#define DOMAINS_NETBENCH_LOOP_H

#include <idl/net.h>
#include <idl/netbench_methods.h>

/* How batches reach the driver, and its link() (1 up): a proxy call, or
 * the driver's function. */
struct nb_target {
	long (*submit)(uint64_t device, rref_t batch, rref_t *out);
	long (*link)(uint64_t device);
	uint64_t device;
};

/* NetBench.bench() for an image's bench method: validate, then run on a
 * thread of its own (which allocates its buffers first, untimed). */
long nb_bench_start(const struct nb_target *target, long dir, long batch, long ms);

/* Export NetBench (domains/idl/netbench.idl): the loop's frame() and
 * result(), and the image's bench_fn(device, dir, batch, ms), which picks its
 * target and calls nb_bench_start. maple_export's result. */
long nb_export(long (*bench_fn)(long device, long dir, long batch, long ms));

#endif
