/*
 * The in-guest half of bench/faults (docs/bench-faults.md): a software
 * fault-injection campaign in the spirit of Nooks' SWIFI against membdev,
 * behind bdev_shadow, while bdclient runs its verified workload (every
 * acknowledged write is checked on read and in a full read-back at the end).
 *
 *   bench=faults faults_n=N faults_seed=S faults_window_ms=W
 *                [faults_flip_at=OFF faults_flip_bit=B]
 *
 * Fault i is of kind i mod KINDS, so every kind gets its share; where a bit
 * flip lands comes from a PRNG seeded with S, so a campaign is reproducible
 * (up to the timing of the workload, which TCG does not repeat). Kinds: the
 * clean redirects of `inject` (pf gp ud de pk, and kill: ktest/driver_faults.h)
 * and one flipped bit in a random byte of membdev's code (its executable image
 * pages), of the code every call runs (the first ENTRY_HOT bytes from one of
 * its exported methods' entries), of its data (its writable image pages) or of
 * its live stack (the top STACK_LIVE bytes of a thread stack it has: where the
 * frames of a call are).
 * After a fault the campaign waits W ms for the instance to fail. If it
 * fails, the fault "crashed" it; if not, the fault was "latent" (no effect
 * seen), and the instance is killed so that the next fault starts from a fresh
 * image (Nooks likewise reloaded between runs). Either way the shadow must
 * restart membdev, and the time from the failure (the kernel's failed event,
 * domain/observer.h) to the new instance serving is measured. Containment: the
 * shadow and the client must still be the same running domains afterwards,
 * and the kernel must live (a panic ends the boot without `done`). One line a
 * fault:
 *
 *   bench: faults n=7 kind=flip-code outcome=crashed at=+0x1234 bit=3
 *     result=recovered serving_us=5123 errors=0 lost=0
 *
 * (at= and bit= only for flips; result recovered, escaped (the shadow or the
 * client failed or went) or unrecovered (no new membdev served within 20 s);
 * errors and lost are the client's counters' growth over this fault, -1 once
 * the client cannot be asked: lost blocks are found only when read, so a loss
 * may show under a later fault or only in the final read-back). A fault that
 * did not recover ends its workload (its counters are printed) and a fresh
 * one goes on. Then the last workload's totals and the leak check (frames,
 * kernel heap, RRefs back where they were: ktest/counted.h):
 *
 *   bench: faults workload K ended by fault N: errors=E lost=L
 *   bench: faults end faults=N workloads=K errors=E lost=L verified=V unverified=U
 *   bench: faults leaks none | bench: faults leaks: REASON
 *   bench: faults done
 */
#include <arch/x86/pte.h>
#include <bench/bench.h>
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <domain/gate.h>
#include <domain/gate_layout.h>
#include <domain/observer.h>
#include <idl/bdev_methods.h>
#include <ktest/counted.h>
#include <ktest/driver_faults.h>
#include <ktest/shadowed.h>
#include <lib/cmdline.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <mm/vm.h>
#include <platform/pc/power.h>
#include <test/bdclient/bdclient.h>

#define MS		  1000000UL
#define STACK_LIVE	  512 /* bytes below a stack's top that hold a call's frames */
#define ENTRY_HOT	  128 /* bytes from an exported method's entry: run on every call */
#define DEFAULT_N	  600
#define MAX_N		  100000
#define DEFAULT_WINDOW_MS 200

enum kind {
	K_PF,
	K_GP,
	K_UD,
	K_DE,
	K_PK,
	K_KILL,
	K_FLIP_CODE,
	K_FLIP_ENTRY,
	K_FLIP_DATA,
	K_FLIP_STACK,
	KINDS
};
static const char *const kind_names[KINDS] = {
	"pf", "gp", "ud", "de", "pk", "kill", "flip-code", "flip-entry", "flip-data", "flip-stack",
};

struct campaign {
	uint64_t n, window_ms;
	/* faults_flip_at=OFF faults_flip_bit=B: every flip-code fault flips bit
	 * B of the byte at membdev+OFF instead of a random one (to replay a
	 * finding; 0: random). */
	uint64_t flip_at, flip_bit;
	bool ok; /* every fault injected: the leak check is meaningful */
};
static struct campaign run;

/* The last membdev failure the kernel reported: which instance, and when. */
static uint64_t failed_handle, failed_ns;
static bool recording;

static void observe(enum domain_event ev, const struct domain *d, uint64_t ns)
{
	if (ev != DOMAIN_EV_FAILED || !__atomic_load_n(&recording, __ATOMIC_ACQUIRE) ||
	    strcmp(d->name, "membdev"))
		return;
	__atomic_store_n(&failed_ns, ns, __ATOMIC_RELAXED);
	__atomic_store_n(&failed_handle, domain_handle(d), __ATOMIC_RELEASE);
}
DOMAIN_OBSERVER(faults, observe);

/* xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift
 * generators", 2016): small, and the same sequence from the same seed. */
static uint64_t rng;

static uint64_t next_random(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

/* Whether the image page at va is of the flip's kind (code: executable;
 * data: writable). */
static bool page_of_kind(uint64_t va, int kind)
{
	uint64_t f = vm_leaf_flags(va);
	if (!(f & PTE_P))
		return false;
	return kind == K_FLIP_CODE ? !(f & PTE_NX) : (f & PTE_W) != 0;
}

/* A random byte of d of the flip's kind: its address, or 0 if it has none. */
static uint64_t pick_byte(struct domain *d, int kind)
{
	if (kind == K_FLIP_ENTRY) {
		/* The gate's table of d's exported methods: SYS_EXPORT checked that
		 * each lies in d's image. A byte past the image's end is not one. */
		const struct gate_domain *gd = gate_domtab(d->id);
		uint64_t n = __atomic_load_n(&gd->nmethods, __ATOMIC_ACQUIRE);
		if (!n)
			return 0;
		uint64_t va = gd->methods[next_random() % n] + next_random() % ENTRY_HOT;
		return va < d->image_hi && page_of_kind(va, K_FLIP_CODE) ? va : 0;
	}
	if (kind == K_FLIP_STACK) {
		uint64_t tops[GATE_MAX_THREADS], n = 0;
		spin_lock(&d->lock);
		for (struct domain_region *r = d->regions; r && n < GATE_MAX_THREADS; r = r->next)
			if (r->thread_slot >= 0 && !r->device)
				tops[n++] = r->va + r->pages * PAGE_SIZE;
		spin_unlock(&d->lock);
		return n ? tops[next_random() % n] - 1 - next_random() % STACK_LIVE : 0;
	}
	uint64_t pages = 0;
	for (uint64_t va = d->image_lo; va < d->image_hi; va += PAGE_SIZE)
		pages += page_of_kind(va, kind);
	if (!pages)
		return 0;
	uint64_t pick = next_random() % pages;
	for (uint64_t va = d->image_lo; va < d->image_hi; va += PAGE_SIZE)
		if (page_of_kind(va, kind) && !pick--)
			return va + next_random() % PAGE_SIZE;
	return 0;
}

/*
 * Flip one bit of instance h's memory through the direct map (its pages may
 * be read-only or execute-only to the domain; the kernel writes the frame).
 * Safe against the frame's reuse because only this campaign fails membdev,
 * and it flips only an instance that runs and serves: nothing destroys it
 * between the lookup and the write. Returns false if h is gone.
 */
static bool flip(uint64_t h, int kind, uint64_t *off, unsigned *bit)
{
	struct domain *d = domain_get((uint32_t)(h & HANDLE_ID_MASK));
	bool ok = d && domain_handle(d) == h && d->state == DOMAIN_RUNNING;
	bool directed = kind == K_FLIP_CODE && run.flip_at;
	uint64_t va = !ok ? 0 : directed ? d->base + run.flip_at : pick_byte(d, kind);
	if (directed && (va >= d->image_hi || !page_of_kind(va, K_FLIP_CODE)))
		va = 0; /* not membdev's code: the fault is not made, and says so */
	uint64_t pa = va ? vm_leaf_phys(va) : 0;
	if (pa) {
		*bit = directed ? (unsigned)run.flip_bit : (unsigned)(next_random() % 8);
		*off = va - d->base;
		__atomic_xor_fetch((uint8_t *)phys_to_virt(pa), (uint8_t)(1u << *bit),
				   __ATOMIC_SEQ_CST);
	}
	domain_put(d);
	return pa != 0;
}

static bool still(const char *name, uint64_t h)
{
	return driver_current(name) == h;
}

/* The shadow and the client a fault must leave as they were, and membdev's
 * current instance. */
struct workload {
	struct domain *shadow, *client;
	uint64_t shadow_h, client_h, driver_h;
};

enum result { RECOVERED, UNRECOVERED, ESCAPED };
static const char *const result_names[] = {"recovered", "unrecovered", "escaped"};

/* Wait for a new membdev (not old) to serve; ESCAPED as soon as the shadow or
 * the client is no longer the same running domain (the fault reached beyond
 * membdev), UNRECOVERED if none serves within SHADOWED_FAULT_WAIT_NS. */
static enum result wait_serving(struct workload *w, uint64_t old)
{
	struct driver_watch watch = {0};
	uint64_t deadline = time_ns() + SHADOWED_FAULT_WAIT_NS;
	while (time_ns() < deadline) {
		if (!still("bdev_shadow", w->shadow_h) || !still("bdclient", w->client_h))
			return ESCAPED;
		uint64_t h = driver_current("membdev");
		if (h && h != old && driver_served(&watch, h, BlockDevice_stats_METHOD)) {
			w->driver_h = h;
			return RECOVERED;
		}
		thread_sleep_ns(2 * MS);
	}
	return UNRECOVERED;
}

/* A client counter, or -1 once the client can no longer be asked (it failed). */
static long counter(struct workload *w, int which)
{
	return still("bdclient", w->client_h) ? shadowed_stat(w->client, which) : -1;
}

static long grown(long before, long after)
{
	return before < 0 || after < 0 ? -1 : after - before;
}

/* Inject fault i into the current membdev and see where it ends; one line. */
static enum result one_fault(uint64_t i, struct workload *w)
{
	int kind = (int)(i % KINDS);
	uint64_t h = w->driver_h;
	long errors0 = counter(w, BDC_ERRORS), lost0 = counter(w, BDC_LOST);
	uint64_t off = 0;
	unsigned bit = 0;
	bool fired = kind < K_FLIP_CODE ? driver_strike(h, driver_fault((unsigned)kind))
					: flip(h, kind, &off, &bit);
	char where[48] = "";
	if (kind >= K_FLIP_CODE)
		fmt_snprintf(where, sizeof where, " at=+%#lx bit=%u", off, bit);
	if (!fired) {
		klog("bench: faults n=%lu kind=%s failed: membdev (handle %#lx) was not there to "
		     "strike",
		     i, kind_names[kind], h);
		return UNRECOVERED;
	}
	uint64_t end = time_ns() + run.window_ms * MS;
	while (__atomic_load_n(&failed_handle, __ATOMIC_ACQUIRE) != h && time_ns() < end)
		thread_sleep_ns(MS);
	bool crashed = __atomic_load_n(&failed_handle, __ATOMIC_ACQUIRE) == h;
	if (!crashed) /* latent: the next fault starts from a fresh image */
		driver_strike(h, driver_fault(K_KILL));
	enum result r = wait_serving(w, h);
	uint64_t us = r == RECOVERED
			      ? (time_ns() - __atomic_load_n(&failed_ns, __ATOMIC_RELAXED)) / 1000
			      : 0;
	klog("bench: faults n=%lu kind=%s outcome=%s%s result=%s serving_us=%lu errors=%ld "
	     "lost=%ld",
	     i, kind_names[kind], crashed ? "crashed" : "latent", where, result_names[r], us,
	     grown(errors0, counter(w, BDC_ERRORS)), grown(lost0, counter(w, BDC_LOST)));
	return r;
}

/* Create the shadow and the client and start the verified workload; false
 * (with a line) if it does not start serving. */
static bool workload_start(struct ktest_ctx *t, struct workload *w)
{
	*w = (struct workload){.shadow = ktest_create(t, "bdev_shadow")};
	w->client = w->shadow ? ktest_create(t, "bdclient") : NULL;
	if (!w->client)
		return false;
	w->shadow_h = domain_handle(w->shadow);
	w->client_h = domain_handle(w->client);
	long r = domain_call(w->client, BdClient_start_METHOD, SHADOWED_UNBOUNDED_OPS,
			     SHADOWED_WRITE_PERCENT, (long)w->shadow_h, 0);
	if (r || wait_serving(w, 0) != RECOVERED) {
		klog("bench: faults failed: the workload did not start (bdclient.start %ld) or "
		     "membdev never served",
		     r);
		return false;
	}
	return true;
}

/* Destroy what the workload made, whatever state a fault left it in. */
static void workload_stop(struct workload *w)
{
	ktest_destroy_handle(w->client_h);
	ktest_destroy_handle(w->shadow_h);
	ktest_destroy_handle(driver_current("membdev"));
}

/*
 * The campaign. A fault that escaped (or left no membdev serving) ends that
 * workload: its counters are printed as far as they can be read, everything
 * is destroyed and a fresh shadow, client and workload go on with the next
 * fault, so one escape does not end the campaign.
 */
static void campaign(struct ktest_ctx *t)
{
	struct workload w;
	uint64_t i = 0, workloads = 1;
	bool started = workload_start(t, &w);
	__atomic_store_n(&recording, true, __ATOMIC_RELEASE);
	for (; started && i < run.n; i++) {
		if (one_fault(i, &w) == RECOVERED)
			continue;
		klog("bench: faults workload %lu ended by fault %lu: errors=%ld lost=%ld",
		     workloads, i, counter(&w, BDC_ERRORS), counter(&w, BDC_LOST));
		workload_stop(&w);
		workloads++;
		started = workload_start(t, &w);
	}
	__atomic_store_n(&recording, false, __ATOMIC_RELEASE);
	if (started && !shadowed_finish(w.client))
		klog("bench: faults failed: the workload's read-back did not end");
	else if (started)
		klog("bench: faults end faults=%lu workloads=%lu errors=%ld lost=%ld verified=%ld "
		     "unverified=%ld",
		     i, workloads, shadowed_stat(w.client, BDC_ERRORS),
		     shadowed_stat(w.client, BDC_LOST), shadowed_stat(w.client, BDC_VERIFIED),
		     shadowed_stat(w.client, BDC_UNVERIFIED));
	run.ok = i == run.n;
	workload_stop(&w);
}

static uint64_t param(const char *cmdline, const char *key, uint64_t dflt, uint64_t min,
		      uint64_t max)
{
	uint64_t v = dflt;
	if (cmdline_get_u64(cmdline, key, &v) && (v < min || v > max)) {
		klog("bench: faults: %s=%lu is not from %lu to %lu; using %lu", key, v, min, max,
		     dflt);
		v = dflt;
	}
	return v;
}

void bench_faults_thread(void *cmdline)
{
	run = (struct campaign){
		.n = param(cmdline, "faults_n", DEFAULT_N, 1, MAX_N),
		.window_ms = param(cmdline, "faults_window_ms", DEFAULT_WINDOW_MS, 1, 60000),
		.flip_at = param(cmdline, "faults_flip_at", 0, 1, MAPLE_DOMAIN_SLOT - 1),
		.flip_bit = param(cmdline, "faults_flip_bit", 0, 0, 7),
	};
	rng = param(cmdline, "faults_seed", 1, 1, ~0ULL);
	klog("bench: faults start n=%lu seed=%lu window_ms=%lu kinds=%d", run.n, rng, run.window_ms,
	     KINDS);
	struct ktest_ctx t = {0};
	/* The leak check counts from after ramdisk0 exists: its frames are the
	 * device's for good (ktest/shadowed.h). */
	if (shadowed_populate_ramdisk(&t))
		ktest_run_counted(&t, "faults", campaign,
				  SHADOWED_RUN_WAIT_NS + run.n * SHADOWED_FAULT_WAIT_NS);
	if (!run.ok)
		klog("bench: faults leaks not checked: the campaign did not finish%s%s",
		     t.failed ? ": " : "", t.failed ? t.reason : "");
	else if (t.failed)
		klog("bench: faults leaks: %s", t.reason);
	else
		klog("bench: faults leaks none");
	klog("bench: faults done");
	power_off();
}
