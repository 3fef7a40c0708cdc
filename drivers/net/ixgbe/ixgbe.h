/*
 * The ixgbe driver's entry point (ixgbe.c), split from its domain_main
 * (ixgbe_main.c) as igb's is (drivers/net/igb/igb.h), so a benchmark
 * image can link the driver with a client in the same domain. Its Net
 * methods are the Intel ring core's, intel_net_impl
 * (drivers/net/intel/intel_net.h).
 */
#ifndef DRIVERS_NET_IXGBE_H
#define DRIVERS_NET_IXGBE_H

#include <net/intel/intel_net.h>

/* Bring ixgbe0 up and start the link watch: 0 or -error (logged). */
long ixgbe_start(void);

#endif
