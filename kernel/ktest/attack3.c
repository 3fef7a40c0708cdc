/*
 * In-guest tests from the attack3 review (test/rogue/attack3_cases.h): a
 * domain that fails while its thread runs inside a domain it does not own
 * must neither take that domain down with it, nor go on calling it, nor
 * hand its own caller a result. Each asserts the exact outcome, with no
 * leaks (ktest_run_counted).
 */
#include <domain/domain.h>
#include <domain/gate.h>
#include <domain/watchdog.h>
#include <ktest/counted.h>
#include <ktest/ktest.h>
#include <test/rogue/attack3_cases.h>
#include <test/rogue/cases.h>

#define WAIT_NS	  60000000000ULL /* only stops a hang */
#define HOLD_NS	  200000000ULL	 /* the server's locked work in the client's call */
#define BUDGET_MS 500		 /* the watchdog, for the server's next call */
#define SHORT_NS  1000000ULL	 /* that call's locked work */

static uint64_t calls_into(const struct domain *d)
{
	return __atomic_load_n(&gate_domtab(d->id)->calls, __ATOMIC_ACQUIRE);
}

/*
 * A client fails (another of its threads panics) while its call runs
 * inside a server, holding the server's lock; `relay`, when not NULL,
 * called the client. The server's work must run to its end: its lock is
 * released, and its next caller is served (ROGUE_X_DONE). The client,
 * which calls the server for as long as it is served, is refused its next
 * call, so the server saw exactly one call from it; and whoever called the
 * client (the kernel, or relay through the gate) gets -MAPLE_ECALLEE, not
 * the result the failed client went on to return.
 *
 * Before the fix the kernel unwound the thread out of the server at the
 * client's failure, mid-method: the server's lock stayed held for ever,
 * so its next call spun on it until the watchdog failed the server
 * (finished was ROGUE_X_PENDING, next -MAPLE_ETIMEDOUT): any client could
 * take down any server it could call, by dying in it.
 */
static void die_inside_server(struct ktest_ctx *t, bool relayed)
{
	unsigned domains = ktest_domains_alive();
	struct domain *server = ktest_create(t, "rogue"),
		      *client = server ? ktest_create(t, "rogue") : NULL,
		      *relay = client && relayed ? ktest_create(t, "rogue") : NULL;
	if (!client || (relayed && !relay)) {
		ktest_destroy(client);
		ktest_destroy(server);
		return;
	}
	uint64_t calls = calls_into(server);
	long died = relay ? domain_call(relay, Rogue_run_METHOD, ROGUE_X_RELAY,
					(long)domain_handle(client), (long)domain_handle(server),
					(long)HOLD_NS)
			  : domain_call(client, Rogue_run_METHOD, ROGUE_X_CALL_AND_DIE,
					(long)domain_handle(server), (long)HOLD_NS, 0);
	uint64_t client_calls = calls_into(server) - calls;
	long finished = domain_call(server, Rogue_run_METHOD, ROGUE_X_LOCKED_RESULT, 0, 0, 0);
	uint64_t old = watchdog_set_budget_ms(BUDGET_MS);
	long next =
		domain_call(server, Rogue_run_METHOD, ROGUE_X_LOCKED_WORK, (long)SHORT_NS, 0, 0);
	watchdog_set_budget_ms(old);
	enum domain_state client_state = client->state, server_state = server->state;
	enum domain_state relay_state = relay ? relay->state : DOMAIN_RUNNING;
	uint64_t server_failures = server->failures;
	int relay_gone = ktest_destroy(relay), client_gone = ktest_destroy(client),
	    server_gone = ktest_destroy(server);
	KT_ASSERT_EQ(relay_gone, 0);
	KT_ASSERT_EQ(client_gone, 0);
	KT_ASSERT_EQ(server_gone, 0);
	KT_ASSERT_EQ(died, -MAPLE_ECALLEE);
	KT_ASSERT_EQ(client_calls, 1);
	KT_ASSERT_EQ(client_state, DOMAIN_FAILING);
	KT_ASSERT_EQ(relay_state, DOMAIN_RUNNING);
	KT_ASSERT_EQ(finished, ROGUE_X_DONE);
	KT_ASSERT_EQ(next, ROGUE_X_DONE);
	KT_ASSERT_EQ(server_state, DOMAIN_RUNNING);
	KT_ASSERT_EQ(server_failures, 0);
	KT_ASSERT_EQ(ktest_domains_alive(), domains);
}

static void kernel_calls_client(struct ktest_ctx *t)
{
	die_inside_server(t, false);
}

static void domain_calls_client(struct ktest_ctx *t)
{
	die_inside_server(t, true);
}

KTEST(attack3_a_caller_failing_inside_a_callee_leaves_the_callee_whole)
{
	ktest_run_counted(t, "kt-atk3-die", kernel_calls_client, WAIT_NS);
}

/* The same through the gate: relay -> client -> server, the client fails. */
KTEST(attack3_a_failed_middle_domain_returns_its_caller_an_error)
{
	ktest_run_counted(t, "kt-atk3-mid", domain_calls_client, WAIT_NS);
}
