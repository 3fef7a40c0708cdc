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

/* NetBench.frame(), .bench() (validate, then run on a thread of its own,
 * which allocates its buffers first, untimed) and .result(). */
long nb_frame(long len);
long nb_bench_start(const struct nb_target *target, long dir, long batch, long ms);
long nb_bench_result(long which);

#endif
