/*
 * Control console transport: COM2's receive interrupt fills a ring buffer,
 * and the "console" thread feeds the bytes to the line protocol
 * (kernel/lib/ctl.c), which runs commands and writes replies back to COM2.
 * Commands run in a thread, not in the interrupt, so they may block.
 *
 * No received byte is lost silently (docs/console.md, "Flow control and
 * overrun"): when the ring is full the interrupt stops reading the UART and
 * masks its receive interrupt, so bytes wait in the UART and, under QEMU,
 * in the host's socket (QEMU reads the socket only while the UART has room);
 * the thread unmasks it once it has made room. Bytes that are lost anyway
 * (the UART's own overrun on real hardware, or the ring with flow control
 * turned off by the test image) are reported to the protocol, which answers
 * the damaged line `ERR overrun` and never runs it.
 */
#include <arch/x86/lapic.h>
#include <arch/x86/traps.h>
#include <console/console.h>
#include <core/log.h>
#include <core/sched.h>
#include <core/spinlock.h>
#include <platform/pc/ioapic.h>
#include <platform/pc/serial.h>

#define COM2_ISA_IRQ 3
#define RX_RING_SIZE 1024  /* a power of two */
#define RX_LOST	     0x100 /* ring entry flag: bytes were lost just before this one */

static uint16_t rx_ring[RX_RING_SIZE]; /* a byte, plus RX_LOST */
static uint32_t rx_head;	       /* written by the interrupt handler */
static uint32_t rx_tail;	       /* written by the console thread */
static struct waitq rx_wait;
static struct ctl_session session;

/* Taken by the interrupt handler and by the thread to decide together
 * whether the receive interrupt is masked (see rx_resume). */
static struct spinlock rx_lock = SPINLOCK_INIT("console-rx");
static bool rx_stalled;		    /* the ring was full: COM2's RX interrupt is masked */
static bool rx_loss_pending;	    /* bytes were lost since the last one stored */
static bool rx_flow_control = true; /* off only in tests (console_test.c) */

/* Every command table in the image (CONSOLE_COMMANDS in console/console.h). */
extern const struct ctl_cmd __console_cmds_start[], __console_cmds_end[];

static void com2_interrupt(struct trap_frame *frame, void *arg)
{
	(void)frame;
	(void)arg;
	/* Once the UART reports an overrun, the byte it lost came after those
	 * still in its FIFO (PC16550D 8.6.3), so everything drained in this
	 * interrupt is discarded with it and the loss is marked on the next
	 * byte stored: the mark then follows every lost byte, and the line it
	 * lands in is the one the protocol refuses. */
	bool discarding = false;

	spin_lock(&rx_lock);
	for (;;) {
		uint32_t head = rx_head;
		bool full = head - __atomic_load_n(&rx_tail, __ATOMIC_ACQUIRE) == RX_RING_SIZE;
		if (full && rx_flow_control) {
			rx_stalled = true;
			serial_rx_irq(COM2, false);
			break;
		}
		int c = serial_getc(COM2, &discarding);
		if (c < 0)
			break;
		if (full || discarding) {
			rx_loss_pending = true;
			continue;
		}
		rx_ring[head % RX_RING_SIZE] =
			(uint16_t)((uint8_t)c | (rx_loss_pending ? RX_LOST : 0));
		rx_loss_pending = false;
		__atomic_store_n(&rx_head, head + 1, __ATOMIC_RELEASE);
	}
	if (discarding)
		rx_loss_pending = true;
	spin_unlock(&rx_lock);
	waitq_wake_all(&rx_wait);
}

/*
 * Unmask the receive interrupt if the handler masked it. The handler decides
 * "full" and masks under rx_lock; this runs under it after advancing
 * rx_tail, so either the handler saw the room made, or this sees
 * rx_stalled: the interrupt is never left masked with an empty ring.
 */
static void rx_resume(void)
{
	spin_lock(&rx_lock);
	if (rx_stalled) {
		rx_stalled = false;
		serial_rx_irq(COM2, true);
	}
	spin_unlock(&rx_lock);
}

void console_rx_flow_control(bool on)
{
	spin_lock(&rx_lock);
	rx_flow_control = on;
	spin_unlock(&rx_lock);
	rx_resume();
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
			uint16_t entry = rx_ring[rx_tail % RX_RING_SIZE];
			__atomic_store_n(&rx_tail, rx_tail + 1, __ATOMIC_RELEASE);
			/* half the ring free again: let the UART deliver while we work */
			if (__atomic_load_n(&rx_stalled, __ATOMIC_RELAXED) &&
			    __atomic_load_n(&rx_head, __ATOMIC_ACQUIRE) - rx_tail <=
				    RX_RING_SIZE / 2)
				rx_resume();
			if (entry & RX_LOST)
				ctl_session_lost(&session);
			ctl_session_byte(&session, (uint8_t)entry);
		}
		rx_resume();
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
	serial_rx_irq(COM2, true);
	klog("console: control console on COM2 (IRQ %d, vector %#x)", COM2_ISA_IRQ, vector);
}
