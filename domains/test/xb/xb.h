/*
 * xb's interface: the middle of the nested-call chain (see test/xa/xa.h) and two
 * methods for call benchmarks, a null call and one with four arguments.
 */
#ifndef DOMAINS_XB_H
#define DOMAINS_XB_H

#include <sdk/dom.h>

#include <idl/xb_methods.h> /* domains/idl/xb.idl: chain, null, add4, echo */

static inline long xb_chain(uint64_t xb, long x)
{
	return maple_xcall(xb, Xb_chain_WORD, x, 0, 0, 0);
}

static inline long xb_null(uint64_t xb)
{
	return maple_xcall(xb, Xb_null_WORD, 0, 0, 0, 0);
}

static inline long xb_add4(uint64_t xb, long a, long b, long c, long d)
{
	return maple_xcall(xb, Xb_add4_WORD, a, b, c, d);
}

#endif
