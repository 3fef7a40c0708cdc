/*
 * virtio_net_bench: the virtio network driver with bench=net's client in
 * its own domain (path=indomain, kernel/bench/net.c).
 */
#include <net/virtio-net/virtio_net.h>
#include <test/netbench/indomain.h>

long domain_main(long arg)
{
	(void)arg;
	long rc = virtio_net_start();
	return rc < 0 ? rc : nb_export_indomain(&virtio_net_impl);
}
