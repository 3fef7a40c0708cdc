/*
 * In-guest tests of the network drivers (docs/drivers.md "Network"), through
 * netclient (domains/test/netclient): nullnet through one crossing and
 * through its shadow; virtio-net on net0 sending frames that the netdev
 * (a UDP socket looped back to itself, ci/groups/net.py) returns, every
 * byte checked; exact errors for bad batches; the driver crashed under
 * traffic and replaced by its shadow, every buffer it held given back to
 * the client (SYS_RREF_RECALL) and the memory counters back; and rogue refused net0's BAR and
 * config space. Each body runs counted (frames, kernel heap, live RRefs back to start).
 */
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <dev/pci.h>
#include <domain/domain.h>
#include <idl/net_methods.h>
#include <idl/netclient_methods.h>
#include <ktest/counted.h>
#include <ktest/driver_faults.h>
#include <ktest/ktest.h>
#include <ktest/net_nic.h>
#include <mm/vm.h>
#include <test/rogue/cases.h>
#include <test/rogue/pci_cases.h>
#include <xheap/rref.h>

#define RUN_WAIT_NS  120000000000ULL /* only stops a hang */
#define TRAFFIC_MS   30000
#define FRAMES	     256
#define CRASH_FRAMES 2048
#define LINK_WAIT_NS 1000000000ULL /* the drivers' own wait before they log link down */
/* Receiving from Linux's pktgen: its guest boots meanwhile (tens of seconds
 * under TCG on a loaded host), so the run may last NET_RX_PKTGEN_MS; a line
 * every RX_PROGRESS_NS says how far it is. */
#define RX_WAIT_NS     ((NET_RX_PKTGEN_MS + 60000) * 1000000ULL)
#define RX_PROGRESS_NS 10000000000ULL

static long client(struct domain *c, uint64_t method, long a0, long a1, long a2, long a3)
{
	return domain_call(c, method, a0, a1, a2, a3);
}

static long stat(struct domain *c, long which)
{
	return client(c, NetClient_stat_METHOD, which, 0, 0, 0);
}

static long driver_counter(struct domain *c, long which)
{
	return stat(c, NETC_DRIVER + 2 + which);
}

/* Destroy what netclient started (a shadow first, so it restarts nothing)
 * and netclient itself. */
static void teardown(struct domain *c, const char *shadow, const char *driver)
{
	if (shadow)
		ktest_destroy_handle(driver_current(shadow));
	ktest_destroy_handle(driver_current(driver));
	ktest_destroy(c);
}

/* Create netclient, run checks on it (which return at the first failed
 * assertion) and tear down whatever it started, pass or fail, so that one
 * failure leaves nothing behind for the leak check or the next test. */
static void with_client(struct ktest_ctx *t, void (*checks)(struct ktest_ctx *, struct domain *),
			const char *shadow, const char *driver)
{
	struct domain *c = ktest_create(t, "netclient");
	if (!c)
		return;
	checks(t, c);
	teardown(c, shadow, driver);
}

static void nullnet_path(struct ktest_ctx *t, struct domain *c, long which)
{
	KT_ASSERT_EQ(client(c, NetClient_start_METHOD, which, 0, 0, 0), 0);
	KT_ASSERT_EQ(client(c, NetClient_traffic_METHOD, FRAMES, 60, TRAFFIC_MS, 0), FRAMES);
	KT_ASSERT_EQ(stat(c, NETC_SENT), FRAMES);
	KT_ASSERT_EQ(stat(c, NETC_BAD), 0);
	KT_ASSERT_EQ(driver_counter(c, NET_TX_PACKETS), FRAMES);
	KT_ASSERT_EQ(driver_counter(c, NET_RX_PACKETS), stat(c, NETC_VERIFIED));
	KT_ASSERT_EQ(stat(c, NETC_DRIVER), 1); /* link up */
	KT_ASSERT_EQ(client(c, NetClient_bad_METHOD, NETC_BAD_SMALL, 0, 0, 0), -MAPLE_EINVAL);
	KT_ASSERT_EQ(client(c, NetClient_bad_METHOD, NETC_BAD_LONG, 0, 0, 0), -MAPLE_EINVAL);
	KT_ASSERT_EQ(driver_counter(c, NET_TX_ERRORS), 2);
	KT_ASSERT_EQ(stat(c, NETC_DROPPED), 0);
}

static void nullnet_direct_checks(struct ktest_ctx *t, struct domain *c)
{
	nullnet_path(t, c, NETC_NULLNET);
}

static void nullnet_shadow_checks(struct ktest_ctx *t, struct domain *c)
{
	nullnet_path(t, c, NETC_NULLNET_SHADOW);
}

static void nullnet_crossing(struct ktest_ctx *t)
{
	with_client(t, nullnet_direct_checks, NULL, "nullnet");
}

static void nullnet_shadowed(struct ktest_ctx *t)
{
	with_client(t, nullnet_shadow_checks, "nullnet_shadow", "nullnet");
}

KTEST(net_nullnet_one_crossing)
{
	ktest_run_counted(t, "kt-net", nullnet_crossing, RUN_WAIT_NS);
}

KTEST(net_nullnet_through_shadow)
{
	ktest_run_counted(t, "kt-net", nullnet_shadowed, RUN_WAIT_NS);
}

/* The driver killed between two calls (the `kill` fault, no call inside
 * it): the next submit_and_poll finds it dead (-MAPLE_EDEAD) with the batch
 * already moved to the shadow. No part of the call ran, so the shadow
 * sends it to the new driver; before it did, the call failed and the batch
 * stayed with the shadow: 32 buffers lost to the client (bench/net). */
static void killed_between_calls_checks(struct ktest_ctx *t, struct domain *c)
{
	KT_ASSERT_EQ(client(c, NetClient_start_METHOD, NETC_NULLNET_SHADOW, 0, 0, 0), 0);
	KT_ASSERT_EQ(client(c, NetClient_traffic_METHOD, FRAMES, 60, TRAFFIC_MS, 0), FRAMES);
	uint64_t old = driver_current("nullnet");
	KT_ASSERT(old && driver_strike(old, driver_fault(DRIVER_FAULTS - 1)));
	KT_ASSERT_EQ(client(c, NetClient_traffic_METHOD, FRAMES, 60, TRAFFIC_MS, 0), FRAMES);
	uint64_t now = driver_current("nullnet");
	KT_ASSERT(now && now != old);
	KT_ASSERT_EQ(stat(c, NETC_CRASHES), 0);
	KT_ASSERT_EQ(stat(c, NETC_DROPPED), 0);
	KT_ASSERT_EQ(stat(c, NETC_ALLOCATED),
		     stat(c, NETC_OWNED) + driver_counter(c, NET_IN_FLIGHT));
}

static void killed_between_calls(struct ktest_ctx *t)
{
	with_client(t, killed_between_calls_checks, "nullnet_shadow", "nullnet");
}

KTEST(net_shadow_resends_a_batch_the_dead_driver_never_saw)
{
	ktest_run_counted(t, "kt-net", killed_between_calls, RUN_WAIT_NS);
}

static bool have_net0(struct ktest_ctx *t)
{
	if (pci_find("net0"))
		return true;
	ktest_skip(
		t,
		"no virtio-net function (net0); the net and netrx groups (ci/groups) attach one");
	return false;
}

/* virtio 1.1, 4.1.4.3 and 2.6.6/2.6.8: where the kernel finds receiveq1's
 * rings (the common configuration it maps to quiesce net0). */
#define COMMON_QUEUE_SELECT 0x16
#define COMMON_QUEUE_DRIVER 0x28
#define COMMON_QUEUE_DEVICE 0x30

struct used_elem {
	uint32_t id, len;
};

/*
 * Play a broken device on receiveq1 while no frame is in flight: append
 * three used elements (2.6.8): one naming descriptor 1 (not a chain head),
 * one naming a chain past the ring, and one of length 0 for the next
 * buffer the device would fill (false, faking nothing, if none is posted). The driver must count
 * two RX errors and one drop, and post that buffer again. Only the driver touches queue_select
 * after its start, and net0 receives nothing now.
 */
static bool fake_bad_completions(void)
{
	volatile uint8_t *common = pci_find("net0")->virtio_common;
	*(volatile uint16_t *)(common + COMMON_QUEUE_SELECT) = 0;
	volatile uint16_t *avail =
		phys_to_virt(*(volatile uint64_t *)(common + COMMON_QUEUE_DRIVER));
	volatile uint8_t *used = phys_to_virt(*(volatile uint64_t *)(common + COMMON_QUEUE_DEVICE));
	volatile uint16_t *idx = (volatile uint16_t *)(used + 2);
	volatile struct used_elem *ring = (volatile struct used_elem *)(used + 4);
	uint16_t u = *idx;
	if (avail[1] == u)
		return false;			 /* no buffer posted */
	uint16_t next_head = avail[2 + u % 256]; /* the buffer the device fills next */
	ring[u % 256] = (struct used_elem){.id = 1, .len = 100};
	ring[(u + 1) % 256] = (struct used_elem){.id = 256, .len = 100};
	ring[(u + 2) % 256] = (struct used_elem){.id = next_head, .len = 0};
	__atomic_thread_fence(__ATOMIC_RELEASE);
	*idx = (uint16_t)(u + 3);
	return true;
}

/* The NIC the shared checks below run on (ktests run one at a time). */
static const struct net_nic *nic;

static void nic_traffic_checks(struct ktest_ctx *t, struct domain *c)
{
	KT_ASSERT_EQ(client(c, NetClient_start_METHOD, nic->which, 0, 0, 0), 0);
	/* Link up: at once on virtio, after autonegotiation on igb (82576
	 * 4.5.7.1; QEMU's model takes a few hundred milliseconds). */
	uint64_t deadline = time_ns() + LINK_WAIT_NS;
	while (stat(c, NETC_DRIVER) != 1 && time_ns() < deadline)
		thread_sleep_ns(10000000);
	KT_ASSERT_EQ(stat(c, NETC_DRIVER), 1);
	KT_ASSERT_EQ(stat(c, NETC_DRIVER + 1), 0x563412005452L); /* 52:54:00:12:34:56 */
	KT_ASSERT(pci_master(pci_find(nic->pci)));
	/* Full-size frames, then minimal ones: every byte comes back. */
	KT_ASSERT_EQ(client(c, NetClient_traffic_METHOD, FRAMES, 1514, TRAFFIC_MS, 0), FRAMES);
	KT_ASSERT_EQ(stat(c, NETC_BAD), 0);
	KT_ASSERT_EQ(stat(c, NETC_STALE), 0);
	KT_ASSERT_EQ(stat(c, NETC_RESENT), 0); /* 64 in flight at most: nothing lost */
	KT_ASSERT_EQ(client(c, NetClient_traffic_METHOD, FRAMES, 60, TRAFFIC_MS, 0), FRAMES);
	KT_ASSERT_EQ(stat(c, NETC_BAD), 0);
	KT_ASSERT_EQ(stat(c, NETC_RESENT), 0);
	KT_ASSERT_EQ(driver_counter(c, NET_RX_PACKETS), 2 * FRAMES);
	KT_ASSERT_EQ(driver_counter(c, NET_RX_BYTES), FRAMES * (1514 + 60));
	KT_ASSERT_EQ(driver_counter(c, NET_RX_DROPS), 0);
	KT_ASSERT_EQ(driver_counter(c, NET_RX_ERRORS), 0);
	/* Bad batches fail alone, every buffer back in the client's hands. */
	KT_ASSERT_EQ(client(c, NetClient_bad_METHOD, NETC_BAD_SMALL, 0, 0, 0), -MAPLE_EINVAL);
	KT_ASSERT_EQ(client(c, NetClient_bad_METHOD, NETC_BAD_LONG, 0, 0, 0), -MAPLE_EINVAL);
	KT_ASSERT_EQ(client(c, NetClient_bad_METHOD, NETC_BAD_TOO_MANY, 0, 0, 0), -MAPLE_ENOMEM);
	KT_ASSERT_EQ(driver_counter(c, NET_TX_ERRORS), 3);
	/* Malformed completions are counted and dropped; the ring runs on.
	 * The receive ring is full now (above), so a buffer is posted. */
	KT_ASSERT(nic->fake_bad_completions());
	KT_ASSERT_EQ(client(c, NetClient_bad_METHOD, NETC_BAD_EMPTY, 0, 0, 0), 0);
	KT_ASSERT_EQ(driver_counter(c, NET_RX_ERRORS), nic->fake_errors);
	KT_ASSERT_EQ(driver_counter(c, NET_RX_DROPS), nic->fake_drops);
	KT_ASSERT_EQ(driver_counter(c, NET_RX_PACKETS), 2 * FRAMES);
	if (!nic->rogue_bar)
		return;
	/* Another domain gets nothing of the function. */
	struct domain *rogue = ktest_create(t, "rogue");
	if (!rogue)
		return;
	long bar = domain_call(rogue, Rogue_run_METHOD, nic->rogue_bar, 0, 0, 0);
	long config = domain_call(rogue, Rogue_run_METHOD, nic->rogue_config, 0, 0, 0);
	enum domain_state state = rogue->state;
	ktest_destroy(rogue);
	KT_ASSERT_EQ(bar, -MAPLE_EPERM);
	KT_ASSERT_EQ(config, -MAPLE_EPERM);
	KT_ASSERT_EQ(state, DOMAIN_RUNNING);
}

static void nic_traffic(struct ktest_ctx *t)
{
	/* The driver holds receive buffers now: destroying it quiesces the
	 * function (Bus Master off, a device reset) before the kernel frees
	 * them. */
	with_client(t, nic_traffic_checks, NULL, nic->driver);
	KT_ASSERT(!pci_master(pci_find(nic->pci)));
	KT_ASSERT(nic->was_reset(pci_find(nic->pci)));
}

static bool virtio_was_reset(struct pci_func *f)
{
	return f->virtio_common[0x14] == 0;
}

static const struct net_nic virtio_nic = {
	.pci = "net0",
	.driver = "virtio_net",
	.shadow = "net_shadow",
	.which = NETC_VIRTIO,
	.which_shadow = NETC_VIRTIO_SHADOW,
	.fake_bad_completions = fake_bad_completions,
	.fake_errors = 2,
	.fake_drops = 1,
	.was_reset = virtio_was_reset,
	.rogue_bar = ROGUE_PCI_NET_BAR,
	.rogue_config = ROGUE_PCI_NET_CONFIG,
};

void net_nic_traffic(struct ktest_ctx *t, const struct net_nic *n)
{
	nic = n;
	ktest_run_counted(t, "kt-net", nic_traffic, RUN_WAIT_NS);
}

KTEST(net_virtio_verified_traffic)
{
	if (have_net0(t))
		net_nic_traffic(t, &virtio_nic);
}

static void nic_crash_checks(struct ktest_ctx *t, struct domain *c)
{
	KT_ASSERT_EQ(client(c, NetClient_start_METHOD, nic->which_shadow, 0, 0, 0), 0);
	KT_ASSERT_EQ(client(c, NetClient_traffic_METHOD, CRASH_FRAMES, 1514, TRAFFIC_MS * 2, 1), 0);
	uint64_t deadline = time_ns() + (uint64_t)TRAFFIC_MS * 1000000;
	while (stat(c, NETC_VERIFIED) < 64 && time_ns() < deadline)
		thread_sleep_ns(2000000);
	struct rref_stats before;
	rref_get_stats(&before);
	uint64_t recalled_before = before.recalled;
	uint64_t old = driver_current(nic->driver);
	KT_ASSERT(old && driver_strike(old, driver_fault(0)));
	/* The run that the crash cut short starts over with the new driver and
	 * completes, every byte checked; frames of the first attempt that
	 * arrive late are told apart (NETC_STALE), never counted as verified. */
	long r;
	while ((r = client(c, NetClient_wait_METHOD, 0, 0, 0, 0)) == -MAPLE_EAGAIN)
		;
	KT_ASSERT_EQ(r, CRASH_FRAMES);
	/* The fault strikes the next thread that returns to the driver: inside
	 * a call, the client sees that call's -MAPLE_ECALLEE; if the call had
	 * already handed back its result, the driver dies between calls and the
	 * shadow sends the next one to the new driver (it found the old one
	 * dead, -MAPLE_EDEAD, so none of it ran) and the client sees nothing. */
	long crashes = stat(c, NETC_CRASHES);
	KT_ASSERT(crashes == 0 || crashes == 1);
	if (crashes)
		KT_ASSERT_EQ(stat(c, NETC_LAST_ERROR), -MAPLE_ECALLEE);
	KT_ASSERT_EQ(stat(c, NETC_BAD), 0);
	uint64_t now = driver_current(nic->driver);
	KT_ASSERT(now && now != old);
	/* Every buffer the old driver held came back to the client (the
	 * kernel gave the recalled RRefs back after net0 stopped): none
	 * dropped, each one now in the client's hands or in the new driver. */
	struct rref_stats after;
	rref_get_stats(&after);
	KT_ASSERT_EQ(stat(c, NETC_DROPPED), 0);
	KT_ASSERT(after.recalled > recalled_before);
	KT_ASSERT(stat(c, NETC_RETURNED) > 0);
	KT_ASSERT_EQ(stat(c, NETC_ALLOCATED),
		     stat(c, NETC_OWNED) + driver_counter(c, NET_IN_FLIGHT));
}

static void nic_crash(struct ktest_ctx *t)
{
	with_client(t, nic_crash_checks, nic->shadow, nic->driver);
}

void net_nic_crash(struct ktest_ctx *t, const struct net_nic *n)
{
	nic = n;
	ktest_run_counted(t, "kt-net", nic_crash, RUN_WAIT_NS);
}

KTEST(net_virtio_crash_under_traffic)
{
	if (have_net0(t))
		net_nic_crash(t, &virtio_nic);
}

/*
 * Run only in ci/groups/net.py's link-down boot, where QEMU's `set_link n0
 * off` came before the guest ran: the driver starts, logs that the link is
 * down (the group checks the exact line) and serves on, link() saying 0.
 */
static void nic_link_down_checks(struct ktest_ctx *t, struct domain *c)
{
	KT_ASSERT_EQ(client(c, NetClient_start_METHOD, nic->which, 0, 0, 0), 0);
	KT_ASSERT_EQ(stat(c, NETC_DRIVER), 0);
	KT_ASSERT_EQ(stat(c, NETC_DRIVER + 1), 0x563412005452L);
	thread_sleep_ns(1500000000ULL); /* past the driver's wait: its line is out */
	KT_ASSERT_EQ(stat(c, NETC_DRIVER), 0);
	KT_ASSERT_EQ(client(c, NetClient_bad_METHOD, NETC_BAD_EMPTY, 0, 0, 0), 0);
	KT_ASSERT_EQ(c->state, DOMAIN_RUNNING);
}

static void nic_link_down(struct ktest_ctx *t)
{
	with_client(t, nic_link_down_checks, NULL, nic->driver);
}

void net_nic_link_down(struct ktest_ctx *t, const struct net_nic *n)
{
	nic = n;
	ktest_run_counted(t, "kt-net", nic_link_down, RUN_WAIT_NS);
}

KTEST(net_virtio_link_down)
{
	if (have_net0(t))
		net_nic_link_down(t, &virtio_nic);
}

/*
 * Run only in ci/groups/netrx.py's boots, where the NIC's netdev is a TCP
 * socket to a Linux guest whose pktgen sends NET_RX_PKTGEN_FRAMES frames
 * (bench/linux-guest/init, pktgen_send): every frame that arrives is
 * checked byte for byte against pktgen's recipe (netclient's receive(),
 * domains/test/netclient/pktgen.h), in order. A stream netdev loses
 * nothing on its own: while virtio-net has no buffer posted QEMU holds the
 * frame and stops reading the socket, TCP stops the sender's QEMU, and
 * that one's NIC stops taking frames from Linux, whose pktgen sends again
 * what its driver could not queue; so on virtio-net exactly that many
 * arrive, each verified. A NIC whose model drops a frame that finds its
 * ring without a free buffer (rx_drops_when_full) may lose some: then every
 * frame that came is verified, none twice or out of order, and the ones
 * that came and the ones missing add up to what was sent.
 */
static void nic_rx_pktgen_checks(struct ktest_ctx *t, struct domain *c)
{
	KT_ASSERT_EQ(client(c, NetClient_start_METHOD, nic->which, 0, 0, 0), 0);
	uint64_t deadline = time_ns() + 2 * LINK_WAIT_NS;
	while (stat(c, NETC_DRIVER) != 1 && time_ns() < deadline)
		thread_sleep_ns(10000000);
	KT_ASSERT_EQ(stat(c, NETC_DRIVER), 1);
	klog("netrx: %s: receiving %d frames from Linux's pktgen", nic->driver,
	     NET_RX_PKTGEN_FRAMES);
	KT_ASSERT_EQ(client(c, NetClient_receive_METHOD, NET_RX_PKTGEN_FRAMES,
			    NET_RX_PKTGEN_SRC_MAC, NET_RX_PKTGEN_MS, 0),
		     0);
	long r;
	uint64_t next = time_ns() + RX_PROGRESS_NS;
	while ((r = client(c, NetClient_wait_METHOD, 0, 0, 0, 0)) == -MAPLE_EAGAIN) {
		if (time_ns() < next)
			continue;
		klog("netrx: %s: %ld frames so far", nic->driver, stat(c, NETC_RECEIVED));
		next += RX_PROGRESS_NS;
	}
	long got = stat(c, NETC_RECEIVED);
	klog("netrx: %s: received=%ld verified=%ld corrupt=%ld lost=%ld reordered=%ld "
	     "last_seq=%ld",
	     nic->driver, got, r, stat(c, NETC_BAD), stat(c, NETC_LOST), stat(c, NETC_REORDERED),
	     stat(c, NETC_LAST_SEQ));
	KT_ASSERT_EQ(r, got);
	KT_ASSERT_EQ(stat(c, NETC_BAD), 0);
	KT_ASSERT_EQ(stat(c, NETC_REORDERED), 0);
	KT_ASSERT_EQ(got + stat(c, NETC_LOST), NET_RX_PKTGEN_FRAMES);
	KT_ASSERT(got > 0);
	if (!nic->rx_drops_when_full) {
		KT_ASSERT_EQ(got, NET_RX_PKTGEN_FRAMES);
		KT_ASSERT_EQ(stat(c, NETC_LAST_SEQ), NET_RX_PKTGEN_FRAMES);
	}
	KT_ASSERT_EQ(driver_counter(c, NET_RX_PACKETS), got);
	KT_ASSERT_EQ(driver_counter(c, NET_RX_DROPS), 0);
	KT_ASSERT_EQ(driver_counter(c, NET_RX_ERRORS), 0);
	/* The check refuses the last frame with any one byte flipped. */
	KT_ASSERT_EQ(client(c, NetClient_flips_missed_METHOD, 0, 0, 0, 0), 0);
}

static void nic_rx_pktgen(struct ktest_ctx *t)
{
	with_client(t, nic_rx_pktgen_checks, NULL, nic->driver);
}

void net_nic_rx_pktgen(struct ktest_ctx *t, const struct net_nic *n)
{
	nic = n;
	ktest_run_counted(t, "kt-net", nic_rx_pktgen, RX_WAIT_NS);
}

KTEST(net_virtio_rx_from_pktgen)
{
	if (have_net0(t))
		net_nic_rx_pktgen(t, &virtio_nic);
}

/*
 * SYS_RREF_RECALL's rules, exactly: only the RRef's owner may mark it, a
 * handle that names nothing is -MAPLE_EINVAL, and marking changes nothing
 * while no holder dies (the RRef still frees).
 */
static void recall_rules(struct ktest_ctx *t)
{
	struct domain *a = ktest_create(t, "hello");
	struct domain *b = a ? ktest_create(t, "hello") : NULL;
	if (b) {
		long r = rref_alloc(a->id, &a->rref_limits, 1, 64);
		KT_ASSERT(r > 0);
		long other = rref_recall(b->id, (uint64_t)r);
		long stale = rref_recall(a->id, (uint64_t)r ^ (1UL << RREF_GEN_SHIFT));
		long mine = rref_recall(a->id, (uint64_t)r);
		long freed = rref_free(a->id, (uint64_t)r);
		long after = rref_recall(a->id, (uint64_t)r);
		KT_ASSERT_EQ(other, -MAPLE_EPERM);
		KT_ASSERT_EQ(stale, -MAPLE_EINVAL);
		KT_ASSERT_EQ(mine, 0);
		KT_ASSERT_EQ(freed, 0);
		KT_ASSERT_EQ(after, -MAPLE_EINVAL);
	}
	ktest_destroy(b);
	ktest_destroy(a);
}

KTEST(net_rref_recall_rules)
{
	ktest_run_counted(t, "kt-net", recall_rules, RUN_WAIT_NS);
}
