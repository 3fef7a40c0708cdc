/*
 * xa: where the nested-call chain of test/xa/xa.h starts and ends. chain() calls
 * into xb; xc calls back into leaf(), so one thread runs through xa twice.
 */
#include <test/xa/xa.h>
#include <test/xb/xb.h>

static struct maple_peer xb = MAPLE_PEER("xb");

static long chain(long x)
{
	long id = maple_peer_id(&xb);
	if (id < 0)
		return id;
	long r = xb_chain((uint64_t)id, x + 1);
	return r < 0 ? r : r + 1000;
}

static long leaf(long x)
{
	return x * 2;
}

long domain_main(long arg)
{
	(void)arg;
	const uint64_t methods[] = {
		[Xa_chain_METHOD] = MAPLE_METHOD(chain),
		[Xa_leaf_METHOD] = MAPLE_METHOD(leaf),
	};
	maple_peer_id(&xb); /* if xb is not loaded yet, chain() looks again */
	/* Indexed by the numbers idlc generated: a method missing here fails the build. */
	_Static_assert(DOM_ARRAY_LEN(methods) == Xa_METHODS, "Xa: every method exported");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
