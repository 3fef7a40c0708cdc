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
 * Its methods (start, stat, throughput, stop) and their numbers are in
 * domains/idl/bdclient.idl; the constants below are their arguments.
 */
#include <idl/bdclient_methods.h>

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
