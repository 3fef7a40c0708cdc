/*
 * rref_a: drives the RRef tests (rrefs.h) against rref_b, with the method
 * words an IDL proxy would build.
 */
#include <test/rrefs/rrefs.h>

#include <sdk/dom.h>
#include <sdk/rref.h>

static struct maple_peer b = MAPLE_PEER("rref_b");

static uint32_t self_id(void)
{
	return (uint32_t)(maple_domain_id() & 0xffff);
}

static long call(uint64_t word, rref_t a0)
{
	long id = maple_peer_id(&b);
	return id < 0 ? id : maple_xcall((uint64_t)id, word, (long)a0, 0, 0, 0);
}

static rref_t fresh(void)
{
	rref_t r = rref_alloc(RREF_TEST_TYPE, 128);
	if (r)
		*(uint64_t *)rref_ptr(r) = RREF_MAGIC;
	return r;
}

static long owner(rref_t r)
{
	return rref_info(r) & 0xffff;
}

static long borrows(rref_t r)
{
	return (rref_info(r) >> 16) & 0xffffffff;
}

static long run(long which)
{
	rref_t r = fresh();
	if (!r)
		return -1;
	switch (which) {
	case RCASE_MOVE:
		return call(RrefB_take_WORD, r);
	case RCASE_NOT_OWNER:
		if (call(RrefB_keep_WORD, r) != 0)
			return -2;
		if (call(RrefB_take_WORD, r) != -MAPLE_EPERM)
			return -3; /* the gate must refuse an RRef we gave away */
		return rref_free(r) == -MAPLE_EPERM ? 1 : -4;
	case RCASE_BORROW:
		if (call(RrefB_peek_WORD, r) != (long)RREF_MAGIC)
			return -2;
		if (owner(r) != self_id() || borrows(r) != 0)
			return -3;
		return rref_free(r) == 0 ? 1 : -4;
	case RCASE_RESULT: {
		rref_free(r);
		long got = call(RrefB_give_WORD, 0);
		if (got <= 0 || owner((rref_t)got) != self_id())
			return -2;
		if (*(uint64_t *)rref_ptr((rref_t)got) != RREF_MAGIC)
			return -3;
		return rref_free((rref_t)got) == 0 ? 1 : -4;
	}
	case RCASE_CRASH_BORROW:
		if (call(RrefB_crash_WORD, r) != -MAPLE_ECALLEE)
			return -2;
		if (owner(r) != self_id() || borrows(r) != 0)
			return -3;
		return rref_free(r) == 0 ? 1 : -4;
	case RCASE_LEND_ON:
	case RCASE_LEND_ON_3: {
		uint64_t word = which == RCASE_LEND_ON ? RrefB_lend_on_WORD : RrefB_lend_to_c_WORD;
		long got = call(word, r);
		if (got != 1)
			return got < 0 ? got : -2; /* rref_b's code names its failed check */
		if (owner(r) != self_id() || borrows(r) != 0)
			return -3;
		if (which == RCASE_LEND_ON_3 && *(uint64_t *)rref_ptr(r) != RREF_MAGIC_C)
			return -5; /* rref_c wrote the payload it was lent */
		return rref_free(r) == 0 ? 1 : -4;
	}
	case RCASE_KEEP_SOME:
	case RCASE_NESTED: {
		rref_t box = rref_alloc(RREF_TEST_TYPE, 64);
		rref_t *slots = rref_ptr(box);
		for (int i = 0; i < 4; i++) {
			slots[i] = fresh();
			if (!slots[i] || rref_nest(slots[i], box) != 0)
				return -2;
		}
		if (which == RCASE_NESTED) {
			rref_free(r);
			return call(RrefB_take_box_WORD, box) == 4 ? 1 : -3;
		}
		if (call(RrefB_keep_WORD, r) || call(RrefB_keep_WORD, box))
			return -4;
		for (int i = 0; i < 2; i++)
			if (call(RrefB_keep_WORD, fresh()))
				return -5;
		return 1;
	}
	default:
		rref_free(r);
		return -MAPLE_EINVAL;
	}
}

long domain_main(long arg)
{
	(void)arg;
	const uint64_t methods[] = {[RrefA_run_METHOD] = MAPLE_METHOD(run)};
	/* Indexed by the numbers idlc generated: a method missing here fails the build. */
	_Static_assert(DOM_ARRAY_LEN(methods) == RrefA_METHODS, "RrefA: every method exported");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
