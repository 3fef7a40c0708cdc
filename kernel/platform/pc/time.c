/*
 * Monotonic clock from the TSC, calibrated once against PIT channel 2
 * (8254 datasheet; the channel-2 gate and output live in port 0x61 on PCs).
 * Conversion is ns = ticks * mult >> 32, a multiply with no division, since
 * the kernel has no 128-bit division helper.
 */
#include <arch/x86/cpu.h>
#include <arch/x86/io.h>
#include <core/log.h>
#include <core/time.h>

#define PIT_HZ		       1193182
#define PIT_CH2_DATA	       0x42
#define PIT_COMMAND	       0x43
#define PIT_CH2_GATE	       0x61
#define GATE_ENABLE	       0x01
#define SPEAKER_ENABLE	       0x02
#define CH2_OUTPUT	       0x20
#define PIT_CMD_CH2_MODE0_LOHI 0xb0 /* channel 2, lobyte/hibyte, mode 0, binary */
#define CALIBRATE_MS	       10

static uint64_t tsc_hz;
static uint64_t tsc_start;
static uint64_t ns_mult; /* ns per tick, 32.32 fixed point */

static uint64_t calibrate_against_pit(void)
{
	uint16_t count = PIT_HZ * CALIBRATE_MS / 1000;
	uint8_t gate = inb(PIT_CH2_GATE);
	outb(PIT_CH2_GATE, (gate & ~SPEAKER_ENABLE) & ~GATE_ENABLE);
	outb(PIT_COMMAND, PIT_CMD_CH2_MODE0_LOHI);
	outb(PIT_CH2_DATA, count & 0xff);
	outb(PIT_CH2_DATA, count >> 8);
	/* Mode 0 counts down once the gate rises; OUT2 goes high at zero. */
	outb(PIT_CH2_GATE, (gate & ~SPEAKER_ENABLE) | GATE_ENABLE);
	uint64_t t0 = rdtsc();
	while (!(inb(PIT_CH2_GATE) & CH2_OUTPUT))
		;
	uint64_t t1 = rdtsc();
	outb(PIT_CH2_GATE, gate);
	return (t1 - t0) * 1000 / CALIBRATE_MS;
}

void time_init(void)
{
	uint64_t hz = calibrate_against_pit();
	ns_mult = (1000000000ULL << 32) / hz;
	tsc_start = rdtsc();
	__atomic_store_n(&tsc_hz, hz, __ATOMIC_RELEASE);
	klog("time: TSC %lu.%03lu MHz (calibrated against the PIT)", hz / 1000000,
	     hz / 1000 % 1000);
}

uint64_t time_tsc_hz(void)
{
	return __atomic_load_n(&tsc_hz, __ATOMIC_ACQUIRE);
}

uint64_t time_ns(void)
{
	if (!time_tsc_hz())
		return 0;
	uint64_t ticks = rdtsc() - tsc_start;
	return (uint64_t)(((unsigned __int128)ticks * ns_mult) >> 32);
}

void time_delay_us(uint64_t us)
{
	uint64_t hz = time_tsc_hz();
	uint64_t end = rdtsc() + (hz ? hz / 1000000 * us : us * 4000);
	while (rdtsc() < end)
		cpu_relax();
}
