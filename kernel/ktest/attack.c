/*
 * In-guest tests from the outside attack review (rogue/attack_cases.h):
 * each reproduces a hole a hostile domain could use against another and
 * asserts the safe outcome, exactly, with no leaks (ktest_run_counted).
 */
#include <core/domain.h>
#include <core/ktest.h>
#include <ktest/counted.h>
#include <rogue/attack_cases.h>
#include <rogue/cases.h>

#define WAIT_NS 30000000000ULL /* only stops a hang */

static struct domain *rogue(struct ktest_ctx *t)
{
	char err[128];
	struct domain *d = domain_create("rogue", err, sizeof err);
	if (!d)
		ktest_fail(t, __FILE__, __LINE__, "create rogue: %s", err);
	return d;
}

static void destroy(struct domain *d)
{
	char err[96];
	if (d)
		domain_destroy(domain_handle(d), err, sizeof err);
}

/*
 * A callee may not end the thread its caller called it on: SYS_THREAD_EXIT
 * from inside another domain's call is refused with -MAPLE_EPERM, which the
 * callee hands back as its result, so the caller's call returns normally.
 * Before the fix the kernel popped every continuation down to the thread's
 * first upcall: the caller's frames were abandoned mid-call (with whatever
 * locks they held) and the kernel's domain_call into the caller came back
 * with 0, a result the caller never returned. A domain ending its own
 * upcall, with no other domain's call on the thread, still may (0).
 */
static void callee_ends_callers_thread(struct ktest_ctx *t)
{
	struct domain *caller = rogue(t), *callee = caller ? rogue(t) : NULL;
	if (!callee) {
		destroy(caller);
		return;
	}
	long nested = domain_call(caller, ROGUE_RUN, ROGUE_A_CALL_EXITER,
				  (long)domain_handle(callee), 0, 0);
	long own = domain_call(callee, ROGUE_RUN, ROGUE_A_EXIT_CALLERS_THREAD, 0, 0, 0);
	enum domain_state caller_state = caller->state, callee_state = callee->state;
	destroy(callee);
	destroy(caller);
	KT_ASSERT_EQ(nested, -MAPLE_EPERM);
	KT_ASSERT_EQ(own, 0);
	KT_ASSERT_EQ(caller_state, DOMAIN_RUNNING);
	KT_ASSERT_EQ(callee_state, DOMAIN_RUNNING);
}

KTEST(attack_callee_cannot_end_its_callers_thread)
{
	ktest_run_counted(t, "kt-atk-exit", callee_ends_callers_thread, WAIT_NS);
}
