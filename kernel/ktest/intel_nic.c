/*
 * The broken receive ring both Intel chips' ktests play (intel_nic.h): the
 * advanced receive write-back is the same on the 82576 (7.1.5.2) and the
 * 82599 (7.1.6.2), and so is the queue block's shape.
 */
#include <dev/pci.h>
#include <ktest/intel_nic.h>
#include <mm/vm.h>

/* Offsets in a queue's receive block (82576 8.10, 82599 8.2.3.8). */
#define RDBAL 0x00
#define RDBAH 0x04
#define RDH   0x10
#define RDT   0x18
#define RING  128 /* descriptors the driver lays out (INTEL_RING_SIZE) */
/* The write-back's status/error dword's bits. */
#define STAT_DD	 (1u << 0)
#define STAT_EOP (1u << 1)
#define ERR_RXE	 (1u << 29)

bool intel_fake_bad_completions(const char *pci, uint32_t rx_block)
{
	volatile uint32_t *regs = pci_find(pci)->intel_regs + rx_block / 4;
	uint64_t base = (uint64_t)regs[RDBAH / 4] << 32 | regs[RDBAL / 4];
	uint32_t head = regs[RDH / 4], tail = regs[RDT / 4];
	if ((tail - head) % RING < INTEL_FAKES)
		return false;
	volatile uint32_t *desc = phys_to_virt(base);
	static const uint32_t status[INTEL_FAKES] = {STAT_DD | STAT_EOP,
						     STAT_DD | STAT_EOP | ERR_RXE,
						     STAT_DD | STAT_EOP,
						     STAT_DD | STAT_EOP,
						     STAT_DD,
						     STAT_DD | STAT_EOP};
	static const uint32_t len[INTEL_FAKES] = {0, 100, 1515, 13, 100, 100};
	for (uint32_t i = 0; i < INTEL_FAKES; i++) {
		volatile uint32_t *d = desc + 4 * ((head + i) % RING);
		d[3] = len[i];
		__atomic_thread_fence(__ATOMIC_RELEASE);
		d[2] = status[i]; /* DD last: the driver reads it first */
	}
	return true;
}
