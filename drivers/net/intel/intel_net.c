/*
 * Net on the Intel rings (intel_net.h): queue 0 for receive and transmit,
 * polled, served by net_serve (drivers/net/net_serve.h) with one tail
 * write per ring per batch.
 *
 * While a buffer is posted the driver owns its RRef (it was moved in with
 * the batch); if the driver dies the kernel stops the device (Bus Master
 * off, then the chip's reset, for igb CTRL.RST) before it frees or recalls
 * them (docs/drivers.md "Quiescing"), so the device never writes a buffer
 * someone else holds.
 */
#include <net/intel/intel_net.h>

static const struct intel_chip *chip;
static volatile uint8_t *regs;
static struct intel_ring rxr, txr;
static uint64_t mac_addr;

static struct intel_ring *ring(bool rx)
{
	return rx ? &rxr : &txr;
}

static uint32_t room(bool rx)
{
	return intel_ring_room(ring(rx));
}

static uint32_t held(bool rx)
{
	return intel_ring_held(ring(rx));
}

static void post(bool rx, rref_t p, uint64_t bus, uint32_t len)
{
	intel_ring_post(ring(rx), p, bus, len);
}

static void flush(bool rx)
{
	intel_ring_flush(ring(rx));
}

static enum net_reaped reap(bool rx, rref_t *p, uint32_t *len)
{
	return intel_ring_reap(ring(rx), p, len);
}

static const struct net_rings rings = {
	.room = room, .held = held, .post = post, .flush = flush, .reap = reap};

static long submit_and_poll(rref_t batch, rref_t *out)
{
	return net_serve(&rings, batch, out);
}

static bool link_up(void)
{
	return chip->link_up(regs);
}

static long link(void)
{
	return link_up();
}

static long mac(void)
{
	return (long)mac_addr;
}

static long start(void)
{
	long size = maple_device_bar_size(chip->device, 0);
	long va = maple_device_bar(chip->device, 0);
	if (va < 0 || size < 0) {
		dom_printf("%s: %s: cannot map BAR 0: %ld", chip->name, chip->device,
			   va < 0 ? va : size);
		return va < 0 ? va : size;
	}
	if ((uint64_t)size < chip->regs_end) {
		dom_printf("%s: %s: BAR 0 is %ld bytes; its registers end at %#x", chip->name,
			   chip->device, size, chip->regs_end);
		return -MAPLE_EINVAL;
	}
	regs = (volatile uint8_t *)va;
	long rc = chip->reset(regs, &mac_addr);
	if (rc == 0)
		rc = intel_ring_init(&rxr, chip->name, regs, &chip->queues, 0, true);
	if (rc == 0)
		rc = intel_ring_init(&txr, chip->name, regs, &chip->queues, 0, false);
	if (rc == 0)
		rc = maple_device_busmaster(chip->device, 1);
	if (rc < 0)
		return rc;
	chip->enable(regs);
	uint8_t m[6];
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)(mac_addr >> (8 * i));
	dom_printf("%s: %s: up, mac %02x:%02x:%02x:%02x:%02x:%02x, rings %u/%u, link %s",
		   chip->name, chip->device, m[0], m[1], m[2], m[3], m[4], m[5], INTEL_RING_SIZE,
		   INTEL_RING_SIZE, link_up() ? "up" : "down");
	return 0;
}

long intel_net_start(const struct intel_chip *c)
{
	chip = c;
	long rc = start();
	return rc < 0 ? rc : net_watch_link(chip->name, chip->device, chip->link_bit, link_up);
}

const struct Net_impl intel_net_impl = {
	.submit_and_poll = submit_and_poll,
	.link = link,
	.mac = mac,
	.counter = net_counter,
};
