/*
 * bench: the hosted half of `bench/xcall --hosted`. Each operation is timed
 * alone between serialized TSC reads (LFENCE; RDTSC; LFENCE, Intel SDM
 * Vol. 2B RDTSC: LFENCE orders it against earlier and later instructions),
 * `samples` times; the median of an empty bracket, measured first in the
 * same run, is subtracted from every sample (a result below zero counts as
 * zero) and each row gives the median and the 99th percentile in cycles.
 * Every operation is reached by one indirect call, and that call is the
 * direct-call row itself: the other rows include its few cycles.
 */
#define _GNU_SOURCE
#include "bench.h"

#include "entry.h"
#include "gate.h"
#include "loader.h"
#include "pkeys.h"
#include "runtime.h"

#include <idl/hello_methods.h>
#include <lib/sort.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

/* The operations; called through a volatile pointer so none is inlined. */
static void op_direct_call(void)
{
	__asm__ volatile("" : : : "memory");
}

static void op_getppid(void)
{
	getppid();
}

/* Two WRPKRUs of the current rights, each checked as the runtime's every
 * WRPKRU is (wrpkru_pair.S: hosted/audit.c allows no unchecked one). */
void hosted_wrpkru_pair(void);

/* An upcall into hello's greet and back through the gate page's return:
 * the trusted entry's round trip (a SIGSYS, and the signal mask saved and
 * restored by sigsetjmp/siglongjmp). */
static struct hosted_domain hello;

static void op_upcall(void)
{
	static const long args[4] = {1, 0, 0, 0};
	char why[128];
	long r;
	if (entry_upcall(&hello, hello.methods[Hello_greet_METHOD], args, &r, why, sizeof why) < 0)
		abort(); /* set up and tried once before timing: cannot fail */
}

/* Load hello and call it once; 0, or -1 with why. */
static int upcall_setup(char *why, size_t whylen)
{
	static const long none[4];
	long r;
	if (runtime_start(0, why, whylen) < 0 ||
	    hosted_load("out/domains/hello.elf", 1, 0, &hello, why, whylen) < 0 ||
	    hgate_add(&hello, why, whylen) < 0)
		return -1;
	if (entry_upcall(&hello, hello.entry, none, &r, why, whylen) < 0 ||
	    entry_upcall(&hello, hello.methods[Hello_greet_METHOD], none, &r, why, whylen) < 0)
		return -1;
	return 0;
}

/* Sorted samples of op (of nothing when op is NULL: the bracket), each
 * minus `bracket` cycles. */
static void sample(void (*op)(void), uint64_t bracket, uint64_t *out, unsigned n)
{
	void (*volatile f)(void) = op;
	for (unsigned i = 0; i < n + n / 10; i++) { /* the first n/10 warm caches and predictors */
		uint64_t t0 = tsc();
		if (op)
			f();
		uint64_t t = tsc() - t0;
		if (i >= n / 10)
			out[i - n / 10] = t > bracket ? t - bracket : 0;
	}
	sort_u64(out, n);
}

static void row(const char *name, void (*op)(void), uint64_t bracket, uint64_t *buf, unsigned n)
{
	sample(op, bracket, buf, n);
	printf("hosted-bench: %s median %lu p99 %lu samples %u\n", name, (unsigned long)buf[n / 2],
	       (unsigned long)buf[(uint64_t)n * 99 / 100], n);
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

int hosted_bench(unsigned samples)
{
	uint64_t *buf = malloc(samples * sizeof *buf);
	if (!buf) {
		fprintf(stderr, "maple-hosted: bench: no memory for %u samples\n", samples);
		return 2;
	}
	sample(NULL, 0, buf, samples);
	uint64_t bracket = buf[samples / 2];
	printf("hosted-bench: bracket median %lu p99 %lu samples %u (subtracted: %lu)\n",
	       (unsigned long)bracket, (unsigned long)buf[(uint64_t)samples * 99 / 100], samples,
	       (unsigned long)bracket);
	printf("hosted-bench: tsc step %lu cycles\n", (unsigned long)tsc_step());
	row("direct-call", op_direct_call, bracket, buf, samples);
	row("getppid", op_getppid, bracket, buf, samples);
	char why[160];
	if (pkeys_available(why, sizeof why))
		row("wrpkru-pair", hosted_wrpkru_pair, bracket, buf, samples);
	else
		printf("hosted-bench: wrpkru-pair skipped: %s\n", why);
	/* Last: the filter stays installed, and hello logs one line. */
	if (upcall_setup(why, sizeof why) == 0)
		row("upcall-null", op_upcall, bracket, buf, samples);
	else
		printf("hosted-bench: upcall-null skipped: %s\n", why);
	free(buf);
	return 0;
}
