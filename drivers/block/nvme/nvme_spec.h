/*
 * The NVMe layouts the driver (nvme.c) uses, from the NVM Express Base
 * Specification, revision 1.4 (section numbers below are that revision's):
 * the controller registers in BAR0, the submission and completion queue
 * entries, the Identify data it reads, the opcodes and status codes. Every
 * offset is a number with a _Static_assert beside it, every field an explicit
 * mask and shift (no C bitfields: their layout is the compiler's choice).
 */
#ifndef DRIVERS_NVME_SPEC_H
#define DRIVERS_NVME_SPEC_H

#include <stddef.h>
#include <stdint.h>

#define NVME_FIELD(value, shift, mask) (((uint64_t)(value) >> (shift)) & (mask))

/* ---- Controller registers, BAR0 (3.1, Figure 69 "Controller Registers") ---- */

#define NVME_REG_CAP  0x00   /* 3.1.1 Controller Capabilities, 64 bits */
#define NVME_REG_VS   0x08   /* 3.1.2 Version */
#define NVME_REG_CC   0x14   /* 3.1.5 Controller Configuration */
#define NVME_REG_CSTS 0x1c   /* 3.1.6 Controller Status */
#define NVME_REG_AQA  0x24   /* 3.1.8 Admin Queue Attributes */
#define NVME_REG_ASQ  0x28   /* 3.1.9 Admin Submission Queue Base Address, 64 bits */
#define NVME_REG_ACQ  0x30   /* 3.1.10 Admin Completion Queue Base Address, 64 bits */
#define NVME_REG_DBS  0x1000 /* 3.1.24 SQ 0 Tail Doorbell: the doorbells start here */

/* The registers as a struct, so the offsets above are checked against one layout. */
struct nvme_regs {
	uint64_t cap;
	uint32_t vs;
	uint32_t intms; /* 3.1.3, unused: the driver polls */
	uint32_t intmc; /* 3.1.4 */
	uint32_t cc;
	uint32_t reserved;
	uint32_t csts;
	uint32_t nssr; /* 3.1.7 */
	uint32_t aqa;
	uint64_t asq;
	uint64_t acq;
};
_Static_assert(offsetof(struct nvme_regs, cap) == NVME_REG_CAP, "3.1.1 CAP");
_Static_assert(offsetof(struct nvme_regs, vs) == NVME_REG_VS, "3.1.2 VS");
_Static_assert(offsetof(struct nvme_regs, intms) == 0x0c, "3.1.3 INTMS");
_Static_assert(offsetof(struct nvme_regs, intmc) == 0x10, "3.1.4 INTMC");
_Static_assert(offsetof(struct nvme_regs, cc) == NVME_REG_CC, "3.1.5 CC");
_Static_assert(offsetof(struct nvme_regs, csts) == NVME_REG_CSTS, "3.1.6 CSTS");
_Static_assert(offsetof(struct nvme_regs, nssr) == 0x20, "3.1.7 NSSR");
_Static_assert(offsetof(struct nvme_regs, aqa) == NVME_REG_AQA, "3.1.8 AQA");
_Static_assert(offsetof(struct nvme_regs, asq) == NVME_REG_ASQ, "3.1.9 ASQ");
_Static_assert(offsetof(struct nvme_regs, acq) == NVME_REG_ACQ, "3.1.10 ACQ");
_Static_assert(sizeof(struct nvme_regs) == 0x38, "registers up to ACQ");

/* CAP (3.1.1, Figure 70) */
#define NVME_CAP_MQES(cap)   NVME_FIELD(cap, 0, 0xffff) /* max queue entries, 0's based */
#define NVME_CAP_TO(cap)     NVME_FIELD(cap, 24, 0xff)	/* ready timeout, 500 ms units */
#define NVME_CAP_DSTRD(cap)  NVME_FIELD(cap, 32, 0xf)	/* doorbell stride: 4 << DSTRD bytes */
#define NVME_CAP_CSS(cap)    NVME_FIELD(cap, 37, 0xff)	/* command sets supported */
#define NVME_CAP_MPSMIN(cap) NVME_FIELD(cap, 48, 0xf)	/* min page size 2^(12 + MPSMIN) */
#define NVME_CAP_CSS_NVM     0x1			/* bit 37: the NVM command set */
#define NVME_TO_UNIT_MS	     500

/* VS (3.1.2, Figure 71) */
#define NVME_VS_MJR(vs) NVME_FIELD(vs, 16, 0xffff)
#define NVME_VS_MNR(vs) NVME_FIELD(vs, 8, 0xff)

/* CC (3.1.5, Figure 78) */
#define NVME_CC_EN	     (1u << 0)
#define NVME_CC_CSS_NVM	     (0u << 4)			   /* CSS 6:4, 000b: NVM command set */
#define NVME_CC_MPS(shift)   (((uint32_t)(shift)-12) << 7) /* MPS 10:7: 2^(12 + MPS) */
#define NVME_CC_AMS_RR	     (0u << 11)			   /* AMS 13:11: round robin */
#define NVME_CC_SHN_MASK     (3u << 14)
#define NVME_CC_IOSQES(log2) ((uint32_t)(log2) << 16) /* IOSQES 19:16 */
#define NVME_CC_IOCQES(log2) ((uint32_t)(log2) << 20) /* IOCQES 23:20 */

/* CSTS (3.1.6, Figure 79) */
#define NVME_CSTS_RDY (1u << 0)
#define NVME_CSTS_CFS (1u << 1) /* controller fatal status */

/* AQA (3.1.8, Figure 81): both sizes 0's based */
#define NVME_AQA(sq_entries, cq_entries)                                                           \
	((((uint32_t)(cq_entries)-1) << 16) | ((uint32_t)(sq_entries)-1))

/* Doorbells (3.1.24 SQyTDBL, 3.1.25 CQyHDBL): 4 << CAP.DSTRD bytes apart,
 * queue y's submission tail at slot 2y, its completion head at 2y + 1. */
#define NVME_SQ_TAIL_DB(y, dstrd) (NVME_REG_DBS + (2u * (y)) * (4u << (dstrd)))
#define NVME_CQ_HEAD_DB(y, dstrd) (NVME_REG_DBS + (2u * (y) + 1) * (4u << (dstrd)))
_Static_assert(NVME_SQ_TAIL_DB(0, 0) == 0x1000 && NVME_CQ_HEAD_DB(0, 0) == 0x1004,
	       "3.1.24/3.1.25 admin doorbells at stride 0");
_Static_assert(NVME_SQ_TAIL_DB(1, 1) == 0x1010 && NVME_CQ_HEAD_DB(1, 1) == 0x1018,
	       "3.1.24/3.1.25 queue 1 at stride 1 (8 bytes)");

/* ---- Submission queue entry (4.2, Figure 105 "Common Command Format") ---- */

struct nvme_sqe {
	uint32_t cdw0; /* OPC 7:0, FUSE 9:8, PSDT 15:14, CID 31:16 */
	uint32_t nsid;
	uint32_t cdw2;
	uint32_t cdw3;
	uint64_t mptr;
	uint64_t prp1; /* 4.3: DPTR as PRP entry 1 */
	uint64_t prp2; /* PRP entry 2, or the address of a PRP list */
	uint32_t cdw10;
	uint32_t cdw11;
	uint32_t cdw12;
	uint32_t cdw13;
	uint32_t cdw14;
	uint32_t cdw15;
};
_Static_assert(offsetof(struct nvme_sqe, cdw0) == 0, "4.2 CDW0");
_Static_assert(offsetof(struct nvme_sqe, nsid) == 4, "4.2 NSID");
_Static_assert(offsetof(struct nvme_sqe, cdw2) == 8, "4.2 CDW2");
_Static_assert(offsetof(struct nvme_sqe, cdw3) == 12, "4.2 CDW3");
_Static_assert(offsetof(struct nvme_sqe, mptr) == 16, "4.2 MPTR");
_Static_assert(offsetof(struct nvme_sqe, prp1) == 24, "4.2 PRP1");
_Static_assert(offsetof(struct nvme_sqe, prp2) == 32, "4.2 PRP2");
_Static_assert(offsetof(struct nvme_sqe, cdw10) == 40, "4.2 CDW10");
_Static_assert(offsetof(struct nvme_sqe, cdw11) == 44, "4.2 CDW11");
_Static_assert(offsetof(struct nvme_sqe, cdw12) == 48, "4.2 CDW12");
_Static_assert(offsetof(struct nvme_sqe, cdw13) == 52, "4.2 CDW13");
_Static_assert(offsetof(struct nvme_sqe, cdw14) == 56, "4.2 CDW14");
_Static_assert(offsetof(struct nvme_sqe, cdw15) == 60, "4.2 CDW15");
_Static_assert(sizeof(struct nvme_sqe) == 64, "4.2: 64-byte entries");
#define NVME_SQES_LOG2 6 /* CC.IOSQES: 2^6 = 64 */

#define NVME_CDW0(opcode, cid) ((uint32_t)(opcode) | ((uint32_t)(cid) << 16))

/* ---- Completion queue entry (4.6, Figure 124) ---- */

struct nvme_cqe {
	uint32_t dw0; /* command specific */
	uint32_t dw1;
	uint16_t sqhd; /* the submission queue's head as the controller saw it */
	uint16_t sqid;
	uint16_t cid;
	uint16_t status; /* P bit 0, SC 8:1, SCT 11:9, CRD 13:12, M 14, DNR 15 */
};
_Static_assert(offsetof(struct nvme_cqe, dw0) == 0, "4.6 DW0");
_Static_assert(offsetof(struct nvme_cqe, dw1) == 4, "4.6 DW1");
_Static_assert(offsetof(struct nvme_cqe, sqhd) == 8, "4.6 SQHD");
_Static_assert(offsetof(struct nvme_cqe, sqid) == 10, "4.6 SQID");
_Static_assert(offsetof(struct nvme_cqe, cid) == 12, "4.6 CID");
_Static_assert(offsetof(struct nvme_cqe, status) == 14, "4.6 status field");
_Static_assert(sizeof(struct nvme_cqe) == 16, "4.6: 16-byte entries");
#define NVME_CQES_LOG2 4

/* Status field (4.6.1, Figure 125) */
#define NVME_STATUS_P(s)   ((s)&1u) /* the phase tag (4.6.2) */
#define NVME_STATUS_SC(s)  NVME_FIELD(s, 1, 0xff)
#define NVME_STATUS_SCT(s) NVME_FIELD(s, 9, 0x7)
#define NVME_STATUS_DNR(s) NVME_FIELD(s, 15, 0x1)
/* Status code types (4.6.1.1, Figure 126) and the generic codes the driver names (4.6.1.2.1) */
#define NVME_SCT_GENERIC	0x0
#define NVME_SCT_MEDIA		0x2
#define NVME_SC_SUCCESS		0x00
#define NVME_SC_INVALID_FIELD	0x02
#define NVME_SC_DATA_XFER_ERROR 0x04
#define NVME_SC_ABORT_REQUESTED 0x07
#define NVME_SC_LBA_RANGE	0x80 /* LBA out of range */

/* ---- PRP entries (4.3, Figure 108): page aligned after the first, which
 * may carry an offset that is a multiple of 4 (dword aligned) ---- */
#define NVME_PRP_ALIGN 4

/* ---- Admin commands (5, Figure 139) ---- */
#define NVME_ADMIN_CREATE_SQ	0x01 /* 5.4 */
#define NVME_ADMIN_CREATE_CQ	0x05 /* 5.3 */
#define NVME_ADMIN_IDENTIFY	0x06 /* 5.15 */
#define NVME_ADMIN_SET_FEATURES 0x09 /* 5.21 */

/* Create I/O CQ/SQ (5.3 Figure 150-151, 5.4 Figure 153-154) */
#define NVME_CREATE_Q_CDW10(qid, entries) (((uint32_t)(entries)-1) << 16 | (uint32_t)(qid))
#define NVME_CREATE_Q_PC		  (1u << 0) /* physically contiguous */
#define NVME_CREATE_SQ_CQID(cqid)	  ((uint32_t)(cqid) << 16)

/* Identify (5.15, Figure 244): CDW10.CNS */
#define NVME_CNS_NAMESPACE  0x00
#define NVME_CNS_CONTROLLER 0x01

/* Set Features, Number of Queues (5.21.1.7, Figure 294): FID 07h, CDW11 and
 * the completion's DW0 both NCQR/NCQA 31:16 and NSQR/NSQA 15:0, 0's based */
#define NVME_FEAT_NUM_QUEUES	0x07
#define NVME_NUM_QUEUES(sq, cq) ((((uint32_t)(cq)-1) << 16) | ((uint32_t)(sq)-1))
#define NVME_NUM_QUEUES_SQ(dw0) (NVME_FIELD(dw0, 0, 0xffff) + 1)
#define NVME_NUM_QUEUES_CQ(dw0) (NVME_FIELD(dw0, 16, 0xffff) + 1)

/* ---- NVM command set (6, Figure 346) ---- */
#define NVME_CMD_FLUSH 0x00 /* 6.8 */
#define NVME_CMD_WRITE 0x01 /* 6.15 */
#define NVME_CMD_READ  0x02 /* 6.9 */
/* Read/Write CDW10-11: SLBA; CDW12: NLB 15:0, 0's based (6.9 Figure 364) */
#define NVME_RW_NLB(blocks) ((uint32_t)(blocks)-1)

/* ---- Identify Controller data (5.15.2.2, Figure 247), the fields used ---- */
#define NVME_ID_CTRL_MN	  24  /* model number, 40 ASCII bytes */
#define NVME_ID_CTRL_MDTS 77  /* max data transfer: 2^MDTS min pages, 0 = no limit */
#define NVME_ID_CTRL_SQES 512 /* required 3:0 and maximum 7:4 SQ entry size, log2 */
#define NVME_ID_CTRL_CQES 513
#define NVME_ID_CTRL_NN	  516 /* number of namespaces, 32 bits */
#define NVME_ID_CTRL_VWC  525 /* volatile write cache present: bit 0 */

struct nvme_id_ctrl {
	uint16_t vid;
	uint16_t ssvid;
	char sn[20];
	char mn[40];
	char fr[8];
	uint8_t rab;
	uint8_t ieee[3];
	uint8_t cmic;
	uint8_t mdts;
	uint8_t rest1[512 - 78];
	uint8_t sqes;
	uint8_t cqes;
	uint16_t maxcmd;
	uint32_t nn;
	uint8_t rest2[525 - 520];
	uint8_t vwc;
	uint8_t rest3[4096 - 526];
};
_Static_assert(offsetof(struct nvme_id_ctrl, mn) == NVME_ID_CTRL_MN, "5.15.2.2 MN");
_Static_assert(offsetof(struct nvme_id_ctrl, mdts) == NVME_ID_CTRL_MDTS, "5.15.2.2 MDTS");
_Static_assert(offsetof(struct nvme_id_ctrl, sqes) == NVME_ID_CTRL_SQES, "5.15.2.2 SQES");
_Static_assert(offsetof(struct nvme_id_ctrl, cqes) == NVME_ID_CTRL_CQES, "5.15.2.2 CQES");
_Static_assert(offsetof(struct nvme_id_ctrl, nn) == NVME_ID_CTRL_NN, "5.15.2.2 NN");
_Static_assert(offsetof(struct nvme_id_ctrl, vwc) == NVME_ID_CTRL_VWC, "5.15.2.2 VWC");
_Static_assert(sizeof(struct nvme_id_ctrl) == 4096, "5.15.2.2: 4096 bytes");
#define NVME_ES_MIN(es) NVME_FIELD(es, 0, 0xf) /* SQES/CQES required size, log2 */

/* ---- Identify Namespace data (5.15.2.1, Figure 245), the fields used ---- */
#define NVME_ID_NS_NSZE	 0   /* size in logical blocks, 64 bits */
#define NVME_ID_NS_NLBAF 25  /* number of LBA formats, 0's based */
#define NVME_ID_NS_FLBAS 26  /* formatted LBA size: format index 3:0 */
#define NVME_ID_NS_LBAF	 128 /* 16 LBA format descriptors, 4 bytes each */

struct nvme_id_ns {
	uint64_t nsze;
	uint64_t ncap;
	uint64_t nuse;
	uint8_t nsfeat;
	uint8_t nlbaf;
	uint8_t flbas;
	uint8_t rest1[128 - 27];
	uint32_t lbaf[16]; /* MS 15:0 metadata bytes, LBADS 23:16 log2 of the block size */
	uint8_t rest2[4096 - 192];
};
_Static_assert(offsetof(struct nvme_id_ns, nsze) == NVME_ID_NS_NSZE, "5.15.2.1 NSZE");
_Static_assert(offsetof(struct nvme_id_ns, nlbaf) == NVME_ID_NS_NLBAF, "5.15.2.1 NLBAF");
_Static_assert(offsetof(struct nvme_id_ns, flbas) == NVME_ID_NS_FLBAS, "5.15.2.1 FLBAS");
_Static_assert(offsetof(struct nvme_id_ns, lbaf) == NVME_ID_NS_LBAF, "5.15.2.1 LBAF0");
_Static_assert(sizeof(struct nvme_id_ns) == 4096, "5.15.2.1: 4096 bytes");
#define NVME_FLBAS_INDEX(f) NVME_FIELD(f, 0, 0xf)
#define NVME_LBAF_MS(l)	    NVME_FIELD(l, 0, 0xffff)
#define NVME_LBAF_LBADS(l)  NVME_FIELD(l, 16, 0xff)

#endif
