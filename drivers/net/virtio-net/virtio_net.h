/*
 * The virtio network driver's entry points (virtio_net.c), split from its
 * domain_main (virtio_net_main.c) so that a benchmark image can link the
 * driver with a client loop in the same domain (domains/test/netbench,
 * path=indomain of bench/net) and call it without a crossing.
 */
#ifndef DRIVERS_NET_VIRTIO_NET_H
#define DRIVERS_NET_VIRTIO_NET_H

#include <idl/net.h>

/* Bring net0 up and start the link watch: 0 or -error (logged). */
long virtio_net_start(void);

/* The driver's Net methods, for Net_export or a direct call. */
extern const struct Net_impl virtio_net_impl;

#endif
