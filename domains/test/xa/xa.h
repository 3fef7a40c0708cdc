/*
 * xa's interface: method numbers and the proxies other domains call it
 * through. xa starts and ends the nested-call chain xa -> xb -> xc -> xa:
 *
 *     xa.chain(x) = xb.chain(x + 1) + 1000
 *     xb.chain(x) = xc.chain(x + 1) + 100
 *     xc.chain(x) = xa.leaf(x + 1) + 10
 *     xa.leaf(x)  = x * 2
 *
 * so xa.chain(x) = (x + 3) * 2 + 1110, and xa.chain(1) = 1118. A negative
 * result is the first failing call's error, passed back unchanged.
 */
#ifndef DOMAINS_XA_H
#define DOMAINS_XA_H

#include <sdk/dom.h>

#include <idl/xa_methods.h> /* domains/idl/xa.idl */

static inline long xa_chain(uint64_t xa, long x)
{
	return maple_xcall(xa, Xa_chain_METHOD, x, 0, 0, 0);
}

static inline long xa_leaf(uint64_t xa, long x)
{
	return maple_xcall(xa, Xa_leaf_METHOD, x, 0, 0, 0);
}

#endif
