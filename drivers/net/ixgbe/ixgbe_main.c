/*
 * ixgbe's domain_main: bring ixgbe0 up (ixgbe.c), then export Net with the
 * Intel ring core's methods. A device that cannot be brought up makes
 * domain_main fail, and the domain ends cleanly.
 */
#include <net/ixgbe/ixgbe.h>

long domain_main(long arg)
{
	(void)arg;
	long rc = ixgbe_start();
	return rc < 0 ? rc : Net_export(&intel_net_impl);
}
