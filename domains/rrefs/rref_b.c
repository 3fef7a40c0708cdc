/* rref_b: the receiving half of the RRef tests (rrefs.h). */
#include <rrefs/rrefs.h>

#include <maple/dom.h>
#include <maple/rref.h>

#define KEEP_MAX 16

static rref_t kept[KEEP_MAX];
static int nkept;

static uint32_t self_id(void)
{
	return (uint32_t)(maple_domain_id() & 0xffff);
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
	if (maple_xcall(self, RB_PEEK | XCALL_BORROW(0), (long)r, 0, 0, 0) != (long)RREF_MAGIC)
		return -60;
	if (maple_xcall(self, RB_TAKE | XCALL_MOVE(0), (long)r, 0, 0, 0) != -MAPLE_EPERM)
		return -61;
	return 1;
}

long domain_main(long arg)
{
	(void)arg;
	const uint64_t methods[] = {
		[RB_TAKE] = MAPLE_METHOD(take),	      [RB_PEEK] = MAPLE_METHOD(peek),
		[RB_KEEP] = MAPLE_METHOD(keep),	      [RB_GIVE] = MAPLE_METHOD(give),
		[RB_CRASH] = MAPLE_METHOD(crash),     [RB_TAKE_BOX] = MAPLE_METHOD(take_box),
		[RB_LEND_ON] = MAPLE_METHOD(lend_on),
	};
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
