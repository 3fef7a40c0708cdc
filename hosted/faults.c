/*
 * maple-hosted's half of the fault campaign (bench/fault_campaign.h):
 * `maple-hosted faults [N [SEED [WINDOW_MS [FLIP_AT BIT]]]]` runs the shared
 * campaign (kernel/bench/fault_campaign.c) against membdev behind
 * bdev_shadow under bdclient's verified workload, and prints the VM's lines.
 *
 * TWO THREADS. One thread enters domains in maple-hosted, and a domain's
 * threads run on it to completion (syscalls.c), so bdclient's workload
 * occupies it for the whole campaign. The campaign's own loop, which waits
 * and sleeps, runs on a second thread that never enters a domain. Whatever
 * touches a domain (looking one up, calling its methods, creating,
 * destroying) is asked of the domain thread through a
 * one-slot mailbox, which it serves between requests in its main loop or
 * at the tick of a syscall of bdclient's (hsys_set_tick: then bdclient is
 * between two batches and no other call is in progress), so no domain's
 * state is read while the domain thread changes it. Strikes and flips are
 * made from the campaign thread, on a copy of the instance the domain
 * thread took when it was found serving: a flipped membdev may spin in its
 * own code and never reach a tick, and a strike is what ends that; and a
 * flip must be able to land while membdev runs, as in the VM.
 *
 * Lines as in the VM (fault_campaign.c), on stderr with the runtime's log;
 * the leak check after: domains, live RRefs and mappings in the domain
 * slots back where they were once ramdisk0 existed.
 */
#define _GNU_SOURCE
#include "faults.h"

#include "domains.h"
#include "entry.h"
#include "gate.h"
#include "inject.h"
#include "pkeys.h"
#include "runtime.h"
#include "syscalls.h"
#include "watchdog.h"

#include <bench/fault_campaign.h>
#include <core/log.h>
#include <domain/gate_layout.h>
#include <idl/bdclient_methods.h>
#include <idl/bdev_methods.h>
#include <maple/abi.h>
#include <xheap/rref.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ANSWER_WAIT_S 30 /* a domain thread that answers nothing for this long is stuck */

/* ---- The mailbox: the campaign thread asks, the domain thread answers ---- */

enum op { ASK_CURRENT, ASK_PROGRESS, ASK_STAT, ASK_CREATE, ASK_STOP, ASK_DESTROY };

struct ask {
	enum op op;
	const char *name;
	uint64_t h, h2;
	int which;
	long r;
	struct hosted_domain copy; /* ASK_CURRENT: the instance, for a strike */
	int done;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct ask *posted;   /* the question waiting for the domain thread */
static int worker_due;	     /* bdclient's worker was made and has not run yet */
static int worker_running;   /* the domain thread is running it */
static int campaign_over;    /* the campaign thread has finished */
static int serving;	     /* the domain thread is answering (no tick inside) */
static uint64_t client_seen; /* the workload's bdclient, whose syscalls tick */

/* The running domain with handle h, or NULL. Domain thread only. */
static struct hosted_domain *running(uint64_t h)
{
	struct hosted_domain *d = h ? hgate_domain(h) : NULL;
	return d && hgate_state(d) == GATE_DOMAIN_RUNNING ? d : NULL;
}

/* Call method m of the domain with handle h (domain thread). */
static long call(uint64_t h, uint64_t m, long a0, long a1, long a2)
{
	struct hosted_domain *d = running(h);
	const long a[4] = {a0, a1, a2, 0};
	char why[256];
	long r;
	if (!d || d->nmethods <= m)
		return -MAPLE_ESRCH;
	fflush(stdout);
	return entry_upcall(d, d->methods[m], a, &r, why, sizeof why) < 0 ? -MAPLE_ECALLEE : r;
}

/* The instance's image, its methods and its thread's stack, as fault_place
 * sees them; 0, or -1 if its mappings cannot be read. */
static int image_of(const struct hosted_domain *d, struct fault_image *img)
{
	char why[160];
	*img = (struct fault_image){.base = d->base,
				    .lo = d->base,
				    .hi = d->base + d->span,
				    .methods = d->methods,
				    .nmethods = d->nmethods};
	img->nstacks = hgate_stack_tops(d, img->stack_tops, FAULTS_MAX_STACKS);
	if (inject_snapshot(d, why, sizeof why) < 0) {
		klog("bench: faults: %s", why);
		return -1;
	}
	return 0;
}

long faults_flip_in(const struct hosted_domain *d, int kind, const struct fault_params *p,
		    uint64_t *off, unsigned *bit)
{
	struct fault_image img;
	char why[160];
	if (image_of(d, &img) < 0)
		return 0;
	uint64_t va = fault_place(&img, kind, p, bit);
	if (!va)
		return 0;
	if (inject_flip(hgate_handle(d), va, *bit, why, sizeof why) < 0) {
		klog("bench: faults: %s", why);
		return 0;
	}
	*off = va - d->base;
	return 1;
}

static void create(struct ask *q)
{
	struct hosted_domain *shadow = NULL, *client = NULL;
	char err[256];
	q->h = hdom_create(NULL, "bdev_shadow", &shadow, err, sizeof err);
	q->h2 = q->h ? hdom_create(NULL, "bdclient", &client, err, sizeof err) : 0;
	if (!q->h2) {
		klog("bench: faults failed: cannot create the workload: %s", err);
		q->r = -1;
		return;
	}
	q->r = call(q->h2, BdClient_start_METHOD, FAULTS_WORKLOAD_OPS, FAULTS_WRITE_PERCENT,
		    (long)q->h);
	pthread_mutex_lock(&mu);
	client_seen = q->h2;
	worker_due = q->r == 0;
	pthread_mutex_unlock(&mu);
}

static void destroy(uint64_t h)
{
	char err[160];
	if (h && hgate_domain(h) && hdom_destroy(h, err, sizeof err) < 0)
		klog("bench: faults: cannot destroy %#lx: %s", (unsigned long)h, err);
}

/* Every membdev, running or failed, as the VM's teardown: a failed one
 * that its failed shadow left keeps ramdisk0 (a failed holder's device
 * goes on only to its creator, which is gone), and no later workload's
 * membdev could map it. Between workloads no other thread creates or
 * destroys a membdev, so each pass finds one fewer; the bound is the
 * table's size. */
void faults_destroy_drivers(void)
{
	for (unsigned n = 0; n < GATE_MAX_DOMAINS; n++) {
		long driver = hgate_lookup_any("membdev");
		if (driver < 0)
			return;
		destroy((uint64_t)driver);
		if (hgate_domain((uint64_t)driver)) /* destroy logged why it stays */
			return;
	}
}

/* Answer q, on the domain thread. */
static void answer(struct ask *q)
{
	struct hosted_domain *d;
	switch (q->op) {
	case ASK_CURRENT: {
		long h = hgate_lookup(q->name);
		q->r = h < 0 ? 0 : h;
		if ((d = running((uint64_t)q->r)))
			q->copy = *d;
		break;
	}
	case ASK_PROGRESS:
		q->r = call(q->h, BlockDevice_stats_METHOD, 0, 0, 0);
		break;
	case ASK_STAT:
		q->r = call(q->h, BdClient_stat_METHOD, q->which, 0, 0);
		break;
	case ASK_CREATE:
		create(q);
		break;
	case ASK_STOP:
		q->r = call(q->h, BdClient_stop_METHOD, 0, 0, 0);
		break;
	case ASK_DESTROY: { /* only between workloads: nothing runs in them */
		destroy(q->h2);
		destroy(q->h);
		faults_destroy_drivers();
		pthread_mutex_lock(&mu);
		client_seen = 0;
		pthread_mutex_unlock(&mu);
		break;
	}
	}
}

/* Take the posted question, if any and allowed now, and answer it. Called
 * with mu held; returns with it held. */
static void answer_posted(int at_tick)
{
	struct ask *q = posted;
	if (!q || serving || (at_tick && q->op == ASK_DESTROY) || (at_tick && q->op == ASK_CREATE))
		return;
	posted = NULL;
	serving = 1;
	pthread_mutex_unlock(&mu);
	answer(q);
	pthread_mutex_lock(&mu);
	serving = 0;
	q->done = 1;
	pthread_cond_broadcast(&cv);
}

/* At every syscall served (syscalls.c), in the SIGSYS handler: answer only
 * when bdclient itself made it, between two of its batches. */
static void tick(void *unused)
{
	(void)unused;
	struct hosted_domain *cur = hgate_current();
	pthread_mutex_lock(&mu);
	if (cur && client_seen && hgate_handle(cur) == client_seen)
		answer_posted(1);
	pthread_mutex_unlock(&mu);
}

static struct timespec after_s(int s)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += s;
	return ts;
}

static pid_t domain_tid; /* the domain thread's, for stuck_where */

/*
 * Where the domain thread is, for the line that ends a run it stopped
 * answering: the gate's current domain (its pages are the thread's, and
 * this only reads them, on the way out) and what Linux says of the thread
 * (/proc/self/task/TID/syscall: a system call's number and arguments, or
 * `-1 SP PC` when it runs outside one), the PC as DOMAIN+OFFSET when it is
 * in a domain's slot.
 */
static void stuck_where(char *out, size_t len)
{
	/* The thread in a domain (bdclient's worker runs on its own), else
	 * the domain thread. */
	struct hosted_domain *cur = NULL;
	pid_t tid = domain_tid;
	hgate_busy_slot(&tid, &cur);
	char path[64], line[256] = "";
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f || !fgets(line, sizeof line, f))
		snprintf(line, sizeof line, "unreadable");
	if (f)
		fclose(f);
	line[strcspn(line, "\n")] = 0;
	unsigned long sp, pc;
	char at[64] = "";
	if (sscanf(line, "-1 %lx %lx", &sp, &pc) == 2 && pc >= MAPLE_DOMAIN_BASE) {
		uint64_t id = (pc - MAPLE_DOMAIN_BASE) / MAPLE_DOMAIN_SLOT;
		struct hosted_domain *in = id < GATE_MAX_DOMAINS ? hgate_slot((unsigned)id) : NULL;
		if (in)
			snprintf(at, sizeof at, ", at %s+%#lx", in->name,
				 (unsigned long)(pc - in->base));
	}
	snprintf(out, len, "the gate's current domain %s; the thread: %s%s",
		 cur ? cur->name : "none", line, at);
}

/* Ask the domain thread; a domain thread stuck for ANSWER_WAIT_S ends the
 * process with the campaign's failure line (there is no one to go on
 * with). */
static long ask(struct ask *q)
{
	struct timespec until = after_s(ANSWER_WAIT_S);
	pthread_mutex_lock(&mu);
	while (posted)
		pthread_cond_wait(&cv, &mu);
	q->done = 0;
	posted = q;
	pthread_cond_broadcast(&cv);
	int rc = 0;
	while (!q->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&cv, &mu, &until);
	pthread_mutex_unlock(&mu);
	if (!q->done) {
		char where[160];
		stuck_where(where, sizeof where);
		klog("bench: faults failed: the domain thread answered nothing for %d s (%s)",
		     ANSWER_WAIT_S, where);
		fflush(NULL);
		_exit(1);
	}
	return q->r;
}

/* ---- The platform services (bench/fault_campaign.h), campaign thread ---- */

static struct hosted_domain membdev; /* the last instance looked up, for strikes */
static int recording;

bool faults_page_is(uint64_t va, int kind)
{
	return inject_page_is(va, kind);
}

uint64_t faults_current(const char *name)
{
	struct ask q = {.op = ASK_CURRENT, .name = name};
	uint64_t h = (uint64_t)ask(&q);
	if (h && !strcmp(name, "membdev"))
		membdev = q.copy;
	return h;
}

long faults_progress(uint64_t h)
{
	struct ask q = {.op = ASK_PROGRESS, .h = h};
	return ask(&q);
}

long faults_client_stat(uint64_t client, int which)
{
	struct ask q = {.op = ASK_STAT, .h = client, .which = which};
	return ask(&q);
}

/*
 * From this thread: a spinning instance never reaches a tick. The copy is
 * of the instance the campaign found serving; only the campaign fails
 * membdev, so it is still there unless a fault already failed it, which
 * the failure record says (then nothing is struck: its slot may hold its
 * successor).
 */
bool faults_strike(uint64_t h, int kind)
{
	uint64_t ns;
	char why[160];
	if (hgate_handle(&membdev) != h || inject_failed(h, &ns, NULL, 0))
		return false;
	if (inject_strike(h, kind, why, sizeof why) < 0) {
		klog("bench: faults: %s", why);
		return false;
	}
	return true;
}

/* From this thread too, like the VM's, which flips while membdev may be
 * inside a call: a code flip can land in the loop it runs, a stack flip in
 * a frame in use. Safe as a strike is: the instance served and nothing
 * else fails it, so its pages are there (inject_flip makes a code page
 * writable for the write; a fetch from it meanwhile runs again). */
bool faults_flip(uint64_t h, int kind, const struct fault_params *p, uint64_t *off, unsigned *bit)
{
	uint64_t ns;
	return hgate_handle(&membdev) == h && !inject_failed(h, &ns, NULL, 0) &&
	       faults_flip_in(&membdev, kind, p, off, bit);
}

void faults_record(bool on)
{
	recording = on;
}

bool faults_failed(uint64_t h, uint64_t *ns)
{
	return recording && inject_failed(h, ns, NULL, 0);
}

bool faults_workload_create(uint64_t *shadow, uint64_t *client, long *started)
{
	struct ask q = {.op = ASK_CREATE};
	if (ask(&q) == -1 && !q.h2)
		return false;
	*shadow = q.h;
	*client = q.h2;
	*started = q.r;
	return true;
}

/* Stop bdclient's workload and wait until its worker has returned. */
static bool stop_worker(uint64_t client, uint64_t wait_ns)
{
	struct ask q = {.op = ASK_STOP, .h = client};
	ask(&q);
	uint64_t deadline = faults_now_ns() + wait_ns;
	for (;;) {
		pthread_mutex_lock(&mu);
		int busy = worker_due || worker_running;
		pthread_mutex_unlock(&mu);
		if (!busy)
			return true;
		if (faults_now_ns() > deadline)
			return false;
		faults_sleep_ns(10000000);
	}
}

bool faults_workload_finish(uint64_t client)
{
	return stop_worker(client, FAULTS_RUN_WAIT_NS) &&
	       faults_client_stat(client, BDC_RUNNING) == 0;
}

void faults_workload_destroy(uint64_t shadow, uint64_t client)
{
	inject_cancel(); /* no strike may outlive the instance it was for */
	if (!stop_worker(client, FAULTS_SERVE_WAIT_NS)) {
		klog("bench: faults failed: bdclient's worker did not end once stopped");
		fflush(NULL);
		_exit(1);
	}
	struct ask q = {.op = ASK_DESTROY, .h = shadow, .h2 = client};
	ask(&q);
}

uint64_t faults_now_ns(void)
{
	return inject_now_ns();
}

void faults_sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
			      .tv_nsec = (long)(ns % 1000000000u)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- The command ---- */

static struct fault_params params;
static bool finished;

static void *campaign_thread(void *unused)
{
	(void)unused;
	finished = fault_campaign(&params);
	pthread_mutex_lock(&mu);
	campaign_over = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

/* What the leak check counts: domains, live RRefs, mappings in the slots. */
struct counts {
	unsigned domains;
	uint64_t rrefs;
	int maps;
};

static struct counts count(void)
{
	struct rref_stats s;
	rref_get_stats(&s);
	struct counts c = {.domains = hdom_count(), .rrefs = s.live, .maps = 0};
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	while (f && fgets(line, sizeof line, f)) {
		unsigned long lo;
		if (sscanf(line, "%lx-", &lo) == 1 && lo >= MAPLE_DOMAIN_BASE &&
		    lo < MAPLE_DOMAIN_BASE + (uint64_t)GATE_MAX_DOMAINS * MAPLE_DOMAIN_SLOT)
			c.maps++;
	}
	if (f)
		fclose(f);
	else
		c.maps = -1;
	return c;
}

/* Map ramdisk0 once (a membdev's init), so that its memory, the device's
 * for good, exists before the leak count starts (as the VM's
 * shadowed_populate_ramdisk). */
static int populate_ramdisk(void)
{
	struct hosted_domain *d;
	char err[256];
	uint64_t h = hdom_create(NULL, "membdev", &d, err, sizeof err);
	long r = h ? call(h, BlockDevice_init_METHOD, 1, 4096, 0) : -1;
	if (h)
		destroy(h);
	if (r < 0)
		klog("bench: faults failed: membdev.init: %ld%s%s", r, h ? "" : ": ", h ? "" : err);
	return r < 0 ? -1 : 0;
}

static int number(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || end == s || v < min || v > max)
		return 0;
	*out = v;
	return 1;
}

int hosted_faults(int n, char **args)
{
	params = (struct fault_params){
		.n = FAULTS_DEFAULT_N, .window_ms = FAULTS_HOSTED_WINDOW, .seed = 1};
	static const struct {
		const char *what;
		uint64_t min, max;
	} arg[] = {{"N", 1, FAULTS_MAX_N},
		   {"SEED", 1, ~0ull},
		   {"WINDOW_MS", 1, FAULTS_MAX_WINDOW},
		   {"FLIP_AT", 1, MAPLE_DOMAIN_SLOT - 1},
		   {"BIT", 0, 7}};
	uint64_t *to[] = {&params.n, &params.seed, &params.window_ms, &params.flip_at,
			  &params.flip_bit};
	if (n > 5 || n == 4) {
		fprintf(stderr,
			"usage: maple-hosted faults [N [SEED [WINDOW_MS [FLIP_AT BIT]]]]\n");
		return 2;
	}
	for (int i = 0; i < n; i++)
		if (!number(args[i], arg[i].min, arg[i].max, to[i])) {
			fprintf(stderr,
				"maple-hosted: faults: %s '%s' is not a number from %lu to %lu\n",
				arg[i].what, args[i], (unsigned long)arg[i].min,
				(unsigned long)arg[i].max);
			return 2;
		}
	char why[256];
	int keys = pkeys_available(why, sizeof why);
	/* Said first: without keys, hardware contains nothing (a flipped
	 * membdev may write any domain's memory, or the runtime's). */
	if (keys)
		printf("hosted: faults under protection keys\n");
	else
		printf("hosted: faults without protection keys: %s\n", why);
	fflush(stdout);
	/* The VM's call watchdog too: a flipped membdev looping outside its
	 * own code (finding 8) is out of the strikes' reach. */
	if (runtime_start(keys, why, sizeof why) < 0 ||
	    hwatch_start(HWATCH_DEFAULT_MS, why, sizeof why) < 0) {
		fprintf(stderr, "maple-hosted: %s\n", why);
		return 2;
	}
	fault_campaign_start(&params);
	if (populate_ramdisk() < 0) {
		fault_report_end(false, "ramdisk0 could not be mapped");
		return 1;
	}
	struct counts before = count();
	domain_tid = gettid();
	hsys_set_tick(tick, NULL);
	pthread_t t;
	if (pthread_create(&t, NULL, campaign_thread, NULL)) {
		fprintf(stderr, "maple-hosted: faults: cannot start the campaign's thread\n");
		return 2;
	}
	/* The domain thread: answer questions, and run bdclient's worker
	 * when one is due (it answers at its ticks meanwhile). */
	pthread_mutex_lock(&mu);
	while (!campaign_over) {
		if (posted) {
			answer_posted(0);
		} else if (worker_due) {
			worker_due = 0;
			worker_running = 1;
			pthread_mutex_unlock(&mu);
			hsys_run_threads();
			pthread_mutex_lock(&mu);
			worker_running = 0;
			pthread_cond_broadcast(&cv);
		} else {
			pthread_cond_wait(&cv, &mu);
		}
	}
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	hsys_set_tick(NULL, NULL);
	struct counts after = count();
	char leak[200] = "";
	if (after.domains != before.domains || after.rrefs != before.rrefs ||
	    after.maps != before.maps || after.maps < 0)
		snprintf(leak, sizeof leak,
			 "%u domains, %lu live RRefs and %d mappings in the domain slots, want %u, "
			 "%lu and %d",
			 after.domains, (unsigned long)after.rrefs, after.maps, before.domains,
			 (unsigned long)before.rrefs, before.maps);
	fault_report_end(finished, leak[0] ? leak : NULL);
	return finished && !leak[0] ? 0 : 1;
}
