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
		[XB_CHAIN] = MAPLE_METHOD(chain),
		[XB_NULL] = MAPLE_METHOD(null),
		[XB_ADD4] = MAPLE_METHOD(add4),
		[XB_ECHO] = MAPLE_METHOD(echo),
	};
	maple_peer_id(&xc); /* if xc is not loaded yet, chain() looks again */
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
