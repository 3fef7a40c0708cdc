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
 * Its methods (start, stat, throughput, stop), their numbers and its counters
 * (enum BdcStat, stat()'s argument: BDC_RUNNING, BDC_OPS, ..., BdcStat_COUNT)
 * are in domains/idl/bdclient.idl; the constants below are their other
 * arguments.
 */
#include <idl/bdclient_methods.h>

#define BDC_OP_READ  0 /* as BlockReq.op */
#define BDC_OP_WRITE 1

#define BDC_BLOCKS     1024
#define BDC_BLOCK_SIZE 4096
#define BDC_BATCH      32

#endif
