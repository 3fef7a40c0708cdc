/*
 * netbench: bench=net's client in a domain of its own (kernel/bench/net.c):
 * the loop of loop.c calls submit_and_poll through a Net proxy on the
 * handle the kernel passes, a driver (one crossing) or its shadow.
 */
#include <test/netbench/loop.h>

static long proxy_submit(uint64_t device, rref_t batch, rref_t *out)
{
	const struct Net_ref ref = {.domain = device};
	return Net_submit_and_poll(&ref, batch, out);
}

static long proxy_link(uint64_t device)
{
	const struct Net_ref ref = {.domain = device};
	return Net_link(&ref);
}

static long bench(long device, long dir, long batch, long ms)
{
	if (device <= 0)
		return -MAPLE_EINVAL; /* 0 is the in-domain path: the *_bench images only */
	const struct nb_target t = {
		.submit = proxy_submit, .link = proxy_link, .device = (uint64_t)device};
	return nb_bench_start(&t, dir, batch, ms);
}

long domain_main(long arg)
{
	(void)arg;
	return nb_export(bench);
}
