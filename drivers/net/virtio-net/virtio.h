/*
 * Virtio over PCI, modern interface, as the virtio-net driver uses it: the
 * register and ring layouts with the specification's section beside each
 * (OASIS virtio 1.1, which 1.2 keeps unchanged for all of these), every
 * offset checked at compile time, and fields read through masks and
 * shifts, not bitfields. Little-endian throughout, as on x86.
 */
#ifndef DRIVERS_NET_VIRTIO_H
#define DRIVERS_NET_VIRTIO_H

#include <stddef.h>
#include <stdint.h>

/* 2.1 Device Status Field. */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER	  2u
#define VIRTIO_STATUS_DRIVER_OK	  4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED	  128u

/* 6 Reserved Feature Bits; 5.1.3 Network Device Feature Bits. */
#define VIRTIO_F_VERSION_1     (1ULL << 32)
#define VIRTIO_NET_F_MAC       (1ULL << 5)
#define VIRTIO_NET_F_MRG_RXBUF (1ULL << 15) /* not used: one buffer holds a whole frame */
#define VIRTIO_NET_F_STATUS    (1ULL << 16)

/* 4.1.4 Virtio Structure PCI Capabilities: struct virtio_pci_cap, a vendor
 * capability (PCI cap id 0x09), read here as 32-bit config words. */
#define PCI_CAP_PTR		  0x34
#define PCI_STATUS_WORD		  0x04 /* command in 15:0, status in 31:16 */
#define PCI_STATUS_CAP_LIST	  (1u << (16 + 4))
#define PCI_CAP_ID_VNDR		  0x09
#define VIRTIO_CAP_ID(w0)	  ((w0)&0xffu)		 /* cap_vndr, byte 0 */
#define VIRTIO_CAP_NEXT(w0)	  (((w0) >> 8) & 0xffu)	 /* cap_next, byte 1 */
#define VIRTIO_CAP_LEN(w0)	  (((w0) >> 16) & 0xffu) /* cap_len, byte 2 */
#define VIRTIO_CAP_TYPE(w0)	  (((w0) >> 24) & 0xffu) /* cfg_type, byte 3 */
#define VIRTIO_CAP_BAR(w1)	  ((w1)&0xffu)		 /* bar, byte 4 */
#define VIRTIO_CAP_OFFSET_WORD	  2			 /* le32 offset, bytes 8-11 */
#define VIRTIO_CAP_LENGTH_WORD	  3			 /* le32 length, bytes 12-15 */
#define VIRTIO_CAP_NOTIFY_MULT	  4 /* 4.1.4.4: le32 notify_off_multiplier, bytes 16-19 */
#define VIRTIO_PCI_CAP_COMMON	  1
#define VIRTIO_PCI_CAP_NOTIFY	  2
#define VIRTIO_PCI_CAP_ISR	  3
#define VIRTIO_PCI_CAP_DEVICE	  4
#define VIRTIO_CAP_MIN_LEN	  16 /* sizeof(struct virtio_pci_cap) */
#define VIRTIO_NOTIFY_CAP_MIN_LEN 20 /* struct virtio_pci_notify_cap */

/* 4.1.4.3 Common configuration structure layout. */
struct virtio_pci_common_cfg {
	uint32_t device_feature_select;
	uint32_t device_feature;
	uint32_t driver_feature_select;
	uint32_t driver_feature;
	uint16_t msix_config;
	uint16_t num_queues;
	uint8_t device_status;
	uint8_t config_generation;
	uint16_t queue_select;
	uint16_t queue_size;
	uint16_t queue_msix_vector;
	uint16_t queue_enable;
	uint16_t queue_notify_off;
	uint64_t queue_desc;
	uint64_t queue_driver;
	uint64_t queue_device;
};
_Static_assert(offsetof(struct virtio_pci_common_cfg, device_feature_select) == 0x00, "4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, device_feature) == 0x04, "4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, driver_feature_select) == 0x08, "4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, driver_feature) == 0x0c, "4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, msix_config) == 0x10, "4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, num_queues) == 0x12, "4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, device_status) == 0x14, "4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, config_generation) == 0x15, "4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_select) == 0x16, "4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_size) == 0x18, "4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_msix_vector) == 0x1a, "4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_enable) == 0x1c, "4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_notify_off) == 0x1e, "4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_desc) == 0x20, "4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_driver) == 0x28, "4.1.4.3");
_Static_assert(offsetof(struct virtio_pci_common_cfg, queue_device) == 0x30, "4.1.4.3");
_Static_assert(sizeof(struct virtio_pci_common_cfg) == 0x38, "4.1.4.3");
#define VIRTIO_MSI_NO_VECTOR 0xffffu /* 4.1.5.1.2: no interrupt; this driver polls */

/* 5.1.4 Network device configuration layout (the device-specific block). */
#define VIRTIO_NET_CFG_MAC    0 /* u8 mac[6], if VIRTIO_NET_F_MAC */
#define VIRTIO_NET_CFG_STATUS 6 /* le16 status, if VIRTIO_NET_F_STATUS */
#define VIRTIO_NET_CFG_SIZE   8 /* what this driver reads */
#define VIRTIO_NET_S_LINK_UP  1u

/* 5.1.6 Device Operation: struct virtio_net_hdr, before every frame; with
 * VERSION_1 num_buffers is always there (5.1.6.1), so it is 12 bytes. */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};
_Static_assert(offsetof(struct virtio_net_hdr, flags) == 0, "5.1.6");
_Static_assert(offsetof(struct virtio_net_hdr, gso_type) == 1, "5.1.6");
_Static_assert(offsetof(struct virtio_net_hdr, hdr_len) == 2, "5.1.6");
_Static_assert(offsetof(struct virtio_net_hdr, gso_size) == 4, "5.1.6");
_Static_assert(offsetof(struct virtio_net_hdr, csum_start) == 6, "5.1.6");
_Static_assert(offsetof(struct virtio_net_hdr, csum_offset) == 8, "5.1.6");
_Static_assert(offsetof(struct virtio_net_hdr, num_buffers) == 10, "5.1.6");
_Static_assert(sizeof(struct virtio_net_hdr) == 12, "5.1.6");
#define VIRTIO_NET_RXQ 0 /* 5.1.2: receiveq1 */
#define VIRTIO_NET_TXQ 1 /* transmitq1 */

/* 2.6.5 The Virtqueue Descriptor Table (split virtqueues, 2.6). */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(offsetof(struct virtq_desc, addr) == 0, "2.6.5");
_Static_assert(offsetof(struct virtq_desc, len) == 8, "2.6.5");
_Static_assert(offsetof(struct virtq_desc, flags) == 12, "2.6.5");
_Static_assert(offsetof(struct virtq_desc, next) == 14, "2.6.5");
_Static_assert(sizeof(struct virtq_desc) == 16, "2.6.5");
#define VIRTQ_DESC_F_NEXT  1u
#define VIRTQ_DESC_F_WRITE 2u

/* 2.6.6 The Virtqueue Available Ring: le16 flags, le16 idx, le16 ring[size]. */
#define VIRTQ_AVAIL_FLAGS	   0
#define VIRTQ_AVAIL_IDX		   2
#define VIRTQ_AVAIL_RING	   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u /* 2.6.7: polled, so no interrupts */

/* 2.6.8 The Virtqueue Used Ring: le16 flags, le16 idx, then elements. */
struct virtq_used_elem {
	uint32_t id;  /* the head of the descriptor chain */
	uint32_t len; /* bytes the device wrote into it */
};
_Static_assert(offsetof(struct virtq_used_elem, id) == 0, "2.6.8");
_Static_assert(offsetof(struct virtq_used_elem, len) == 4, "2.6.8");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "2.6.8");
#define VIRTQ_USED_FLAGS 0
#define VIRTQ_USED_IDX	 2
#define VIRTQ_USED_RING	 4
/* 2.6.10: the device asks not to be notified (it will look at the
 * available ring anyway); 2.6.10.1: the driver SHOULD NOT notify then. */
#define VIRTQ_USED_F_NO_NOTIFY 1u

#endif
