/*
 * nullnet's Net methods (nullnet.c), split from its domain_main
 * (nullnet_main.c) so that a benchmark image can link the driver with a
 * client loop in the same domain (domains/test/netbench, path=indomain of
 * bench/net) and call it without a crossing.
 */
#ifndef DRIVERS_NET_NULLNET_H
#define DRIVERS_NET_NULLNET_H

#include <idl/net.h>

extern const struct Net_impl nullnet_impl;

#endif
