/* rref_b: the receiving domain of the RRef tests (rrefs.h); it lends on to rref_c. */
#include <test/rrefs/rrefs.h>

#include <sdk/dom.h>
#include <sdk/rref.h>

#define KEEP_MAX 16

static rref_t kept[KEEP_MAX];
static int nkept;

static uint32_t self_id(void)
{
	return (uint32_t)(maple_domain_id() & 0xffff);
}

static long borrows(rref_t r)
{
	return (rref_info(r) >> 16) & 0xffffffff;
}

static long take(rref_t r)
{
	if ((rref_info(r) & 0xffff) != self_id())
		return -10;
	return rref_free(r) == 0 ? 1 : -11;
}

static long peek(rref_t r)
{
	if (rref_free(r) != -MAPLE_EPERM) /* lent, not given */
		return -20;
	return (long)*(uint64_t *)rref_ptr(r);
}

static long keep(rref_t r)
{
	if (nkept == KEEP_MAX)
		return -30;
	kept[nkept++] = r;
	return 0;
}

static long give(void)
{
	rref_t r = rref_alloc(RREF_TEST_TYPE, 64);
	if (!r)
		return -40;
	*(uint64_t *)rref_ptr(r) = RREF_MAGIC;
	return (long)r;
}

static long crash(rref_t r)
{
	(void)r;
	__builtin_trap();
}

/* The box's payload lists its children; each must now count as ours. */
static long take_box(rref_t box)
{
	rref_t *children = rref_ptr(box);
	long seen = 0;
	for (int i = 0; i < 4 && children[i]; i++)
		if ((rref_info(children[i]) & 0xffff) == self_id())
			seen++;
	return rref_free(box) == 0 ? seen : -50;
}

/* What a shadow does with its client's requests. */
static long lend_on(rref_t r)
{
	uint64_t self = (uint64_t)maple_domain_id();
	if (maple_xcall(self, RrefB_peek_WORD, (long)r, 0, 0, 0) != (long)RREF_MAGIC)
		return -60;
	if (maple_xcall(self, RrefB_take_WORD, (long)r, 0, 0, 0) != -MAPLE_EPERM)
		return -61;
	return 1;
}

static struct maple_peer c = MAPLE_PEER("rref_c");

/*
 * The loan passed on to a third domain: r is rref_a's, lent to us; we lend
 * it on to rref_c, which may read and write it but not free it, and the
 * gate must refuse to move it there. Ownership stays rref_a's throughout,
 * and each of the two loans counts as one borrow while it lasts.
 */
static long lend_to_c(rref_t r)
{
	long id = maple_peer_id(&c);
	if (id < 0)
		return id;
	uint32_t lender = (uint32_t)(rref_info(r) & 0xffff);
	if (lender == self_id() || borrows(r) != 1)
		return -70;
	if (maple_xcall((uint64_t)id, RrefC_touch_WORD, (long)r, (long)lender, 0, 0) != 1)
		return -71;
	if (*(uint64_t *)rref_ptr(r) != RREF_MAGIC_C)
		return -72;
	if (maple_xcall((uint64_t)id, RrefC_take_WORD, (long)r, 0, 0, 0) != -MAPLE_EPERM)
		return -73;
	if ((rref_info(r) & 0xffff) != lender || borrows(r) != 1)
		return -74;
	return 1;
}

long domain_main(long arg)
{
	(void)arg;
	const uint64_t methods[] = {
		[RrefB_take_METHOD] = MAPLE_METHOD(take),
		[RrefB_peek_METHOD] = MAPLE_METHOD(peek),
		[RrefB_keep_METHOD] = MAPLE_METHOD(keep),
		[RrefB_give_METHOD] = MAPLE_METHOD(give),
		[RrefB_crash_METHOD] = MAPLE_METHOD(crash),
		[RrefB_take_box_METHOD] = MAPLE_METHOD(take_box),
		[RrefB_lend_on_METHOD] = MAPLE_METHOD(lend_on),
		[RrefB_lend_to_c_METHOD] = MAPLE_METHOD(lend_to_c),
	};
	_Static_assert(DOM_ARRAY_LEN(methods) == RrefB_METHODS, "RrefB: every method exported");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
