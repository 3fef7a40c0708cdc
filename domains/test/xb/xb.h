/*
 * xb's interface: the middle of the nested-call chain (see test/xa/xa.h) and two
 * methods for call benchmarks, a null call and one with four arguments.
 */
#ifndef DOMAINS_XB_H
#define DOMAINS_XB_H

#include <sdk/dom.h>

#define XB_CHAIN 0 /* long chain(long x): xc.chain(x + 1) + 100 */
#define XB_NULL	 1 /* long null(void): 0 */
#define XB_ADD4	 2 /* long add4(long a, long b, long c, long d): a + b + c + d */
#define XB_ECHO	 3 /* rref echo(move rref r): r, moved back (benchmarks) */

static inline long xb_chain(uint64_t xb, long x)
{
	return maple_xcall(xb, XB_CHAIN, x, 0, 0, 0);
}

static inline long xb_null(uint64_t xb)
{
	return maple_xcall(xb, XB_NULL, 0, 0, 0, 0);
}

static inline long xb_add4(uint64_t xb, long a, long b, long c, long d)
{
	return maple_xcall(xb, XB_ADD4, a, b, c, d);
}

#endif
