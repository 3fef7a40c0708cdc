/* nullnet's domain_main: export the software driver's Net (nullnet.c). */
#include <net/nullnet/nullnet.h>

long domain_main(long arg)
{
	(void)arg;
	return Net_export(&nullnet_impl);
}
