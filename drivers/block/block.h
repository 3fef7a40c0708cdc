/*
 * What every BlockDevice driver (membdev, nvme) requires of a request alike
 * (domains/idl/bdev.idl): the largest transfer and the alignment of a large
 * request's bytes in its buffer. The alignment is the strictest a device
 * here needs: NVMe's first PRP entry may carry any dword-aligned offset
 * (NVMe 1.4, 4.3), so membdev refuses what nvme must refuse and a client
 * sees the same errors from either.
 */
#ifndef DRIVERS_BLOCK_BLOCK_H
#define DRIVERS_BLOCK_BLOCK_H

#include <idl/bdev.h>

#define BLOCK_REQ_MAX_BYTES sizeof(((struct BlockBuf *)0)->data) /* 128 KiB */
#define BLOCK_BUF_ALIGN	    4

#endif
