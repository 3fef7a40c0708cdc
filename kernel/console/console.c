/*
 * Control console transport: COM2's receive interrupt fills a ring buffer,
 * and the "console" thread feeds the bytes to the line protocol
 * (kernel/lib/ctl.c), which runs commands and writes replies back to COM2.
 * Commands run in a thread, not in the interrupt, so they may block.
 */
#include <arch/x86/lapic.h>
#include <arch/x86/traps.h>
#include <console/console.h>
#include <core/log.h>
#include <core/sched.h>
#include <platform/pc/ioapic.h>
#include <platform/pc/serial.h>

#define COM2_ISA_IRQ 3
#define RX_RING_SIZE 1024 /* a power of two */

static uint8_t rx_ring[RX_RING_SIZE];
static uint32_t rx_head; /* written by the interrupt handler */
static uint32_t rx_tail; /* written by the console thread */
static struct waitq rx_wait;
static struct ctl_session session;

/* Every command table in the image (CONSOLE_COMMANDS in console/console.h). */
extern const struct ctl_cmd __console_cmds_start[], __console_cmds_end[];

static void com2_interrupt(struct trap_frame *frame, void *arg)
{
	(void)frame;
	(void)arg;
	int c;
	while ((c = serial_getc(COM2)) >= 0) {
		uint32_t head = rx_head;
		if (head - __atomic_load_n(&rx_tail, __ATOMIC_ACQUIRE) == RX_RING_SIZE) {
			continue; /* ring full: the byte is lost */
		}
		rx_ring[head % RX_RING_SIZE] = (uint8_t)c;
		__atomic_store_n(&rx_head, head + 1, __ATOMIC_RELEASE);
	}
	waitq_wake_all(&rx_wait);
}

static bool rx_pending(void *unused)
{
	(void)unused;
	return __atomic_load_n(&rx_head, __ATOMIC_ACQUIRE) != rx_tail;
}

static void com2_write(void *ctx, const char *s, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < len; i++)
		serial_putc(COM2, s[i]);
}

static void console_thread(void *unused)
{
	(void)unused;
	for (;;) {
		waitq_wait(&rx_wait, rx_pending, NULL);
		uint32_t head = __atomic_load_n(&rx_head, __ATOMIC_ACQUIRE);
		while (rx_tail != head) {
			uint8_t byte = rx_ring[rx_tail % RX_RING_SIZE];
			__atomic_store_n(&rx_tail, rx_tail + 1, __ATOMIC_RELEASE);
			ctl_session_byte(&session, byte);
		}
	}
}

void console_init(void)
{
	serial_init(COM2);
	ctl_session_init(&session, __console_cmds_start,
			 (size_t)(__console_cmds_end - __console_cmds_start), com2_write, NULL);
	int vector = irq_alloc_vector();
	if (vector < 0 || ioapic_route_isa_irq(COM2_ISA_IRQ, (uint8_t)vector, lapic_id()) < 0) {
		klog("console: cannot route COM2 (IRQ %d): control console disabled", COM2_ISA_IRQ);
		return;
	}
	irq_set_handler((uint8_t)vector, com2_interrupt, NULL);
	if (!thread_create("console", console_thread, NULL)) {
		klog("console: cannot create the console thread: control console disabled");
		return;
	}
	serial_enable_rx_irq(COM2);
	klog("console: control console on COM2 (IRQ %d, vector %#x)", COM2_ISA_IRQ, vector);
}
