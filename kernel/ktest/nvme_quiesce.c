/*
 * Quiescing before reuse (issue 10 part 3; docs/drivers.md, "NVMe
 * recovery"): the nvme_quiesce driver fills an I/O queue with 128 KiB reads
 * into a DMA buffer of its own and returns with them in flight; the test
 * fails it at once, destroys it, claims the very frames of that buffer the
 * moment they are free, fills them with a known pattern and checks, after
 * the controller has had ample time to finish any read, that the pattern
 * is whole. The kernel must have stopped the controller (bus mastering off,
 * CC.EN = 0 and CSTS.RDY = 0) before it freed the driver's memory: a read
 * landing after the reuse overwrites the pattern with the disk's bytes.
 */
#include <block/nvme/flood.h>
#include <core/log.h>
#include <core/sched.h>
#include <core/time.h>
#include <domain/domain.h>
#include <idl/bdev_methods.h>
#include <ktest/counted.h>
#include <ktest/ktest.h>
#include <mm/frame.h>
#include <mm/vm.h>

#define PAGES	  (NVME_FLOOD_BYTES / FRAME_SIZE)
#define PATTERN	  0x5a17c0de5a17c0deull
#define SETTLE_NS 300000000ull /* far longer than QEMU takes for the reads */
#define WAIT_NS	  60000000000ull

static bool page_whole(uint64_t pa)
{
	const uint64_t *w = phys_to_virt(pa);
	for (uint64_t i = 0; i < FRAME_SIZE / 8; i++)
		if (w[i] != (PATTERN ^ (pa + i * 8)))
			return false;
	return true;
}

static void flood_and_reuse(struct ktest_ctx *t)
{
	struct domain *d = ktest_create(t, "nvme_quiesce");
	if (!d)
		return;
	long bus = domain_call(d, BlockDevice_stats_METHOD, 0, 0, 0, 0);
	if (bus <= 0 || bus % FRAME_SIZE) {
		ktest_fail(t, __FILE__, __LINE__, "nvme_quiesce flood: %ld", bus);
		ktest_destroy(d);
		return;
	}
	/* The crash, with the reads in flight; then its memory goes back. */
	domain_fail(d, "crashed with reads in flight to test quiescing");
	ktest_destroy(d);
	static bool claimed[PAGES];
	unsigned got = 0;
	for (unsigned i = 0; i < PAGES; i++) {
		uint64_t pa = (uint64_t)bus + i * FRAME_SIZE;
		claimed[i] = frame_claim(pa, 1) == 0;
		if (!claimed[i])
			continue;
		uint64_t *w = phys_to_virt(pa);
		for (uint64_t k = 0; k < FRAME_SIZE / 8; k++)
			w[k] = PATTERN ^ (pa + k * 8);
		got++;
	}
	thread_sleep_ns(SETTLE_NS);
	unsigned hit = 0, first = PAGES;
	for (unsigned i = 0; i < PAGES; i++) {
		uint64_t pa = (uint64_t)bus + i * FRAME_SIZE;
		if (claimed[i] && !page_whole(pa) && hit++ == 0)
			first = i;
		if (claimed[i])
			frame_free(pa, 1);
	}
	klog("ktest: nvme quiesce: %u of %u freed frames reused at once, %u overwritten", got,
	     (unsigned)PAGES, hit);
	if (got < PAGES / 2)
		ktest_fail(t, __FILE__, __LINE__,
			   "only %u of the %u frames were free to reuse: the test proves little",
			   got, (unsigned)PAGES);
	else if (hit)
		ktest_fail(t, __FILE__, __LINE__,
			   "DMA landed in %u reused frames (the first at %#lx): the controller was "
			   "not quiesced before the driver's memory was freed",
			   hit, (unsigned long)bus + first * FRAME_SIZE);
}

KTEST(nvme_quiesce_keeps_inflight_dma_out_of_reused_frames)
{
	ktest_run_counted(t, "kt-nvme-quiesce", flood_and_reuse, WAIT_NS);
}
