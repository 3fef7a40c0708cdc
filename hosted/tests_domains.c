/*
 * maple-hosted's tests of domains that create and destroy domains
 * (tests_domains.h), run by tests.c like every hosted test: the VM's
 * authority cases (kernel/ktest/authority.c) on the same rogue image, the
 * creator's signal stack closed to the domain whose init it runs, a
 * slot's generation, a domain failing inside its own init, the heap's
 * memory limit, and the membdev recovery test of kernel/ktest/recovery.c:
 * bdclient through the generated bdev_shadow to membdev, membdev crashed
 * during the verified workload, each time after its new instance served,
 * with the VM's outcome (no error, no lost or unverifiable block, one
 * restart line each) and nothing left behind; and kernel/ktest/attack.c's
 * log flood, cut to the VM's share.
 */
#define _GNU_SOURCE
#include "tests_domains.h"

#include "device.h"
#include "domains.h"
#include "entry.h"
#include "gate.h"
#include "inject.h"
#include "pkeys.h"
#include "runtime.h"
#include "syscalls.h"

#include <block/membdev/initfail.h>
#include <domain/domain.h>
#include <domain/gate_layout.h>
#include <idl/bdev_methods.h>
#include <idl/hello_methods.h>
#include <idl/hog_methods.h>
#include <idl/rogue_methods.h>
#include <maple/abi.h>
#include <test/bdclient/bdclient.h>
#include <test/rogue/attack_cases.h>
#include <test/rogue/cases.h>
#include <xheap/rref.h>

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define OUT_MAX	      (256u << 10) /* what a test's captured output may hold */
#define STRIKES	      30	   /* membdev crashes in the recovery test */
#define KINDS	      6		   /* pf gp ud de pk (the gate's stubs), then kill */
#define WORKLOAD_OPS  4096	   /* random requests after the first full write */
#define WORKLOAD_RUNS 3		   /* as many workloads; strikes land in each */

/* ---- what the runtime and its domains print, captured ---- */

static struct {
	int fd, out, err;
} cap = {-1, -1, -1};
static char captured[OUT_MAX];

/* From here on stdout (domains' lines) and stderr (the runtime's klog) go
 * to one memory file, in the order they are written. */
int htest_capture_begin(char *why, size_t len)
{
	fflush(stdout);
	fflush(stderr);
	cap.fd = memfd_create("hosted-test-output", MFD_CLOEXEC);
	cap.out = dup(STDOUT_FILENO);
	cap.err = dup(STDERR_FILENO);
	if (cap.fd < 0 || cap.out < 0 || cap.err < 0 || dup2(cap.fd, STDOUT_FILENO) < 0 ||
	    dup2(cap.fd, STDERR_FILENO) < 0) {
		snprintf(why, len, "cannot capture the output");
		return -1;
	}
	return 0;
}

/* Back to the real stdout and stderr; what was written meanwhile is in
 * `captured`, NUL-terminated. */
void htest_capture_end(void)
{
	fflush(stdout);
	fflush(stderr);
	dup2(cap.out, STDOUT_FILENO);
	dup2(cap.err, STDERR_FILENO);
	ssize_t n = pread(cap.fd, captured, sizeof captured - 1, 0);
	captured[n > 0 ? n : 0] = 0;
	close(cap.fd);
	close(cap.out);
	close(cap.err);
}

/* Whether a whole line of `captured` matches the extended regex pattern
 * (anchored at both ends). */
int htest_has_line(const char *pattern)
{
	char full[512];
	snprintf(full, sizeof full, "^%s$", pattern);
	regex_t re;
	if (regcomp(&re, full, REG_EXTENDED | REG_NOSUB | REG_NEWLINE))
		return 0;
	int ok = !regexec(&re, captured, 0, NULL, 0);
	regfree(&re);
	return ok;
}

static unsigned count_lines(const char *prefix)
{
	unsigned n = 0;
	size_t k = strlen(prefix);
	for (const char *p = captured; *p;) {
		n += !strncmp(p, prefix, k);
		const char *nl = strchr(p, '\n');
		p = nl ? nl + 1 : p + strlen(p);
	}
	return n;
}

/* ---- domains ---- */

int htest_fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* Create module as the runtime (the VM's kernel); NULL with why. */
static struct hosted_domain *create(const char *module, char *why, size_t len)
{
	struct hosted_domain *d = NULL;
	char err[256];
	if (!hdom_create(NULL, module, &d, err, sizeof err))
		htest_fail(why, len, "creating %s: %.200s", module, err);
	return d;
}

static struct hosted_domain *by_name(const char *name)
{
	for (unsigned id = 1; id < GATE_MAX_DOMAINS; id++) {
		struct hosted_domain *d = hgate_slot(id);
		if (d && !strcmp(d->name, name) && hgate_state(d) == GATE_DOMAIN_RUNNING)
			return d;
	}
	return NULL;
}

/* Call method m of d: 0 with *r, or -1 with why. */
static int call(struct hosted_domain *d, unsigned m, long a0, long a1, long a2, long *r, char *why,
		size_t len)
{
	const long a[4] = {a0, a1, a2, 0};
	char failed[256];
	if (m >= d->nmethods)
		return htest_fail(why, len, "%s has no method %u", d->name, m);
	fflush(stdout);
	if (entry_upcall(d, d->methods[m], a, r, failed, sizeof failed) < 0)
		return htest_fail(why, len, "%s.%u failed: %.200s", d->name, m, failed);
	return 0;
}

static long rogue_run(struct hosted_domain *rogue, long number, uint64_t target, char *why,
		      size_t len, int *bad)
{
	long r = 0;
	if (call(rogue, Rogue_run_METHOD, number, (long)target, 0, &r, why, len) < 0)
		*bad = 1;
	return r;
}

static void destroy_all(void)
{
	char err[160];
	for (unsigned id = 1; id < GATE_MAX_DOMAINS; id++)
		if (hgate_slot(id))
			hdom_destroy(hgate_handle(hgate_slot(id)), err, sizeof err);
}

/* Mappings left in any domain slot, from /proc/self/maps; -1 unreadable. */
static int slot_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return -1;
	const uint64_t lo = MAPLE_DOMAIN_BASE, hi = lo + GATE_MAX_DOMAINS * MAPLE_DOMAIN_SLOT;
	char line[512];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && a < hi && b > lo)
			n++;
	}
	fclose(f);
	return n;
}

static uint64_t live_rrefs(void)
{
	struct rref_stats s;
	rref_get_stats(&s);
	return s.live;
}

/* Everything destroyed: no domain, no RRef, no mapping in any slot, no
 * thread waiting to run. */
static int leak_check(char *why, size_t len)
{
	destroy_all();
	unsigned doms = hdom_count();
	uint64_t rrefs = live_rrefs();
	int maps = slot_mappings();
	unsigned threads = hsys_run_threads();
	if (doms || rrefs || maps || threads || hgate_depth())
		return htest_fail(
			why, len,
			"after destroying everything: %u domains, %lu live RRefs, %d mappings "
			"in domain slots, %u threads ran, %u continuations; want all 0",
			doms, (unsigned long)rrefs, maps, threads, hgate_depth());
	return 0;
}

/* ---- the tests ---- */

/* bdev_shadow's init creates membdev (a domain's _domain_start run from
 * inside its creator's SIGSYS handler), which the manifest grants
 * ramdisk0; the shadow forwards init to it; the VM's lines say so. */
static int run_shadow_creates(char *why, size_t len)
{
	if (htest_capture_begin(why, len) < 0)
		return -1;
	struct hosted_domain *shadow = create("bdev_shadow", why, len);
	long r = 0;
	int bad = !shadow || call(shadow, BlockDevice_init_METHOD, BDC_BLOCKS, BDC_BLOCK_SIZE, 0,
				  &r, why, len) < 0;
	struct hosted_domain *driver = by_name("membdev");
	htest_capture_end();
	if (bad)
		return -1;
	if (!driver || driver->creator != hgate_handle(shadow) || hdom_count() != 2)
		return htest_fail(why, len,
				  "after creating bdev_shadow: membdev %s, %u domains; want "
				  "membdev created by bdev_shadow and 2 domains",
				  driver ? "created by another" : "missing", hdom_count());
	if (r != (long)BDC_BLOCKS * BDC_BLOCK_SIZE)
		return htest_fail(why, len, "bdev_shadow.init(%d, %d) returned %ld, want %ld",
				  BDC_BLOCKS, BDC_BLOCK_SIZE, r, (long)BDC_BLOCKS * BDC_BLOCK_SIZE);
	char line[3][200];
	snprintf(line[0], sizeof line[0],
		 "device: ramdisk0 granted to membdev \\(id %u\\), created by bdev_shadow",
		 driver->id);
	snprintf(line[1], sizeof line[1],
		 "domain: membdev created by bdev_shadow: id %u, key %d, [0-9]+ KiB image at "
		 "%#lx, 6 methods",
		 driver->id, driver->pkey, (unsigned long)driver->base);
	snprintf(line[2], sizeof line[2], "device: ramdisk0 mapped by membdev");
	for (int i = 0; i < 3; i++)
		if (!htest_has_line(line[i]))
			return htest_fail(why, len, "no line /%s/ in: %.200s", line[i], captured);
	return leak_check(why, len);
}

/*
 * A created domain's init runs inside its creator's SIGSYS handler, whose
 * state is live on the creator's level's signal stack meanwhile: the
 * runtime's C frames (return addresses it follows with PKRU 0), the
 * sigjmp_buf of the nested upcall and the frame rt_sigreturn resumes the
 * creator from. That stack has the SHARED key so Linux can write frames
 * there with the creator's rights; while the nested domain runs it must be
 * the runtime's (key 0), or the new domain could rewrite them and run the
 * runtime's code of its choosing with every key. Looked at from membdev's
 * syscalls inside its init (SYS_CLOCK_NS, SYS_DEVICE_MAP), nested in
 * bdev_shadow's create: level 0's stack (the shadow's) and level 1's
 * (membdev's own, SHARED).
 */
struct stack_keys {
	unsigned seen;
	int outer, own;
};

static void look_at_stacks(void *arg)
{
	struct stack_keys *k = arg;
	uint64_t outer = entry_level_stack(0);
	if (!outer || entry_sigstack.lo == outer || k->seen++)
		return; /* not nested, or looked already */
	k->outer = pkeys_of_mapping(outer);
	k->own = pkeys_of_mapping(entry_sigstack.lo);
}

static int run_nested_seals_creator_stack(char *why, size_t len)
{
	struct stack_keys k = {0, -1, -1};
	if (htest_capture_begin(why, len) < 0)
		return -1;
	hsys_set_tick(look_at_stacks, &k);
	struct hosted_domain *shadow = create("bdev_shadow", why, len);
	hsys_set_tick(NULL, NULL);
	htest_capture_end();
	if (!shadow)
		return -1;
	if (!k.seen)
		return htest_fail(why, len,
				  "no syscall served while membdev's init ran inside bdev_shadow's "
				  "create; want at least one");
	if (k.outer != 0 || k.own != PKEY_SHARED)
		return htest_fail(
			why, len,
			"while membdev's init ran inside bdev_shadow's create, bdev_shadow's "
			"signal stack had key %d and membdev's %d; want 0 (the runtime's) and "
			"%d (SHARED)",
			k.outer, k.own, PKEY_SHARED);
	/* Open again for the shadow's own signals: its calls run as before. */
	int again = pkeys_of_mapping(entry_level_stack(0));
	if (again != PKEY_SHARED)
		return htest_fail(
			why, len,
			"after membdev's init, bdev_shadow's signal stack has key %d; want %d "
			"(SHARED)",
			again, PKEY_SHARED);
	long r = 0;
	if (call(shadow, BlockDevice_init_METHOD, BDC_BLOCKS, BDC_BLOCK_SIZE, 0, &r, why, len) < 0)
		return -1;
	if (r != (long)BDC_BLOCKS * BDC_BLOCK_SIZE)
		return htest_fail(why, len, "bdev_shadow.init(%d, %d) returned %ld, want %ld",
				  BDC_BLOCKS, BDC_BLOCK_SIZE, r, (long)BDC_BLOCKS * BDC_BLOCK_SIZE);
	return leak_check(why, len);
}

/* kernel/ktest/authority.c's first case: rogue may not destroy hello,
 * which the runtime created, nor itself, and a stale handle names
 * nothing; hello is untouched and rogue runs on. */
static int run_destroy_not_created(char *why, size_t len)
{
	struct hosted_domain *hello = create("hello", why, len);
	struct hosted_domain *rogue = hello ? create("rogue", why, len) : NULL;
	if (!rogue || htest_capture_begin(why, len) < 0)
		return -1;
	uint64_t hh = hgate_handle(hello);
	int bad = 0;
	long other = rogue_run(rogue, ROGUE_DESTROY, hh, why, len, &bad);
	long self = rogue_run(rogue, ROGUE_DESTROY, hgate_handle(rogue), why, len, &bad);
	long stale =
		rogue_run(rogue, ROGUE_DESTROY, hh + (1ull << HANDLE_GEN_SHIFT), why, len, &bad);
	long greet = 0;
	bad = bad || call(hello, Hello_greet_METHOD, 5, 0, 0, &greet, why, len) < 0;
	htest_capture_end();
	if (bad)
		return -1;
	if (other != -MAPLE_EPERM || self != -MAPLE_EPERM || stale != -MAPLE_ESRCH)
		return htest_fail(
			why, len,
			"rogue destroying hello: %ld, itself: %ld, a stale handle: %ld; want %d, "
			"%d, %d",
			other, self, stale, -MAPLE_EPERM, -MAPLE_EPERM, -MAPLE_ESRCH);
	if (hgate_domain(hh) != hello || greet != 5 + (long)hh ||
	    hgate_state(rogue) != GATE_DOMAIN_RUNNING)
		return htest_fail(why, len, "hello or rogue did not survive the refusals intact");
	char line[200];
	snprintf(line, sizeof line,
		 "domain: rogue \\(id %u\\) may not destroy hello \\(id %u\\): not its creator "
		 "\\(the kernel's\\)",
		 rogue->id, hello->id);
	if (!htest_has_line(line))
		return htest_fail(why, len, "no line /%s/ in: %.200s", line, captured);
	return leak_check(why, len);
}

/* The second: rogue may not create membdev (only its shadow may). */
static int run_create_not_allowed(char *why, size_t len)
{
	struct hosted_domain *rogue = create("rogue", why, len);
	if (!rogue || htest_capture_begin(why, len) < 0)
		return -1;
	int bad = 0;
	long r = rogue_run(rogue, ROGUE_CREATE_MEMBDEV, 0, why, len, &bad);
	htest_capture_end();
	if (bad)
		return -1;
	if (r != -MAPLE_EPERM || hdom_count() != 1 || hgate_state(rogue) != GATE_DOMAIN_RUNNING)
		return htest_fail(why, len,
				  "rogue creating membdev: %ld, %u domains after; want %d, 1", r,
				  hdom_count(), -MAPLE_EPERM);
	char line[200];
	snprintf(line, sizeof line,
		 "domain: rogue \\(id %u\\) may not create membdev: the manifest does not let "
		 "rogue create it",
		 rogue->id);
	if (!htest_has_line(line))
		return htest_fail(why, len, "no line /%s/ in: %.200s", line, captured);
	return leak_check(why, len);
}

/* A destroyed slot's next domain has the next generation: the old handle
 * reaches it neither through the gate (-MAPLE_EDEAD) nor through
 * SYS_DOMAIN_DESTROY (-MAPLE_ESRCH), the new one does. */
static int run_stale_handle(char *why, size_t len)
{
	char err[160];
	struct hosted_domain *caller = create("rogue", why, len);
	struct hosted_domain *first = caller ? create("rogue", why, len) : NULL;
	if (!first)
		return -1;
	uint64_t old = hgate_handle(first);
	if (hdom_destroy(old, err, sizeof err) < 0)
		return htest_fail(why, len, "destroying the first: %s", err);
	struct hosted_domain *next = create("rogue", why, len);
	if (!next)
		return -1;
	uint64_t now = hgate_handle(next);
	if ((now & HANDLE_ID_MASK) != (old & HANDLE_ID_MASK) || now == old)
		return htest_fail(why, len,
				  "the next domain has handle %#lx after %#lx: want the same "
				  "slot, another generation",
				  (unsigned long)now, (unsigned long)old);
	int bad = 0;
	uint64_t calls = hgate_calls(next);
	long via_gate = rogue_run(caller, ROGUE_A_CALL_EXITER, old, why, len, &bad);
	long destroy = rogue_run(caller, ROGUE_DESTROY, old, why, len, &bad);
	uint64_t calls_after = hgate_calls(next);
	rogue_run(caller, ROGUE_A_CALL_EXITER, now, why, len, &bad); /* the control */
	if (bad)
		return -1;
	if (via_gate != -MAPLE_EDEAD || destroy != -MAPLE_ESRCH || calls_after != calls ||
	    hgate_calls(next) != calls + 1)
		return htest_fail(
			why, len,
			"the old handle: a call %ld, a destroy %ld, %lu calls reached the next "
			"domain (then %lu with its own handle); want %d, %d, 0 (1)",
			via_gate, destroy, (unsigned long)(calls_after - calls),
			(unsigned long)(hgate_calls(next) - calls_after), -MAPLE_EDEAD,
			-MAPLE_ESRCH);
	return leak_check(why, len);
}

/* membdev_initfail's second run crashes in its domain_main (a write to
 * the field at 0x18 of a null pointer): only it fails; its creator,
 * bdev_shadow_initfail, hears -MAPLE_EINVAL inside its own init and
 * returns it; the VM's lines name the fault; nothing is left. */
static int run_init_fails(char *why, size_t len)
{
	long size = hdev_size("ramdisk0");
	uint64_t page = (uint64_t)size - MEMBDEV_INITFAIL_RESERVED;
	uint64_t *runs = hdev_word("ramdisk0", page + 8 * MEMBDEV_INITFAIL_RUNS);
	uint64_t *period = hdev_word("ramdisk0", page + 8 * MEMBDEV_INITFAIL_PERIOD);
	if (!runs || !period)
		return htest_fail(why, len, "no ramdisk0 to set the schedule in");
	*runs = 1;   /* the next run is the second */
	*period = 0; /* only run 0 serves */
	if (htest_capture_begin(why, len) < 0)
		return -1;
	char err[256];
	uint64_t h = hdom_create(NULL, "bdev_shadow_initfail", NULL, err, sizeof err);
	htest_capture_end();
	char want[] = "bdev_shadow_initfail: domain_main returned -22";
	if (h || strcmp(err, want) || *runs != 2)
		return htest_fail(why, len,
				  "creating bdev_shadow_initfail: %s, %lu runs of the driver; "
				  "want '%s', 2",
				  h ? "created" : err, (unsigned long)*runs, want);
	const char *lines[] = {
		"domain: membdev_initfail \\(id 2\\) failed: SIGSEGV \\(SEGV_MAPERR\\) at "
		"membdev_initfail\\+0x[0-9a-f]+, address 0x18",
		"domain: bdev_shadow_initfail could not create membdev_initfail: membdev_initfail: "
		"init failed: SIGSEGV \\(SEGV_MAPERR\\) at membdev_initfail\\+0x[0-9a-f]+, address "
		"0x18",
		"domain: membdev_initfail \\(id 2\\) destroyed, [0-9]+ pages and 0 RRefs returned",
		"domain: bdev_shadow_initfail \\(id 1\\) failed: init failed",
	};
	for (unsigned i = 0; i < sizeof lines / sizeof lines[0]; i++)
		if (!htest_has_line(lines[i]))
			return htest_fail(why, len, "no line /%s/ in: %.300s", lines[i], captured);
	return leak_check(why, len);
}

/* hog's heap grows in its own slot under its key; 0 bytes is -EINVAL,
 * and the VM's default memory limit stops it with -MAPLE_EQUOTA at the
 * region that would pass it, hog running on. */
static int run_heap_limit(char *why, size_t len)
{
	struct hosted_domain *hog = create("hog", why, len);
	if (!hog)
		return -1;
	const long region = 16l << 20;
	long zero = 0, grew = 0, first = 0, count = 0;
	/* Its regions lie one after another from the window's start (hog's
	 * init took one already): one mapping to Linux, under its key. */
	uint64_t heap = hog->base + DOMAIN_HEAP_OFF;
	if (call(hog, Hog_grow_METHOD, 0, 1, 0, &zero, why, len) < 0 ||
	    call(hog, Hog_grow_METHOD, region, 1, 0, &first, why, len) < 0)
		return -1;
	uint64_t room = (HDOM_MEM_PAGES - hog->pages) * 4096ul / (uint64_t)region;
	if (call(hog, Hog_grow_METHOD, region, 1000, 0, &grew, why, len) < 0 ||
	    call(hog, Hog_grown_METHOD, 0, 0, 0, &count, why, len) < 0)
		return -1;
	int key = hgate_keys() ? pkeys_of_mapping(heap) : hog->pkey;
	if (zero != -MAPLE_EINVAL || first != 0 || grew != -MAPLE_EQUOTA ||
	    count != 1 + (long)room || hog->heap_next <= heap + (uint64_t)region ||
	    key != hog->pkey)
		return htest_fail(
			why, len,
			"grow(0): %ld, grow(16 MiB): %ld, then %ld after %ld regions in all, "
			"the heap up to slot offset %#lx with key %d; want %d, 0, %d after %ld, "
			"from %#lx with key %d",
			zero, first, grew, count, (unsigned long)(hog->heap_next - hog->base), key,
			-MAPLE_EINVAL, -MAPLE_EQUOTA, 1 + (long)room, DOMAIN_HEAP_OFF, hog->pkey);
	return leak_check(why, len);
}

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
	struct hosted_domain *d = s->only ? s->only : by_name("membdev");
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
	call(client, BdClient_stat_METHOD, which, 0, 0, &r, why, sizeof why);
	return r;
}

/* One workload of ops random requests (bdclient.start, then its thread
 * runs to its verifying read-back); 0, or -1 with why naming every counter. */
static int workload_of(struct hosted_domain *client, long ops, long device, char *why, size_t len)
{
	long r = 0;
	if (call(client, BdClient_start_METHOD, ops, 50, device, &r, why, len) < 0)
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
static int run_recovery(char *why, size_t len)
{
	struct hosted_domain *shadow = create("bdev_shadow", why, len);
	struct hosted_domain *client = shadow ? create("bdclient", why, len) : NULL;
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
	unsigned faults = count_lines("hosted: membdev failed: SIG");
	unsigned kills = count_lines("domain: membdev (id 2) failed: killed to test recovery");
	unsigned restarts = count_lines("[bdev_shadow] shadow BlockDevice: restarted");
	if (faults != STRIKES - STRIKES / KINDS || kills != STRIKES / KINDS || restarts != STRIKES)
		return htest_fail(why, len,
				  "%u faults, %u kills and %u restarts logged, want %d, %d, %d",
				  faults, kills, restarts, STRIKES - STRIKES / KINDS,
				  STRIKES / KINDS, STRIKES);
	return leak_check(why, len);
}

/* membdev killed inside its own call (at the clock syscall it makes for
 * its `serving` line), as the VM's `kill` of a domain a thread is in: it
 * unwinds at that syscall's return, the shadow hears -MAPLE_ECALLEE and
 * restarts it, and the client sees nothing. Before the runtime unwound a
 * domain failed under its own syscall, the gate's callee_failed looped on
 * SYS_NULL for ever (the test hung). */
static int run_kill_inside(char *why, size_t len)
{
	struct hosted_domain *shadow = create("bdev_shadow", why, len);
	struct hosted_domain *client = shadow ? create("bdclient", why, len) : NULL;
	struct hosted_domain *driver = by_name("membdev");
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
			return htest_fail(why, len, "no line /%s/ in: %.300s", lines[i], captured);
	return leak_check(why, len);
}

/* membdev_forgetful acknowledges each instance's 300th write without
 * storing it: a driver that runs on wrongly, which no crash reveals. The
 * workload writes every block once and reads them all back (no random
 * requests, so no later write can cover a forgotten one). The shadow's
 * end-to-end checks (drivers/block/bdev_shadow/bdev_check.c) read the write
 * back, find it wrong, restart the driver by the crash path and redo the
 * batch: the client sees no error and no wrong block, and the shadow's
 * lines name the block the driver forgot. */
static int run_forgetful(char *why, size_t len)
{
	struct hosted_domain *shadow = create("bdev_shadow_forgetful", why, len);
	struct hosted_domain *client = shadow ? create("bdclient", why, len) : NULL;
	if (!client || htest_capture_begin(why, len) < 0)
		return -1;
	int bad = workload_of(client, 0, (long)hgate_handle(shadow), why, len) < 0;
	htest_capture_end();
	char c[256];
	if (bad)
		return -1;
	if (bd_stat(client, BDC_ERRORS) || bd_stat(client, BDC_LOST) ||
	    bd_stat(client, BDC_UNVERIFIED) || bd_stat(client, BDC_VERIFIED) < BDC_BLOCKS) {
		counters(client, c, sizeof c);
		return htest_fail(why, len, "workload: %s", c);
	}
	const char *forgot = "[membdev_forgetful] membdev: acknowledging the write of block ";
	const char *at = strstr(captured, forgot);
	unsigned long block = at ? strtoul(at + strlen(forgot), NULL, 10) : 0;
	unsigned forgets = count_lines(forgot);
	unsigned wrong =
		count_lines("[bdev_shadow_forgetful] shadow BlockDevice: membdev_forgetful "
			    "(handle ");
	unsigned restarts = count_lines("[bdev_shadow_forgetful] shadow BlockDevice: restarted "
					"membdev_forgetful (restart ");
	if (!at || wrong != forgets || restarts != forgets)
		return htest_fail(
			why, len,
			"%u writes forgotten, %u answers found wrong, %u restarts; want at "
			"least 1 and the same of each",
			forgets, wrong, restarts);
	char lines[3][200];
	snprintf(lines[0], sizeof lines[0],
		 "\\[bdev_shadow_forgetful\\] bdev_check: block %lu reads back wrong after the "
		 "driver acknowledged writing it \\(status 0, checksum 0x[0-9a-f]+, written "
		 "0x[0-9a-f]+\\)",
		 block);
	snprintf(lines[1], sizeof lines[1],
		 "\\[bdev_shadow_forgetful\\] shadow BlockDevice: membdev_forgetful \\(handle "
		 "0x[0-9a-f]+\\) answered submit wrongly; restarting it");
	snprintf(lines[2], sizeof lines[2],
		 "\\[bdev_shadow_forgetful\\] shadow BlockDevice: restarted membdev_forgetful "
		 "\\(restart 1\\), replayed 1 calls");
	for (unsigned i = 0; i < 3; i++)
		if (!htest_has_line(lines[i]))
			return htest_fail(why, len, "no line /%s/", lines[i]);
	return leak_check(why, len);
}

/* The control (recovery_without_a_shadow_the_client_sees_the_crash):
 * bdclient on membdev itself; one crash reaches it, as -MAPLE_ECALLEE for
 * the submit it hit and -MAPLE_EDEAD for every one after. */
static int run_no_shadow(char *why, size_t len)
{
	struct hosted_domain *driver = create("membdev", why, len);
	struct hosted_domain *client = driver ? create("bdclient", why, len) : NULL;
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
	return leak_check(why, len);
}

/* ramdisk0 has one running holder: a second membdev is not granted it
 * (the VM's line says why and who holds it), cannot map it (-MAPLE_EPERM
 * inside, so its capacity() answers -MAPLE_ENOMEM), while the first maps
 * it and answers its size. */
static int run_one_holder(char *why, size_t len)
{
	if (htest_capture_begin(why, len) < 0)
		return -1;
	struct hosted_domain *first = create("membdev", why, len);
	struct hosted_domain *second = first ? create("membdev", why, len) : NULL;
	long cap1 = 0, cap2 = 0;
	int bad = !second ||
		  call(first, BlockDevice_capacity_METHOD, 0, 0, 0, &cap1, why, len) < 0 ||
		  call(second, BlockDevice_capacity_METHOD, 0, 0, 0, &cap2, why, len) < 0;
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
			return htest_fail(why, len, "no line /%s/ in: %.300s", line[i], captured);
	return leak_check(why, len);
}

/* kernel/ktest/authority.c's third case: rogue may not destroy the
 * shadow's membdev, nor map ramdisk0 while membdev is down, crashed
 * (failed, as the VM's `kill`) or destroyed; the shadow's next membdev
 * maps it and finds every acknowledged block. */
static int run_map_while_down(char *why, size_t len)
{
	struct hosted_domain *shadow = create("bdev_shadow", why, len);
	struct hosted_domain *client = shadow ? create("bdclient", why, len) : NULL;
	struct hosted_domain *rogue = client ? create("rogue", why, len) : NULL;
	struct hosted_domain *driver = by_name("membdev");
	if (!rogue || !driver)
		return driver ? -1 : htest_fail(why, len, "bdev_shadow made no membdev");
	uint64_t dh = hgate_handle(driver);
	if (workload(client, 0, why, len) < 0 || htest_capture_begin(why, len) < 0)
		return -1;
	int bad = 0;
	long destroy = rogue_run(rogue, ROGUE_DESTROY, dh, why, len, &bad);
	hgate_fail(driver);
	long crashed = rogue_run(rogue, ROGUE_MAP_RAMDISK, 0, why, len, &bad);
	char err[160];
	int gone_rc = hdom_destroy(dh, err, sizeof err);
	long gone = rogue_run(rogue, ROGUE_MAP_RAMDISK, 0, why, len, &bad);
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
			return htest_fail(why, len, "no line /%s/ in: %.300s", line[i], captured);
	char c[256];
	if (workload(client, 0, why, len) < 0)
		return -1;
	struct hosted_domain *next = by_name("membdev");
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
	return leak_check(why, len);
}

/* kernel/ktest/attack.c's log flood: 5000 SYS_LOG calls in a loop put the
 * burst and the rate over the loop's time on stdout, no more, plus one
 * line saying the rest are dropped (kernel/domain/log_share.c, the VM's
 * rule); rogue runs on. */
#define FLOOD_CALLS 5000

static int run_log_flood(char *why, size_t len)
{
	struct hosted_domain *rogue = create("rogue", why, len);
	if (!rogue || htest_capture_begin(why, len) < 0)
		return -1;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int bad = 0;
	long accepted = rogue_run(rogue, ROGUE_A_LOG_FLOOD, FLOOD_CALLS, why, len, &bad);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	htest_capture_end();
	if (bad)
		return -1;
	long s = t1.tv_sec - t0.tv_sec + 1;
	long allowed = DOMAIN_LOG_BURST + DOMAIN_LOG_PER_S * s;
	unsigned lines = count_lines("[rogue] rogue: flood");
	/* rogue's init logged one line of its burst already, as in the VM. */
	if (accepted < DOMAIN_LOG_BURST - 1 || accepted > allowed || lines != (unsigned)accepted)
		return htest_fail(
			why, len,
			"%d SYS_LOG calls: %ld accepted, %u lines; want %d to %ld, one line "
			"each",
			FLOOD_CALLS, accepted, lines, DOMAIN_LOG_BURST - 1, allowed);
	char line[200];
	snprintf(line, sizeof line,
		 "domain: rogue \\(id %u\\) logs more than %d lines at once or %d a second: the "
		 "excess is dropped",
		 rogue->id, DOMAIN_LOG_BURST, DOMAIN_LOG_PER_S);
	if (!htest_has_line(line) || count_lines("domain: rogue (id ") != 1)
		return htest_fail(why, len, "want the one line /%s/, in: %.200s", line, captured);
	if (hgate_state(rogue) != GATE_DOMAIN_RUNNING)
		return htest_fail(why, len, "rogue failed; want it running on");
	return leak_check(why, len);
}

/* kernel/ktest/names.c's rule through SYS_LOOKUP (rogue's destroy of
 * "victim" looks it up first): two running victims, the name addresses
 * neither (-MAPLE_ENOTUNIQ, both untouched); with the first failed, it
 * addresses the running one, which rogue may then not destroy. */
static int run_shared_name(char *why, size_t len)
{
	struct hosted_domain *v1 = create("victim", why, len);
	struct hosted_domain *v2 = v1 ? create("victim", why, len) : NULL;
	struct hosted_domain *rogue = v2 ? create("rogue", why, len) : NULL;
	if (!rogue || htest_capture_begin(why, len) < 0)
		return -1;
	int bad = 0;
	long both = rogue_run(rogue, ROGUE_DESTROY, 0, why, len, &bad);
	hdom_fail(v1, "failed to test names");
	long one = rogue_run(rogue, ROGUE_DESTROY, 0, why, len, &bad);
	htest_capture_end();
	if (bad)
		return -1;
	if (both != -MAPLE_ENOTUNIQ || one != -MAPLE_EPERM ||
	    hgate_state(v2) != GATE_DOMAIN_RUNNING)
		return htest_fail(
			why, len,
			"rogue destroying \"victim\" with two running: %ld, with one: %ld; want "
			"%d, %d and the running one untouched",
			both, one, -MAPLE_ENOTUNIQ, -MAPLE_EPERM);
	char line[200];
	snprintf(line, sizeof line,
		 "domain: rogue \\(id %u\\) may not destroy victim \\(id %u\\): not its creator "
		 "\\(the kernel's\\)",
		 rogue->id, v2->id);
	if (!htest_has_line(line) || count_lines("domain: rogue (id ") != 1)
		return htest_fail(why, len, "want the one line /%s/, in: %.200s", line, captured);
	return leak_check(why, len);
}

/* membdev, holding ramdisk0, is destroyed by its creator while a call of
 * its own is out (a callback into bdev_shadow, modelled by an upcall
 * pushed and not entered): the destroy is refused with -MAPLE_ETIMEDOUT
 * and membdev stays failed, and its device mapping goes now. The grant
 * already passes to the next instance the shadow makes, and the gate's
 * return into membdev checks only the returning callee: with the mapping
 * kept, membdev ran on with the device until its next system call.
 * Before (seen): the ramdisk was still mapped at membdev's device offset. */
static int run_holder_destroyed_with_call_out(char *why, size_t len)
{
	struct hosted_domain *shadow = create("bdev_shadow", why, len);
	long r = 0, err = 0;
	if (!shadow ||
	    call(shadow, BlockDevice_init_METHOD, BDC_BLOCKS, BDC_BLOCK_SIZE, 0, &r, why, len) < 0)
		return -1;
	struct hosted_domain *driver = by_name("membdev");
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
	return leak_check(why, len);
}

const struct hosted_named_test hosted_domain_tests[HOSTED_DOMAIN_TESTS] = {
	{"domain-shadow-creates-its-driver-in-its-init", run_shadow_creates, NULL},
	{"domain-nested-init-cannot-write-its-creators-signal-stack",
	 run_nested_seals_creator_stack, "isolation"},
	{"auth-rogue-may-not-destroy-a-domain-it-did-not-create", run_destroy_not_created, NULL},
	{"auth-rogue-may-not-create-an-image-the-manifest-does-not-allow", run_create_not_allowed,
	 NULL},
	{"domain-stale-handle-never-reaches-the-slots-next-domain", run_stale_handle, NULL},
	{"domain-failing-in-its-init-fails-alone-and-its-creator-hears-einval", run_init_fails,
	 NULL},
	{"heap-grow-stops-at-the-memory-limit-with-equota", run_heap_limit, NULL},
	{"device-ramdisk0-has-one-running-holder", run_one_holder, NULL},
	{"auth-rogue-may-not-map-ramdisk0-while-membdev-is-down", run_map_while_down, NULL},
	{"recovery-shadow-hides-driver-crashes-without-losing-data", run_recovery, NULL},
	{"recovery-killed-inside-its-call-unwinds-to-the-shadow", run_kill_inside, NULL},
	{"recovery-without-a-shadow-the-client-sees-the-crash", run_no_shadow, NULL},
	{"recovery-a-write-acknowledged-but-not-stored-is-redone", run_forgetful, NULL},
	{"attack-a-domain-cannot-flood-the-log", run_log_flood, NULL},
	{"domain-name-shared-by-running-domains-addresses-none", run_shared_name, NULL},
	{"device-holder-destroyed-with-a-call-out-loses-its-mapping",
	 run_holder_destroyed_with_call_out, NULL},
};

/* For the other hosted test files (tests_rogue.c): the same creation as
 * the runtime and the same leak check as every test here. */
struct hosted_domain *htest_create(const char *module, char *why, size_t len)
{
	return create(module, why, len);
}

int htest_leak_check(char *why, size_t len)
{
	return leak_check(why, len);
}
