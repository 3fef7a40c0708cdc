/*
 * The fault campaign against membdev, shared by the VM and maple-hosted
 * (bench/fault_campaign.h; docs/bench-faults.md): a software fault-injection
 * campaign in the spirit of Nooks' SWIFI, against membdev behind
 * bdev_shadow while bdclient runs its verified workload (every acknowledged
 * write is checked on read and in a full read-back at the end).
 *
 * Fault i is of kind i mod FAULT_KINDS, so every kind gets its share; where
 * a bit flip lands comes from a PRNG seeded with the campaign's seed, so a
 * campaign is reproducible (up to the timing of the workload). After a fault
 * the campaign waits the window for the instance to fail. If it fails, the
 * fault "crashed" it; if not, the fault was "latent" (no effect seen), and
 * the instance is killed so that the next fault starts from a fresh image
 * (Nooks likewise reloaded between runs); if the shadow's end-to-end checks
 * replaced it first, having found it answering wrongly, it was "detected". Either way the shadow
 * must restart membdev, and the time from the failure to the new instance serving is measured.
 * Containment: the shadow and the client must still be the same running domains afterwards, and the
 * platform must live (a kernel panic or a dead host process ends the run without `done`). One line
 * a fault:
 *
 *   bench: faults n=7 kind=flip-code outcome=crashed|latent|detected at=+0x1234 bit=3
 *     result=recovered serving_us=5123 errors=0 lost=0
 *
 * (at= and bit= only for flips; result recovered, escaped (the shadow or the
 * client failed or went) or unrecovered (no new membdev served within 20 s);
 * errors and lost are the client's counters' growth over this fault, -1 once
 * the client cannot be asked: lost blocks are found only when read, so a loss
 * may show under a later fault or only in the final read-back). A fault that
 * did not recover ends its workload (its counters are printed) and a fresh
 * one goes on. Then the last workload's totals and the platform's leak check:
 *
 *   bench: faults start n=N seed=S window_ms=W kinds=10
 *   bench: faults workload K ended by fault N: errors=E lost=L
 *   bench: faults end faults=N workloads=K errors=E lost=L verified=V unverified=U
 *   bench: faults leaks none | bench: faults leaks: REASON
 *   bench: faults done
 */
#include <bench/fault_campaign.h>
#include <core/log.h>
#include <idl/bdclient_methods.h>
#include <idl/bdev_methods.h>
#include <lib/fmt.h>

#define MS	      1000000UL
#define SERVE_POLL_NS (2 * MS) /* between looks for a serving replacement */

/* The shadow and the client a fault must leave as they were, and membdev's
 * current instance. */
struct workload {
	uint64_t shadow, client, driver;
};

enum result { RECOVERED, UNRECOVERED, ESCAPED };
static const char *const result_names[] = {"recovered", "unrecovered", "escaped"};

/*
 * Whether instance h has served. Its progress count rises when a
 * request's work is done, while that request may still be inside it: if
 * that is the request the shadow is retrying after the last crash, a
 * strike now would crash the same request again, and a run of such strikes
 * uses up the shadow's retries (docs/recovery.md, "Striking a driver"). So
 * an instance counts as served only once its count has risen again after
 * it was first seen above 0: with one client thread, the request that did
 * the first work has then returned. *first carries what was seen of h.
 */
static bool served(uint64_t h, uint64_t *watched, long *first)
{
	if (*watched != h) {
		*watched = h;
		*first = 0;
	}
	long n = faults_progress(h);
	if (n <= 0)
		return false;
	if (!*first) {
		*first = n;
		return false;
	}
	return n > *first;
}

static bool intact(const struct workload *w)
{
	return faults_current("bdev_shadow") == w->shadow &&
	       faults_current("bdclient") == w->client;
}

/* Wait for a new membdev (not old) to serve; ESCAPED as soon as the shadow or
 * the client is no longer the same running domain (the fault reached beyond
 * membdev), UNRECOVERED if none serves within FAULTS_SERVE_WAIT_NS. */
static enum result wait_serving(struct workload *w, uint64_t old)
{
	uint64_t watched = 0;
	long first = 0;
	uint64_t deadline = faults_now_ns() + FAULTS_SERVE_WAIT_NS;
	while (faults_now_ns() < deadline) {
		if (!intact(w))
			return ESCAPED;
		uint64_t h = faults_current("membdev");
		if (h && h != old && served(h, &watched, &first)) {
			w->driver = h;
			return RECOVERED;
		}
		faults_sleep_ns(SERVE_POLL_NS);
	}
	return UNRECOVERED;
}

/* A client counter, or -1 once the client can no longer be asked (it failed). */
static long counter(const struct workload *w, int which)
{
	return faults_current("bdclient") == w->client ? faults_client_stat(w->client, which) : -1;
}

static long grown(long before, long after)
{
	return before < 0 || after < 0 ? -1 : after - before;
}

/* Inject fault i into the current membdev and see where it ends; one line. */
static enum result one_fault(const struct fault_params *p, uint64_t i, struct workload *w)
{
	int kind = (int)(i % FAULT_KINDS);
	uint64_t h = w->driver, failed_ns = 0;
	long errors0 = counter(w, BDC_ERRORS), lost0 = counter(w, BDC_LOST);
	uint64_t off = 0;
	unsigned bit = 0;
	bool fired = kind < FAULT_FLIP_CODE ? faults_strike(h, kind)
					    : faults_flip(h, kind, p, &off, &bit);
	char where[48] = "";
	if (kind >= FAULT_FLIP_CODE)
		fmt_snprintf(where, sizeof where, " at=+%#lx bit=%u", (unsigned long)off, bit);
	if (!fired) {
		klog("bench: faults n=%lu kind=%s failed: membdev (handle %#lx) was not there to "
		     "strike",
		     (unsigned long)i, fault_kind_names[kind], (unsigned long)h);
		return UNRECOVERED;
	}
	uint64_t end = faults_now_ns() + p->window_ms * MS;
	while (!faults_failed(h, &failed_ns) && faults_now_ns() < end)
		faults_sleep_ns(MS);
	bool crashed = faults_failed(h, &failed_ns);
	/* Latent: killed, so that the next fault starts from a fresh image. An
	 * instance no longer there to kill was replaced by the shadow, whose
	 * end-to-end checks found it answering wrongly (docs/recovery.md):
	 * detected. Nothing here asks the domain thread, which a flipped
	 * membdev may hold spinning until the kill's strike reaches it. */
	bool detected = !crashed && !faults_strike(h, FAULT_KILL);
	const char *outcome = crashed ? "crashed" : detected ? "detected" : "latent";
	uint64_t struck_ns = faults_now_ns();
	enum result r = wait_serving(w, h);
	/* Its last failure (the kill's, if latent); a detected one's is the
	 * shadow's, which no platform records as such: timed from the window. */
	if (!faults_failed(h, &failed_ns))
		failed_ns = struck_ns;
	uint64_t us = r == RECOVERED ? (faults_now_ns() - failed_ns) / 1000 : 0;
	klog("bench: faults n=%lu kind=%s outcome=%s%s result=%s serving_us=%lu errors=%ld "
	     "lost=%ld",
	     (unsigned long)i, fault_kind_names[kind], outcome, where, result_names[r],
	     (unsigned long)us, grown(errors0, counter(w, BDC_ERRORS)),
	     grown(lost0, counter(w, BDC_LOST)));
	return r;
}

/* Create the shadow and the client and start the verified workload; false
 * (with a line) if it does not start serving. */
static bool workload_start(struct workload *w)
{
	*w = (struct workload){0};
	long r = 0;
	if (!faults_workload_create(&w->shadow, &w->client, &r))
		return false;
	if (r || wait_serving(w, 0) != RECOVERED) {
		klog("bench: faults failed: the workload did not start (bdclient.start %ld) or "
		     "membdev never served",
		     r);
		return false;
	}
	return true;
}

void fault_campaign_start(const struct fault_params *p)
{
	fault_seed(p->seed);
	klog("bench: faults start n=%lu seed=%lu window_ms=%lu kinds=%d", (unsigned long)p->n,
	     (unsigned long)p->seed, (unsigned long)p->window_ms, FAULT_KINDS);
}

/*
 * A fault that escaped (or left no membdev serving) ends that workload: its
 * counters are printed as far as they can be read, everything is destroyed
 * and a fresh shadow, client and workload go on with the next fault, so one
 * escape does not end the campaign.
 */
bool fault_campaign(const struct fault_params *p)
{
	struct workload w;
	uint64_t i = 0, workloads = 1;
	bool started = workload_start(&w);
	faults_record(true);
	for (; started && i < p->n; i++) {
		if (one_fault(p, i, &w) == RECOVERED)
			continue;
		klog("bench: faults workload %lu ended by fault %lu: errors=%ld lost=%ld",
		     (unsigned long)workloads, (unsigned long)i, counter(&w, BDC_ERRORS),
		     counter(&w, BDC_LOST));
		faults_workload_destroy(w.shadow, w.client);
		workloads++;
		started = workload_start(&w);
	}
	faults_record(false);
	if (started && !faults_workload_finish(w.client))
		klog("bench: faults failed: the workload's read-back did not end");
	else if (started)
		klog("bench: faults end faults=%lu workloads=%lu errors=%ld lost=%ld verified=%ld "
		     "unverified=%ld",
		     (unsigned long)i, (unsigned long)workloads,
		     faults_client_stat(w.client, BDC_ERRORS),
		     faults_client_stat(w.client, BDC_LOST),
		     faults_client_stat(w.client, BDC_VERIFIED),
		     faults_client_stat(w.client, BDC_UNVERIFIED));
	faults_workload_destroy(w.shadow, w.client);
	return i == p->n;
}

void fault_report_end(bool finished, const char *reason)
{
	if (!finished)
		klog("bench: faults leaks not checked: the campaign did not finish%s%s",
		     reason ? ": " : "", reason ? reason : "");
	else if (reason)
		klog("bench: faults leaks: %s", reason);
	else
		klog("bench: faults leaks none");
	klog("bench: faults done");
}
