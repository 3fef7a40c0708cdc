/*
 * RRef transfers on cross-domain calls. This file is compiled
 * position-independent into the gate page (tools/configure: `.gate.c`
 * sources), so it runs in ring 3, called by arch/pc/gate.S with the
 * current domain's rights plus TRUSTED. It may use nothing but its
 * arguments and the TRUSTED header table at its fixed address: no kernel
 * data, no calls out, no constants in .rodata.
 */
#include <core/gate_layout.h>
#include <core/rref.h>

#define ARGS 4

static inline struct rref_header *header(uint64_t handle)
{
	uint64_t idx = handle >> RREF_INDEX_SHIFT;
	struct rref_header *h = (struct rref_header *)RREF_TABLE_VA + idx;
	if (!idx || idx >= RREF_MAX || !h->payload || h->payload != (handle & RREF_ADDR_MASK))
		return 0;
	return h;
}

/*
 * Whether the caller holds handle on loan: an enclosing call on this
 * thread, still in progress, lent it to the caller. Such an RRef may be
 * lent on (a shadow passes its client's requests to the driver) but never
 * moved. The thread's continuations below c are the enclosing calls.
 */
static int on_loan(const struct continuation *c, uint64_t handle)
{
	uint64_t trusted;
	__asm__("movq %%gs:%c1, %0" : "=r"(trusted) : "i"(GT_TRUSTED));
	const struct continuation *first = (const struct continuation *)(trusted + GTT_CONTS);
	for (const struct continuation *e = c - 1; e >= first; e--)
		if (e->kind == CONT_XCALL && e->callee == c->caller)
			for (int j = 0; j < ARGS; j++)
				if ((e->word & XCALL_BORROW(j)) && e->args[j] == handle)
					return 1;
	return 0;
}

/*
 * Before the call: every RRef the word names must be a root the caller
 * owns (or, to lend it on, one it holds on loan), and a moved one must not
 * be lent out; then move and borrow them. Nothing changes unless every
 * check passes. Returns 0 or -MAPLE_EPERM.
 */
long gate_rref_in(struct continuation *c)
{
	for (int i = 0; i < ARGS; i++) {
		if (!(c->word & (XCALL_MOVE(i) | XCALL_BORROW(i))))
			continue;
		struct rref_header *h = header(c->args[i]);
		int owned = h && h->owner == c->caller;
		int lendable =
			owned || (h && (c->word & XCALL_BORROW(i)) && on_loan(c, c->args[i]));
		if (!lendable || ((c->word & XCALL_MOVE(i)) && h->borrows))
			return -MAPLE_EPERM;
		for (int j = 0; j < i; j++) /* the same RRef twice */
			if ((c->word & (XCALL_MOVE(j) | XCALL_BORROW(j))) &&
			    c->args[j] == c->args[i])
				return -MAPLE_EPERM;
	}
	for (int i = 0; i < ARGS; i++) {
		struct rref_header *h = header(c->args[i]);
		if (c->word & XCALL_MOVE(i))
			h->owner = (uint16_t)c->callee;
		else if (c->word & XCALL_BORROW(i))
			__atomic_add_fetch(&h->borrows, 1, __ATOMIC_RELAXED);
	}
	return 0;
}

/*
 * After the call: end the borrows, and move a returned RRef to the caller
 * if the callee owned it. Returns the result to hand the caller.
 */
long gate_rref_out(struct continuation *c, long result)
{
	for (int i = 0; i < ARGS; i++) {
		struct rref_header *h = header(c->args[i]);
		if ((c->word & XCALL_BORROW(i)) && h && h->borrows)
			__atomic_sub_fetch(&h->borrows, 1, __ATOMIC_RELAXED);
	}
	if (!(c->word & XCALL_RESULT_RREF) || result <= 0)
		return result;
	struct rref_header *h = header((uint64_t)result);
	if (!h || h->owner != c->callee || h->borrows)
		return -MAPLE_EPERM;
	h->owner = (uint16_t)c->caller;
	return result;
}
