/*
 * RRef transfers on cross-domain calls. This file is compiled
 * position-independent into the gate page (tools/configure: `.gate.c`
 * sources), so it runs in ring 3, called by domain/arch/x86/gate.S with TRUSTED
 * rights. It may use nothing but its arguments, the thread's TRUSTED
 * continuations and the TRUSTED header table at its fixed address: no
 * kernel data, no calls out, no constants in .rodata. It reads no domain
 * memory: handles come from the continuation, which the gate wrote.
 *
 * The protocol with the kernel (xheap/rref.c), which changes headers under
 * its heap lock while the gate takes none. Each header's `state` word
 * holds owner, borrow count, a BUSY bit and the generation together
 * (xheap/rref.h); every change to it is one atomic operation on the whole
 * word.
 *
 *   Invariant: the gate changes a header only by a compare-and-swap from
 *   a state it has just checked: of the handle's generation, owned by a
 *   domain (never free or nested), and (to move or lend) owned by the
 *   caller or lent to it by a call still in progress on this thread. The
 *   kernel changes a live root only by the same kind of CAS (free, nest,
 *   reclaim), and uses plain stores only on headers the gate never
 *   changes: free ones, nested ones, and ones it pinned BUSY itself. BUSY
 *   is held by one party at a time, a gate call moving the RRef or the
 *   kernel freeing it; while it is set no one else moves, lends, frees or
 *   nests it (only the reclaim of a destroyed owner overrides it). A borrow
 *   pins owner and generation the same way; other borrows only add and
 *   remove their own.
 *
 * So a free and reallocation racing with a call changes the generation
 * and the gate's CAS fails: the call is refused (-MAPLE_EPERM) and nothing
 * is written onto the new RRef. A transfer of several RRefs first takes
 * each one (BUSY for a move, one more borrow for a lend), undoing the
 * ones already taken if a later one is refused, and only then gives moved
 * ones to the callee; what a call has taken changes owner or generation
 * for no one else, so the undo and the commit cannot fail and no RRef is
 * ever seen half-moved. The gate reads and writes nothing but the
 * header's two words and this thread's continuations, all of which stay
 * mapped whatever an RRef's fate, so a race can make it refuse but never
 * fault.
 */
#include <domain/gate_layout.h>
#include <xheap/rref.h>

#define ARGS 4

static inline struct rref_header *header(uint64_t handle)
{
	uint64_t idx = RREF_HANDLE_INDEX(handle);
	if (!idx || idx >= RREF_MAX)
		return 0;
	return (struct rref_header *)RREF_TABLE_VA + idx;
}

static inline uint64_t load(const struct rref_header *h)
{
	return __atomic_load_n(&h->state, __ATOMIC_ACQUIRE);
}

static inline int cas(struct rref_header *h, uint64_t *expected, uint64_t desired)
{
	return __atomic_compare_exchange_n(&h->state, expected, desired, 0, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

/* Whether state s (just loaded) is the live RRef that handle names. The
 * payload cannot change without the state changing too, which the CAS
 * that follows would see. */
static inline int names(const struct rref_header *h, uint64_t s, uint64_t handle)
{
	uint32_t owner = rs_owner(s);
	return rs_gen(s) == RREF_HANDLE_GEN(handle) && owner != RS_OWNER_FREE &&
	       owner != RS_OWNER_NESTED && h->payload == RREF_HANDLE_PTR(handle);
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

static inline int moves(const struct continuation *c, int i)
{
	return (c->word & XCALL_MOVE(i)) != 0;
}

static inline int transfers(const struct continuation *c, int i)
{
	return (c->word & (XCALL_MOVE(i) | XCALL_BORROW(i))) != 0;
}

/* Take argument i for the call: BUSY if it moves, one more borrow if it
 * is lent. Returns whether it was the caller's to take. */
static int take(const struct continuation *c, int i)
{
	uint64_t handle = c->args[i];
	struct rref_header *h = header(handle);
	if (!h)
		return 0;
	uint64_t s = load(h);
	for (;;) {
		if (!names(h, s, handle) || (s & RS_BUSY))
			return 0;
		uint64_t next;
		if (moves(c, i)) {
			if (rs_owner(s) != c->caller || rs_borrows(s))
				return 0; /* someone else's, or lent out */
			next = s | RS_BUSY;
		} else {
			if (rs_owner(s) != c->caller && !on_loan(c, handle))
				return 0;
			next = s + RS_BORROW_ONE;
		}
		if (cas(h, &s, next))
			return 1;
	}
}

/* End one borrow of handle, if it is still the RRef borrowed. */
static void drop_borrow(uint64_t handle)
{
	struct rref_header *h = header(handle);
	if (!h)
		return;
	uint64_t s = load(h);
	while (rs_gen(s) == RREF_HANDLE_GEN(handle) && rs_borrows(s) &&
	       !cas(h, &s, s - RS_BORROW_ONE))
		;
}

/* Finish or undo a move this call took: only this call changes a BUSY
 * header it set (the kernel frees one only when its owner is destroyed,
 * which cannot happen while the owner's thread runs here). */
static void settle_move(uint64_t handle, uint64_t new_owner)
{
	struct rref_header *h = header(handle);
	uint64_t s = load(h);
	while (rs_gen(s) == RREF_HANDLE_GEN(handle) && (s & RS_BUSY) &&
	       !cas(h, &s, RS_STATE(new_owner, rs_gen(s))))
		;
}

/* Give back what arguments 0..n-1 took. */
static void undo(const struct continuation *c, int n)
{
	for (int j = 0; j < n; j++) {
		if (!transfers(c, j))
			continue;
		if (moves(c, j))
			settle_move(c->args[j], c->caller);
		else
			drop_borrow(c->args[j]);
	}
}

/*
 * Before the call: every RRef the word names must be a root the caller
 * owns (or, to lend it on, one it holds on loan), and a moved one must not
 * be lent out or moving already; no RRef may appear twice, and none may
 * be both moved and lent. All of them
 * move and are lent, or none. Returns 0 or -MAPLE_EPERM.
 */
long gate_rref_in(struct continuation *c)
{
	for (int i = 0; i < ARGS; i++) {
		if ((c->word & XCALL_MOVE(i)) && (c->word & XCALL_BORROW(i)))
			return -MAPLE_EPERM; /* moved or lent, not both */
		for (int j = 0; j < i && transfers(c, i); j++)
			if (transfers(c, j) &&
			    RREF_HANDLE_INDEX(c->args[j]) == RREF_HANDLE_INDEX(c->args[i]))
				return -MAPLE_EPERM; /* the same RRef twice */
	}
	for (int i = 0; i < ARGS; i++)
		if (transfers(c, i) && !take(c, i)) {
			undo(c, i);
			return -MAPLE_EPERM;
		}
	for (int i = 0; i < ARGS; i++)
		if (moves(c, i))
			settle_move(c->args[i], c->callee);
	return 0;
}

/*
 * After the call: end the borrows, and move a returned RRef to the caller
 * if the callee owns it and neither lends nor moves it. Returns the result
 * to hand the caller.
 */
long gate_rref_out(struct continuation *c, long result)
{
	for (int i = 0; i < ARGS; i++)
		if (c->word & XCALL_BORROW(i))
			drop_borrow(c->args[i]);
	if (!(c->word & XCALL_RESULT_RREF) || result <= 0)
		return result;
	uint64_t handle = (uint64_t)result;
	struct rref_header *h = header(handle);
	if (!h)
		return -MAPLE_EPERM;
	uint64_t s = load(h);
	do {
		if (!names(h, s, handle) || rs_owner(s) != c->callee || rs_borrows(s) ||
		    (s & RS_BUSY))
			return -MAPLE_EPERM;
	} while (!cas(h, &s, RS_STATE(c->caller, rs_gen(s))));
	return result;
}
