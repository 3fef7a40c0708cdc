/*
 * igb's domain_main: bring igb0 up (igb.c), then export Net with the Intel
 * ring core's methods. A device that cannot be brought up makes domain_main
 * fail, and the domain ends cleanly.
 */
#include <net/igb/igb.h>

long domain_main(long arg)
{
	(void)arg;
	long rc = igb_start();
	return rc < 0 ? rc : Net_export(&intel_net_impl);
}
