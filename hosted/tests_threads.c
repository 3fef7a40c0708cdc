/*
 * maple-hosted's tests that need domain threads running at once
 * (tests_threads.h): the VM's ktests whose cases a domain's own threads
 * drive (kernel/ktest/rref_attacks.c's free-versus-move race, attack.c's
 * thread exit, gate.c's thread slots and second-thread stack race),
 * membdev's recovery while its crashes are made on another thread than
 * the workload's, a domain thread spinning in its own frame beside
 * honest calls, and one kicked out of its failed domain. Each asserts
 * the VM's outcome and ends with the leak check of tests_domains.c, which
 * waits for every domain thread to end.
 */
#define _GNU_SOURCE
#include "tests_threads.h"

#include "domains.h"
#include "entry.h"
#include "gate.h"
#include "inject.h"
#include "jump.h"
#include "loader.h"
#include "runtime.h"
#include "syscalls.h"
#include "tests.h"
#include "watchdog.h"

#include <domain/gate_layout.h>
#include <idl/bdclient_methods.h>
#include <idl/rogue_methods.h>
#include <idl/rref_evil_methods.h>
#include <idl/victim_methods.h>
#include <maple/abi.h>
#include <test/bdclient/bdclient.h>
#include <test/rogue/attack3_cases.h>
#include <test/rogue/attack_cases.h>
#include <test/rogue/cases.h>
#include <test/rogue/gate_cases.h>
#include <test/rogue/watch_cases.h>
#include <test/rrefs/evil.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WHY	     512
#define RACE_ROUNDS  5000	   /* rref_attacks.c's */
#define RACE_NS	     2000000000L   /* rref_attacks.c's: 5000 rounds or 2 s */
#define RACE_WAIT_NS 8000000000ull /* inside the hosted test's 10 s */
#define POLL_NS	     10000000ull   /* rref_attacks.c's RACE_POLL_NS */
#define THREAD_STEP  16		   /* gate.c's: each call well inside the watchdog */
#define CRASHES	     6		   /* pf gp ud de pk by console inject, then a strike */
#define WAIT_CRASH   5000000000ull /* for membdev to serve before each crash */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void nap(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_nsec = (long)(ns % 1000000000ull)};
	nanosleep(&ts, NULL);
}

/* d's method m(a0..a3) as an upcall: 0 with *r, or -1 with why. */
static int call(struct hosted_domain *d, unsigned m, long a0, long a1, long a2, long a3, long *r,
		char *why, size_t len)
{
	const long a[4] = {a0, a1, a2, a3};
	char f[WHY];
	fflush(stdout);
	if (entry_upcall(d, d->methods[m], a, r, f, sizeof f) < 0)
		return htest_fail(why, len, "%s.%u failed: %.300s", d->name, m, f);
	return 0;
}

/*
 * kernel/ktest/rref_attacks.c's chaos_free_versus_move: two threads of
 * rref_evil one race, one moving an RRef to two while the other frees it
 * and allocates again, for 5000 rounds or 2 s; every round exactly one
 * wins, the reallocation is one's own, nothing faults in the gate:
 * race_result is EV_PASSED and one runs on. The runtime polls race_result
 * meanwhile, an upcall into one beside its two threads.
 */
static int run_free_versus_move(char *why, size_t len)
{
	struct hosted_domain *one = htest_create("rref_evil", why, len);
	struct hosted_domain *two = one ? htest_create("rref_evil", why, len) : NULL;
	long started, r = 0;
	if (!two || call(one, RrefEvil_run_METHOD, EV_FREE_VS_MOVE, (long)hgate_handle(two),
			 RACE_ROUNDS, RACE_NS, &started, why, len) < 0)
		return -1;
	uint64_t deadline = now_ns() + RACE_WAIT_NS;
	while (started == 0 && !r && now_ns() < deadline) {
		nap(POLL_NS);
		if (call(one, RrefEvil_race_result_METHOD, 0, 0, 0, 0, &r, why, len) < 0)
			return -1;
	}
	if (started != 0 || r != EV_PASSED || hgate_state(one) != GATE_DOMAIN_RUNNING)
		return htest_fail(why, len,
				  "run(free versus move) %ld, race_result %ld, one %s; want 0, %d, "
				  "one running",
				  started, r,
				  hgate_state(one) == GATE_DOMAIN_RUNNING ? "running" : "failed",
				  EV_PASSED);
	return htest_leak_check(why, len);
}

/*
 * kernel/ktest/attack.c's attack_callee_cannot_end_its_callers_thread
 * (cases 140, 141): a callee's SYS_THREAD_EXIT on the thread its caller
 * called it on is -MAPLE_EPERM (the callee hands it back, the caller's
 * call returns normally, the VM's line is logged); a domain ending its
 * own upcall, no other domain's call on the thread, may (0). Before:
 * SYS_THREAD_EXIT was -MAPLE_ENOSYS hosted ('rogue returned -38' both).
 */
static int run_thread_exit(char *why, size_t len)
{
	struct hosted_domain *caller = htest_create("rogue", why, len);
	struct hosted_domain *callee = caller ? htest_create("rogue", why, len) : NULL;
	long nested, own;
	if (!callee || htest_capture_begin(why, len) < 0)
		return -1;
	int bad = call(caller, Rogue_run_METHOD, ROGUE_A_CALL_EXITER, (long)hgate_handle(callee), 0,
		       0, &nested, why, len) < 0 ||
		  call(callee, Rogue_run_METHOD, ROGUE_A_EXIT_CALLERS_THREAD, 0, 0, 0, &own, why,
		       len) < 0;
	htest_capture_end();
	if (bad)
		return -1;
	const char *line =
		"domain: rogue may not end its thread: another domain's call is in progress on it";
	if (nested != -MAPLE_EPERM || own != 0 || hgate_state(caller) != GATE_DOMAIN_RUNNING ||
	    hgate_state(callee) != GATE_DOMAIN_RUNNING || !htest_has_line(line))
		return htest_fail(why, len,
				  "nested exit %ld, own exit %ld, the line %s; want %d, 0, both "
				  "running and '%s'",
				  nested, own, htest_has_line(line) ? "logged" : "missing",
				  -MAPLE_EPERM, line);
	return htest_leak_check(why, len);
}

/*
 * kernel/ktest/gate.c's gate_thread_slots_run_out_with_eagain_and_come_back
 * (cases 22, 23, 24): rogue, its own thread limit lifted past the gate's
 * as the VM's test lifts it, creates sleeping threads until the thread
 * slots run out: every free slot becomes a live domain thread, the next
 * create is -MAPLE_EAGAIN, the runtime runs on, and every slot comes back
 * once they end. Before: each create made a thread that ran later, never
 * a slot, so none was refused. Under keys (here: in the PKU guest's
 * TCG), the runtime holds all but KEYED_FREE slots itself first: 255
 * sleepers each waking every 2 ms did not finish in the test's 10 s there,
 * with the threads at once too.
 */
#define KEYED_FREE 32
static int run_thread_slots(char *why, size_t len)
{
	struct hosted_domain *rogue = htest_create("rogue", why, len);
	if (!rogue)
		return -1;
	rogue->threads_max = 2 * GATE_MAX_THREADS;
	long held[GATE_MAX_THREADS];
	unsigned nheld = 0;
	while (htest_keys() && GATE_MAX_THREADS - hgate_slots_taken() > KEYED_FREE)
		if ((held[nheld++] = hgate_slot_take(why, len)) < 0)
			return -1;
	unsigned free_before = GATE_MAX_THREADS - hgate_slots_taken();
	long made = 0, step, err = 0, ended;
	do {
		if (call(rogue, Rogue_run_METHOD, ROGUE_GATE_THREADS, THREAD_STEP, 0, 0, &step, why,
			 len) < 0 ||
		    call(rogue, Rogue_run_METHOD, ROGUE_GATE_THREADS_ERR, 0, 0, 0, &err, why, len) <
			    0)
			return -1;
		made += step > 0 ? step : 0;
	} while (step == THREAD_STEP && !err && made <= GATE_MAX_THREADS);
	unsigned free_full = GATE_MAX_THREADS - hgate_slots_taken();
	if (call(rogue, Rogue_run_METHOD, ROGUE_GATE_THREADS_END, 0, 0, 0, &ended, why, len) < 0)
		return -1;
	hsys_run_threads();
	unsigned free_after = GATE_MAX_THREADS - hgate_slots_taken();
	while (nheld)
		hgate_slot_give_back((unsigned)held[--nheld]);
	if (made != (long)free_before || err != -MAPLE_EAGAIN || free_full || ended ||
	    free_after != free_before)
		return htest_fail(why, len,
				  "%u slots free, rogue made %ld threads, then %ld; %u free when "
				  "full, %u after; want %u made, %d, 0 free, %u after",
				  free_before, made, err, free_full, free_after, free_before,
				  -MAPLE_EAGAIN, free_before);
	return htest_leak_check(why, len);
}

/*
 * kernel/ktest/attack3.c's attack3_a_caller_failing_inside_a_callee_
 * leaves_the_callee_whole (cases 160-162) and ..._a_failed_middle_domain_
 * returns_its_caller_an_error (163): a client calls the server's locked
 * work (1 s, holding the server's lock) again and again while a thread of
 * its own sleeps half that and panics it. The thread inside the server is
 * not unwound (the server is still running): the server finishes and
 * unlocks, and its next call, under a 2 s watchdog, runs; the client's
 * upcall fails with its panic (the VM's domain_call: -MAPLE_ECALLEE), or a
 * relay that called the client hears -MAPLE_ECALLEE and runs on.
 *
 * The panic must come while the first call is in the server: the sleeping
 * thread has half the work's time to wake and run. With the VM's 200 ms,
 * on a loaded host (load 6 to 13, or four busy loops beside this process
 * niced) the thread woke after the first call had returned and the client
 * called on until it did: '2 calls into the server' (7 once), in 1 of 20
 * runs. The gate refuses a failed caller's next call (gate_start), which
 * is what the one call counts; that was never the fault. The 1 ms call
 * after it has a 2 s budget for the same reason: a server whose lock
 * stayed held spins past any budget.
 */
#define HOLD_NS	  1000000000L
#define SHORT_NS  1000000L
#define BUDGET_MS 2000
#define PANIC	  "rogue failed: panicked: attack3: failing while a call of ours runs in the server"
static int die_inside_server(int relayed, char *why, size_t len)
{
	struct hosted_domain *server = htest_create("rogue", why, len);
	struct hosted_domain *client = server ? htest_create("rogue", why, len) : NULL;
	struct hosted_domain *relay = client && relayed ? htest_create("rogue", why, len) : NULL;
	if (!client || (relayed && !relay) || hwatch_start(0, why, len) < 0)
		return -1;
	uint64_t calls = hgate_calls(server), start = now_ns();
	char died[WHY], want[WHY];
	const long direct[4] = {ROGUE_X_CALL_AND_DIE, (long)hgate_handle(server), HOLD_NS, 0};
	const long relay_args[4] = {ROGUE_X_RELAY, (long)hgate_handle(client),
				    (long)hgate_handle(server), HOLD_NS};
	if (relay)
		htest_outcome(relay, relay->methods[Rogue_run_METHOD], relay_args, died,
			      sizeof died);
	else
		htest_outcome(client, client->methods[Rogue_run_METHOD], direct, died, sizeof died);
	uint64_t client_calls = hgate_calls(server) - calls, ms = (now_ns() - start) / 1000000;
	long finished, next;
	if (call(server, Rogue_run_METHOD, ROGUE_X_LOCKED_RESULT, 0, 0, 0, &finished, why, len) < 0)
		return -1;
	hwatch_set_budget_ms(BUDGET_MS);
	int bad = call(server, Rogue_run_METHOD, ROGUE_X_LOCKED_WORK, SHORT_NS, 0, 0, &next, why,
		       len);
	hwatch_set_budget_ms(0);
	if (bad < 0)
		return -1;
	if (relay)
		snprintf(want, sizeof want, "rogue returned %d", -MAPLE_ECALLEE);
	else
		snprintf(want, sizeof want, "%s", PANIC);
	if (strcmp(died, want) || client_calls != 1 || finished != ROGUE_X_DONE ||
	    next != ROGUE_X_DONE || hgate_state(client) != GATE_DOMAIN_FAILED ||
	    hgate_state(server) != GATE_DOMAIN_RUNNING ||
	    (relay && hgate_state(relay) != GATE_DOMAIN_RUNNING))
		return htest_fail(why, len,
				  "'%.200s' after %lu ms, %lu calls into the server, then %#lx and "
				  "%#lx, the client %s, the server %s, the relay %s; want '%s', 1, "
				  "%#x twice, the client failed and the server%s running",
				  died, (unsigned long)ms, (unsigned long)client_calls,
				  (unsigned long)finished, (unsigned long)next,
				  hgate_state(client) == GATE_DOMAIN_FAILED ? "failed" : "running",
				  hgate_state(server) == GATE_DOMAIN_RUNNING ? "running" : "failed",
				  !relay				      ? "absent"
				  : hgate_state(relay) == GATE_DOMAIN_RUNNING ? "running"
									      : "failed",
				  want, ROGUE_X_DONE, relay ? " and the relay" : "");
	return htest_leak_check(why, len);
}

static int run_die_inside_server(char *why, size_t len)
{
	return die_inside_server(0, why, len);
}

static int run_die_inside_server_relayed(char *why, size_t len)
{
	return die_inside_server(1, why, len);
}

/*
 * kernel/ktest/gate.c's chaos_calls_across_destroy_and_recreate (cases 25,
 * 26): two runtime threads, each with a thread slot of its own, call
 * rogue's hammer (40 lookups of victim and calls of its check() a round)
 * while this thread destroys and re-creates victim 300 times, every other
 * time after victim ran 1 ms. Every call answers 1, -MAPLE_EDEAD,
 * -MAPLE_ESRCH or -MAPLE_ECALLEE (hammer's rule), every destroy succeeds,
 * and calls reached a victim from both threads. Under keys (here: in the
 * PKU guest's TCG), 25 rounds: 300 did not finish in the test's 10 s
 * there, and 50, with the hammer threads at once beside the destroyer,
 * took 2.8 to 4.9 s alone and once did not finish beside a loaded host.
 */
#define CHAOS_ROUNDS	   300
#define CHAOS_ROUNDS_KEYED 25
#define HAMMER_CALLS	   40
#define RUNNING_NS	   1000000ull

struct hammer {
	struct hosted_domain *rogue;
	long slot;
	volatile int stop;
	long bad;     /* the first result hammer did not allow, or 0 */
	long rounds;  /* HAMMER_CALLS calls each */
	long reached; /* calls that returned the method's value */
	char why[WHY];
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	if (entry_thread_begin((unsigned)h->slot, h->why, sizeof h->why) < 0) {
		h->bad = -1;
		return NULL;
	}
	while (!h->stop && !h->bad) {
		long r, bad = 0;
		if (call(h->rogue, Rogue_run_METHOD, ROGUE_GATE_HAMMER, HAMMER_CALLS, 0, 0, &r,
			 h->why, sizeof h->why) < 0) {
			h->bad = -1;
			break;
		}
		if (r < 0 && call(h->rogue, Rogue_run_METHOD, ROGUE_GATE_HAMMER_BAD, 0, 0, 0, &bad,
				  h->why, sizeof h->why) == 0)
			h->bad = r == -1 && bad ? bad : r; /* else rogue itself failed */
		else if (r >= 0)
			h->reached += r;
		h->rounds++;
	}
	entry_thread_end();
	return NULL;
}

static int run_calls_across_destroy(char *why, size_t len)
{
	struct hosted_domain *rogue = htest_create("rogue", why, len);
	struct hosted_domain *victim = rogue ? htest_create("victim", why, len) : NULL;
	if (!victim)
		return -1;
	static struct hammer h[2];
	pthread_t t[2];
	for (int i = 0; i < 2; i++) {
		h[i] = (struct hammer){.rogue = rogue, .slot = hgate_slot_take(why, len)};
		if (h[i].slot < 0 || pthread_create(&t[i], NULL, hammer_thread, &h[i]))
			return htest_fail(why, len, "cannot start hammer thread %d", i);
	}
	int rounds = 0, want = htest_keys() ? CHAOS_ROUNDS_KEYED : CHAOS_ROUNDS;
	char err[160] = "";
	for (; rounds < want && !h[0].bad && !h[1].bad; rounds++) {
		if (hdom_destroy(hgate_handle(victim), err, sizeof err) < 0 ||
		    !(victim = htest_create("victim", err, sizeof err)))
			break;
		/* Every other round it runs a while, so calls reach it; the rest
		 * destroy it at once, while callers are still entering it. */
		if (rounds % 2)
			nap(RUNNING_NS);
	}
	h[0].stop = h[1].stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	if (rounds != want || h[0].bad || h[1].bad || !h[0].reached || !h[1].reached)
		return htest_fail(why, len,
				  "%d re-creations (%s), %ld and %ld rounds, %ld and %ld reached "
				  "victim, bad %ld (%s) and %ld (%s); want %d, some reached by "
				  "each, none bad",
				  rounds, err[0] ? err : "no error", h[0].rounds, h[1].rounds,
				  h[0].reached, h[1].reached, h[0].bad, h[0].why, h[1].bad,
				  h[1].why, want);
	return htest_leak_check(why, len);
}

/*
 * Under keys: a thread asleep (rogue's 16 sleepers, each a 2 ms
 * SYS_SLEEP_NS in a loop) keeps its signal stack the runtime's (key 0), so
 * a domain running meanwhile on another thread cannot rewrite the frame, C
 * frames and return addresses its handler left there: another rogue's store near the
 * top of the first sleeper's level-0 stack is SEGV_PKUERR with key 0, and
 * the word is unchanged. With the SHARED signal stacks before Linux 6.12's
 * frames (the stack left SHARED while its thread waited), the store landed.
 * (A jump at such a frame: tests_prove.c.)
 */
#define SLEEPERS 16
static int run_waiting_stack_is_the_runtimes(char *why, size_t len)
{
	struct hosted_domain *sleepy = htest_create("rogue", why, len);
	struct hosted_domain *writer = sleepy ? htest_create("rogue", why, len) : NULL;
	long made, ended;
	if (!writer ||
	    call(sleepy, Rogue_run_METHOD, ROGUE_GATE_THREADS, SLEEPERS, 0, 0, &made, why, len) < 0)
		return -1;
	nap(20000000); /* each has entered rogue and slept at least once */
	/* The first sleeper's slot: the runtime holds slot 0. */
	uint64_t target =
		SIGSTACKS_VA + (1ull << SIGSTACKS_SHIFT) + 4096 + ENTRY_SIGSTACK_BYTES - 64;
	uint64_t word = *(volatile uint64_t *)target;
	const long a[4] = {ROGUE_WRITE_DOMAIN, (long)target, 0, 0};
	char got[WHY], want[WHY];
	htest_outcome(writer, writer->methods[Rogue_run_METHOD], a, got, sizeof got);
	uint64_t after = *(volatile uint64_t *)target;
	if (call(sleepy, Rogue_run_METHOD, ROGUE_GATE_THREADS_END, 0, 0, 0, &ended, why, len) < 0)
		return -1;
	hsys_run_threads();
	snprintf(want, sizeof want,
		 "^rogue failed: SIGSEGV \\(SEGV_PKUERR, key 0\\) at rogue\\+0x[0-9a-f]+, address "
		 "%#lx$",
		 (unsigned long)target);
	if (made != SLEEPERS || !htest_matches(want, got) || after != word)
		return htest_fail(why, len,
				  "%ld sleepers; the store into the first one's signal stack: "
				  "'%.200s', the word %s; want %d, /%s/, unchanged",
				  made, got, after != word ? "written" : "unchanged", SLEEPERS,
				  want);
	return htest_leak_check(why, len);
}

/*
 * kernel/ktest/gate.c's gate_second_thread_rewriting_the_callers_stack_
 * gains_nothing (case 21): a second rogue thread, spinning in its own
 * frame, rewrites the eight words below the first's stack pointer at the
 * gate with the address of rogue_gate_hijacked (which, reached with raised
 * rights, would write victim's domain-table PKRU word and panic "hijacked")
 * while the first moves an RRef to xb and back RACE_CALLS times. Whatever
 * it hits is the caller's own: victim's domain-table entry is unchanged,
 * victim answers check() with 1, and rogue either returns how many calls
 * brought the RRef back or fails with its own rights, never hijacked (the
 * VM's test allows any failure of rogue but the hijack).
 *
 * The one failure the racer can cause here: where the gate clears vector
 * state (maple-hosted; the VM's gate keeps it and pushes nothing),
 * gate_resume's ZERO_VECTORS (a refused or unwound call's; one that
 * returns zeroes on the gate stack) runs after the WRPKRU back to rogue's
 * rights and on rogue's own stack, where it pushes %rax, %rcx, %rdx (popped back:
 * a rewritten %rax is a wrong result, not counted) and then MXCSR's 0x1f80
 * for its `ldmxcsr (%rsp)`. A racer that rewrites that word in between
 * makes the LDMXCSR load reserved bits: #GP, rogue's own thread fails in
 * the gate with rogue's rights, as it would loading that value itself. So
 * that failure is allowed at that instruction alone, found in the gate
 * page: the first `ldmxcsr (%rsp)` (0F AE 14 24) from gate_resume on. It
 * came once in about 30 runs beside two busy loops.
 *
 * Then rogue's racer spins on in its own frame of a failed domain, with
 * no system call: the failure kicks it (hgate_kick, as the VM's tick) and
 * it unwinds, so the leak check's destroy answers. Before the kick, the
 * destroy gave up after 2 s and the leak check waited for the thread for
 * ever ('did not finish in 10 s', 3 of 40 runs), so the test ended the
 * racer by its flag in rogue's image.
 *
 * Before, under keys, where domain threads took turns, the racer took the
 * turn at the caller's first yield and never gave it back: 'did not
 * finish in 10 s' (so the case was not ported).
 */
#define RACE_CALLS 3000 /* gate.c's */

/* The offset in the gate page of gate_resume's LDMXCSR, or 0 if none. */
static uint64_t resume_ldmxcsr(void)
{
	static const uint8_t ldmxcsr_rsp[4] = {0x0f, 0xae, 0x14, 0x24};
	const struct gatepage *gp = runtime_gatepage();
	const uint8_t *p = (const uint8_t *)MAPLE_GATE_VA;
	for (uint64_t off = gp->resume - MAPLE_GATE_VA; off + sizeof ldmxcsr_rsp <= gp->size; off++)
		if (!memcmp(p + off, ldmxcsr_rsp, sizeof ldmxcsr_rsp))
			return off;
	return 0;
}

static int run_stack_race(char *why, size_t len)
{
	struct hosted_domain *victim = htest_create("victim", why, len);
	struct hosted_domain *xb = victim ? htest_create("xb", why, len) : NULL;
	struct hosted_domain *rogue = xb ? htest_create("rogue", why, len) : NULL;
	if (!rogue)
		return -1;
	const volatile struct gate_domain *v =
		(const volatile struct gate_domain *)GATE_DOMTAB_VA + victim->id;
	/* What the VM's test compares of the entry (its counts move with the
	 * keeper thread's calls). */
	const uint64_t before[3] = {v->state, v->gen, v->pkru};
	const long a[4] = {ROGUE_GATE_STACK_RACE, (long)hgate_handle(xb), RACE_CALLS,
			   (long)&v->pkru};
	char got[WHY], own[96];
	long back = -1, intact = 0;
	htest_outcome(rogue, rogue->methods[Rogue_run_METHOD], a, got, sizeof got);
	const uint64_t after[3] = {v->state, v->gen, v->pkru};
	if (call(victim, Victim_check_METHOD, 0, 0, 0, 0, &intact, why, len) < 0)
		return -1;
	uint64_t at = resume_ldmxcsr();
	snprintf(own, sizeof own, "rogue failed: SIGSEGV (SI_KERNEL) at gate+%#lx, address 0",
		 (unsigned long)at);
	int returned = sscanf(got, "rogue returned %ld", &back) == 1;
	int same = !memcmp(before, after, sizeof before);
	if (!same || intact != 1 || !at ||
	    (strcmp(got, own) && (!returned || back < 0 || back > RACE_CALLS)))
		return htest_fail(why, len,
				  "'%.200s', victim's state, generation and PKRU %s, check() %ld; "
				  "want 0..%d calls back or '%s', them unchanged, 1",
				  got, same ? "unchanged" : "changed", intact, RACE_CALLS,
				  at ? own : "(no ldmxcsr (%rsp) after gate_resume)");
	return htest_leak_check(why, len);
}

/*
 * A domain thread spinning in its own frame (no deadline, no system call:
 * rogue's ROGUE_A_SPINNERS) holds nothing up: beside it, under a 2 s
 * budget, an honest call on this thread and one on a second runtime
 * thread with a slot of its own each run 40 ms of ROGUE_W_BUSY (a
 * SYS_CLOCK_NS each pass) and return its result, and the runtime's upcall
 * that ends the spinner answers. Before, under keys, where domain threads
 * took turns: 'did not finish in 10 s' (the runtime's first upcall waited
 * for the spinner's turn for ever), and a call that gave its turn up at a
 * system call spent its budget waiting for it. The budget is fifty times
 * the call's work: three busy threads share this host's two cores with
 * whatever else runs (a 200 ms budget timed an honest call out once,
 * ci/test on a host loaded to 13), and the turns' failure was a wait
 * without end, which any finite budget tells apart.
 */
#define SPIN_BUDGET_MS 2000
#define HONEST_NS      40000000L
/* One spinner in rogue `spinner` (*started: how many began), then, once it
 * has entered rogue, `other` running HONEST_NS of ROGUE_W_BUSY in rogue
 * `honest` on a thread of its own; 0, or -1 with why. */
static int spin_beside(struct hosted_domain *spinner, struct hosted_domain *honest, long *started,
		       struct htest_thread *other, char *why, size_t len)
{
	if (call(spinner, Rogue_run_METHOD, ROGUE_A_SPINNERS, 1, 0, 0, started, why, len) < 0)
		return -1;
	nap(20000000); /* the spinner has entered rogue */
	*other = (struct htest_thread){.d = honest,
				       .fn = honest->methods[Rogue_run_METHOD],
				       .a = {ROGUE_W_BUSY, HONEST_NS}};
	return htest_thread_start(other, why, len);
}

static int run_spinner_holds_off_nothing(char *why, size_t len)
{
	struct hosted_domain *spinner = htest_create("rogue", why, len);
	struct hosted_domain *honest = spinner ? htest_create("rogue", why, len) : NULL;
	long started, mine = 0, ended = -1;
	static struct htest_thread other;
	if (!honest || hwatch_start(0, why, len) < 0 ||
	    spin_beside(spinner, honest, &started, &other, why, len) < 0)
		return -1;
	hwatch_set_budget_ms(SPIN_BUDGET_MS);
	int bad = call(honest, Rogue_run_METHOD, ROGUE_W_BUSY, HONEST_NS, 0, 0, &mine, why, len);
	htest_thread_join(&other);
	hwatch_set_budget_ms(0);
	if (bad < 0 ||
	    call(spinner, Rogue_run_METHOD, ROGUE_A_SPINNERS_END, 0, 0, 0, &ended, why, len) < 0)
		return -1;
	hsys_run_threads();
	char done[64];
	snprintf(done, sizeof done, "rogue returned %d", ROGUE_W_DONE);
	if (started != 1 || mine != ROGUE_W_DONE || strcmp(other.got, done) || ended != 0 ||
	    hgate_state(honest) != GATE_DOMAIN_RUNNING)
		return htest_fail(why, len,
				  "%ld spinners; beside them %#lx here and '%.200s' on another "
				  "thread, then %ld from ending them; want 1, %#x, '%s', 0, honest "
				  "running",
				  started, (unsigned long)mine, other.got, ended, ROGUE_W_DONE,
				  done);
	return htest_leak_check(why, len);
}

/* Signal HWATCH_SIGNAL, as hgate_kick does, at every taken slot's thread. */
static void kick_every_slot(void)
{
	for (unsigned slot = 0; slot < GATE_MAX_THREADS; slot++) {
		uint64_t tt_va;
		pid_t tid = hgate_slot_tid(slot);
		if (tid && hgate_slot_conts(slot, &tt_va))
			syscall(SYS_tgkill, getpid(), tid, HWATCH_SIGNAL);
	}
}

/*
 * A domain thread spinning in its own code without a system call (rogue's
 * ROGUE_A_SPINNERS, no deadline) is unwound when its domain fails on
 * another thread, as the VM's kick and tick unwind it (hgate_kick,
 * entry.c's on_watchdog): the thread ends with the domain's first failure
 * reason, the line its next system call would have given ('hosted: rogue
 * failed in a thread: ...'), and the destroy that follows answers 0 at
 * once. The kick never unwinds an honest thread: while every slot's
 * thread is signalled for KICKS ms (the spinner's while its rogue still
 * runs, this one's in the runtime, where the signal waits for its next
 * upcall) an honest thread in another rogue runs ROGUE_W_BUSY to its end
 * and that rogue stays running. Before: the spinner never unwound, and
 * the destroy returned -110 (-MAPLE_ETIMEDOUT) after 2 s, rogue still
 * failed and the spinner still in it.
 */
#define KICKS	      20
#define KICK_BOUND_NS 1000000000ull /* well under the destroy's 2 s wait */
static int run_failed_spinner_is_kicked(char *why, size_t len)
{
	struct hosted_domain *spinner = htest_create("rogue", why, len);
	struct hosted_domain *honest = spinner ? htest_create("rogue", why, len) : NULL;
	long started = 0;
	static struct htest_thread other;
	if (!honest || htest_capture_begin(why, len) < 0)
		return -1;
	if (spin_beside(spinner, honest, &started, &other, why, len) < 0) {
		htest_capture_end();
		return -1;
	}
	for (int i = 0; i < KICKS; i++, nap(1000000))
		kick_every_slot();
	const long a[4] = {ROGUE_NULL_DEREF, 0, 0, 0};
	char got[WHY], err[160] = "", line[200];
	htest_outcome(spinner, spinner->methods[Rogue_run_METHOD], a, got, sizeof got);
	uint64_t t0 = now_ns();
	int rc = hdom_destroy(hgate_handle(spinner), err, sizeof err);
	uint64_t took = now_ns() - t0;
	htest_thread_join(&other);
	if (rc != 0) { /* the spinner is still in rogue: no thread end to wait for */
		htest_capture_end();
		return htest_fail(why, len, "destroy %d (%s) after %lu ms; want 0", rc, err,
				  (unsigned long)(took / 1000000));
	}
	hsys_run_threads();
	htest_capture_end();
	unsigned long at = 0;
	int n = 0;
	sscanf(got, "rogue failed: SIGSEGV (SEGV_MAPERR) at rogue+%lx, address 0%n", &at, &n);
	snprintf(line, sizeof line,
		 "hosted: rogue failed in a thread: SIGSEGV \\(SEGV_MAPERR\\) at rogue\\+%#lx, "
		 "address 0",
		 at);
	char done[64];
	snprintf(done, sizeof done, "rogue returned %d", ROGUE_W_DONE);
	if (started != 1 || !n || got[n] || took >= KICK_BOUND_NS || !htest_has_line(line) ||
	    strcmp(other.got, done) || hgate_state(honest) != GATE_DOMAIN_RUNNING)
		return htest_fail(
			why, len,
			"%ld spinners, '%.120s', destroy %d (%s) in %lu ms, the "
			"spinner's line %s, the honest thread '%.100s'; want 1, rogue's "
			"null dereference, 0 in under %llu ms, '%s', '%s', honest running",
			started, got, rc, err, (unsigned long)(took / 1000000),
			htest_has_line(line) ? "logged" : "missing", other.got,
			KICK_BOUND_NS / 1000000, line, done);
	return htest_leak_check(why, len);
}

/* membdev as the shadow runs it now, or NULL. */
static struct hosted_domain *driver(void)
{
	long ignored;
	return hgate_find("membdev", &ignored, NULL);
}

static long stat_of(struct hosted_domain *client, int which)
{
	char why[160];
	long r = -1;
	call(client, BdClient_stat_METHOD, which, 0, 0, 0, &r, why, sizeof why);
	return r;
}

/*
 * membdev's recovery (kernel/ktest/recovery.c) with its crashes made on
 * the runtime's thread while bdclient's workload runs on its own: the
 * console's inject (the gate's table sends membdev's next call to a fault
 * stub) for pf gp ud de pk, then a strike (inject_strike, the watchdog's
 * and the campaign's way: its code loses execute permission under the
 * running workload); each on a membdev that has served since it started.
 * The shadow restarts it each time and the workload sees nothing: 0
 * errors, 0 wrong, 0 unverifiable blocks, every block verified. Before,
 * no crash could land while the workload ran: it ran to completion on the
 * one thread, inside the call that started it.
 */
static int run_crashes_beside_the_workload(char *why, size_t len)
{
	struct hosted_domain *shadow = htest_create("bdev_shadow", why, len);
	struct hosted_domain *client = shadow ? htest_create("bdclient", why, len) : NULL;
	long r;
	if (!client || htest_capture_begin(why, len) < 0)
		return -1;
	if (call(client, BdClient_start_METHOD, 4096, 50, 0, 0, &r, why, len) < 0 || r != 0) {
		htest_capture_end();
		return r ? htest_fail(why, len, "bdclient.start: %ld", r) : -1;
	}
	unsigned done = 0;
	uint64_t last = 0;
	char err[160] = "";
	for (uint64_t deadline = now_ns() + WAIT_CRASH; done < CRASHES && now_ns() < deadline;) {
		struct hosted_domain *d = driver();
		/* Served since it started: past the replayed init and the
		 * retried request (driver_faults.c's driver_served), which is
		 * two calls when it writes: the submit and the shadow's
		 * read-back of it (docs/recovery.md, "End-to-end integrity"). */
		if (!d || hgate_handle(d) == last || hgate_state(d) != GATE_DOMAIN_RUNNING ||
		    hgate_calls(d) < 4) {
			nap(100000);
			continue;
		}
		last = hgate_handle(d);
		if (done < CRASHES - 1)
			hgate_inject(d, runtime_gatepage()->fault[done]);
		else if (inject_strike(last, FAULT_PF, err, sizeof err) < 0)
			break;
		done++;
		deadline = now_ns() + WAIT_CRASH;
	}
	hsys_run_threads();
	htest_capture_end();
	long errors = stat_of(client, BDC_ERRORS), lost = stat_of(client, BDC_LOST),
	     unverified = stat_of(client, BDC_UNVERIFIED), verified = stat_of(client, BDC_VERIFIED);
	char line[160];
	snprintf(line, sizeof line,
		 "\\[bdev_shadow\\] shadow BlockDevice: restarted membdev \\(restart %d\\), "
		 "replayed 1 calls",
		 CRASHES);
	if (done != CRASHES || errors || lost || unverified || verified < BDC_BLOCKS ||
	    !htest_has_line(line))
		return htest_fail(why, len,
				  "%u crashes (%s), the workload: %ld errors, %ld wrong, %ld "
				  "unverifiable, %ld verified, restart %d %s; want %d crashes, 0, "
				  "0, 0, %d verified and the restart line",
				  done, err[0] ? err : "armed", errors, lost, unverified, verified,
				  CRASHES, htest_has_line(line) ? "logged" : "missing", CRASHES,
				  BDC_BLOCKS);
	return htest_leak_check(why, len);
}

const struct hosted_named_test hosted_thread_tests[HOSTED_THREAD_TESTS] = {
	{"rref-free-versus-move-between-two-threads-of-one-domain", run_free_versus_move, NULL},
	{"attack-callee-cannot-end-its-callers-thread", run_thread_exit, NULL},
	{"gate-thread-slots-run-out-with-eagain-and-come-back", run_thread_slots, NULL},
	{"recovery-crashes-on-another-thread-beside-the-workload", run_crashes_beside_the_workload,
	 NULL},
	{"attack3-a-caller-failing-inside-a-callee-leaves-the-callee-whole", run_die_inside_server,
	 NULL},
	{"attack3-a-failed-middle-domain-returns-its-caller-an-error",
	 run_die_inside_server_relayed, NULL},
	{"chaos-calls-across-destroy-and-recreate", run_calls_across_destroy, NULL},
	{"threads-a-waiting-threads-signal-stack-is-the-runtimes",
	 run_waiting_stack_is_the_runtimes, "isolation"},
	{"threads-a-spinning-domain-thread-holds-off-no-call", run_spinner_holds_off_nothing, NULL},
	{"gate-second-thread-rewriting-the-callers-stack-gains-nothing", run_stack_race, NULL},
	{"threads-a-failed-domains-spinning-thread-is-kicked-out", run_failed_spinner_is_kicked,
	 NULL},
};
