/*
 * ixgbe_bench: the ixgbe driver with bench=net's client in its own domain
 * (path=indomain, kernel/bench/net.c).
 */
#include <net/ixgbe/ixgbe.h>
#include <test/netbench/indomain.h>

long domain_main(long arg)
{
	(void)arg;
	long rc = ixgbe_start();
	return rc < 0 ? rc : nb_export_indomain(&intel_net_impl);
}
