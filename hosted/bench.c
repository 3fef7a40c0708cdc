/*
 * bench: the hosted half of `bench/xcall --hosted` (docs/bench-xcall.md).
 *
 * Two kinds of rows, one bracket. Every sample is one operation between
 * two serialized TSC reads (LFENCE; RDTSC; LFENCE, Intel SDM Vol. 2B
 * RDTSC: LFENCE orders it against earlier and later instructions).
 *  - The runtime's own rows (getppid, a bare WRPKRU pair, an upcall) are
 *    timed here; getppid and the WRPKRU pair before the runtime starts, so
 *    its seccomp filter is not in getppid's path.
 *  - The rows the VM measures (BENCH_XCALL_ROWS) are timed by the very
 *    same bench domain the VM uses (domains/test/bench), called as an
 *    upcall with xa, xb, xc and bdev_shadow (which creates membdev) beside
 *    it, all created as the VM's kernel creates them (domains.c): its
 *    sampler times each operation from inside the domain and returns the
 *    median and p99 of raw samples.
 * The bracket's median (the empty pair of reads, the same instructions the
 * domain's sampler uses) is subtracted from every row's median and p99;
 * subtracting one constant commutes with taking order statistics, so this
 * is the median of the bracket-subtracted samples (below zero counts as
 * zero). Each line gives both the subtracted and the raw figures.
 *
 * With --nop-wrpkru the runtime starts through runtime_start_nop_wrpkru, in
 * a process that allocates no key, whose gate page has each WRPKRU made a
 * NOP, and says so: the cross-domain rows then time the gate's other work
 * natively (without PKU, instead of a SIGILL per WRPKRU; with PKU, the
 * same code as the keyed run's minus its PKRU writes, which is how the
 * WRPKRUs' cost in context is measured: docs/bench-xcall.md). A
 * measurement; nothing is isolated.
 */
#define _GNU_SOURCE
#include "bench.h"

#include "domains.h"
#include "entry.h"
#include "gate.h"
#include "jump.h"
#include "loader.h"
#include "noavx512.h"
#include "pkeys.h"
#include "runtime.h"

#include <domain/gate_layout.h>
#include <idl/rogue_methods.h>
#include <lib/sort.h>
#include <maple/abi.h>
#include <test/bench/bench.h>
#include <test/rogue/cases.h>

#include <cpuid.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Fault to error needs a fresh rogue per sample: a faulted domain stays
 * failed. Each is created and destroyed as the VM's fault row does. */
#define FAULT_SAMPLES 64

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

/* A row's raw order statistics, kept for the derived lines. */
struct result {
	const char *name;
	int measured;
	uint64_t median, p99; /* raw: the bracket not yet subtracted */
};

/* The runtime's three rows, BENCH_XCALL_ROWS and the fault row. */
#define BENCH_ROW_COUNT(name, op, target) +1
#define NROWS				  (3 + BENCH_XCALL_ROWS(BENCH_ROW_COUNT) + 1)
static struct result results[NROWS];
static unsigned nresults;
static uint64_t bracket;

static uint64_t minus_bracket(uint64_t raw)
{
	return raw > bracket ? raw - bracket : 0;
}

/* One line of figures: a row's (label its name) or a part's ("part NAME"). */
static void figures(const char *label, uint64_t median, uint64_t p99, unsigned n)
{
	printf("hosted-bench: %s median %lu p99 %lu raw-median %lu raw-p99 %lu samples %u\n", label,
	       (unsigned long)minus_bracket(median), (unsigned long)minus_bracket(p99),
	       (unsigned long)median, (unsigned long)p99, n);
	fflush(stdout); /* before the next upcall's domain writes its own lines */
}

static void row(const char *name, uint64_t median, uint64_t p99, unsigned n)
{
	if (nresults < NROWS)
		results[nresults++] = (struct result){name, 1, median, p99};
	figures(name, median, p99, n);
}

static void not_measured(const char *name, const char *why)
{
	if (nresults < NROWS)
		results[nresults++] = (struct result){name, 0, 0, 0};
	printf("hosted-bench: %s not measured: %s\n", name, why);
	fflush(stdout);
}

static const struct result *find(const char *name)
{
	for (unsigned i = 0; i < nresults; i++)
		if (!strcmp(results[i].name, name) && results[i].measured)
			return &results[i];
	return NULL;
}

/* The runtime's operations; called through a volatile pointer so none is
 * inlined (that indirect call is in these rows, as the domain's direct
 * call is in its rows). */
static void op_getppid(void)
{
	getppid();
}

/* Two WRPKRUs of the current rights, each checked as the runtime's every
 * WRPKRU is (wrpkru_pair.S: hosted/audit.c allows no unchecked one). */
void hosted_wrpkru_pair(void);

static struct hosted_domain *bench_domain;

/* The runtime's call into bench's null method and back through the gate
 * page's SYS_RETURN: the trusted entry's round trip (a SIGSYS, and the
 * signal mask saved and restored by sigsetjmp/siglongjmp). */
static void op_upcall(void)
{
	static const long none[4];
	char why[128];
	long r;
	if (entry_upcall(bench_domain, bench_domain->methods[Bench_null_METHOD], none, &r, why,
			 sizeof why) < 0)
		abort(); /* made once before timing (hosted_bench): cannot fail */
}

/* Sorted raw samples of op (of nothing when op is NULL: the bracket). */
static void sample(void (*op)(void), uint64_t *out, unsigned n)
{
	void (*volatile f)(void) = op;
	for (unsigned i = 0; i < n + n / 10; i++) { /* the first n/10 warm caches and predictors */
		uint64_t t0 = tsc();
		if (op)
			f();
		uint64_t t = tsc() - t0;
		if (i >= n / 10)
			out[i - n / 10] = t;
	}
	sort_u64(out, n);
}

static void runtime_row(const char *name, void (*op)(void), uint64_t *buf, unsigned n)
{
	sample(op, buf, n);
	row(name, buf[n / 2], buf[(uint64_t)n * 99 / 100], n);
}

/* The greatest common divisor of many read-to-read differences: a virtual
 * machine's TSC may advance in steps, and no row resolves less than one. */
static uint64_t tsc_step(void)
{
	uint64_t g = 0;
	for (int i = 0; i < 10000; i++) {
		uint64_t a = tsc(), b = tsc();
		for (uint64_t x = b - a; x;) {
			uint64_t r = g % x;
			g = x;
			x = r;
		}
	}
	return g;
}

/* /proc/cpuinfo's first `field`, of the machine this process runs on. */
static void cpuinfo(const char *field, char *out, size_t len)
{
	snprintf(out, len, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096]; /* the flags line is long */
	size_t n = strlen(field);
	while (f && fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (colon && !strncmp(line, field, n) &&
		    strspn(line + n, " \t") == (size_t)(colon - line - n)) {
			snprintf(out, len, "%s", colon + 1 + strspn(colon + 1, " "));
			out[strcspn(out, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
}

/* Whether /proc/cpuinfo's flags list `flag`: "hypervisor" says the CPU
 * is a virtual machine's, whose cycles a hypervisor may take a share of. */
static int cpu_flag(const char *flag)
{
	char flags[4096];
	cpuinfo("flags", flags, sizeof flags);
	for (char *tok = strtok(flags, " "); tok; tok = strtok(NULL, " "))
		if (!strcmp(tok, flag))
			return 1;
	return 0;
}

/* bench.sample(op, target, n) then bench.p99(): 0 with the raw median and
 * p99, or -1 with why. */
static int bench_sample(long op, long target, long n, uint64_t *median, uint64_t *p99, char *why,
			size_t len)
{
	const long a[4] = {op, target, n, 0}, none[4] = {0};
	long m, p;
	if (entry_upcall(bench_domain, bench_domain->methods[Bench_sample_METHOD], a, &m, why,
			 len) < 0 ||
	    entry_upcall(bench_domain, bench_domain->methods[Bench_p99_METHOD], none, &p, why,
			 len) < 0)
		return -1;
	if (m < 0) {
		snprintf(why, len, "bench.sample(%ld, %ld, %ld) answered %ld", op, target, n, m);
		return -1;
	}
	*median = (uint64_t)m;
	*p99 = (uint64_t)p;
	return 0;
}

/* The rows of BENCH_XCALL_ROWS, each timed inside bench; a row whose
 * target does not run says why (no_proxy: why bdev_shadow, and so membdev,
 * could not be created). 0, or -1 after a failed row's line. */
static int domain_rows(unsigned samples, const char *no_proxy)
{
	static const struct {
		const char *name;
		long op;
		const char *target;
	} rows[] = {
#define BENCH_ROW(name, op, target) {name, op, target},
		BENCH_XCALL_ROWS(BENCH_ROW)
#undef BENCH_ROW
	};
	long n = samples < BENCH_SAMPLES_MAX ? (long)samples : BENCH_SAMPLES_MAX;
	char why[256];
	for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		long target = 0;
		if (rows[i].target && (target = hgate_lookup(rows[i].target)) < 0) {
			char missing[400];
			snprintf(missing, sizeof missing, "no domain %s runs: %s", rows[i].target,
				 no_proxy);
			not_measured(rows[i].name, missing);
			continue;
		}
		uint64_t median, p99;
		/* A first batch warms caches and predictors (and makes bench's
		 * RRefs); only the second counts. */
		if (bench_sample(rows[i].op, target, n / 10 + 1, &median, &p99, why, sizeof why) <
			    0 ||
		    bench_sample(rows[i].op, target, n, &median, &p99, why, sizeof why) < 0) {
			printf("hosted-bench: %s failed: %s\n", rows[i].name, why);
			return -1;
		}
		row(rows[i].name, median, p99, (unsigned)n);
	}
	return 0;
}

/*
 * Fault to the caller's error, as the VM's headline fault row: a fresh
 * rogue each sample, a call that does not fault first (rogue's read-domain
 * case with no target: -MAPLE_EINVAL, so its code has run), then bench
 * times one call that takes #UD in rogue and comes back to bench as
 * -MAPLE_ECALLEE. Then rogue is destroyed (its slot's generation moves
 * on, its key is free for the next). 0, or -1 after the row's failure line.
 */
static int fault_row(void)
{
	static const long warm[4] = {ROGUE_READ_DOMAIN, 0, 0, 0};
	uint64_t cycles[FAULT_SAMPLES], p99;
	char why[256], ignored[160];
	for (unsigned i = 0; i < FAULT_SAMPLES; i++) {
		struct hosted_domain *rogue = NULL;
		long r;
		uint64_t h = hdom_create(NULL, "rogue", &rogue, why, sizeof why);
		int ok = h && entry_upcall(rogue, rogue->methods[Rogue_run_METHOD], warm, &r, why,
					   sizeof why) == 0;
		if (ok && r != -MAPLE_EINVAL) {
			snprintf(why, sizeof why, "rogue's warm-up call answered %ld, not %d", r,
				 -MAPLE_EINVAL);
			ok = 0;
		}
		ok = ok && bench_sample(BENCH_OP_FAULT, (long)h, 1, &cycles[i], &p99, why,
					sizeof why) == 0;
		if (ok && hgate_state(rogue) != GATE_DOMAIN_FAILED) {
			snprintf(why, sizeof why, "rogue is in state %lu after its #UD, not failed",
				 (unsigned long)hgate_state(rogue));
			ok = 0;
		}
		if (h && hdom_destroy(h, ignored, sizeof ignored) < 0 && ok) {
			snprintf(why, sizeof why, "cannot destroy rogue: %s", ignored);
			ok = 0;
		}
		if (!ok) {
			printf("hosted-bench: fault-to-caller-error failed: %s\n", why);
			return -1;
		}
	}
	sort_u64(cycles, FAULT_SAMPLES);
	row("fault-to-caller-error", cycles[FAULT_SAMPLES / 2], cycles[FAULT_SAMPLES * 99 / 100],
	    FAULT_SAMPLES);
	return 0;
}

/*
 * What issue 12 asks to compare, from this run's rows: the null call
 * against half of getppid, and the gate's work besides its four WRPKRUs
 * (two each way: into the gate and out to the callee, and back), each
 * WRPKRU taken as half of the bare pair; not where the gate's WRPKRUs
 * are NOPs (nop_wrpkru), whose null call has none to take off.
 */
static void derived(int nop_wrpkru)
{
	const struct result *x = find("xcall-null"), *g = find("getppid"), *w = find("wrpkru-pair");
	if (x && g && minus_bracket(g->median))
		printf("hosted-bench: derived xcall-null-over-getppid %.3f\n",
		       (double)minus_bracket(x->median) / (double)minus_bracket(g->median));
	else
		printf("hosted-bench: derived xcall-null-over-getppid not measured: %s\n",
		       !x ? "no xcall-null row" : "getppid's median is within the bracket");
	if (x && w && !nop_wrpkru)
		printf("hosted-bench: derived xcall-null-minus-4-wrpkru %ld\n",
		       (long)minus_bracket(x->median) - 2 * (long)minus_bracket(w->median));
	else
		printf("hosted-bench: derived xcall-null-minus-4-wrpkru not measured: %s\n",
		       !x	    ? "no xcall-null row"
		       : nop_wrpkru ? "the gate's WRPKRUs are NOPs in this run"
				    : "no wrpkru-pair row");
}

/*
 * Where the gate's cycles go (docs/bench-xcall.md), --nop-wrpkru only: its
 * pieces each alone (bench_parts.S), and the null call again with the
 * thread's clear_vectors at each level the CPU can run, from none to the
 * runtime's own. That writes the GATE_RO page at %gs, which only a process
 * without keys can (hgate_init maps it read-write there), and which a run
 * with keys never reaches: --nop-wrpkru never allocates a key
 * (runtime_start_nop_wrpkru). The runtime's level is written back after
 * each.
 */
#define NEEDS_AVX    1u
#define NEEDS_AVX512 2u
#define NEEDS_INUSE  4u
#define PARTS(X)                                                                                   \
	X("call-return", call_return, 0)                                                           \
	X("zero-vectors-sse", zero_vectors_sse, 0)                                                 \
	X("zero-vectors-avx", zero_vectors_avx, NEEDS_AVX)                                         \
	X("zero-vectors-avx512", zero_vectors_avx512, NEEDS_AVX | NEEDS_AVX512)                    \
	X("zero-vectors-inuse", zero_vectors_inuse, NEEDS_AVX | NEEDS_INUSE)                       \
	X("x87", x87, 0)                                                                           \
	X("mxcsr", mxcsr, 0)                                                                       \
	X("xmm", xmm, 0)                                                                           \
	X("vzeroall", vzeroall, NEEDS_AVX)                                                         \
	X("hi16-zmm", hi16_zmm, NEEDS_AVX512)                                                      \
	X("opmask", opmask, NEEDS_AVX512)                                                          \
	X("xgetbv1", xgetbv1, NEEDS_INUSE)                                                         \
	X("gate-rmw4", gate_rmw4, 0)                                                               \
	X("locked-rmw4", locked_rmw4, 0)                                                           \
	X("plain-rmw4", plain_rmw4, 0)                                                             \
	X("rdtsc", rdtsc, 0)                                                                       \
	X("push-pop6", push_pop6, 0)
#define PART_DECLARE(name, fn, needs) void bench_part_##fn(void);
PARTS(PART_DECLARE)

_Static_assert(PART_GD_ACTIVE == offsetof(struct gate_domain, active) &&
		       PART_GD_SIZE == sizeof(struct gate_domain) &&
		       PART_GTT_CALLS == offsetof(struct gate_thread_trusted, calls) &&
		       PART_GTT_CALLS_OUT == offsetof(struct gate_thread_trusted, calls_out),
	       "bench.h's PART_GD_* and PART_GTT_* are struct gate_domain's and "
	       "gate_thread_trusted's");

/* Which NEEDS_* this CPU and XCR0 allow (as hgate_init's level reads them). */
static unsigned parts_allowed(void)
{
	unsigned a, b, c, d, have = 0;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))
		return 0;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if (lo & XFEATURE_AVX)
		have |= NEEDS_AVX;
	if ((lo & XFEATURES_AVX512) == XFEATURES_AVX512)
		have |= NEEDS_AVX512;
	if (__get_cpuid_count(0xd, 1, &a, &b, &c, &d) && (a & 4))
		have |= NEEDS_INUSE;
	return have;
}

static uint64_t clear_vectors(void)
{
	uint64_t level;
	__asm__ volatile("movq %%gs:%c1, %0" : "=r"(level) : "i"(GATE_RO_CLEAR_VECTORS));
	return level;
}

static void set_clear_vectors(uint64_t level)
{
	__asm__ volatile("movq %0, %%gs:%c1" : : "r"(level), "i"(GATE_RO_CLEAR_VECTORS) : "memory");
}

/* The part lines; 0, or -1 after a failed line. */
static int parts(uint64_t *buf, unsigned samples)
{
	static const struct {
		const char *name;
		void (*fn)(void);
		unsigned needs;
	} pieces[] = {
#define PART_ENTRY(name, fn, needs) {name, bench_part_##fn, needs},
		PARTS(PART_ENTRY)
#undef PART_ENTRY
	};
	static const char *const levels[] = {"keep", "sse", "avx", "avx512", "inuse"};
	static const unsigned level_needs[] = {0, 0, NEEDS_AVX, NEEDS_AVX | NEEDS_AVX512,
					       NEEDS_AVX | NEEDS_INUSE};
	_Static_assert(sizeof levels / sizeof levels[0] == VECTORS_INUSE + 1 &&
			       sizeof level_needs / sizeof level_needs[0] == VECTORS_INUSE + 1,
		       "a name and needs per VECTORS_* level");
	unsigned have = parts_allowed();
	char label[64], why[256];
	/* xcall-null's operation and callee (BENCH_XCALL_ROWS), which domain_rows found. */
	long n = samples < BENCH_SAMPLES_MAX ? (long)samples : BENCH_SAMPLES_MAX;
	long xb = hgate_lookup("xb");
	/* The runtime's own level first: the others (and the pieces after them)
	 * run ZERO_X87, which leaves x87 in use (XINUSE[0]) for the thread. */
	uint64_t own = clear_vectors();
	for (uint64_t k = 0; k <= own && own <= VECTORS_INUSE; k++) {
		uint64_t level = k ? k - 1 : own;
		snprintf(label, sizeof label, "part xcall-null-vectors-%s", levels[level]);
		if ((level_needs[level] & have) != level_needs[level]) {
			printf("hosted-bench: %s not measured: this CPU or XCR0 lacks it\n", label);
			continue;
		}
		uint64_t median, p99;
		set_clear_vectors(level);
		int r = bench_sample(BENCH_OP_XCALL_NULL, xb, n / 10 + 1, &median, &p99, why,
				     sizeof why) < 0 ||
			bench_sample(BENCH_OP_XCALL_NULL, xb, n, &median, &p99, why, sizeof why) <
				0;
		set_clear_vectors(own);
		if (r) {
			printf("hosted-bench: %s failed: %s\n", label, why);
			return -1;
		}
		figures(label, median, p99, (unsigned)n);
	}
	for (unsigned i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
		snprintf(label, sizeof label, "part %s", pieces[i].name);
		if ((pieces[i].needs & have) != pieces[i].needs) {
			printf("hosted-bench: %s not measured: this CPU or XCR0 lacks it\n", label);
			continue;
		}
		sample(pieces[i].fn, buf, samples);
		figures(label, buf[samples / 2], buf[(uint64_t)samples * 99 / 100], samples);
	}
	return 0;
}

/* The runtime (with nops: its gate's WRPKRUs made NOPs, where: *nops),
 * then bench, xa, xb and xc, created as the VM's kernel creates them for
 * bench=xcall. 0, or -1 with why. */
static int start_domains(int keys, struct gatepage_nops *nops, char *why, size_t len)
{
	static const char *const names[] = {"bench", "xa", "xb", "xc"};
	char err[200];
	if ((nops ? runtime_start_nop_wrpkru(nops, why, len) : runtime_start(keys, why, len)) < 0)
		return -1;
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct hosted_domain *d;
		if (!hdom_create(NULL, names[i], &d, err, sizeof err)) {
			snprintf(why, len, "cannot create %s: %s", names[i], err);
			return -1;
		}
		if (i == 0)
			bench_domain = d;
	}
	return 0;
}

/* The mode line of --nop-wrpkru: every site changed, and what that means. */
static void nop_line(const struct gatepage_nops *nops)
{
	printf("hosted-bench: nop-wrpkru: the gate page's %u WRPKRUs are NOPs (0f 1f 00) at",
	       nops->n);
	for (unsigned i = 0; i < nops->n; i++)
		printf(" gate+%#lx", (unsigned long)nops->offset[i]);
	printf("; no WRPKRU executes and nothing is isolated: a measurement, never a run of "
	       "Maple\n");
	fflush(stdout);
}

int hosted_bench(unsigned samples, int nop_wrpkru)
{
	char model[160], microcode[64], why[256];
	/* The CPU's protection keys; --nop-wrpkru's process allocates none. */
	int keys = pkeys_available(why, sizeof why);
	uint64_t *buf = malloc(samples * sizeof *buf);
	if (!buf) {
		fprintf(stderr, "maple-hosted: bench: no memory for %u samples\n", samples);
		return 2;
	}
	cpuinfo("model name", model, sizeof model);
	cpuinfo("microcode", microcode, sizeof microcode);
	printf("hosted-bench: cpu %s; microcode %s\n", model, microcode);
	struct utsname u;
	if (uname(&u) == 0)
		printf("hosted-bench: kernel %s %s; hypervisor %s\n", u.sysname, u.release,
		       cpu_flag("hypervisor") ? "yes (a virtual machine's CPU)" : "no");
	if (keys && nop_wrpkru)
		printf("hosted-bench: protection keys: yes, none allocated: --nop-wrpkru: the "
		       "gate's WRPKRUs are made NOPs before any domain runs and every page keeps "
		       "key 0, so the cross-domain rows time the gate's other work, the same code "
		       "as a keyed run's without its PKRU writes\n");
	else if (keys)
		printf("hosted-bench: protection keys: yes\n");
	else if (nop_wrpkru)
		printf("hosted-bench: protection keys: no: %s; --nop-wrpkru: the gate's WRPKRUs "
		       "are made NOPs before any domain runs, so the cross-domain rows time the "
		       "gate's other work natively\n",
		       why);
	else
		printf("hosted-bench: protection keys: no: %s; the gate's WRPKRUs are skipped "
		       "by the SIGILL handler, so the cross-domain rows time signals, not the "
		       "gate\n",
		       why);
	sample(NULL, buf, samples);
	bracket = buf[samples / 2];
	printf("hosted-bench: bracket raw-median %lu raw-p99 %lu samples %u (its median is "
	       "subtracted from every row)\n",
	       (unsigned long)bracket, (unsigned long)buf[(uint64_t)samples * 99 / 100], samples);
	printf("hosted-bench: tsc step %lu cycles\n", (unsigned long)tsc_step());
	runtime_row("getppid", op_getppid, buf, samples);
	if (keys)
		runtime_row("wrpkru-pair", hosted_wrpkru_pair, buf, samples);
	else
		not_measured("wrpkru-pair", why);
	int status = 1;
	struct gatepage_nops nops;
	if (start_domains(keys && !nop_wrpkru, nop_wrpkru ? &nops : NULL, why, sizeof why) < 0) {
		printf("hosted-bench: cannot start the domains: %s\n", why);
		goto out;
	}
	if (nop_wrpkru)
		nop_line(&nops);
	printf("hosted-bench: avx-512 state in use: %#x (XINUSE's opmask and %%zmm16-31 bits "
	       "on the thread that makes the timed calls: what the gate zeroes at each switch "
	       "besides "
	       "MXCSR and what the domains use; noavx512.c keeps it 0)\n",
	       noavx512_in_use());
	/* Once before timing, so op_upcall cannot meet a failure. */
	static const long none[4];
	long r;
	if (entry_upcall(bench_domain, bench_domain->methods[Bench_null_METHOD], none, &r, why,
			 sizeof why) < 0) {
		printf("hosted-bench: upcall-null failed: %s\n", why);
		goto out;
	}
	runtime_row("upcall-null", op_upcall, buf, samples);
	/* bdev_shadow creates membdev, the driver behind it, as in the VM;
	 * where it cannot, the proxy rows say why (domain_rows). */
	char no_proxy[256] = "bdev_shadow started without it";
	hdom_create(NULL, "bdev_shadow", NULL, no_proxy, sizeof no_proxy);
	if (domain_rows(samples, no_proxy) < 0 || fault_row() < 0 ||
	    (nop_wrpkru && parts(buf, samples) < 0))
		goto out;
	derived(nop_wrpkru);
	status = 0;
out:
	free(buf);
	return status;
}
