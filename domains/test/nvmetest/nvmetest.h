/*
 * nvmetest's interface (domains/idl/nvmetest.idl: methods and enums) and
 * its other numbers, for the NVMe tests and benchmark. Plain numbers, so
 * kernel code can include it.
 */
#ifndef DOMAINS_NVMETEST_H
#define DOMAINS_NVMETEST_H

#include <idl/nvmetest_methods.h>

#define NVT_BLOCKS	   8192 /* of 4 KiB: the first 32 MiB of the namespace */
#define NVT_BLOCK_SIZE	   4096
#define NVT_LARGE_BLOCKS   32	/* a 128 KiB request */
#define NVT_NEIGHBOUR_HURT 1000 /* probe(): the good request did not succeed alone */

#endif
