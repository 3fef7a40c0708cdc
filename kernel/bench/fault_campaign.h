/*
 * The fault campaign against membdev (docs/bench-faults.md), once for both
 * platforms: the kinds of fault, where a bit flip lands (a seeded
 * xorshift64*), how a fault is classified (crashed or latent; recovered,
 * unrecovered or escaped; time to serving again; the client's errors and
 * lost acknowledged writes) and the lines that report it. The campaign is
 * kernel/bench/fault_campaign.c; each platform supplies the services below
 * in one file of its own (the placement alone, fault_place.c, needs only
 * faults_page_is): kernel/bench/faults.c in the VM (bench=faults),
 * hosted/faults.c in maple-hosted (`maple-hosted faults`). The lines are
 * the same on both, so ci/harness/faultbench.py reads either.
 */
#ifndef BENCH_FAULT_CAMPAIGN_H
#define BENCH_FAULT_CAMPAIGN_H

#include <stdbool.h>
#include <stdint.h>

#define FAULT_STACK_LIVE      512 /* bytes below a stack's top that hold a call's frames */
#define FAULT_ENTRY_HOT	      128 /* bytes from an exported method's entry: run on every call */
#define FAULTS_DEFAULT_N      600
#define FAULTS_MAX_N	      100000
#define FAULTS_DEFAULT_WINDOW 200 /* ms a fault has to crash the instance */
#define FAULTS_MAX_WINDOW     60000
#define FAULTS_SERVE_WAIT_NS  20000000000ULL  /* a crash and restart; only stops a hang */
#define FAULTS_RUN_WAIT_NS    300000000000ULL /* the verifying read-back; the same */
#define FAULTS_WORKLOAD_OPS   100000000	      /* bdclient's ops: unbounded, the campaign stops it */
#define FAULTS_WRITE_PERCENT  50
#define FAULTS_MAX_STACKS     256 /* GATE_MAX_THREADS */

/* Fault i is of kind i mod FAULT_KINDS. The first six are `inject`'s
 * redirects and kill, in the order of ktest/driver_faults.h's cycle. */
enum fault_kind {
	FAULT_PF,
	FAULT_GP,
	FAULT_UD,
	FAULT_DE,
	FAULT_PK,
	FAULT_KILL,
	FAULT_FLIP_CODE,
	FAULT_FLIP_ENTRY,
	FAULT_FLIP_DATA,
	FAULT_FLIP_STACK,
	FAULT_KINDS
};
extern const char *const fault_kind_names[FAULT_KINDS];

struct fault_params {
	uint64_t n, window_ms, seed;
	/* Every flip-code fault flips bit flip_bit of the byte at
	 * membdev+flip_at instead of a random one (to replay a finding; 0:
	 * random). */
	uint64_t flip_at, flip_bit;
};

/* What a flip may hit in one running instance, as its platform sees it. */
struct fault_image {
	uint64_t base;		 /* where offsets (at=+OFF) count from */
	uint64_t lo, hi;	 /* its image: [lo, hi) */
	const uint64_t *methods; /* its exported methods' entries (the gate's table) */
	uint64_t nmethods;
	uint64_t stack_tops[FAULTS_MAX_STACKS]; /* one per thread stack it has */
	unsigned nstacks;
};

/* Seed the generator (xorshift64*) that places the flips. */
void fault_seed(uint64_t seed);

/*
 * Where a flip of this kind lands in img: the byte's address, with *bit,
 * or 0 if img has nothing of the kind (or the directed place of
 * p->flip_at is not its code). Draws from the campaign's generator in a
 * fixed order, so a seed flips the same places in the same order.
 */
uint64_t fault_place(const struct fault_image *img, int kind, const struct fault_params *p,
		     unsigned *bit);

/* Seed the generator with p->seed and print the campaign's start line. */
void fault_campaign_start(const struct fault_params *p);

/*
 * The campaign: bdclient's verified workload through bdev_shadow to
 * membdev, p->n faults one at a time, one line each; then the last
 * workload's read-back. Returns whether every fault was injected (only
 * then is the platform's leak check meaningful).
 */
bool fault_campaign(const struct fault_params *p);

/* The leak check's line: `none` (reason NULL), the reason, or that the
 * campaign did not finish; then `done`. */
void fault_report_end(bool finished, const char *reason);

/* ---- What each platform supplies ---- */

/* Whether the image page at va is executable (FAULT_FLIP_CODE) or
 * writable (FAULT_FLIP_DATA) in the instance. */
bool faults_page_is(uint64_t va, int kind);

/* Make instance h take a redirect (FAULT_PF..FAULT_PK: the next thread
 * inside it faults with its own rights) or fail now (FAULT_KILL); false if
 * h is not the running instance. */
bool faults_strike(uint64_t h, int kind);

/* Flip one bit of instance h where fault_place says (writing through
 * whatever makes read-only code writable to the platform): *off from its
 * base, *bit; false if h is gone or has nothing of the kind. */
bool faults_flip(uint64_t h, int kind, const struct fault_params *p, uint64_t *off, unsigned *bit);

/* Whether instance h has failed since the campaign began recording, and
 * when (*ns, the platform's clock). */
bool faults_failed(uint64_t h, uint64_t *ns);
/* Start and stop recording membdev's failures. */
void faults_record(bool on);

/* The running instance of domain `name`, or 0. */
uint64_t faults_current(const char *name);
/* Instance h's progress count (its `stats` method: requests done), or < 0. */
long faults_progress(uint64_t h);

/* The workload: create bdev_shadow and bdclient (false, with the
 * platform's line, if they cannot be; *shadow and *client their handles)
 * and start bdclient's verified, unbounded workload through the shadow
 * (*started: bdclient.start's result). */
bool faults_workload_create(uint64_t *shadow, uint64_t *client, long *started);
/* One of bdclient's counters (BDC_*), asked of instance client. */
long faults_client_stat(uint64_t client, int which);
/* Stop the workload and wait for its read-back; false if it never ends. */
bool faults_workload_finish(uint64_t client);
/* Destroy the client, the shadow and the current membdev, whatever state
 * a fault left them in. */
void faults_workload_destroy(uint64_t shadow, uint64_t client);

uint64_t faults_now_ns(void);
void faults_sleep_ns(uint64_t ns);

#endif
