/*
 * maple-hosted's tests of the block driver membdev and its device
 * ramdisk0 (tests_domains.h lists them): the membdev recovery test of
 * kernel/ktest/recovery.c, bdclient through the generated bdev_shadow to
 * membdev, membdev crashed during the verified workload, each time after
 * its new instance served, with the VM's outcome (no error, no lost or
 * unverifiable block, one restart line each) and nothing left behind; a
 * kill inside membdev's own call; the control without a shadow; a membdev
 * that acknowledges a write without storing it (the shadow's end-to-end
 * checks redo it), and one that stores a write over another block (they
 * restore it from their mirror, or without one fail its read with
 * -MAPLE_EIO); then
 * ramdisk0's one running holder, kernel/ktest/authority.c's map while
 * membdev is down, and a holder destroyed with a call out. tests.c runs
 * each in a child of its own.
 */
#define _GNU_SOURCE
#include "tests_membdev.h"

#include "device.h"
#include "domains.h"
#include "faults.h"
#include "gate.h"
#include "inject.h"
#include "runtime.h"
#include "syscalls.h"
#include "tests_domains.h"

#include <domain/gate_layout.h>
#include <idl/bdev_methods.h>
#include <maple/abi.h>
#include <test/bdclient/bdclient.h>
#include <test/rogue/cases.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRIKES	      30   /* membdev crashes in the recovery test */
#define KINDS	      6	   /* pf gp ud de pk (the gate's stubs), then kill */
#define WORKLOAD_OPS  4096 /* random requests after the first full write */
#define WORKLOAD_RUNS 3	   /* as many workloads; strikes land in each */

/* A strike plan (hsys_set_tick): at each syscall the runtime serves,
 * crash the current membdev by injection unless it has been struck
 * already, and only once it has served since it started: its calls count
 * has risen past the shadow's replayed init and the retried request
 * (kernel/ktest/driver_faults.c's driver_served, for one client thread),
 * so no request sees two crashes and the shadow's retries suffice. */
struct strikes {
	unsigned done, want;
	int inside;    /* 1: only kills, each inside its call (at a syscall it makes) */
	uint64_t last; /* the handle struck last */
	struct hosted_domain *only; /* strike this one only (no shadow), or NULL */
};

static void strike(void *arg)
{
	struct strikes *s = arg;
	struct hosted_domain *d = s->only ? s->only : htest_by_name("membdev");
	/* Between its calls (none of its calls in progress), or with
	 * `inside` during one, at a syscall of its own. */
	if (s->done == s->want || !d || hgate_handle(d) == s->last ||
	    hgate_state(d) != GATE_DOMAIN_RUNNING || hgate_calls(d) < 3 ||
	    (hgate_active(d) != 0) != s->inside || (s->inside && hgate_current() != d))
		return;
	s->last = hgate_handle(d);
	if (s->done % KINDS < KINDS - 1 && !s->inside)
		hgate_inject(d, runtime_gatepage()->fault[s->done % KINDS]);
	else /* the VM's `kill`: failed between calls, the next one is -MAPLE_EDEAD */
		hdom_fail(d, "killed to test recovery");
	s->done++;
}

static long bd_stat(struct hosted_domain *client, int which)
{
	char why[160];
	long r = -1;
	htest_call(client, BdClient_stat_METHOD, which, 0, 0, &r, why, sizeof why);
	return r;
}

/* One workload of ops random requests (bdclient.start, then its thread
 * runs to its verifying read-back); 0, or -1 with why naming every counter. */
static int workload_of(struct hosted_domain *client, long ops, long device, char *why, size_t len)
{
	long r = 0;
	if (htest_call(client, BdClient_start_METHOD, ops, 50, device, &r, why, len) < 0)
		return -1;
	if (r != 0)
		return htest_fail(why, len, "bdclient.start: %ld", r);
	hsys_run_threads();
	return 0;
}

static int workload(struct hosted_domain *client, long device, char *why, size_t len)
{
	return workload_of(client, WORKLOAD_OPS, device, why, len);
}

static int counters(struct hosted_domain *client, char *out, size_t len)
{
	return snprintf(out, len,
			"%ld errors (last %ld), %ld wrong blocks, %ld unverifiable, %ld verified, "
			"running %ld",
			bd_stat(client, BDC_ERRORS), bd_stat(client, BDC_LAST_ERROR),
			bd_stat(client, BDC_LOST), bd_stat(client, BDC_UNVERIFIED),
			bd_stat(client, BDC_VERIFIED), bd_stat(client, BDC_RUNNING));
}

/* kernel/ktest/recovery.c's recovery_shadow_hides_driver_crashes_without_
 * losing_data, hosted: STRIKES crashes (pf gp ud de pk kill in turn, as
 * driver_faults.c cycles them) of the current membdev across
 * WORKLOAD_RUNS verified workloads. */
int htest_membdev_recovery(char *why, size_t len)
{
	struct hosted_domain *shadow = htest_create("bdev_shadow", why, len);
	struct hosted_domain *client = shadow ? htest_create("bdclient", why, len) : NULL;
	if (!client || htest_capture_begin(why, len) < 0)
		return -1;
	struct strikes s = {.want = STRIKES};
	hsys_set_tick(strike, &s);
	int bad = 0;
	char c[256] = "";
	for (int i = 0; i < WORKLOAD_RUNS && !bad; i++) {
		bad = workload(client, 0, why, len) < 0;
		if (!bad && (bd_stat(client, BDC_ERRORS) || bd_stat(client, BDC_LOST) ||
			     bd_stat(client, BDC_UNVERIFIED) || bd_stat(client, BDC_RUNNING) ||
			     bd_stat(client, BDC_VERIFIED) < BDC_BLOCKS)) {
			counters(client, c, sizeof c);
			bad = 1;
		}
	}
	hsys_set_tick(NULL, NULL);
	htest_capture_end();
	if (bad)
		return c[0] ? htest_fail(why, len, "workload: %s", c) : -1;
	if (s.done != STRIKES)
		return htest_fail(why, len, "%u strikes landed in %d workloads, want %d", s.done,
				  WORKLOAD_RUNS, STRIKES);
	/* One crash and one restart line per strike, numbered in turn. */
	for (unsigned k = 1; k <= STRIKES; k++) {
		char line[160];
		snprintf(
			line, sizeof line,
			"\\[bdev_shadow\\] shadow BlockDevice: restarted membdev \\(restart %u\\), "
			"replayed 1 calls",
			k);
		if (!htest_has_line(line))
			return htest_fail(why, len, "no restart line /%s/", line);
	}
	unsigned faults = htest_count_lines("hosted: membdev failed: SIG");
	unsigned kills =
		htest_count_lines("domain: membdev (id 2) failed: killed to test recovery");
	unsigned restarts = htest_count_lines("[bdev_shadow] shadow BlockDevice: restarted");
	if (faults != STRIKES - STRIKES / KINDS || kills != STRIKES / KINDS || restarts != STRIKES)
		return htest_fail(why, len,
				  "%u faults, %u kills and %u restarts logged, want %d, %d, %d",
				  faults, kills, restarts, STRIKES - STRIKES / KINDS,
				  STRIKES / KINDS, STRIKES);
	return htest_leak_check(why, len);
}

/* membdev killed inside its own call (at the clock syscall it makes for
 * its `serving` line), as the VM's `kill` of a domain a thread is in: it
 * unwinds at that syscall's return, the shadow hears -MAPLE_ECALLEE and
 * restarts it, and the client sees nothing. Before the runtime unwound a
 * domain failed under its own syscall, the gate's callee_failed looped on
 * SYS_NULL for ever (the test hung). */
int htest_membdev_kill_inside(char *why, size_t len)
{
	struct hosted_domain *shadow = htest_create("bdev_shadow", why, len);
	struct hosted_domain *client = shadow ? htest_create("bdclient", why, len) : NULL;
	struct hosted_domain *driver = htest_by_name("membdev");
	if (!client || !driver || htest_capture_begin(why, len) < 0)
		return -1;
	struct strikes s = {.want = 1, .inside = 1, .only = driver};
	hsys_set_tick(strike, &s);
	int bad = workload(client, 0, why, len) < 0;
	hsys_set_tick(NULL, NULL);
	htest_capture_end();
	char c[256];
	if (bad)
		return -1;
	if (bd_stat(client, BDC_ERRORS) || bd_stat(client, BDC_LOST) ||
	    bd_stat(client, BDC_UNVERIFIED) || bd_stat(client, BDC_VERIFIED) < BDC_BLOCKS) {
		counters(client, c, sizeof c);
		return htest_fail(why, len, "workload: %s", c);
	}
	const char *lines[] = {
		"domain: membdev \\(id 2\\) failed: killed to test recovery",
		"hosted: membdev failed: killed to test recovery",
		"\\[bdev_shadow\\] shadow BlockDevice: restarted membdev \\(restart 1\\), replayed "
		"1 "
		"calls",
	};
	if (s.done != 1)
		return htest_fail(why, len, "%u kills landed, want 1", s.done);
	for (unsigned i = 0; i < sizeof lines / sizeof lines[0]; i++)
		if (!htest_has_line(lines[i]))
			return htest_fail(why, len, "no line /%s/ in: %.300s", lines[i],
					  htest_captured());
	return htest_leak_check(why, len);
}

/* bdclient through shadow_image: every block written once, then all read
 * back (no random requests, so no later write covers what a wrong driver
 * did). The client, its counters for the caller to judge, or NULL with
 * why. The output is captured for the caller's lines. */
static struct hosted_domain *sweep_of(const char *shadow_image, char *why, size_t len)
{
	struct hosted_domain *shadow = htest_create(shadow_image, why, len);
	struct hosted_domain *client = shadow ? htest_create("bdclient", why, len) : NULL;
	if (!client || htest_capture_begin(why, len) < 0)
		return NULL;
	int bad = workload_of(client, 0, (long)hgate_handle(shadow), why, len) < 0;
	htest_capture_end();
	return bad ? NULL : client;
}

/* sweep_of, and 0 if the client saw no error, no wrong and no
 * unverifiable block; -1 with why. */
static int sweep_through(const char *shadow_image, char *why, size_t len)
{
	struct hosted_domain *client = sweep_of(shadow_image, why, len);
	char c[256];
	if (!client)
		return -1;
	if (bd_stat(client, BDC_ERRORS) || bd_stat(client, BDC_LOST) ||
	    bd_stat(client, BDC_UNVERIFIED) || bd_stat(client, BDC_VERIFIED) < BDC_BLOCKS) {
		counters(client, c, sizeof c);
		return htest_fail(why, len, "workload: %s", c);
	}
	return 0;
}

/* Whether every one of n patterns matches a whole captured line; -1 with
 * why naming the first that does not. */
static int has_lines(const char *const *patterns, unsigned n, char *why, size_t len)
{
	for (unsigned i = 0; i < n; i++)
		if (!htest_has_line(patterns[i]))
			return htest_fail(why, len, "no line /%s/", patterns[i]);
	return 0;
}

/* membdev_forgetful acknowledges each instance's 300th write without
 * storing it: a driver that runs on wrongly, which no crash reveals. The
 * shadow's end-to-end checks (drivers/block/bdev_shadow/bdev_check.c) read
 * the write back, find it wrong, restart the driver by the crash path and
 * redo the batch: the client sees no error and no wrong block, and the
 * shadow's lines name the block the driver forgot. */
int htest_membdev_forgetful(char *why, size_t len)
{
	if (sweep_through("bdev_shadow_forgetful", why, len) < 0)
		return -1;
	const char *forgot = "[membdev_forgetful] membdev: acknowledging the write of block ";
	const char *at = strstr(htest_captured(), forgot);
	unsigned long block = at ? strtoul(at + strlen(forgot), NULL, 10) : 0;
	unsigned forgets = htest_count_lines(forgot);
	unsigned wrong = htest_count_lines("[bdev_shadow_forgetful] shadow BlockDevice: "
					   "membdev_forgetful (handle ");
	unsigned restarts = htest_count_lines("[bdev_shadow_forgetful] shadow BlockDevice: "
					      "restarted membdev_forgetful (restart ");
	if (!at || wrong != forgets || restarts != forgets)
		return htest_fail(
			why, len,
			"%u writes forgotten, %u answers found wrong, %u restarts; want at "
			"least 1 and the same of each",
			forgets, wrong, restarts);
	char first[200];
	snprintf(first, sizeof first,
		 "\\[bdev_shadow_forgetful\\] bdev_check: block %lu reads back wrong after the "
		 "driver acknowledged writing it \\(status 0, checksum 0x[0-9a-f]+, written "
		 "0x[0-9a-f]+\\)",
		 block);
	const char *const lines[] = {
		first,
		"\\[bdev_shadow_forgetful\\] shadow BlockDevice: membdev_forgetful \\(handle "
		"0x[0-9a-f]+\\) answered submit wrongly; restarting it",
		"\\[bdev_shadow_forgetful\\] shadow BlockDevice: restarted membdev_forgetful "
		"\\(restart 1\\), replayed 1 calls",
	};
	if (has_lines(lines, sizeof lines / sizeof lines[0], why, len) < 0)
		return -1;
	return htest_leak_check(why, len);
}

/* membdev_misplacing stores its 321st write (block 320, the first of its
 * batch) over block 319, acknowledged a batch before, and acknowledges it.
 * The read-back finds block 320 unchanged: restart, redo. Block 319 is
 * then wrong on the device, and the shadow has no batch to redo it from:
 * the final read finds it wrong, a new instance reads the same, and the
 * shadow gives the client block 319 from its mirror and writes it back. */
int htest_membdev_misplacing(char *why, size_t len)
{
	if (sweep_through("bdev_shadow_misplacing", why, len) < 0)
		return -1;
	const char *const lines[] = {
		"\\[membdev_misplacing\\] membdev: writing block 320 over block 319",
		"\\[bdev_shadow_misplacing\\] bdev_check: block 320 reads back wrong after the "
		"driver acknowledged writing it \\(status 0, checksum 0x[0-9a-f]+, written "
		"0x[0-9a-f]+\\)",
		"\\[bdev_shadow_misplacing\\] shadow BlockDevice: membdev_misplacing \\(handle "
		"0x[0-9a-f]+\\) answered submit wrongly; restarting it",
		"\\[bdev_shadow_misplacing\\] bdev_check: block 319 reads wrong \\(checksum "
		"0x[0-9a-f]+, its last stored write 0x[0-9a-f]+\\)",
		"\\[bdev_shadow_misplacing\\] bdev_check: block 319 was corrupt at rest "
		"\\(checksum 0x[0-9a-f]+, its last stored write 0x[0-9a-f]+\\): restored from "
		"the shadow's mirror, written back: 0",
	};
	if (has_lines(lines, sizeof lines / sizeof lines[0], why, len) < 0)
		return -1;
	return htest_leak_check(why, len);
}

/* membdev_misplacing as above, behind a shadow without its mirror
 * (bdev_shadow_nomirror), as on a device larger than the 16 MiB the shadow
 * mirrors. Each instance stores its 321st write over the block before it:
 * the first 320 over 319, its successor (restarted there) 640 over 639, the
 * next 960 over 959. Each write is redone as above, but each block written
 * over, found corrupt at rest by the final read, cannot be restored: its
 * read fails with -MAPLE_EIO, one error per block, and the client never
 * gets its wrong contents. Every other block verifies; each block costs
 * two restarts (the write's read-back, then its first wrong read). */
int htest_membdev_nomirror(char *why, size_t len)
{
	static const unsigned long lost[] = {319, 639, 959};
	const long nlost = sizeof lost / sizeof lost[0];
	struct hosted_domain *client = sweep_of("bdev_shadow_nomirror", why, len);
	if (!client)
		return -1;
	char c[256];
	if (bd_stat(client, BDC_ERRORS) != nlost || bd_stat(client, BDC_LAST_ERROR) != -MAPLE_EIO ||
	    bd_stat(client, BDC_LOST) || bd_stat(client, BDC_UNVERIFIED) ||
	    bd_stat(client, BDC_VERIFIED) != BDC_BLOCKS - nlost) {
		counters(client, c, sizeof c);
		return htest_fail(why, len,
				  "workload: %s; want %ld errors (last %d), 0 wrong, 0 "
				  "unverifiable, %ld verified",
				  c, nlost, -MAPLE_EIO, BDC_BLOCKS - nlost);
	}
	if (!htest_has_line("\\[bdev_shadow_nomirror\\] bdev_check: no mirror of the 1024 blocks "
			    "of 4096 bytes \\(this shadow's policy\\): a block found corrupt at "
			    "rest fails with -EIO"))
		return htest_fail(why, len, "no line saying the shadow has no mirror");
	for (long i = 0; i < nlost; i++) {
		unsigned long b = lost[i];
		char p[4][240];
		snprintf(p[0], sizeof p[0],
			 "\\[membdev_misplacing\\] membdev: writing block %lu over block %lu",
			 b + 1, b);
		snprintf(p[1], sizeof p[1],
			 "\\[bdev_shadow_nomirror\\] bdev_check: block %lu reads back wrong after "
			 "the driver acknowledged writing it \\(status 0, checksum 0x[0-9a-f]+, "
			 "written 0x[0-9a-f]+\\)",
			 b + 1);
		snprintf(p[2], sizeof p[2],
			 "\\[bdev_shadow_nomirror\\] bdev_check: block %lu reads wrong \\(checksum "
			 "0x[0-9a-f]+, its last stored write 0x[0-9a-f]+\\)",
			 b);
		snprintf(p[3], sizeof p[3],
			 "\\[bdev_shadow_nomirror\\] bdev_check: block %lu is corrupt at rest: two "
			 "driver instances read checksum 0x[0-9a-f]+, its last stored write has "
			 "0x[0-9a-f]+; -EIO",
			 b);
		const char *const lines[] = {p[0], p[1], p[2], p[3]};
		if (has_lines(lines, 4, why, len) < 0)
			return -1;
	}
	unsigned wrong = htest_count_lines("[bdev_shadow_nomirror] shadow BlockDevice: "
					   "membdev_misplacing (handle ");
	unsigned restarts = htest_count_lines("[bdev_shadow_nomirror] shadow BlockDevice: "
					      "restarted membdev_misplacing (restart ");
	unsigned eio = htest_count_lines("[bdclient] bdclient: a submit did not succeed: -5");
	/* The three lines above per block and no other (none restores one). */
	unsigned blocks = htest_count_lines("[bdev_shadow_nomirror] bdev_check: block ");
	if (wrong != 2 * nlost || restarts != 2 * nlost || eio != (unsigned)nlost ||
	    blocks != 3 * nlost)
		return htest_fail(why, len,
				  "%u answers found wrong, %u restarts, %u client errors of -5, "
				  "%u bdev_check lines naming a block; want %ld, %ld, %ld, %ld",
				  wrong, restarts, eio, blocks, 2 * nlost, 2 * nlost, nlost,
				  3 * nlost);
	return htest_leak_check(why, len);
}

/* membdev_scribbling, as it returns from each instance's 10th read-back
 * batch, points every slot of the shadow's read-back queue at an unmapped
 * chunk of the shared heap. The shadow takes no pointer from those slots:
 * it judges the read-back by its own, finds the queue rewritten at its
 * next use, replaces it and restarts the driver, and redoes the batch: the
 * client sees no error. Before, it read the requests through the rewritten
 * slots: `bdev_shadow_scribbling failed: SIGSEGV (SEGV_MAPERR)`. */
int htest_membdev_scribbling(char *why, size_t len)
{
	if (sweep_through("bdev_shadow_scribbling", why, len) < 0)
		return -1;
	unsigned scribbles = htest_count_lines("[membdev_scribbling] membdev: pointing the slots "
					       "of the deque it served at an unmapped chunk");
	unsigned found = htest_count_lines("[bdev_shadow_scribbling] bdev_check: the read-back "
					   "queue was overwritten; replacing it");
	unsigned restarts = htest_count_lines("[bdev_shadow_scribbling] shadow BlockDevice: "
					      "restarted membdev_scribbling (restart ");
	/* The last scribble may come after the workload's last read-back. */
	if (!scribbles || found != restarts || found + 1 < scribbles || found > scribbles)
		return htest_fail(
			why, len,
			"%u queues rewritten, %u found, %u restarts; want at least 1, and "
			"each found but maybe the last, with a restart",
			scribbles, found, restarts);
	return htest_leak_check(why, len);
}

/* The control (recovery_without_a_shadow_the_client_sees_the_crash):
 * bdclient on membdev itself; one crash reaches it, as -MAPLE_ECALLEE for
 * the submit it hit and -MAPLE_EDEAD for every one after. */
int htest_membdev_no_shadow(char *why, size_t len)
{
	struct hosted_domain *driver = htest_create("membdev", why, len);
	struct hosted_domain *client = driver ? htest_create("bdclient", why, len) : NULL;
	if (!client || htest_capture_begin(why, len) < 0)
		return -1;
	struct strikes s = {.want = 1, .only = driver};
	hsys_set_tick(strike, &s);
	int bad = workload(client, (long)hgate_handle(driver), why, len) < 0;
	hsys_set_tick(NULL, NULL);
	htest_capture_end();
	if (bad)
		return -1;
	long errors = bd_stat(client, BDC_ERRORS), last = bd_stat(client, BDC_LAST_ERROR);
	char first[80];
	snprintf(first, sizeof first, "\\[bdclient\\] bdclient: a submit did not succeed: %d",
		 -MAPLE_ECALLEE);
	if (s.done != 1 || errors < 2 || last != -MAPLE_EDEAD || !htest_has_line(first))
		return htest_fail(
			why, len,
			"%u strikes; the client saw %ld errors, the last %ld; want 1 strike, the "
			"first error %d and the last %d",
			s.done, errors, last, -MAPLE_ECALLEE, -MAPLE_EDEAD);
	return htest_leak_check(why, len);
}

/* ramdisk0 has one running holder: a second membdev is not granted it
 * (the VM's line says why and who holds it), cannot map it (-MAPLE_EPERM
 * inside, so its capacity() answers -MAPLE_ENOMEM), while the first maps
 * it and answers its size. */
int htest_membdev_one_holder(char *why, size_t len)
{
	if (htest_capture_begin(why, len) < 0)
		return -1;
	struct hosted_domain *first = htest_create("membdev", why, len);
	struct hosted_domain *second = first ? htest_create("membdev", why, len) : NULL;
	long cap1 = 0, cap2 = 0;
	int bad = !second ||
		  htest_call(first, BlockDevice_capacity_METHOD, 0, 0, 0, &cap1, why, len) < 0 ||
		  htest_call(second, BlockDevice_capacity_METHOD, 0, 0, 0, &cap2, why, len) < 0;
	htest_capture_end();
	if (bad)
		return -1;
	if (cap1 != hdev_size("ramdisk0") || cap2 != -MAPLE_ENOMEM)
		return htest_fail(why, len,
				  "capacity: the holder %ld, the second %ld; want %ld, %d", cap1,
				  cap2, hdev_size("ramdisk0"), -MAPLE_ENOMEM);
	char line[3][200];
	snprintf(line[0], sizeof line[0],
		 "device: ramdisk0 not granted to membdev \\(id %u\\): its holder runs \\(granted "
		 "to membdev \\(id %u\\)\\)",
		 second->id, first->id);
	snprintf(line[1], sizeof line[1],
		 "device: membdev \\(id %u\\) may not map ramdisk0: it is granted to membdev "
		 "\\(id %u\\)",
		 second->id, first->id);
	snprintf(line[2], sizeof line[2], "\\[membdev\\] membdev: cannot map ramdisk0");
	for (int i = 0; i < 3; i++)
		if (!htest_has_line(line[i]))
			return htest_fail(why, len, "no line /%s/ in: %.300s", line[i],
					  htest_captured());
	return htest_leak_check(why, len);
}

/* kernel/ktest/authority.c's third case: rogue may not destroy the
 * shadow's membdev, nor map ramdisk0 while membdev is down, crashed
 * (failed, as the VM's `kill`) or destroyed; the shadow's next membdev
 * maps it and finds every acknowledged block. */
int htest_membdev_map_while_down(char *why, size_t len)
{
	struct hosted_domain *shadow = htest_create("bdev_shadow", why, len);
	struct hosted_domain *client = shadow ? htest_create("bdclient", why, len) : NULL;
	struct hosted_domain *rogue = client ? htest_create("rogue", why, len) : NULL;
	struct hosted_domain *driver = htest_by_name("membdev");
	if (!rogue || !driver)
		return driver ? -1 : htest_fail(why, len, "bdev_shadow made no membdev");
	uint64_t dh = hgate_handle(driver);
	if (workload(client, 0, why, len) < 0 || htest_capture_begin(why, len) < 0)
		return -1;
	int bad = 0;
	long destroy = htest_rogue_run(rogue, ROGUE_DESTROY, dh, why, len, &bad);
	hgate_fail(driver);
	long crashed = htest_rogue_run(rogue, ROGUE_MAP_RAMDISK, 0, why, len, &bad);
	char err[160];
	int gone_rc = hdom_destroy(dh, err, sizeof err);
	long gone = htest_rogue_run(rogue, ROGUE_MAP_RAMDISK, 0, why, len, &bad);
	htest_capture_end();
	if (bad)
		return -1;
	if (destroy != -MAPLE_EPERM || crashed != -MAPLE_EPERM || gone_rc || gone != -MAPLE_EPERM)
		return htest_fail(
			why, len,
			"rogue destroying membdev: %ld, mapping ramdisk0 with membdev crashed: "
			"%ld, gone (destroy %d): %ld; want %d each",
			destroy, crashed, gone_rc, gone, -MAPLE_EPERM);
	char line[3][200];
	snprintf(line[0], sizeof line[0],
		 "domain: rogue \\(id %u\\) may not destroy membdev \\(id %u\\): not its "
		 "creator \\(created by bdev_shadow\\)",
		 rogue->id, driver->id);
	snprintf(line[1], sizeof line[1],
		 "device: rogue \\(id %u\\) may not map ramdisk0: it is granted to membdev "
		 "\\(id %u\\)",
		 rogue->id, (unsigned)(dh & HANDLE_ID_MASK));
	snprintf(line[2], sizeof line[2],
		 "device: rogue \\(id %u\\) may not map ramdisk0: it is granted to nobody: it is "
		 "kept for the next instance bdev_shadow \\(id %u\\) creates",
		 rogue->id, shadow->id);
	for (int i = 0; i < 3; i++)
		if (!htest_has_line(line[i]))
			return htest_fail(why, len, "no line /%s/ in: %.300s", line[i],
					  htest_captured());
	char c[256];
	if (workload(client, 0, why, len) < 0)
		return -1;
	struct hosted_domain *next = htest_by_name("membdev");
	if (bd_stat(client, BDC_ERRORS) || bd_stat(client, BDC_LOST) ||
	    bd_stat(client, BDC_UNVERIFIED) || bd_stat(client, BDC_VERIFIED) < BDC_BLOCKS) {
		counters(client, c, sizeof c);
		return htest_fail(why, len, "the workload after the restart: %s", c);
	}
	if (!next || hgate_handle(next) == dh || hgate_state(rogue) != GATE_DOMAIN_RUNNING)
		return htest_fail(why, len, "after the restart: membdev %s, rogue %s",
				  !next			     ? "missing"
				  : hgate_handle(next) == dh ? "not replaced"
							     : "new",
				  hgate_state(rogue) == GATE_DOMAIN_RUNNING ? "running" : "failed");
	return htest_leak_check(why, len);
}

/* membdev, holding ramdisk0, is destroyed by its creator while a call of
 * its own is out (a callback into bdev_shadow, modelled by an upcall
 * pushed and not entered): the destroy is refused with -MAPLE_ETIMEDOUT
 * and membdev stays failed, and its device mapping goes now. The grant
 * already passes to the next instance the shadow makes, and the gate's
 * return into membdev checks only the returning callee: with the mapping
 * kept, membdev ran on with the device until its next system call.
 * Before (seen): the ramdisk was still mapped at membdev's device offset. */
int htest_membdev_holder_destroyed_with_call_out(char *why, size_t len)
{
	struct hosted_domain *shadow = htest_create("bdev_shadow", why, len);
	long r = 0, err = 0;
	if (!shadow || htest_call(shadow, BlockDevice_init_METHOD, BDC_BLOCKS, BDC_BLOCK_SIZE, 0,
				  &r, why, len) < 0)
		return -1;
	struct hosted_domain *driver = htest_by_name("membdev");
	if (!driver || !driver->device_va)
		return htest_fail(why, len, "membdev %s",
				  driver ? "did not map ramdisk0" : "missing");
	uint64_t va = driver->device_va, refused = 0;
	if (!hgate_upcall_push(driver, &err, &refused))
		return htest_fail(why, len, "cannot put a call into membdev: %ld", err);
	long rc = hdom_destroy_by(shadow, hgate_handle(driver));
	uint64_t mapped = inject_mapping_end(va);
	hgate_upcall_pop();
	if (rc != -MAPLE_ETIMEDOUT || hgate_state(driver) != GATE_DOMAIN_FAILED || mapped)
		return htest_fail(why, len,
				  "destroy %ld, membdev state %lu, its device at %#lx %s; want %d, "
				  "failed, unmapped",
				  rc, (unsigned long)hgate_state(driver), (unsigned long)va,
				  mapped ? "still mapped" : "unmapped", -MAPLE_ETIMEDOUT);
	return htest_leak_check(why, len);
}

/* The fault campaign's teardown (faults.c, faults_destroy_drivers) leaves
 * no membdev behind, failed ones included: kernel/ktest/faults_teardown.c,
 * hosted. When the watchdog fails the shadow while its membdev is failed
 * and not yet replaced, that instance keeps ramdisk0 (a failed holder's
 * device goes on only to its creator, the shadow the teardown destroys),
 * and every later workload's membdev could not map it. */
int htest_membdev_teardown_destroys_a_failed_driver(char *why, size_t len)
{
	char err[160] = "";
	struct hosted_domain *shadow = htest_create("bdev_shadow", why, len);
	long r = 0;
	if (!shadow || htest_call(shadow, BlockDevice_init_METHOD, BDC_BLOCKS, BDC_BLOCK_SIZE, 0,
				  &r, why, len) < 0)
		return -1;
	struct hosted_domain *driver = htest_by_name("membdev");
	if (!driver || !driver->device_va)
		return htest_fail(why, len, "membdev %s",
				  driver ? "did not map ramdisk0" : "missing");
	uint64_t killed = hgate_handle(driver);
	/* Its membdev failed and not yet replaced (the shadow restarts it at
	 * its next call), the shadow fails as the watchdog fails it. */
	hdom_fail(driver, "killed to test the fault campaign's teardown");
	hdom_fail(shadow, "failed to test the fault campaign's teardown");
	if (hdom_destroy(hgate_handle(shadow), err, sizeof err) < 0)
		return htest_fail(why, len, "destroying the failed shadow: %s", err);
	faults_destroy_drivers();
	struct hosted_domain *next = htest_create("bdev_shadow", why, len);
	if (!next || htest_call(next, BlockDevice_init_METHOD, BDC_BLOCKS, BDC_BLOCK_SIZE, 0, &r,
				why, len) < 0)
		return -1;
	struct hosted_domain *again = htest_by_name("membdev");
	if (r != (long)BDC_BLOCKS * BDC_BLOCK_SIZE || !again || hgate_handle(again) == killed)
		return htest_fail(
			why, len,
			"after the teardown: the next shadow's init %ld, its membdev %#lx "
			"(the killed one %#lx, %s); want %ld from a new instance",
			r, again ? (unsigned long)hgate_handle(again) : 0ul, (unsigned long)killed,
			hgate_domain(killed) ? "still there" : "destroyed",
			(long)BDC_BLOCKS * BDC_BLOCK_SIZE);
	return htest_leak_check(why, len);
}
