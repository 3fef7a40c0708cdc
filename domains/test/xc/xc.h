/* xc's interface: the last hop of the nested-call chain (see test/xa/xa.h). */
#ifndef DOMAINS_XC_H
#define DOMAINS_XC_H

#include <sdk/dom.h>

#include <idl/xc_methods.h> /* domains/idl/xc.idl: chain(x) = xa.leaf(x + 1) + 10 */

static inline long xc_chain(uint64_t xc, long x)
{
	return maple_xcall(xc, Xc_chain_METHOD, x, 0, 0, 0);
}

#endif
