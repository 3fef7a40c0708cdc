/*
 * bdclient's state and its two workloads (workload.c): write-then-verify and
 * plain throughput. One worker thread at a time runs them; the counters are
 * read by other threads through bdclient's stat method.
 */
#ifndef DOMAINS_BDCLIENT_WORKLOAD_H
#define DOMAINS_BDCLIENT_WORKLOAD_H

#include <idl/bdev.h>
#include <test/bdclient/bdclient.h>

/* A block no acknowledged write fixes: never written in this client, or
 * its latest write failed without an acknowledgement (it may or may not
 * have reached the device). */
#define GEN_UNKNOWN 0xffffffffu

struct bdc {
	struct BlockDevice_ref dev; /* the device: normally the shadow */
	bool bound;		    /* dev is set and sized */
	bool stop;		    /* stop() was called */
	rref_t queue;		    /* the deque lent to submit; owned here */
	rref_t spare[BDC_BATCH];    /* requests not in the deque now */
	uint32_t nspare;
	uint32_t gen[BDC_BLOCKS]; /* per block: the last acknowledged write's generation */
	uint32_t next_gen;
	bool formatted; /* every block has a known generation */
	uint64_t salt;	/* per client: old contents never look right by chance */
	uint64_t rng;	/* xorshift64 state */
	uint64_t stat[BdcStat_COUNT];
};

/* Format (first time), `ops` random requests, then read every block back. */
void workload_verify(struct bdc *c, long ops, long write_percent);
/* Batches of BDC_BATCH requests of one kind for `ms` milliseconds. */
void workload_throughput(struct bdc *c, uint32_t op, long ms);

#endif
