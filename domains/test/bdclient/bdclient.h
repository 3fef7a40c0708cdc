/*
 * bdclient's interface: a block-device client that runs a write-then-verify
 * workload (or a throughput loop) through the BlockDevice shadow in a domain
 * thread of its own, so whoever started it (a kernel test, the console, a
 * benchmark) can inject faults into the driver meanwhile and read the
 * counters afterwards. Plain numbers, so kernel code can include it.
 */
#ifndef DOMAINS_BDCLIENT_H
#define DOMAINS_BDCLIENT_H

/*
 * long start(long ops, long write_percent, long device): size the device
 * (BDC_BLOCKS blocks of 4 KiB) if this device is new to the client, write
 * every block once if their contents are not known yet, then run `ops`
 * requests on random blocks, write_percent of them writes, and read every
 * block back at the end. Every read is checked against the last write the
 * driver acknowledged. device is a BlockDevice's handle; 0 means the domain
 * called bdev_shadow. Returns 0 once the worker thread runs, or an error:
 * -MAPLE_EINVAL if a workload runs already or an argument is bad, or why
 * the device could not be sized.
 */
#define BDC_START 0
/* long stat(long which): one of the counters below, of the latest workload. */
#define BDC_STAT 1
/*
 * long throughput(long op, long ms, long device): for ms milliseconds,
 * submit batches of BDC_BATCH consecutive blocks from a random start, all
 * reads (op 0) or all writes (op 1), nothing checked but the statuses;
 * results in BDC_TPUT_OPS and BDC_TPUT_NS. Same rules as start().
 */
#define BDC_THROUGHPUT 2
/* long stop(void): end the random requests (or the throughput loop) early;
 * the verifying read-back still runs. 0. */
#define BDC_STOP 3

#define BDC_OP_READ  0 /* as BlockReq.op */
#define BDC_OP_WRITE 1

#define BDC_BLOCKS     1024
#define BDC_BLOCK_SIZE 4096
#define BDC_BATCH      32

enum bdc_stat {
	BDC_RUNNING = 0,    /* 1 while a workload runs */
	BDC_OPS = 1,	    /* requests the driver completed */
	BDC_ERRORS = 2,	    /* submits that did not fully succeed, as the client saw them */
	BDC_LOST = 3,	    /* blocks read back different from their last acknowledged write */
	BDC_WRITES = 4,	    /* writes acknowledged */
	BDC_VERIFIED = 5,   /* reads checked and right */
	BDC_UNVERIFIED = 6, /* reads of blocks whose contents no acknowledgement fixes */
	BDC_SUBMITS = 7,    /* submit calls */
	BDC_LAST_ERROR = 8, /* the latest failing submit's result, or a request's status */
	BDC_MAX_SUBMIT = 9, /* the longest submit, in microseconds */
	BDC_TPUT_OPS = 10,  /* requests completed by the latest throughput run */
	BDC_TPUT_NS = 11,   /* its length in nanoseconds */
	BDC_NSTATS
};

#endif
