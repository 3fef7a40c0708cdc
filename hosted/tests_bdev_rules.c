/*
 * maple-hosted's tests of a client breaking a batch's rules
 * (domains/idl/bdev.idl) against bdev_shadow and its end-to-end checks
 * (drivers/block/bdev_shadow/bdev_check.c): rogue, as a client, sends the
 * batch (domains/test/rogue/blocks.c). The client gets a clean answer;
 * the shadow and membdev stay up, and no honest membdev is blamed or
 * restarted.
 */
#include "tests_bdev_rules.h"

#include "domains.h"
#include "gate.h"
#include "tests_domains.h"

#include <domain/gate_layout.h>
#include <idl/rogue_methods.h>
#include <maple/abi.h>
#include <test/rogue/blocks_cases.h>

#include <stdio.h>
#include <string.h>

/* Rogue runs case `number` against shadow (bdev_shadow, with its membdev)
 * once per entry of a2 (its third argument), results in r, with the output
 * captured; -1 with why. */
static int run_case_on(struct hosted_domain *shadow, long number, const long *a2, unsigned n,
		       long *r, char *why, size_t len)
{
	struct hosted_domain *rogue = htest_create("rogue", why, len);
	if (!rogue || htest_capture_begin(why, len) < 0)
		return -1;
	int bad = 0;
	for (unsigned i = 0; i < n && !bad; i++)
		bad = htest_call(rogue, Rogue_run_METHOD, number, (long)hgate_handle(shadow), a2[i],
				 &r[i], why, len) < 0;
	htest_capture_end();
	return bad ? -1 : 0;
}

/* run_case_on a new bdev_shadow. */
static int run_case(long number, const long *a2, unsigned n, long *r, char *why, size_t len)
{
	struct hosted_domain *shadow = htest_create("bdev_shadow", why, len);
	return shadow ? run_case_on(shadow, number, a2, n, r, why, len) : -1;
}

/* Both domains, shadow and its driver, still running, and no line saying
 * the shadow judged its driver wrong or restarted it; -1 with why. */
static int nobody_blamed_in(const char *shadow, const char *driver, char *why, size_t len)
{
	const char *const names[] = {shadow, driver};
	for (unsigned i = 0; i < 2; i++) {
		struct hosted_domain *d = htest_by_name(names[i]);
		if (!d || hgate_state(d) != GATE_DOMAIN_RUNNING)
			return htest_fail(why, len, "%s is %s, want running, in: %.300s", names[i],
					  d ? "not running" : "gone", htest_captured());
	}
	char judging[64];
	snprintf(judging, sizeof judging, "[%s] shadow BlockDevice: ", shadow);
	unsigned wrong = htest_count_lines(judging);
	if (wrong)
		return htest_fail(why, len,
				  "%u lines of the shadow judging or restarting %s, want 0: "
				  "%.300s",
				  wrong, driver, htest_captured());
	return 0;
}

/* nobody_blamed_in bdev_shadow and membdev. */
static int nobody_blamed(char *why, size_t len)
{
	return nobody_blamed_in("bdev_shadow", "membdev", why, len);
}

/* A new shadow_image, and the handle of the driver it made in *first;
 * NULL, with why, if either is missing. */
static struct hosted_domain *shadow_with_driver(const char *shadow_image, const char *driver,
						uint64_t *first, char *why, size_t len)
{
	struct hosted_domain *shadow = htest_create(shadow_image, why, len);
	struct hosted_domain *d = shadow ? htest_by_name(driver) : NULL;
	if (!d) {
		if (shadow)
			htest_fail(why, len, "%s made no %s", shadow_image, driver);
		return NULL;
	}
	*first = hgate_handle(d);
	return shadow;
}

/* 0 if driver is still the instance whose handle was first (no restart);
 * else -1 with why. */
static int driver_unchanged(const char *driver, uint64_t first, char *why, size_t len)
{
	struct hosted_domain *now = htest_by_name(driver);
	if (!now || hgate_handle(now) != first)
		return htest_fail(why, len,
				  "%s is handle %#lx after the case, want %#lx (no restart), "
				  "in: %.300s",
				  driver, now ? (unsigned long)hgate_handle(now) : 0UL,
				  (unsigned long)first, htest_captured());
	return 0;
}

/* run_case once (a2 0): it must return want, and nobody_blamed; -1 with
 * why. */
static int case_answers(long number, long want, char *why, size_t len)
{
	long r = 0;
	if (run_case(number, (const long[]){0}, 1, &r, why, len) < 0)
		return -1;
	if (r != want)
		return htest_fail(why, len, "rogue's case %ld returned %ld, want %ld, in: %.300s",
				  number, r, want, htest_captured());
	return nobody_blamed(why, len);
}

/*
 * The second slot of rogue's batch holds a handle whose payload address
 * is in the shared heap's window but in a chunk no RRef uses: a number
 * that merely points into the window. The read beside it is done (1), the
 * forged one skipped. Before, the shadow took the window for the heap and
 * read the request there: `bdev_shadow failed: page fault`, and rogue's
 * call -MAPLE_ECALLEE.
 */
int htest_bdev_unmapped_request(char *why, size_t len)
{
	if (case_answers(ROGUE_B_UNMAPPED, 1, why, len) < 0)
		return -1;
	return htest_leak_check(why, len);
}

/*
 * A batch may name each block once (bdev.idl; NVMe runs a queue's
 * commands in any order): a write of block 5, then a second write of it,
 * or a read of it. The shadow refuses the batch, -MAPLE_EINVAL, naming
 * both requests, before any driver sees it. Before, the honest membdev
 * did both in order, and the read's judging (or the read-back) against
 * the block's last write found it wrong: `bdev_check: block 5 reads wrong`,
 * `membdev (handle 0x2) answered submit wrongly; restarting it`, and both
 * batches came back 0 done, every request -EIO.
 */
int htest_bdev_block_twice(char *why, size_t len)
{
	long r[2] = {0, 0};
	if (run_case(ROGUE_B_TWICE, (const long[]){0, 1}, 2, r, why, len) < 0)
		return -1;
	if (r[0] != -MAPLE_EINVAL || r[1] != -MAPLE_EINVAL)
		return htest_fail(
			why, len,
			"a batch writing block %d then reading it returned %ld, writing it "
			"twice %ld; want -%d both, in: %.300s",
			ROGUE_B_BLOCK, r[0], r[1], MAPLE_EINVAL, htest_captured());
	unsigned refused = htest_count_lines(
		"[bdev_shadow] bdev_check: requests 0 and 1 both name block 5, and one writes it: "
		"the batch is refused (-EINVAL)");
	if (refused != 2)
		return htest_fail(why, len, "%u lines refusing the batches, want 2, in: %.300s",
				  refused, htest_captured());
	if (nobody_blamed(why, len) < 0)
		return -1;
	return htest_leak_check(why, len);
}

/*
 * A thread of rogue sizes the device anew, 60 times, between 16 blocks and
 * 8192, while rogue submits batches writing all 8192 (blocks_cases.h): a
 * batch the shadow read under one size is judged after another took its
 * place, or while the driver may have it. Every call gets an answer, the
 * shadow fails such a batch unjudged (at least once here), and blames no
 * one. Before, it judged the batch's blocks against the new table, past
 * its end: `hosted: bdev_shadow failed: panicked: free(0x10050000960): not
 * a heap block (foreign pointer or corrupt header)` (3 runs of 3), after
 * `request 0 (block 0) is valid but got status -22` and restarts.
 */
int htest_bdev_resize_race(char *why, size_t len)
{
	if (case_answers(ROGUE_B_RESIZE, 0, why, len) < 0)
		return -1;
	if (!htest_count_lines("[bdev_shadow] bdev_check: the device was sized anew during a "
			       "batch of 32 requests: they fail (-EIO), unjudged"))
		return htest_fail(why, len, "no batch met a new size, in: %.300s",
				  htest_captured());
	return htest_leak_check(why, len);
}

/*
 * A thread of rogue sizes the device 60 times, each time as it is, while
 * rogue writes all of it in batches (ROGUE_B_REINIT): the size never
 * changes, so every batch is done and judged, and no other client's batch
 * would fail for it. Before the count of inits on their way left out those
 * of the same size, batches judged meanwhile failed unjudged: rogue
 * returned 1048576 (a submit with 0 done, every request -EIO) in 1 run of
 * 4 (the window is the driver's init, microseconds): a guard, not proof.
 */
int htest_bdev_same_size_again(char *why, size_t len)
{
	if (case_answers(ROGUE_B_REINIT, 0, why, len) < 0)
		return -1;
	return htest_leak_check(why, len);
}

/*
 * A client's lent requests are its own shared memory: rogue rewrites them
 * from two threads of its own during each of its submits (200 and 300 ms
 * at least; every status set back to 1, a byte of every read's and
 * write's bytes changed), while another thread, a well-behaved client,
 * writes and reads back blocks of its own (ROGUE_B_REWRITE). The shadow hands membdev its own
 * copies and judges those, so the rewriting can spoil only rogue's own results: the same membdev
 * serves throughout (its handle unchanged, no line of the shadow judging or restarting it), and
 * every batch of the good client is done and reads back what it wrote. Before the shadow copied the
 * batch, membdev was blamed and restarted 20 to 119 times a run (5 runs of 5): `membdev is handle
 * 0x1a0002 after the case, want 0x2 (no restart)`, after `bdev_check: request 0 (block 0) is valid
 * but got status 1`.
 */
int htest_bdev_rewritten_requests(char *why, size_t len)
{
	uint64_t first = 0;
	struct hosted_domain *shadow =
		shadow_with_driver("bdev_shadow", "membdev", &first, why, len);
	if (!shadow)
		return -1;
	long r = 0;
	if (run_case_on(shadow, ROGUE_B_REWRITE, (const long[]){0}, 1, &r, why, len) < 0)
		return -1;
	if (r != 0)
		return htest_fail(why, len,
				  "rogue's case %d returned %ld (%#lx), want 0, in: %.300s",
				  ROGUE_B_REWRITE, r, (unsigned long)r, htest_captured());
	if (driver_unchanged("membdev", first, why, len) < 0 || nobody_blamed(why, len) < 0)
		return -1;
	return htest_leak_check(why, len);
}

/*
 * A client sizes the device 200 times, in turn 64 blocks and 16 (rogue
 * case 441), then writes a block: init is @resets, so each one that
 * succeeds takes the shadow's replay log in place of what it held, and
 * every init and the write succeed. Before, the log of 64 filled: rogue's
 * case returned -12 (the 64th init's -MAPLE_ENOMEM, and every later init
 * of any client failed the same way).
 */
int htest_bdev_inits_many(char *why, size_t len)
{
	if (case_answers(ROGUE_B_INITS_MANY, 0, why, len) < 0)
		return -1;
	return htest_leak_check(why, len);
}

/*
 * The shadow pays for its copies of the batches in its own RRef quota,
 * which every client shares: twelve threads of rogue submit, without
 * pause, batches of 32 two-block reads whose buffers are all one 1 KiB
 * RRef (rogue case 450: 33 requests and 1 KiB each; the shadow's copy of
 * each batch 32 buffers of 128 KiB, over 4 MiB), while another thread
 * writes and reads back blocks of its own in 16 two-block requests. The
 * shadow lets 4 submits hold a copy at once (bdev_check.c, SETS_MAX; the
 * rest wait their turn), so its copies take 18.3 MiB of its quota at most:
 * every batch of the good client is done and reads back what it wrote,
 * every hoarder's submit gets a device's answer, and nobody is blamed.
 * Before, each call had a copy of its own and the quota ran out under the
 * good client: rogue's case returned -12 (the good client's submit
 * -MAPLE_ENOMEM after 6 to 32 batches; the hoarders' too), 5 runs of 5.
 */
int htest_bdev_hoarded_copies(char *why, size_t len)
{
	if (case_answers(ROGUE_B_HOARD, 0, why, len) < 0)
		return -1;
	return htest_leak_check(why, len);
}

/*
 * Rogue case 451: one thread writes a block without pause while another
 * reads it (two clients racing on one block, each batch within the rules;
 * the device may hold either write, and a read may return either). Every
 * submit gets a device's answer, and the same membdev serves throughout,
 * nobody blamed: the checks leave a block another live call writes, or
 * whose write another call stored meanwhile, unjudged (bdev_check.c,
 * written_elsewhere). Before, a read judged against the table while the
 * write was on its way, or after it was stored, was "wrong", and membdev
 * was restarted 78 to 252 times in the case's 300 ms (6 runs of 6):
 * `membdev is handle 0xfc0002 after the case, want 0x2 (no restart)`.
 */
int htest_bdev_read_write_race(char *why, size_t len)
{
	uint64_t first = 0;
	struct hosted_domain *shadow =
		shadow_with_driver("bdev_shadow", "membdev", &first, why, len);
	if (!shadow)
		return -1;
	long r = 0;
	if (run_case_on(shadow, ROGUE_B_RACE, (const long[]){0}, 1, &r, why, len) < 0)
		return -1;
	if (r != 0)
		return htest_fail(why, len, "rogue's case %d returned %ld, want 0, in: %.300s",
				  ROGUE_B_RACE, r, htest_captured());
	if (driver_unchanged("membdev", first, why, len) < 0 || nobody_blamed(why, len) < 0)
		return -1;
	return htest_leak_check(why, len);
}

/*
 * The shadow lends its copy of a batch to the driver, which so learns the
 * copy's requests and the buffers nested in them, and can write them after
 * its call returned, like any domain (one shared key). membdev_bufswap
 * serves every request honestly, and meanwhile a thread of it writes the
 * handle of the first request's buffer (which the shadow keeps) into the
 * buf word of each later request, while rogue (case 452) submits batches of
 * 32 two-block reads for 5 s. The shadow gives the buffers of requests 8-31
 * back by its own record (bdev_check.c, set_put), never by that word:
 * every batch is done whole, the same membdev_bufswap serves throughout,
 * nobody blamed. Before (set_put wrote the word, then had
 * BlockReq_take_buf read it back and unnest what it named), a write landing
 * between the two had the shadow unnest and free the first request's
 * buffer, which it still used: its next batch gave the driver that freed
 * handle, `bdev_check: request 0 (block 0) is valid but got status -22`,
 * membdev_bufswap restarted, and rogue's case returned 0x100000 (a submit
 * did 0 of 32), in 15 runs of 15, after 0.05 to 1.18 s (a 2 s form of the
 * case: 7 of 10). A race: a run that missed the window would pass.
 */
int htest_bdev_swapped_buffers(char *why, size_t len)
{
	uint64_t first = 0;
	struct hosted_domain *shadow =
		shadow_with_driver("bdev_shadow_bufswap", "membdev_bufswap", &first, why, len);
	if (!shadow)
		return -1;
	long r = 0;
	if (run_case_on(shadow, ROGUE_B_BUFSWAP, (const long[]){0}, 1, &r, why, len) < 0)
		return -1;
	if (r != 0)
		return htest_fail(why, len,
				  "rogue's case %d returned %#lx, want 0 (every batch done whole), "
				  "in: %.400s",
				  ROGUE_B_BUFSWAP, (unsigned long)r, htest_captured());
	if (htest_count_lines("[membdev_bufswap] membdev: writing request 0's buffer into the "
			      "buf word of each later request") != 1)
		return htest_fail(why, len, "no line of membdev_bufswap's first swap, in: %.300s",
				  htest_captured());
	if (driver_unchanged("membdev_bufswap", first, why, len) < 0 ||
	    nobody_blamed_in("bdev_shadow_bufswap", "membdev_bufswap", why, len) < 0)
		return -1;
	return htest_leak_check(why, len);
}

/*
 * Rogue case 460: clients naming, in their requests, buffers of the
 * shadow's own copies of other calls' batches (read from the shared heap,
 * where those copies lie among rogue's requests), while twelve threads
 * keep the shadow making and freeing such copies: each such request is
 * refused -MAPLE_EINVAL (the shadow serves only RRefs lent to the call,
 * block.h's block_rref_lent), the shadow and membdev stay up, nobody is
 * blamed. Before, the shadow served them: every run failed (20 of 20),
 * rogue's case returning (4 << 20) | about 750 to 1150 (reads done into
 * buffers rogue never lent), or -200 (2 runs) after `bdev_shadow failed:
 * SIGSEGV (SEGV_MAPERR) at bdev_shadow+0x5b56, address 0x9001260000`
 * (memcpy into a buffer another call had freed, its chunk unmapped):
 * every client of the shadow lost the device. The shadow's slot is used
 * once first, so its handle has a generation above its id: the fix's
 * first form compared rref_info's owner id with the whole handle and let
 * every buffer through in the VM, where the handle had one (16 reads,
 * ktest recovery_a_client_naming_the_shadows_own_buffers_gets_einval),
 * while this test, whose shadow had generation 0, passed.
 */
int htest_bdev_names_own_buffers(char *why, size_t len)
{
	/* A domain in the shadow's slot first, so that the shadow's handle
	 * (SYS_DOMAIN_ID) has a generation above its id, as in the VM. */
	struct hosted_domain *first = htest_create("rogue", why, len);
	char err[160];
	if (!first)
		return -1;
	if (hdom_destroy(hgate_handle(first), err, sizeof err) < 0)
		return htest_fail(why, len, "destroying the first rogue: %s", err);
	if (case_answers(ROGUE_B_NAME_OWN, 0, why, len) < 0)
		return -1;
	struct hosted_domain *shadow = htest_by_name("bdev_shadow");
	if (!shadow || hgate_handle(shadow) == shadow->id)
		return htest_fail(why, len,
				  "bdev_shadow's handle is %#lx, want a generation above "
				  "its id",
				  shadow ? (unsigned long)hgate_handle(shadow) : 0UL);
	return htest_leak_check(why, len);
}

/*
 * Rogue case 461: rogue fails (a write to address 0) while twelve threads
 * of its own are inside the shadow, some holding a turn and their copy of
 * a batch (bdev_check.c, turn_take), the rest waiting for one. Its
 * threads finish their calls in the running shadow and unwind on their
 * way back into rogue; destroying rogue then ends every turn it held and
 * frees every RRef: a new client writes and reads through the same shadow
 * and membdev (rogue case 441's inits and write), nobody is blamed, and
 * nothing leaks.
 */
int htest_bdev_client_dies_inside(char *why, size_t len)
{
	struct hosted_domain *shadow = htest_create("bdev_shadow", why, len);
	struct hosted_domain *driver = shadow ? htest_by_name("membdev") : NULL;
	struct hosted_domain *rogue = driver ? htest_create("rogue", why, len) : NULL;
	if (!rogue || htest_capture_begin(why, len) < 0)
		return shadow && !driver ? htest_fail(why, len, "bdev_shadow made no membdev") : -1;
	uint64_t first = hgate_handle(driver);
	long r = 0;
	char died[256];
	/* The runtime's upcall into rogue fails: that is the case. */
	int bad = htest_call(rogue, Rogue_run_METHOD, ROGUE_B_DIE_INSIDE,
			     (long)hgate_handle(shadow), 0, &r, died, sizeof died) < 0;
	htest_capture_end();
	if (!bad || !strstr(died, "failed: SIGSEGV (SEGV_MAPERR) at rogue+") ||
	    !strstr(died, ", address 0"))
		return htest_fail(why, len,
				  "rogue's case %d returned %ld (%s), want its fault at address 0, "
				  "in: %.300s",
				  ROGUE_B_DIE_INSIDE, r, bad ? died : "no failure",
				  htest_captured());
	char err[160];
	if (hdom_destroy(hgate_handle(rogue), err, sizeof err) < 0)
		return htest_fail(why, len, "destroying the failed rogue: %s", err);
	if (run_case_on(shadow, ROGUE_B_INITS_MANY, (const long[]){0}, 1, &r, why, len) < 0)
		return -1;
	struct hosted_domain *now = htest_by_name("membdev");
	if (r != 0 || !now || hgate_handle(now) != first)
		return htest_fail(why, len,
				  "after rogue died inside the shadow, a new client's case %d "
				  "returned %ld (want 0), membdev is handle %#lx (want %#lx), in: "
				  "%.300s",
				  ROGUE_B_INITS_MANY, r,
				  now ? (unsigned long)hgate_handle(now) : 0UL,
				  (unsigned long)first, htest_captured());
	if (nobody_blamed(why, len) < 0)
		return -1;
	return htest_leak_check(why, len);
}
