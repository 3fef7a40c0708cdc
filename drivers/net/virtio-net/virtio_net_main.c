/*
 * virtio_net's domain_main: bring net0 up (virtio_net.c), then export Net.
 * A device that cannot be brought up makes domain_main fail, and the domain
 * ends cleanly.
 */
#include <net/virtio-net/virtio_net.h>

long domain_main(long arg)
{
	(void)arg;
	long rc = virtio_net_start();
	return rc < 0 ? rc : Net_export(&virtio_net_impl);
}
