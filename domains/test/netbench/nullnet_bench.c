/*
 * nullnet_bench: the software Net driver with bench=net's client in its
 * own domain (path=indomain, kernel/bench/net.c).
 */
#include <net/nullnet/nullnet.h>
#include <test/netbench/indomain.h>

long domain_main(long arg)
{
	(void)arg;
	return nb_export_indomain(&nullnet_impl);
}
