/*
 * rref_c: the third domain of the RRef tests (rrefs.h). rref_b lends it an
 * RRef that rref_b itself only borrows from rref_a; rref_c may use the
 * payload for the length of the call, and nothing else.
 */
#include <test/rrefs/rrefs.h>

#include <sdk/dom.h>
#include <sdk/rref.h>

/*
 * Owner: still the original lender; borrows: one per loan in progress (a
 * to b, b to us). Reading and writing the payload works; freeing it does
 * not, since a loan gives use, not ownership.
 */
static long touch(rref_t r, long owner)
{
	long info = rref_info(r);
	if ((info & 0xffff) != owner || ((info >> 16) & 0xffffffff) != 2)
		return -80;
	if (*(uint64_t *)rref_ptr(r) != RREF_MAGIC)
		return -81;
	if (rref_free(r) != -MAPLE_EPERM)
		return -82;
	*(uint64_t *)rref_ptr(r) = RREF_MAGIC_C;
	return 1;
}

/* Reached only if the gate let a borrowed RRef be moved here. */
static long take(rref_t r)
{
	(void)r;
	return 1;
}

long domain_main(long arg)
{
	(void)arg;
	const uint64_t methods[] = {[RrefC_touch_METHOD] = MAPLE_METHOD(touch),
				    [RrefC_take_METHOD] = MAPLE_METHOD(take)};
	_Static_assert(DOM_ARRAY_LEN(methods) == RrefC_METHODS, "RrefC: every method exported");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
