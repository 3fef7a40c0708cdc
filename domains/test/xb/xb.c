/*
 * xb: the middle of the nested-call chain of test/xa/xa.h, plus the null and
 * four-argument methods that call benchmarks measure.
 */
#include <test/xb/xb.h>
#include <test/xc/xc.h>

static struct maple_peer xc = MAPLE_PEER("xc");

static long chain(long x)
{
	long id = maple_peer_id(&xc);
	if (id < 0)
		return id;
	long r = xc_chain((uint64_t)id, x + 1);
	return r < 0 ? r : r + 100;
}

static long null(void)
{
	return 0;
}

static long add4(long a, long b, long c, long d)
{
	return a + b + c + d;
}

static long echo(long r)
{
	return r;
}

long domain_main(long arg)
{
	(void)arg;
	const uint64_t methods[] = {
		[Xb_chain_METHOD] = MAPLE_METHOD(chain),
		[Xb_null_METHOD] = MAPLE_METHOD(null),
		[Xb_add4_METHOD] = MAPLE_METHOD(add4),
		[Xb_echo_METHOD] = MAPLE_METHOD(echo),
	};
	maple_peer_id(&xc); /* if xc is not loaded yet, chain() looks again */
	_Static_assert(DOM_ARRAY_LEN(methods) == Xb_METHODS, "Xb: every method exported");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
