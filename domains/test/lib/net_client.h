/*
 * What the test domains that are Net clients (netclient, and bench=net's
 * loop in netbench and the *_bench images) share: making the batch they
 * move to a driver on every submit_and_poll (domains/idl/net.idl).
 */
#ifndef DOMAINS_TEST_LIB_NET_CLIENT_H
#define DOMAINS_TEST_LIB_NET_CLIENT_H

#include <idl/net.h>

/*
 * A new NetBatch with its two empty deques nested (TX and RX), recalled
 * (rref_recall), so that a driver that dies holding it gives it back to
 * this domain once the device has stopped. 0 with *out set, or
 * -MAPLE_ENOMEM with *out unchanged: what was allocated then stays with
 * the domain, which is a test's and is destroyed after it.
 */
long net_client_batch(rref_t *out);

#endif
