/*
 * net_shadow: the shadow of the virtio_net driver, all of it generated from
 * domains/idl/net.idl (docs/idl.md "Shadows", docs/drivers.md "Network").
 * Clients bind to it as to any Net. After the driver crashes, the kernel
 * has stopped the device (Bus Master off, device_status = 0) and freed the
 * buffers the driver held; the shadow creates a new virtio_net, which
 * resets and re-initialises the device, and the call that crashed returns
 * the crash error (submit_and_poll moves its batch, so it is not retried).
 */
#include <idl/net.h>

#ifndef NET_SHADOW_DRIVER
#define NET_SHADOW_DRIVER "virtio_net"
#endif

long domain_main(long arg)
{
	(void)arg;
	return Net_shadow_start(NET_SHADOW_DRIVER);
}
