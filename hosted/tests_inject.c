/*
 * The hosted tests of the fault campaign's injection (inject.c, faults.c),
 * run by `maple-hosted test` like the others (tests.c): every strike kind
 * reaches the domain's own code and fails it exactly as the VM's `inject`
 * would, its caller gets -MAPLE_ECALLEE and runs on; and the flips land
 * where the seed says, one bit each, without leaving a page writable.
 * On xa -> xb -> xc (test/xa/xa.h), the domains that run hosted today.
 * Then teardown's rules on rogue: a strike or flip aimed at a domain never
 * reaches the next one in its slot.
 */
#define _GNU_SOURCE
#include "faults.h"
#include "gate.h"
#include "gatepage.h"
#include "inject.h"
#include "runtime.h"
#include "tests.h"

#include <bench/fault_campaign.h>
#include <domain/gate_layout.h>
#include <idl/rogue_methods.h>
#include <idl/xa_methods.h>
#include <idl/xb_methods.h>
#include <maple/abi.h>
#include <test/rogue/watch_cases.h>

#include <stdio.h>
#include <string.h>

#define WHY 512

/* Instruction lengths in gate.S's stubs (gate_fault_*), for where each
 * redirect faults: movabs $imm64, %rax is REX.W B8 io (10 bytes), xorl
 * %ecx, %ecx is 31 C9 (2), movq (%rax), %rax is 48 8B 00 (3). */
#define MOVABS 10
#define XORL   2
#define MOVQ   3

/* The failure a strike of this kind must cause, as entry.c words it. */
static void expected(int kind, char *out, size_t len)
{
	const struct gatepage *gp = runtime_gatepage();
	uint64_t at = gp->fault[kind < FAULT_KILL ? kind - FAULT_PF : 0] - MAPLE_GATE_VA;
	switch (kind) {
	case FAULT_PF: /* movq 0, %rax */
		snprintf(out, len, "SIGSEGV (SEGV_MAPERR) at gate+%#lx, address 0",
			 (unsigned long)at);
		break;
	case FAULT_GP: /* a non-canonical address: #GP, which Linux reports as SI_KERNEL */
		snprintf(out, len, "SIGSEGV (SI_KERNEL) at gate+%#lx, address 0",
			 (unsigned long)(at + MOVABS));
		break;
	case FAULT_UD:
		snprintf(out, len, "SIGILL at gate+%#lx", (unsigned long)at);
		break;
	case FAULT_DE:
		snprintf(out, len, "SIGFPE at gate+%#lx", (unsigned long)(at + XORL));
		break;
	case FAULT_PK: /* a read of the domain table (TRUSTED); without keys it is
			  allowed, and the ud2 after it fails the domain instead */
		if (htest_keys())
			snprintf(out, len,
				 "SIGSEGV (SEGV_PKUERR, key %d) at gate+%#lx, address %#lx",
				 PKEY_TRUSTED, (unsigned long)(at + MOVABS),
				 (unsigned long)GATE_DOMTAB_VA);
		else
			snprintf(out, len, "SIGILL at gate+%#lx",
				 (unsigned long)(at + MOVABS + MOVQ));
		break;
	default:
		snprintf(out, len, "killed to test recovery");
	}
}

/*
 * xb struck while idle; xa.chain(1) then enters xb's code, takes the
 * strike and xb fails with exactly the expected reason; xa gets
 * -MAPLE_ECALLEE (its chain passes the error back unchanged), xb stays
 * failed (a second chain gets -MAPLE_EDEAD), xb's code is executable again,
 * and the runtime holds its own rights with no continuation left.
 */
static int run_strike(int kind, char *why, size_t len)
{
	struct hosted_domain xa, xb, xc;
	if (htest_start("xa", 1, &xa, why, len) < 0 || htest_start("xb", 2, &xb, why, len) < 0 ||
	    htest_start("xc", 3, &xc, why, len) < 0)
		return -1;
	if (inject_strike(hgate_handle(&xb), kind, why, len) < 0)
		return -1;
	const long a[4] = {1, 0, 0, 0};
	char got[WHY], want[WHY], reason[WHY] = "";
	uint64_t ns;
	htest_outcome(&xa, xa.methods[Xa_chain_METHOD], a, got, sizeof got);
	snprintf(want, sizeof want, "xa returned -%d", MAPLE_ECALLEE);
	if (strcmp(got, want)) {
		snprintf(why, len, "xa.chain(1) with xb struck (%s): %.200s, want '%s'",
			 fault_kind_names[kind], got, want);
		return -1;
	}
	expected(kind, want, sizeof want);
	if (!inject_failed(hgate_handle(&xb), &ns, reason, sizeof reason) || strcmp(reason, want)) {
		snprintf(why, len, "xb failed with '%.200s', want '%.200s'", reason, want);
		return -1;
	}
	if (hgate_state(&xb) != GATE_DOMAIN_FAILED || hgate_state(&xa) != GATE_DOMAIN_RUNNING) {
		snprintf(why, len, "states: xa %lu, xb %lu; want %d and %d",
			 (unsigned long)hgate_state(&xa), (unsigned long)hgate_state(&xb),
			 GATE_DOMAIN_RUNNING, GATE_DOMAIN_FAILED);
		return -1;
	}
	if (inject_snapshot(&xb, why, len) < 0)
		return -1;
	if (!inject_page_is(xb.methods[Xb_chain_METHOD], FAULT_FLIP_CODE)) {
		snprintf(why, len, "xb's code at +%#lx is not executable again after the strike",
			 (unsigned long)(xb.methods[Xb_chain_METHOD] - xb.base));
		return -1;
	}
	htest_outcome(&xa, xa.methods[Xa_chain_METHOD], a, got, sizeof got);
	snprintf(want, sizeof want, "xa returned -%d", MAPLE_EDEAD);
	if (strcmp(got, want)) {
		snprintf(why, len, "xa.chain(1) again: %.200s, want '%s'", got, want);
		return -1;
	}
	return htest_runtime_clean(why, len);
}

static int strike_pf(char *why, size_t len)
{
	return run_strike(FAULT_PF, why, len);
}
static int strike_gp(char *why, size_t len)
{
	return run_strike(FAULT_GP, why, len);
}
static int strike_ud(char *why, size_t len)
{
	return run_strike(FAULT_UD, why, len);
}
static int strike_de(char *why, size_t len)
{
	return run_strike(FAULT_DE, why, len);
}
static int strike_pk(char *why, size_t len)
{
	return run_strike(FAULT_PK, why, len);
}
static int strike_kill(char *why, size_t len)
{
	return run_strike(FAULT_KILL, why, len);
}

#define SEED   12 /* the faults ci group's */
#define ROUNDS 8  /* flips of each kind */
#define FLIPS  (4 * ROUNDS)

struct flip {
	int kind;
	uint64_t off;
	unsigned bit;
};

/* One pass of flips of every kind in turn from seed SEED (as the
 * campaign makes them), recorded in out. */
static int flip_pass(struct hosted_domain *xb, struct flip *out, char *why, size_t len)
{
	const struct fault_params p = {.n = FLIPS, .seed = SEED};
	fault_seed(SEED);
	for (int i = 0; i < FLIPS; i++) {
		out[i].kind = FAULT_FLIP_CODE + i % 4;
		if (!faults_flip_in(xb, out[i].kind, &p, &out[i].off, &out[i].bit)) {
			snprintf(why, len, "flip %d (%s): nothing flipped", i,
				 fault_kind_names[out[i].kind]);
			return -1;
		}
	}
	return 0;
}

/*
 * Flips of code, method entries, data and the live stack of xb from seed
 * SEED: the image afterwards is the one before with exactly the flipped
 * bits toggled, the code page's rights are r-x as before (never left
 * writable), and the same seed flips the same places in the same order:
 * a second pass puts every byte back, after which xb answers again.
 */
static int run_flips(char *why, size_t len)
{
	struct hosted_domain xb, xc;
	if (htest_start("xb", 1, &xb, why, len) < 0 || htest_start("xc", 2, &xc, why, len) < 0)
		return -1;
	static struct flip first[FLIPS], second[FLIPS];
	static uint8_t want[1 << 20];
	const uint8_t *image = (const uint8_t *)xb.base;
	if (xb.span > sizeof want) {
		snprintf(why, len, "xb spans %lu bytes, more than this test keeps",
			 (unsigned long)xb.span);
		return -1;
	}
	memcpy(want, image, xb.span);
	if (flip_pass(&xb, first, why, len) < 0)
		return -1;
	for (int i = 0; i < FLIPS; i++)
		if (first[i].kind != FAULT_FLIP_STACK)
			want[first[i].off] ^= (uint8_t)(1u << first[i].bit);
	for (uint64_t k = 0; k < xb.span; k++)
		if (image[k] != want[k]) {
			snprintf(why, len, "xb+%#lx is %#x after the flips, want %#x",
				 (unsigned long)k, image[k], want[k]);
			return -1;
		}
	if (inject_snapshot(&xb, why, len) < 0)
		return -1;
	if (!inject_page_is(xb.methods[0], FAULT_FLIP_CODE) ||
	    inject_page_is(xb.methods[0], FAULT_FLIP_DATA)) {
		snprintf(why, len, "xb's code page is %s after the flips, want r-x",
			 inject_page_is(xb.methods[0], FAULT_FLIP_DATA) ? "writable"
									: "not executable");
		return -1;
	}
	if (flip_pass(&xb, second, why, len) < 0)
		return -1;
	for (int i = 0; i < FLIPS; i++)
		if (first[i].off != second[i].off || first[i].bit != second[i].bit) {
			snprintf(why, len,
				 "seed %d: flip %d (%s) at +%#lx bit %u, then at +%#lx bit %u",
				 SEED, i, fault_kind_names[first[i].kind],
				 (unsigned long)first[i].off, first[i].bit,
				 (unsigned long)second[i].off, second[i].bit);
			return -1;
		}
	for (int i = 0; i < FLIPS; i++)
		if (first[i].kind != FAULT_FLIP_STACK)
			want[first[i].off] ^= (uint8_t)(1u << first[i].bit);
	if (memcmp(image, want, xb.span)) {
		snprintf(why, len, "xb's image differs after every flip was made twice");
		return -1;
	}
	char got[WHY];
	static const long none[4];
	htest_outcome(&xb, xb.methods[Xb_null_METHOD], none, got, sizeof got);
	if (strcmp(got, "xb returned 0")) {
		snprintf(why, len, "xb.null after the flips: %.200s, want 'xb returned 0'", got);
		return -1;
	}
	return htest_runtime_clean(why, len);
}

/* What inject_fault answers for a refused fetch of xb's code at ip, as
 * the fault handler would ask it (SEGV_ACCERR, the address the RIP). */
static enum inject_take refused_fetch(uint64_t ip)
{
	ucontext_t uc;
	siginfo_t si;
	memset(&uc, 0, sizeof uc);
	memset(&si, 0, sizeof si);
	si.si_signo = SIGSEGV;
	si.si_code = SEGV_ACCERR;
	si.si_addr = (void *)ip;
	uc.uc_mcontext.gregs[REG_RIP] = (greg_t)ip;
	return inject_fault(&uc, &si);
}

/*
 * A fetch refused while the runtime had taken execution from xb's code
 * (a flip's write, or a strike given back by inject_cancel) but handled
 * after the rights came back is run again, once: a second refusal at the
 * same place is the domain's own fault. Before, both were the domain's
 * own at once: a campaign thread flipping a code page membdev was running
 * failed it with SEGV_ACCERR (20 of 2000 faults of seed 5), which the
 * campaign then counted as the flip's crash.
 */
static int run_refused_fetch(char *why, size_t len)
{
	struct hosted_domain xb, xc;
	if (htest_start("xb", 1, &xb, why, len) < 0 || htest_start("xc", 2, &xc, why, len) < 0)
		return -1;
	uint64_t ip = xb.methods[Xb_null_METHOD];
	const uint8_t *code = (const uint8_t *)ip;
	uint8_t before = *code;
	if (inject_flip(hgate_handle(&xb), ip, 0, why, len) < 0 ||
	    inject_flip(hgate_handle(&xb), ip, 0, why, len) < 0)
		return -1;
	enum inject_take first = refused_fetch(ip), second = refused_fetch(ip);
	if (*code != before || first != INJECT_RETRY || second != INJECT_NOT_OURS) {
		snprintf(why, len,
			 "after a flip of xb's code page (byte %#x, was %#x): %d then %d, want run "
			 "again (%d) then xb's own (%d)",
			 *code, before, first, second, INJECT_RETRY, INJECT_NOT_OURS);
		return -1;
	}
	if (inject_strike(hgate_handle(&xb), FAULT_KILL, why, len) < 0)
		return -1;
	inject_cancel();
	first = refused_fetch(ip);
	second = refused_fetch(ip);
	if (first != INJECT_RETRY || second != INJECT_NOT_OURS) {
		snprintf(why, len,
			 "after a strike on xb given back: %d then %d, want run again (%d) then "
			 "xb's own (%d)",
			 first, second, INJECT_RETRY, INJECT_NOT_OURS);
		return -1;
	}
	/* And xb's code runs: the cancel gave its rights back. */
	char got[WHY];
	static const long none[4];
	htest_outcome(&xb, ip, none, got, sizeof got);
	if (strcmp(got, "xb returned 0")) {
		snprintf(why, len,
			 "xb.null after the strike was cancelled: %.200s, want 'xb "
			 "returned 0'",
			 got);
		return -1;
	}
	return htest_runtime_clean(why, len);
}

/* ---- teardown: a strike or flip never reaches a successor in the slot ---- */

/* A strike that outlived its call (the callee returned through the gate
 * before it fetched a struck page; the campaign's, armed as membdev's call
 * ends) is dropped when its domain is destroyed: the next domain in the
 * slot, at the same addresses, runs with no strike left. Before (seen),
 * the strike stayed armed over the new domain's pages, and giving it back
 * later would have put the old domain's rights on them. */
static int run_strike_outlived(char *why, size_t len)
{
	struct hosted_domain *r = htest_create("rogue", why, len);
	if (!r)
		return -1;
	char err[160];
	if (inject_strike(hgate_handle(r), FAULT_KILL, err, sizeof err) < 0)
		return htest_fail(why, len, "cannot strike rogue: %s", err);
	unsigned id = r->id;
	if (htest_leak_check(why, len) < 0)
		return -1;
	struct hosted_domain *next = htest_create("rogue", why, len);
	if (!next)
		return -1;
	char got[WHY], want[64];
	const long busy[4] = {ROGUE_W_BUSY, 0, 0, 0};
	htest_outcome(next, next->methods[Rogue_run_METHOD], busy, got, sizeof got);
	snprintf(want, sizeof want, "rogue returned %d", ROGUE_W_DONE);
	if (next->id != id || strcmp(got, want) || inject_armed())
		return htest_fail(why, len,
				  "the next rogue (id %u, was %u): '%.200s', strike %s; want '%s', "
				  "none armed",
				  next->id, id, got, inject_armed() ? "armed" : "gone", want);
	return htest_leak_check(why, len);
}

/* The lines of /proc/self/maps inside [lo, hi), in out; 0, or -1. */
static int slot_maps(uint64_t lo, uint64_t hi, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return -1;
	char line[512];
	size_t n = 0;
	out[0] = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx", &a, &b) == 2 && b > lo && a < hi && n < len)
			n += (size_t)snprintf(out + n, len - n, "%s", line);
	}
	fclose(f);
	return n < len ? 0 : -1;
}

/* rogue created and destroyed (the leak check destroys every domain), then
 * hello created in its slot: hello, with rogue's stale handle in *h; NULL
 * with why if hello did not get rogue's slot. The two tests below aim at
 * that stale handle. */
static struct hosted_domain *successor_of_rogue(uint64_t *h, char *why, size_t len)
{
	struct hosted_domain *r = htest_create("rogue", why, len);
	if (!r)
		return NULL;
	*h = hgate_handle(r);
	unsigned id = r->id;
	if (htest_leak_check(why, len) < 0)
		return NULL;
	struct hosted_domain *next = htest_create("hello", why, len);
	if (next && next->id != id) {
		htest_fail(why, len, "hello is in slot %u, not rogue's %u", next->id, id);
		return NULL;
	}
	return next;
}

/* A strike aimed at a domain that is destroyed, and its slot given to
 * the next domain, before the strike is armed (the campaign's thread, or
 * the call watchdog's when it struck, read the callee while the domain thread
 * ended the call and destroyed it): nothing is struck, and the successor's
 * pages keep their rights. Before (seen, the watchdog's strike), the strike
 * was armed on hello's code (the ranges read then are the successor's, the
 * key the old domain's), and with the same slot id hello's next fetch there
 * failed hello as timed out. */
static int run_strike_after_destroy(char *why, size_t len)
{
	uint64_t h;
	struct hosted_domain *next = successor_of_rogue(&h, why, len);
	if (!next)
		return -1;
	char before[4096], after[4096], err[160] = "", want[160];
	if (slot_maps(next->base, next->base + next->span, before, sizeof before) < 0)
		return htest_fail(why, len, "hello's maps are unreadable");
	int rc = inject_strike(h, FAULT_KILL, err, sizeof err);
	int armed = inject_armed();
	inject_cancel();
	if (slot_maps(next->base, next->base + next->span, after, sizeof after) < 0)
		return htest_fail(why, len, "hello's maps are unreadable");
	snprintf(want, sizeof want, "no domain has handle %#lx: nothing struck", (unsigned long)h);
	if (rc != -1 || strcmp(err, want) || armed || strcmp(before, after))
		return htest_fail(
			why, len,
			"strike %d '%s', %s; hello's maps before:\n%safter:\n%swant -1 '%s', "
			"none armed, the maps unchanged",
			rc, err, armed ? "armed" : "none armed", before, after, want);
	return htest_leak_check(why, len);
}

/* The same for a bit flip (the fault campaign's thread flips while the
 * domain thread may destroy the instance and create the next in the
 * slot): nothing is flipped in the successor. Before (seen), hello's first
 * code byte was flipped, its page made writable with the old key. */
static int run_flip_after_destroy(char *why, size_t len)
{
	uint64_t h;
	struct hosted_domain *next = successor_of_rogue(&h, why, len);
	if (!next)
		return -1;
	uint8_t *code = (uint8_t *)next->entry, was = *code;
	char err[160] = "", want[160];
	int rc = inject_flip(h, next->entry, 0, err, sizeof err);
	snprintf(want, sizeof want, "no domain has handle %#lx: nothing flipped", (unsigned long)h);
	if (rc != -1 || strcmp(err, want) || *code != was)
		return htest_fail(why, len,
				  "flip %d '%s', hello's entry's byte %#x, was %#x; want -1 '%s', "
				  "the byte kept",
				  rc, err, *code, was, want);
	return htest_leak_check(why, len);
}

const struct hosted_named_test inject_tests[HOSTED_INJECT_TESTS] = {
	{"inject-pf-fails-the-struck-callee-and-its-caller-gets-ecallee", strike_pf, NULL},
	{"inject-gp-fails-the-struck-callee-and-its-caller-gets-ecallee", strike_gp, NULL},
	{"inject-ud-fails-the-struck-callee-and-its-caller-gets-ecallee", strike_ud, NULL},
	{"inject-de-fails-the-struck-callee-and-its-caller-gets-ecallee", strike_de, NULL},
	{"inject-pk-fails-the-struck-callee-and-its-caller-gets-ecallee", strike_pk, NULL},
	{"inject-kill-fails-the-struck-callee-and-its-caller-gets-ecallee", strike_kill, NULL},
	{"inject-flips-land-where-the-seed-says-one-bit-each", run_flips, NULL},
	{"inject-a-fetch-refused-while-the-runtime-changed-rights-runs-again-once",
	 run_refused_fetch, NULL},
	{"strike-does-not-outlive-its-domain", run_strike_outlived, NULL},
	{"strike-at-a-destroyed-domain-leaves-its-successors-pages", run_strike_after_destroy,
	 NULL},
	{"flip-at-a-destroyed-domain-leaves-its-successors-pages", run_flip_after_destroy, NULL},
};
