/*
 * The Net client's batch (net_client.h), one home for netclient and
 * bench=net's loop.
 */
#include <test/lib/net_client.h>

long net_client_batch(rref_t *out)
{
	rref_t b = NetBatch_alloc(), tx = NetPacket_deque32_alloc(), rx = NetPacket_deque32_alloc();
	if (!b || !tx || !rx || NetBatch_set_tx(b, tx) < 0 || NetBatch_set_rx(b, rx) < 0 ||
	    rref_recall(b) < 0)
		return -MAPLE_ENOMEM; /* what was allocated goes with the domain */
	*out = b;
	return 0;
}
