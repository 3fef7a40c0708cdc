/*
 * xc: the last hop of the nested-call chain of test/xa/xa.h, which calls back
 * into xa, the domain the thread started from.
 */
#include <test/xa/xa.h>
#include <test/xc/xc.h>

static struct maple_peer xa = MAPLE_PEER("xa");

static long chain(long x)
{
	long id = maple_peer_id(&xa);
	if (id < 0)
		return id;
	long r = xa_leaf((uint64_t)id, x + 1);
	return r < 0 ? r : r + 10;
}

long domain_main(long arg)
{
	(void)arg;
	const uint64_t methods[] = {[Xc_chain_METHOD] = MAPLE_METHOD(chain)};
	maple_peer_id(&xa); /* if xa is not loaded yet, chain() looks again */
	/* Indexed by the numbers idlc generated: a method missing here fails the build. */
	_Static_assert(DOM_ARRAY_LEN(methods) == Xc_METHODS, "Xc: every method exported");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
