/*
 * The igb driver's entry point (igb.c), split from its domain_main
 * (igb_main.c) so that a benchmark image can link the driver with a client
 * loop in the same domain (domains/test/netbench/igb_bench.c, path=indomain
 * of bench/net) and call it without a crossing. Its Net methods are the
 * Intel ring core's, intel_net_impl (drivers/net/intel/intel_net.h).
 */
#ifndef DRIVERS_NET_IGB_H
#define DRIVERS_NET_IGB_H

#include <net/intel/intel_net.h>

/* Bring igb0 up and start the link watch: 0 or -error (logged). */
long igb_start(void);

#endif
