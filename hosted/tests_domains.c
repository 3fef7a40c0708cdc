/*
 * maple-hosted's tests of domains that create and destroy domains
 * (tests_domains.h), run by tests.c like every hosted test: the VM's
 * authority cases (kernel/ktest/authority.c) on the same rogue image, the
 * creator's signal stack closed to the domain whose init it runs, a
 * slot's generation, a domain failing inside its own init, the heap's
 * memory limit, kernel/ktest/attack.c's log flood, cut to the VM's share,
 * and a name shared by running domains. The table of these tests lists
 * membdev's too (tests_membdev.c), in the order they run. Here also the
 * helpers the hosted test files share: the captured output, creating,
 * calling and finding domains, and the leak check every test ends with.
 */
#define _GNU_SOURCE
#include "tests_domains.h"
#include "tests_bdev_rules.h"
#include "tests_membdev.h"

#include "device.h"
#include "domains.h"
#include "entry.h"
#include "gate.h"
#include "pkeys.h"
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

#define OUT_MAX (256u << 10) /* what a test's captured output may hold */

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

/* Everything destroyed: no domain, no RRef, no mapping in any slot, and
 * every domain thread ended (each leaves its destroyed domain: a thread
 * that does not hangs the test, which then fails for time). */
static int leak_check(char *why, size_t len)
{
	destroy_all();
	unsigned doms = hdom_count();
	uint64_t rrefs = live_rrefs();
	int maps = slot_mappings();
	hsys_run_threads();
	if (doms || rrefs || maps || hgate_depth())
		return htest_fail(why, len,
				  "after destroying everything: %u domains, %lu live RRefs, %d "
				  "mappings in domain slots, %u continuations; want all 0",
				  doms, (unsigned long)rrefs, maps, hgate_depth());
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
 * creator from. Every signal stack is the runtime's (key 0, entry.c), so
 * the new domain cannot rewrite them and run the runtime's code of its
 * choosing with every key; no level is re-keyed for it (before, the stacks
 * were SHARED and the creator's was keyed 0 only while the nested upcall
 * ran). Looked at from membdev's syscalls inside its init (SYS_CLOCK_NS,
 * SYS_DEVICE_MAP), nested in bdev_shadow's create: level 0's stack (the
 * shadow's) and level 1's (membdev's own).
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
	if (k.outer != PKEY_KERNEL || k.own != PKEY_KERNEL)
		return htest_fail(why, len,
				  "while membdev's init ran inside bdev_shadow's create, "
				  "bdev_shadow's signal stack had key %d and membdev's %d; want %d "
				  "(the runtime's) for both",
				  k.outer, k.own, PKEY_KERNEL);
	/* And still the runtime's for the shadow's own signals after. */
	int again = pkeys_of_mapping(entry_level_stack(0));
	if (again != PKEY_KERNEL)
		return htest_fail(why, len,
				  "after membdev's init, bdev_shadow's signal stack has key %d; "
				  "want %d",
				  again, PKEY_KERNEL);
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
	{"device-ramdisk0-has-one-running-holder", htest_membdev_one_holder, NULL},
	{"auth-rogue-may-not-map-ramdisk0-while-membdev-is-down", htest_membdev_map_while_down,
	 NULL},
	{"recovery-shadow-hides-driver-crashes-without-losing-data", htest_membdev_recovery, NULL},
	{"recovery-killed-inside-its-call-unwinds-to-the-shadow", htest_membdev_kill_inside, NULL},
	{"recovery-without-a-shadow-the-client-sees-the-crash", htest_membdev_no_shadow, NULL},
	{"recovery-a-write-acknowledged-but-not-stored-is-redone", htest_membdev_forgetful, NULL},
	{"recovery-a-write-stored-over-another-block-is-redone-and-that-block-restored",
	 htest_membdev_misplacing, NULL},
	{"recovery-without-the-mirror-a-block-overwritten-at-rest-reads-as-eio",
	 htest_membdev_nomirror, NULL},
	{"recovery-a-driver-rewriting-the-read-back-queue-is-restarted-and-the-shadow-lives",
	 htest_membdev_scribbling, NULL},
	{"attack-a-domain-cannot-flood-the-log", run_log_flood, NULL},
	{"domain-name-shared-by-running-domains-addresses-none", run_shared_name, NULL},
	{"device-holder-destroyed-with-a-call-out-loses-its-mapping",
	 htest_membdev_holder_destroyed_with_call_out, NULL},
	{"faults-teardown-destroys-the-failed-driver-a-failed-shadow-left",
	 htest_membdev_teardown_destroys_a_failed_driver, NULL},
	{"attack-a-request-handle-into-an-unmapped-heap-chunk-is-skipped",
	 htest_bdev_unmapped_request, NULL},
	{"attack-a-batch-naming-a-block-twice-is-refused-and-no-driver-blamed",
	 htest_bdev_block_twice, NULL},
	{"attack-a-device-sized-anew-during-a-batch-leaves-the-shadow-whole",
	 htest_bdev_resize_race, NULL},
	{"attack-a-device-sized-again-as-it-is-fails-no-batch", htest_bdev_same_size_again, NULL},
	{"attack-a-client-rewriting-its-requests-during-submit-blames-no-driver",
	 htest_bdev_rewritten_requests, NULL},
	{"attack-a-client-repeating-init-cannot-fill-the-shadows-log", htest_bdev_inits_many, NULL},
	{"attack-clients-holding-the-shadows-copies-fail-no-other-clients-batch",
	 htest_bdev_hoarded_copies, NULL},
	{"attack-a-client-reading-a-block-another-writes-blames-no-driver",
	 htest_bdev_read_write_race, NULL},
	{"attack-a-driver-swapping-the-buf-words-of-the-shadows-copies-frees-no-buffer-in-use",
	 htest_bdev_swapped_buffers, NULL},
	{"attack-a-client-naming-the-shadows-own-buffers-gets-einval-and-the-shadow-lives",
	 htest_bdev_names_own_buffers, NULL},
	{"attack-a-client-failing-with-calls-in-the-shadow-leaves-no-turn-held",
	 htest_bdev_client_dies_inside, NULL},
};

/* For the other hosted test files (tests_rogue.c, tests_membdev.c): the
 * same creation as the runtime, the same calls, lookups and captured lines,
 * and the same leak check as every test here. */
struct hosted_domain *htest_create(const char *module, char *why, size_t len)
{
	return create(module, why, len);
}

int htest_leak_check(char *why, size_t len)
{
	return leak_check(why, len);
}
struct hosted_domain *htest_by_name(const char *name)
{
	return by_name(name);
}

int htest_call(struct hosted_domain *d, unsigned m, long a0, long a1, long a2, long *r, char *why,
	       size_t len)
{
	return call(d, m, a0, a1, a2, r, why, len);
}

long htest_rogue_run(struct hosted_domain *rogue, long number, uint64_t target, char *why,
		     size_t len, int *bad)
{
	return rogue_run(rogue, number, target, why, len, bad);
}

unsigned htest_count_lines(const char *prefix)
{
	return count_lines(prefix);
}

const char *htest_captured(void)
{
	return captured;
}
