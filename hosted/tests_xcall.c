/*
 * maple-hosted's tests of calls between domains through the real gate
 * (tests_xcall.h): hello alone, the VM's nested chain, a callee's fault
 * or 32-bit mode unwound to its caller, the call depth bound, vector
 * state (x87, SSE and AVX-512 registers, their control words, AMX's tile
 * configuration) and the signal stack keeping nothing across a call or an
 * upcall, the XCR0 the runtime refuses for it, a domain's unmasked
 * floating-point exceptions staying in it, calls from two threads at once
 * each counted;
 * then the RRef cases of the VM's kernel/ktest/rrefs.c and
 * rref_attacks.c on the same domains. tests.c runs each in a child of
 * its own.
 */
#define _GNU_SOURCE
#include "tests_xcall.h"

#include "entry.h"
#include "gate.h"
#include "loader.h"
#include "noavx512.h"
#include "tests.h"
#include "tests_domains.h"

#include <domain/gate_layout.h>
#include <idl/hello_methods.h>
#include <idl/rogue_methods.h>
#include <idl/rref_a_methods.h>
#include <idl/rref_evil_methods.h>
#include <idl/xa_methods.h>
#include <maple/abi.h>
#include <test/rogue/attack4_cases.h>
#include <test/rogue/flags_cases.h>
#include <test/rogue/gate_cases.h>
#include <test/rogue/tiles_cases.h>
#include <test/rogue/watch_cases.h>
#include <test/rogue/wide_cases.h>
#include <test/rrefs/evil.h>
#include <test/rrefs/rrefs.h>
#include <xheap/rref.h>

#include <cpuid.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* hello alone: initialised with one method, greet(5) returns 5 + its id. */
int htest_hello(char *why, size_t len)
{
	struct hosted_domain hello;
	if (htest_start("hello", 1, &hello, why, len) < 0)
		return -1;
	if (hello.nmethods != 1) {
		snprintf(why, len, "hello exported %u methods, want 1", hello.nmethods);
		return -1;
	}
	return htest_hello_answers(&hello, why, len);
}

/* The VM's nested chain through the real gate: xa -> xb -> xc -> back into
 * xa (xa/xa.h): xa.chain(1) = 1118, the thread in xa twice. */
int htest_chain(char *why, size_t len)
{
	struct hosted_domain xa, xb, xc;
	if (htest_start("xa", 1, &xa, why, len) < 0 || htest_start("xb", 2, &xb, why, len) < 0 ||
	    htest_start("xc", 3, &xc, why, len) < 0)
		return -1;
	const long a[4] = {1, 0, 0, 0};
	char got[HTEST_WHY];
	htest_outcome(&xa, xa.methods[Xa_chain_METHOD], a, got, sizeof got);
	if (strcmp(got, "xa returned 1118")) {
		snprintf(why, len, "xa.chain(1): %.300s, want 'xa returned 1118'", got);
		return -1;
	}
	return htest_runtime_clean(why, len);
}

/*
 * A callee that fails mid-call (rogue 2 takes #UD with the trap flag set,
 * ROGUE_W_TF_FAULT) is unwound to its caller (rogue 1), which gets
 * -MAPLE_ECALLEE at gate_resume with its own rights and without the
 * callee's trap flag, and runs on (ROGUE_W_SURVIVED); the callee stays
 * failed (a new call gets -MAPLE_EDEAD from the gate) and the caller still
 * answers.
 */
int htest_unwind(char *why, size_t len)
{
	struct hosted_domain caller, callee;
	if (htest_start("rogue", 1, &caller, why, len) < 0 ||
	    htest_start("rogue", 2, &callee, why, len) < 0)
		return -1;
	char got[HTEST_WHY], want[64];
	const long call[4] = {ROGUE_W_CALL_TF_FAULT, (long)callee.id, 0, 0};
	uint64_t run = caller.methods[Rogue_run_METHOD];
	htest_outcome(&caller, run, call, got, sizeof got);
	snprintf(want, sizeof want, "rogue returned %d", ROGUE_W_SURVIVED);
	if (strcmp(got, want)) {
		snprintf(why, len, "rogue 1 calling rogue 2's #UD: %.300s, want '%s'", got, want);
		return -1;
	}
	if (hgate_state(&callee) != GATE_DOMAIN_FAILED ||
	    hgate_state(&caller) != GATE_DOMAIN_RUNNING) {
		snprintf(why, len, "states after the fault: caller %lu, callee %lu; want %d and %d",
			 (unsigned long)hgate_state(&caller), (unsigned long)hgate_state(&callee),
			 GATE_DOMAIN_RUNNING, GATE_DOMAIN_FAILED);
		return -1;
	}
	htest_outcome(&caller, run, call, got, sizeof got);
	snprintf(want, sizeof want, "rogue returned -%d", MAPLE_EDEAD);
	if (strcmp(got, want)) {
		snprintf(why, len, "calling the failed rogue 2 again: %.300s, want '%s'", got,
			 want);
		return -1;
	}
	return htest_runtime_clean(why, len);
}

/*
 * THE RULE (gate.S, RAISE_TO_GATE): no RFLAGS.AC crosses a call, either
 * way. Linux sets CR0.AM, so a domain's AC makes its misaligned accesses
 * SIGBUS. Rogue 1 sets AC and calls rogue 2, whose 8-byte load at an odd
 * address must read its value; and rogue 2 sets AC and returns, after
 * which rogue 1's own such load must too. Before (attack12) the gate left
 * RFLAGS alone: the caller's AC failed the callee (`rogue failed: SIGBUS ()
 * at rogue+0x5e60, address 0`, and rogue.run(481) returned -200,
 * -MAPLE_ECALLEE), and the callee's failed the caller (`rogue.0 failed:
 * SIGBUS () at rogue+0x5ea4, address 0`); the code is BUS_ADRALN, which
 * the runtime now names.
 */
int htest_flags(char *why, size_t len)
{
	static const struct {
		long number;
		const char *what;
	} cases[] = {{ROGUE_FL_CALL_WITH_AC, "a caller's AC reached its callee"},
		     {ROGUE_FL_CALL_GETS_AC, "a callee's AC reached its caller"}};
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hosted_domain *caller = htest_create("rogue", why, len);
		struct hosted_domain *callee = caller ? htest_create("rogue", why, len) : NULL;
		if (!callee)
			return -1;
		long r = 0;
		if (htest_call(caller, Rogue_run_METHOD, cases[i].number,
			       (long)hgate_handle(callee), 0, &r, why, len) < 0)
			return -1;
		if ((uint64_t)r != ROGUE_FL_VALUE)
			return htest_fail(why, len, "rogue.run(%ld) returned %#lx, want %#llx: %s",
					  cases[i].number, r, ROGUE_FL_VALUE, cases[i].what);
		if (hgate_state(callee) != GATE_DOMAIN_RUNNING)
			return htest_fail(why, len, "rogue.run(%ld): the callee failed",
					  cases[i].number);
		if (htest_leak_check(why, len) < 0)
			return -1;
	}
	return 0;
}

/* A chain of calls of rogue into itself past GATE_MAX_DEPTH is refused with
 * -MAPLE_EDEPTH, passed back up every level, and rogue runs on. */
int htest_depth(char *why, size_t len)
{
	struct hosted_domain rogue;
	if (htest_start("rogue", 1, &rogue, why, len) < 0)
		return -1;
	const long a[4] = {ROGUE_GATE_DEPTH, 0, 0, 0};
	char got[HTEST_WHY], want[64];
	htest_outcome(&rogue, rogue.methods[Rogue_run_METHOD], a, got, sizeof got);
	snprintf(want, sizeof want, "rogue returned -%d", MAPLE_EDEPTH);
	if (strcmp(got, want) || hgate_state(&rogue) != GATE_DOMAIN_RUNNING ||
	    hgate_calls(&rogue) < GATE_MAX_DEPTH) {
		snprintf(why, len,
			 "%.300s after %lu calls into rogue, state %lu; want '%s', at least %d "
			 "calls, running",
			 got, (unsigned long)hgate_calls(&rogue),
			 (unsigned long)hgate_state(&rogue), want, GATE_MAX_DEPTH);
		return -1;
	}
	return htest_runtime_clean(why, len);
}

/*
 * Calls counted from two threads at once: two runtime threads, each in a
 * thread slot of its own, start together and each has rogue call hello's
 * greet() through the gate, COUNT_CHUNK calls an upcall (ROGUE_GATE_COUNT),
 * until it has made COUNT_CALLS or COUNT_NS has passed. Every call is counted: hello's calls and
 * rogue's calls out grow by exactly the calls both threads made, rogue's calls by their upcalls.
 * Each thread counts its own calls in its own TRUSTED page (gate_layout.h), summed by hgate_calls;
 * the shared domain-table counters the gate incremented with LOCK lose counts without it (a run of
 * this test without the LOCK on them: gatecost2's commit message). Bounded by time too: each call
 * traps four times without keys (about 35 us each on an idle host here, 285 us at a load of 12),
 * and a loaded host must not make the test overrun its 10 s.
 */
#define COUNT_CHUNK 1000
#define COUNT_CALLS 20000
#define COUNT_NS    5000000000ull
struct counter {
	struct hosted_domain *rogue;
	uint64_t hello;
	long slot, made, upcalls, bad;
	char why[HTEST_WHY];
};
static int counters_go;

static uint64_t clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *count_calls(void *arg)
{
	struct counter *c = arg;
	if (entry_thread_begin((unsigned)c->slot, c->why, sizeof c->why) < 0) {
		c->bad = -1;
		return NULL;
	}
	while (!__atomic_load_n(&counters_go, __ATOMIC_ACQUIRE))
		;
	const long a[4] = {ROGUE_GATE_COUNT, COUNT_CHUNK, (long)c->hello, Hello_greet_METHOD};
	for (uint64_t end = clock_ns() + COUNT_NS;
	     !c->bad && c->made < COUNT_CALLS && clock_ns() < end; c->upcalls++) {
		long r;
		if (entry_upcall(c->rogue, c->rogue->methods[Rogue_run_METHOD], a, &r, c->why,
				 sizeof c->why) < 0)
			c->bad = -1;
		else if (r != COUNT_CHUNK)
			c->bad = r;
		else
			c->made += r;
	}
	entry_thread_end();
	return NULL;
}

int htest_counts(char *why, size_t len)
{
	struct hosted_domain rogue, hello;
	if (htest_start("rogue", 1, &rogue, why, len) < 0 ||
	    htest_start("hello", 2, &hello, why, len) < 0)
		return -1;
	uint64_t in = hgate_calls(&hello), out = hgate_calls_out(&rogue),
		 upcalls = hgate_calls(&rogue);
	static struct counter c[2];
	pthread_t t[2];
	for (int i = 0; i < 2; i++) {
		c[i] = (struct counter){.rogue = &rogue,
					.hello = hgate_handle(&hello),
					.slot = hgate_slot_take(why, len)};
		if (c[i].slot < 0 || pthread_create(&t[i], NULL, count_calls, &c[i])) {
			__atomic_store_n(&counters_go, 1, __ATOMIC_RELEASE);
			while (i--)
				pthread_join(t[i], NULL);
			return htest_fail(why, len, "cannot start counting thread %d", i);
		}
	}
	__atomic_store_n(&counters_go, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	in = hgate_calls(&hello) - in;
	out = hgate_calls_out(&rogue) - out;
	upcalls = hgate_calls(&rogue) - upcalls;
	uint64_t made = (uint64_t)(c[0].made + c[1].made);
	if (c[0].bad || c[1].bad || !c[0].made || !c[1].made || in != made || out != made ||
	    upcalls != (uint64_t)(c[0].upcalls + c[1].upcalls))
		return htest_fail(
			why, len,
			"two threads made %ld and %ld calls in %ld and %ld upcalls "
			"(bad %ld: %.100s; %ld: %.100s); hello counted %lu calls in, "
			"rogue %lu out and %lu upcalls in; want %lu, %lu and %ld, none bad",
			c[0].made, c[1].made, c[0].upcalls, c[1].upcalls, c[0].bad,
			c[0].bad ? c[0].why : "", c[1].bad, c[1].bad ? c[1].why : "",
			(unsigned long)in, (unsigned long)out, (unsigned long)upcalls,
			(unsigned long)made, (unsigned long)made, c[0].upcalls + c[1].upcalls);
	return htest_runtime_clean(why, len);
}

/*
 * The runtime leaves no AVX-512 state in use (noavx512.c), so the gate
 * finds none to zero: after glibc's string functions have run (the EVEX
 * ones, where glibc picks them, use %ymm16-31 and the opmask registers)
 * and the xa -> xb -> xc -> xa chain has crossed the gate, XINUSE's opmask and
 * %zmm16-31 bits are 0. Before noavx512.c they read 0xa0 on this host.
 */
int htest_no_avx512(char *why, size_t len)
{
	uint32_t xcr0 = hgate_xcr0();
	unsigned a, b, c, d;
	if ((xcr0 & XFEATURES_AVX512) != XFEATURES_AVX512 ||
	    !__get_cpuid_count(0xd, 1, &a, &b, &c, &d) || !(a & 4)) {
		snprintf(why, len, "this CPU or XCR0 (%#x) has no AVX-512 state or no XGETBV(1)",
			 xcr0);
		return HTEST_SKIP;
	}
	static char src[4096], dst[4096];
	volatile size_t n = sizeof src;
	memset(src, 'x', n - 1);
	memcpy(dst, src, n);
	size_t l = strlen(dst);
	struct hosted_domain xa, xb, xc;
	if (htest_start("xa", 1, &xa, why, len) < 0 || htest_start("xb", 2, &xb, why, len) < 0 ||
	    htest_start("xc", 3, &xc, why, len) < 0)
		return -1;
	const long one[4] = {1, 0, 0, 0};
	char out[HTEST_WHY];
	htest_outcome(&xa, xa.methods[Xa_chain_METHOD], one, out, sizeof out);
	uint32_t used = noavx512_in_use();
	if (used || l != n - 1 || strcmp(out, "xa returned 1118")) {
		snprintf(why, len,
			 "XINUSE's opmask and %%zmm16-31 bits read %#x after glibc's memset, "
			 "memcpy and strlen (%zu bytes) and xa.chain(1) through the gate (%.200s); "
			 "want 0, 4095 bytes and 'xa returned 1118'",
			 used, l, out);
		return -1;
	}
	return 0;
}

/*
 * Vector state crosses the gate in neither direction (gate.S's
 * ZERO_VECTORS at the callee's entry and at gate_resume, which the hosted
 * runtime turns on): rogue 1's %xmm and x87 registers are zero (and the
 * x87 ones empty) in rogue 2's method, and rogue 2's when rogue 1 is back,
 * whether rogue 2 returned or failed after loading them.
 */
int htest_vectors(char *why, size_t len)
{
	struct hosted_domain one, two;
	if (htest_start("rogue", 1, &one, why, len) < 0 ||
	    htest_start("rogue", 2, &two, why, len) < 0)
		return -1;
	static const struct {
		long number, a2;
		const char *want;
	} steps[] = {
		{ROGUE_H_VECTORS_LEAVE, 0, "rogue returned 0"},
		{ROGUE_H_VECTORS_CALLBACK, ROGUE_H_VECTORS_SET, "rogue returned 0"},
		{ROGUE_H_VECTORS_CALLBACK, ROGUE_H_VECTORS_SET_FAIL, "rogue returned 0"},
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		const long a[4] = {steps[i].number, (long)two.id, steps[i].a2, 0};
		char got[HTEST_WHY];
		htest_outcome(&one, one.methods[Rogue_run_METHOD], a, got, sizeof got);
		if (strcmp(got, steps[i].want)) {
			snprintf(why, len, "rogue 1 run(%ld, rogue 2, %ld): '%.300s', want '%s'",
				 steps[i].number, steps[i].a2, got, steps[i].want);
			return -1;
		}
	}
	if (hgate_state(&two) != GATE_DOMAIN_FAILED) {
		snprintf(why, len, "rogue 2 state %lu after its ud2, want %d",
			 (unsigned long)hgate_state(&two), GATE_DOMAIN_FAILED);
		return -1;
	}
	return htest_runtime_clean(why, len);
}

/* One step of rogue 1's (a), which must give `rogue returned 0`: 0, or -1
 * with why. */
static int state_step(struct hosted_domain *one, struct hosted_domain *two, const long a[4],
		      char *why, size_t len)
{
	char got[HTEST_WHY];
	htest_outcome(one, one->methods[Rogue_run_METHOD], a, got, sizeof got);
	if (!strcmp(got, "rogue returned 0"))
		return 0;
	snprintf(why, len,
		 "rogue 1 run(%ld, rogue 2, %ld, %ld): '%.300s', want 'rogue returned 0' "
		 "(rogue 2 is id %u)",
		 a[0], a[2], a[3], got, two->id);
	return -1;
}

/* State `kind` (wide_cases.h) crosses nothing: rogue 1 finds none as an
 * upcall, rogue 2 none of rogue 1's, rogue 1 none of what rogue 2 left
 * returning or failing; rogue 2 failed after. */
static int state_crosses_nothing(long kind, char *why, size_t len)
{
	struct hosted_domain one, two;
	if (htest_start("rogue", 1, &one, why, len) < 0 ||
	    htest_start("rogue", 2, &two, why, len) < 0)
		return -1;
	const long steps[][4] = {
		{ROGUE_Z_PEEK, 0, kind, 0},
		{ROGUE_Z_LEAVE, (long)two.id, kind, 0},
		{ROGUE_Z_CALLBACK, (long)two.id, ROGUE_Z_SET, kind},
		{ROGUE_Z_CALLBACK, (long)two.id, ROGUE_Z_SET_FAIL, kind},
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		if (state_step(&one, &two, steps[i], why, len) < 0)
			return -1;
	if (hgate_state(&two) != GATE_DOMAIN_FAILED) {
		snprintf(why, len, "rogue 2 state %lu after its ud2, want %d",
			 (unsigned long)hgate_state(&two), GATE_DOMAIN_FAILED);
		return -1;
	}
	return htest_runtime_clean(why, len);
}

/*
 * AMX's tile configuration crosses no call: rogue 1 loads one (LDTILECFG,
 * which Linux lets any thread run) and calls rogue 2, which finds the
 * initial configuration (STTILECFG: 0); and rogue 2 loads one and returns,
 * and rogue 1 finds none, also when rogue 2 fails after loading it (the
 * unwinding restores rogue 2's state from its signal frame, gate_resume
 * releases it). Before, ZERO_VECTORS left TILECFG alone: `rogue
 * returned 4503651167502340` (ROGUE_T_SECRET, tiles_cases.h) both ways.
 * SKIP where the CPU or Linux has no AMX (the PKU guest's TCG).
 */
int htest_tiles(char *why, size_t len)
{
	unsigned a = 0, b = 0, c = 0, d = 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24)) ||
	    !(hgate_xcr0() & XFEATURE_TILECFG)) {
		snprintf(why, len, "no AMX here: CPUID.7.0:EDX bit 24 %s, XCR0 %#lx",
			 d & (1u << 24) ? "set" : "clear", (unsigned long)hgate_xcr0());
		return HTEST_SKIP;
	}
	struct hosted_domain one, two;
	if (htest_start("rogue", 1, &one, why, len) < 0 ||
	    htest_start("rogue", 2, &two, why, len) < 0)
		return -1;
	static const long cases[] = {ROGUE_T_LEAVE, ROGUE_T_CALLBACK};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const long args[4] = {cases[i], (long)two.id, 0, 0};
		char got[HTEST_WHY];
		htest_outcome(&one, one.methods[Rogue_run_METHOD], args, got, sizeof got);
		if (strcmp(got, "rogue returned 0")) {
			snprintf(why, len,
				 "rogue 1 run(%ld, rogue 2): '%.300s', want 'rogue returned 0'",
				 cases[i], got);
			return -1;
		}
	}
	const long fail[4] = {ROGUE_Z_CALLBACK, (long)two.id, ROGUE_Z_SET_FAIL, ROGUE_Z_TILES};
	return state_step(&one, &two, fail, why, len) < 0 ? -1 : htest_runtime_clean(why, len);
}

/*
 * AVX-512 state crosses no call and no upcall: rogue 1 finds nothing in
 * %zmm0-31 or %k0-7 as an upcall (the runtime's glibc keeps copies in
 * %ymm16-31 on such CPUs; at VECTORS_AVX: `rogue returned
 * 9187193145752289279`, 0x7f7f7f7f7f7f7f7f); rogue 1 fills them with
 * ROGUE_Z_SECRET and calls rogue 2, which finds nothing; rogue 2 fills
 * them and returns, or fails, and rogue 1 finds nothing. The vector test
 * above reads only what FXSAVE shows (%xmm and x87). SKIP where XCR0
 * enables no AVX-512.
 */
int htest_wide(char *why, size_t len)
{
	if ((hgate_xcr0() & XFEATURES_AVX512) != XFEATURES_AVX512) {
		snprintf(why, len, "no AVX-512 here: XCR0 %#lx", (unsigned long)hgate_xcr0());
		return HTEST_SKIP;
	}
	return state_crosses_nothing(ROGUE_Z_ZMM, why, len);
}

/*
 * The x87 and SSE control and status words and the x87 pointers cross no
 * call and no upcall, as the same steps with ROGUE_Z_CONTROL: a rounding
 * mode, MXCSR's sticky exception flags (whether the other side divided by
 * zero) and the address of the other side's last x87 load and of its
 * data. The vector test above reads none of them.
 */
int htest_control(char *why, size_t len)
{
	return state_crosses_nothing(ROGUE_Z_CONTROL, why, len);
}

/*
 * The runtime refuses a CPU whose XCR0 enables a state component
 * ZERO_VECTORS does not zero (hgate_vectors_covered): APX's %r16-31 (bit
 * 19, which Linux 6.16 and later turn on where the CPU has it) and any
 * component above bit 31, added to this CPU's XCR0; AMX without
 * VECTORS_INUSE as before; and it accepts this CPU's XCR0 and MPX's and
 * PKRU's bits, which carry nothing (MPX's instructions are NOPs while
 * BNDCFGU.EN is 0). Before, hgate_init checked only AMX: an XCR0 with
 * APX passed, and its registers would have crossed every call.
 */
#define XFEATURE_APX  0x80000ull
#define XFEATURE_HIGH (1ull << 40)
int htest_xcr0_refused(char *why, size_t len)
{
	const uint64_t here = hgate_xcr0();
	static const char unknown[] = "XCR0 %#lx enables state components %#lx that the gate "
				      "does not zero (gate_layout.h, ZERO_VECTORS): a domain's "
				      "registers there would cross every call";
	const struct {
		uint64_t xcr0, level;
		uint64_t left; /* the components named, 0 for AMX's refusal */
		int want;
	} cases[] = {
		{here, VECTORS_INUSE, 0, 0},
		{XFEATURE_X87 | XFEATURE_SSE | XFEATURE_AVX | 0x18 | 0x200, VECTORS_AVX, 0, 0},
		{here | XFEATURE_APX, VECTORS_INUSE, XFEATURE_APX, -1},
		{here | XFEATURE_HIGH, VECTORS_INUSE, XFEATURE_HIGH, -1},
		{XFEATURE_X87 | XFEATURE_SSE | XFEATURES_AMX, VECTORS_AVX512, 0, -1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char got[HTEST_WHY] = "", want[HTEST_WHY] = "";
		int rc = hgate_vectors_covered(cases[i].xcr0, cases[i].level, got, sizeof got);
		if (cases[i].want && cases[i].left)
			snprintf(want, sizeof want, unknown, (unsigned long)cases[i].xcr0,
				 (unsigned long)cases[i].left);
		else if (cases[i].want)
			snprintf(want, sizeof want,
				 "XCR0 enables AMX (%#lx) but XGETBV cannot read XINUSE: the gate "
				 "could not release a domain's tile configuration",
				 (unsigned long)cases[i].xcr0);
		if (rc != cases[i].want || strcmp(got, want))
			return htest_fail(
				why, len, "XCR0 %#lx at level %lu: %d '%.200s'; want %d '%.200s'",
				(unsigned long)cases[i].xcr0, (unsigned long)cases[i].level, rc,
				got, cases[i].want, want);
	}
	return 0;
}

/*
 * A domain's floating-point exception masks stay in the domain: rogue
 * unmasks every exception in MXCSR and the x87 control word and returns;
 * the runtime then divides by zero in SSE and in x87 (with every
 * exception masked, as Linux starts a process: infinity, no signal). Had
 * it taken the domain's masks over, the division would fault in the
 * runtime's own code, which ends the process (an MXCSR of 0 loaded here
 * by hand: `FAIL the runtime died of SIGILL`, the fault handler's trap
 * for a fault outside domain code). An upcall ends
 * in a signal handler (its SYS_RETURN), which Linux enters with the
 * initial floating-point state and leaves by siglongjmp, which keeps it.
 */
int htest_unmasked_fp(char *why, size_t len)
{
	struct hosted_domain rogue;
	if (htest_start("rogue", 1, &rogue, why, len) < 0)
		return -1;
	const long a[4] = {ROGUE_Z_UNMASK, 0, 0, 0};
	char got[HTEST_WHY];
	htest_outcome(&rogue, rogue.methods[Rogue_run_METHOD], a, got, sizeof got);
	if (strcmp(got, "rogue returned 0"))
		return htest_fail(why, len, "rogue run(%d): '%.300s', want 'rogue returned 0'",
				  ROGUE_Z_UNMASK, got);
	volatile double zero = 0.0;
	volatile long double x87_zero = 0.0L;
	volatile double sse = 1.0 / zero;
	volatile long double x87 = 1.0L / x87_zero;
	if (sse != __builtin_inf() || x87 != __builtin_infl())
		return htest_fail(why, len, "1/0 is %g in SSE and %Lg in x87 after rogue, want inf",
				  (double)sse, (long double)x87);
	return htest_runtime_clean(why, len);
}

/*
 * A callee that fails in 32-bit mode (a far jump to Linux's __USER32_CS,
 * then a fault at address 0) is unwound to its caller in the caller's own
 * 64-bit mode: rogue 1 gets -MAPLE_ECALLEE (it ran on to its SYS_RETURN),
 * rogue 2 stays failed.
 */
int htest_compat(char *why, size_t len)
{
	struct hosted_domain one, two;
	if (htest_start("rogue", 1, &one, why, len) < 0 ||
	    htest_start("rogue", 2, &two, why, len) < 0)
		return -1;
	char got[HTEST_WHY], want[64];
	const long call[4] = {ROGUE_H_CALL, (long)two.id, ROGUE_H_COMPAT, 0};
	htest_outcome(&one, one.methods[Rogue_run_METHOD], call, got, sizeof got);
	snprintf(want, sizeof want, "rogue returned -%d", MAPLE_ECALLEE);
	if (strcmp(got, want) || hgate_state(&two) != GATE_DOMAIN_FAILED) {
		snprintf(why, len,
			 "rogue 1 calling rogue 2's jump to 32-bit mode: '%.300s', rogue 2 state "
			 "%lu; want '%s', %d",
			 got, (unsigned long)hgate_state(&two), want, GATE_DOMAIN_FAILED);
		return -1;
	}
	return htest_runtime_clean(why, len);
}

/* The RRef cases of the VM's kernel/ktest/rrefs.c, named as its ktests,
 * through the same domains: rref_a drives rref_b (and through it rref_c). */
static const struct {
	const char *name;
	long rcase;
} rref_tests[] = {
	{"rref-move-gives-the-callee-ownership", RCASE_MOVE},
	{"rref-gate-refuses-an-rref-the-caller-does-not-own", RCASE_NOT_OWNER},
	{"rref-borrow-keeps-ownership-and-ends-with-the-call", RCASE_BORROW},
	{"rref-result-moves-to-the-caller", RCASE_RESULT},
	{"rref-borrowed-rref-returns-when-the-borrower-crashes", RCASE_CRASH_BORROW},
	{"rref-nested-children-move-with-their-parent", RCASE_NESTED},
	{"rref-borrowed-rref-can-be-lent-on-but-not-moved", RCASE_LEND_ON},
	{"rref-borrowed-rref-is-lent-on-across-three-domains", RCASE_LEND_ON_3},
	{"rref-failed-domain-rrefs-are-reclaimed", RCASE_KEEP_SOME},
};

/* The cases of kernel/ktest/rref_attacks.c that need neither threads nor
 * a heap of the domain's own (SYS_HEAP_GROW, which EV_QUOTA's malloc
 * needs, is the VM's alone), on two rref_evil instances. */
struct evil_test {
	const char *name;
	long ev, a, b;
};
static const struct evil_test evil_tests[] = {
	{"rref-nesting-past-the-bound-is-edepth", EV_NEST_CHAIN, 0, 0},
	{"rref-nesting-counts-the-childs-whole-subtree", EV_NEST_WHOLE, 0, 0},
	{"rref-stale-handle-after-free-and-realloc-is-refused", EV_STALE, 0, 0},
	{"rref-info-on-another-domains-rref-is-eperm", EV_INFO_PERM, 0, 0},
	/* rref_quota_is_equota_and_the_domain_runs_on: it needs malloc (SYS_HEAP_GROW). */
	{"rref-quota-is-equota-and-the-domain-runs-on", EV_QUOTA, RREF_DEFAULT_HEADERS,
	 RREF_DEFAULT_BYTES},
};

static uint64_t live_rrefs(void)
{
	struct rref_stats s;
	rref_get_stats(&s);
	return s.live;
}

/*
 * rref_a.run(rcase) with rref_b and rref_c loaded returns 1 (every check
 * it made held), and removing rref_b reclaims whatever it kept (for
 * RCASE_KEEP_SOME exactly 8: 1, a box of 4 and its box, 2 more), as at the
 * VM's destroy; once the three are gone no RRef is left.
 */
static int run_rref(long rcase, char *why, size_t len)
{
	struct hosted_domain a, b, c;
	if (htest_start("rref_b", 1, &b, why, len) < 0 ||
	    htest_start("rref_a", 2, &a, why, len) < 0 ||
	    htest_start("rref_c", 3, &c, why, len) < 0)
		return -1;
	const long arg[4] = {rcase, 0, 0, 0};
	char got[HTEST_WHY];
	htest_outcome(&a, a.methods[RrefA_run_METHOD], arg, got, sizeof got);
	if (strcmp(got, "rref_a returned 1")) {
		snprintf(why, len, "rref_a.run(%ld): %.300s, want 'rref_a returned 1'", rcase, got);
		return -1;
	}
	uint64_t held = live_rrefs();
	hgate_remove(&b);
	uint64_t after_b = live_rrefs();
	hgate_remove(&a);
	hgate_remove(&c);
	/* Only rref_b keeps RRefs past a case (RCASE_NOT_OWNER's, the kept 8). */
	if ((rcase == RCASE_KEEP_SOME && held != 8) || after_b || live_rrefs()) {
		snprintf(
			why, len,
			"live RRefs: %lu after the case%s, %lu once rref_b is gone, %lu at the end "
			"(want 0 and 0)",
			(unsigned long)held, rcase == RCASE_KEEP_SOME ? " (want 8)" : "",
			(unsigned long)after_b, (unsigned long)live_rrefs());
		return -1;
	}
	return htest_runtime_clean(why, len);
}

/*
 * rref_evil one's run(case, two's handle, a, b) returns EV_PASSED (every
 * exact outcome it checked held), one still runs, and when both are gone
 * no RRef is left.
 */
static int run_evil(const struct evil_test *t, char *why, size_t len)
{
	struct hosted_domain one, two;
	if (htest_start("rref_evil", 1, &one, why, len) < 0 ||
	    htest_start("rref_evil", 2, &two, why, len) < 0)
		return -1;
	const long arg[4] = {t->ev, (long)two.id, t->a, t->b};
	char got[HTEST_WHY], want[64];
	htest_outcome(&one, one.methods[RrefEvil_run_METHOD], arg, got, sizeof got);
	snprintf(want, sizeof want, "rref_evil returned %d", EV_PASSED);
	if (strcmp(got, want)) {
		snprintf(why, len, "rref_evil.run(%ld): %.300s, want '%s'", t->ev, got, want);
		return -1;
	}
	uint64_t state = hgate_state(&one);
	hgate_remove(&one);
	hgate_remove(&two);
	if (state != GATE_DOMAIN_RUNNING || live_rrefs()) {
		snprintf(why, len,
			 "after the case: state %lu (want %d), %lu RRefs left once both are gone "
			 "(want 0)",
			 (unsigned long)state, GATE_DOMAIN_RUNNING, (unsigned long)live_rrefs());
		return -1;
	}
	return htest_runtime_clean(why, len);
}

#define NRREF (sizeof rref_tests / sizeof rref_tests[0])
#define NEVIL (sizeof evil_tests / sizeof evil_tests[0])

const char *hosted_rref_case_name(unsigned i, const char **needs)
{
	*needs = NULL;
	return i < NRREF ? rref_tests[i].name : NULL;
}

int hosted_rref_case(unsigned i, char *why, size_t len)
{
	return run_rref(rref_tests[i].rcase, why, len);
}

const char *hosted_evil_case_name(unsigned i, const char **needs)
{
	*needs = NULL;
	return i < NEVIL ? evil_tests[i].name : NULL;
}

int hosted_evil_case(unsigned i, char *why, size_t len)
{
	return run_evil(&evil_tests[i], why, len);
}
