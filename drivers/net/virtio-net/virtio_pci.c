/*
 * The virtio PCI transport, modern interface (virtio_pci.h; virtio 1.1,
 * 4.1). Everything the device tells us (capability offsets, lengths, BAR
 * numbers, the notify multiplier) is checked against the BAR's size before
 * it becomes an address: a device, or a config space, that lies makes the
 * driver refuse to start, never reach outside its BAR.
 */
#include <net/virtio-net/virtio_pci.h>
#include <sdk/dom.h>

#define CAP_WALK_MAX 48		   /* (256 - 64) / 4: a loop cannot be longer */
#define RESET_NS     1000000000ULL /* 4.1.4.3.2's wait, bounded */

struct cap {
	uint32_t bar, offset, length, mult;
	bool found;
};

static long cfg(struct virtio_pci *v, uint32_t off)
{
	return maple_device_config(v->name, off);
}

/* Map BAR `bar` and give the address of [offset, offset + length) in it. */
static volatile uint8_t *map(struct virtio_pci *v, const struct cap *c, uint64_t need,
			     const char *what)
{
	long size = c->bar < 6 ? maple_device_bar_size(v->name, c->bar) : -MAPLE_EINVAL;
	if (size < 0 || c->length < need || c->offset > (uint64_t)size ||
	    (uint64_t)size - c->offset < c->length) {
		dom_printf("virtio_net: %s: %s capability (BAR %u, offset %#x, length %#x) does "
			   "not fit its BAR (%ld)",
			   v->name, what, c->bar, c->offset, c->length, size);
		return NULL;
	}
	long va = maple_device_bar(v->name, c->bar);
	if (va < 0) {
		dom_printf("virtio_net: %s: cannot map BAR %u: %ld", v->name, c->bar, va);
		return NULL;
	}
	return (volatile uint8_t *)(uintptr_t)va + c->offset;
}

long virtio_pci_find(struct virtio_pci *v, const char *name)
{
	v->name = name;
	struct cap caps[VIRTIO_PCI_CAP_DEVICE + 1] = {0};
	long status = cfg(v, PCI_STATUS_WORD);
	if (status < 0) {
		dom_printf("virtio_net: %s: cannot read its configuration space: %ld", name,
			   status);
		return status;
	}
	/* 4.1.4: walk the capability list (PCI 3.0, 6.7) for vendor caps; the
	 * first of each cfg_type is the one to use (4.1.4.1). */
	long ptr = (status & PCI_STATUS_CAP_LIST) ? cfg(v, PCI_CAP_PTR) & 0xfc : 0;
	for (int n = 0; ptr >= 0x40 && n < CAP_WALK_MAX; n++) {
		uint32_t w0 = (uint32_t)cfg(v, (uint32_t)ptr);
		uint32_t type = VIRTIO_CAP_TYPE(w0);
		if (VIRTIO_CAP_ID(w0) == PCI_CAP_ID_VNDR && type >= VIRTIO_PCI_CAP_COMMON &&
		    type <= VIRTIO_PCI_CAP_DEVICE && !caps[type].found &&
		    VIRTIO_CAP_LEN(w0) >= VIRTIO_CAP_MIN_LEN &&
		    ptr <= 256 - VIRTIO_NOTIFY_CAP_MIN_LEN) {
			caps[type] = (struct cap){
				.bar = VIRTIO_CAP_BAR((uint32_t)cfg(v, (uint32_t)ptr + 4)),
				.offset = (uint32_t)cfg(v,
							(uint32_t)ptr + 4 * VIRTIO_CAP_OFFSET_WORD),
				.length = (uint32_t)cfg(v,
							(uint32_t)ptr + 4 * VIRTIO_CAP_LENGTH_WORD),
				.found = true,
			};
			if (type == VIRTIO_PCI_CAP_NOTIFY &&
			    VIRTIO_CAP_LEN(w0) >= VIRTIO_NOTIFY_CAP_MIN_LEN)
				caps[type].mult = (uint32_t)cfg(
					v, (uint32_t)ptr + 4 * VIRTIO_CAP_NOTIFY_MULT);
		}
		ptr = VIRTIO_CAP_NEXT(w0) & 0xfc;
	}
	static const char *const names[] = {"", "common", "notify", "isr", "device"};
	for (int t = VIRTIO_PCI_CAP_COMMON; t <= VIRTIO_PCI_CAP_DEVICE; t++)
		if (t != VIRTIO_PCI_CAP_ISR && !caps[t].found) {
			dom_printf("virtio_net: %s: no virtio %s capability: not a modern virtio "
				   "device",
				   name, names[t]);
			return -MAPLE_EINVAL;
		}
	v->common = (volatile struct virtio_pci_common_cfg *)map(
		v, &caps[VIRTIO_PCI_CAP_COMMON], sizeof(struct virtio_pci_common_cfg), "common");
	v->notify = map(v, &caps[VIRTIO_PCI_CAP_NOTIFY], 2, "notify");
	v->device = map(v, &caps[VIRTIO_PCI_CAP_DEVICE], VIRTIO_NET_CFG_SIZE, "device");
	if (!v->common || !v->notify || !v->device)
		return -MAPLE_EINVAL;
	v->notify_len = caps[VIRTIO_PCI_CAP_NOTIFY].length;
	v->notify_mult = caps[VIRTIO_PCI_CAP_NOTIFY].mult;
	v->device_len = caps[VIRTIO_PCI_CAP_DEVICE].length;
	return 0;
}

long virtio_pci_reset(struct virtio_pci *v)
{
	v->common->device_status = 0;
	uint64_t deadline = maple_clock_ns() + RESET_NS;
	while (v->common->device_status != 0) {
		if (maple_clock_ns() >= deadline) {
			dom_printf("virtio_net: %s: device_status still %#x 1 s after a reset",
				   v->name, v->common->device_status);
			return -MAPLE_ETIMEDOUT;
		}
		maple_yield();
	}
	return 0;
}

static uint64_t features(struct virtio_pci *v)
{
	v->common->device_feature_select = 0;
	uint64_t lo = v->common->device_feature;
	v->common->device_feature_select = 1;
	return lo | (uint64_t)v->common->device_feature << 32;
}

long virtio_pci_negotiate(struct virtio_pci *v, uint64_t want, uint64_t need, uint64_t *got)
{
	long rc = virtio_pci_reset(v); /* 3.1.1 step 1 */
	if (rc < 0)
		return rc;
	v->common->device_status = VIRTIO_STATUS_ACKNOWLEDGE;			     /* step 2 */
	v->common->device_status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER; /* step 3 */
	uint64_t offered = features(v);						     /* step 4 */
	if ((offered & need) != need) {
		dom_printf("virtio_net: %s: the device offers features %#lx, without %#lx it "
			   "needs (VIRTIO_F_VERSION_1 is bit 32)",
			   v->name, (unsigned long)offered, (unsigned long)(need & ~offered));
		v->common->device_status = VIRTIO_STATUS_FAILED;
		return -MAPLE_EINVAL;
	}
	uint64_t accept = offered & want;
	v->common->driver_feature_select = 0;
	v->common->driver_feature = (uint32_t)accept;
	v->common->driver_feature_select = 1;
	v->common->driver_feature = (uint32_t)(accept >> 32);
	v->common->device_status |= VIRTIO_STATUS_FEATURES_OK;	       /* step 5 */
	if (!(v->common->device_status & VIRTIO_STATUS_FEATURES_OK)) { /* step 6 */
		dom_printf("virtio_net: %s: the device refused features %#lx", v->name,
			   (unsigned long)accept);
		v->common->device_status = VIRTIO_STATUS_FAILED;
		return -MAPLE_EINVAL;
	}
	*got = accept;
	return 0;
}

uint16_t virtio_pci_queue_max(struct virtio_pci *v, uint16_t q)
{
	v->common->queue_select = q;
	return v->common->queue_size;
}

long virtio_pci_queue(struct virtio_pci *v, uint16_t q, uint16_t size, uint64_t desc,
		      uint64_t avail, uint64_t used, volatile uint16_t **notify)
{
	volatile struct virtio_pci_common_cfg *c = v->common;
	c->queue_select = q; /* 4.1.5.1.3: select, size, vector, addresses, enable */
	c->queue_size = size;
	c->queue_msix_vector = VIRTIO_MSI_NO_VECTOR;
	c->queue_desc = desc;
	c->queue_driver = avail;
	c->queue_device = used;
	/* 4.1.4.4: the queue's notify address is cap.offset +
	 * queue_notify_off * notify_off_multiplier, inside the notify area. */
	uint64_t off = (uint64_t)c->queue_notify_off * v->notify_mult;
	if (off > v->notify_len || v->notify_len - off < 2) {
		dom_printf("virtio_net: %s: queue %u's notify offset %#lx is outside the notify "
			   "area (%#lx bytes)",
			   v->name, q, (unsigned long)off, (unsigned long)v->notify_len);
		return -MAPLE_EINVAL;
	}
	*notify = (volatile uint16_t *)(v->notify + off);
	c->queue_enable = 1;
	return 0;
}

void virtio_pci_driver_ok(struct virtio_pci *v)
{
	v->common->device_status |= VIRTIO_STATUS_DRIVER_OK;
}

void virtio_pci_read_device(struct virtio_pci *v, uint32_t off, void *buf, uint32_t len)
{
	uint8_t *out = buf;
	uint8_t gen;
	do {
		gen = v->common->config_generation;
		for (uint32_t i = 0; i < len && off + i < v->device_len; i++)
			out[i] = v->device[off + i];
	} while (gen != v->common->config_generation);
}
