/*
 * 16550 UART, polled transmit. Register offsets and bits from the
 * PC16550D datasheet (National Semiconductor), section 8.
 */
#include <arch/x86/io.h>
#include <platform/pc/serial.h>

#define UART_DATA 0 /* RBR/THR; DLL when DLAB=1 */
#define UART_IER  1 /* DLM when DLAB=1 */
#define UART_FCR  2
#define UART_LCR  3
#define UART_MCR  4
#define UART_LSR  5

#define IER_RX_AVAILABLE 0x01
#define LCR_8N1		 0x03
#define LCR_DLAB	 0x80
#define FCR_ENABLE_CLEAR 0x07 /* FIFO on, clear RX and TX */
#define MCR_DTR_RTS_OUT2 0x0b /* OUT2 gates the IRQ line on PCs */
#define LSR_DATA_READY	 0x01
#define LSR_OVERRUN	 0x02 /* a received byte was lost (8.6.3); reading LSR clears it */
#define LSR_THR_EMPTY	 0x20

#define BAUD_DIVISOR_115200 1 /* 1.8432 MHz / (16 * 115200) */

void serial_init(uint16_t port)
{
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, LCR_DLAB);
	outb(port + UART_DATA, BAUD_DIVISOR_115200 & 0xff);
	outb(port + UART_IER, BAUD_DIVISOR_115200 >> 8);
	outb(port + UART_LCR, LCR_8N1);
	outb(port + UART_FCR, FCR_ENABLE_CLEAR);
	outb(port + UART_MCR, MCR_DTR_RTS_OUT2);
}

void serial_putc(uint16_t port, char c)
{
	while (!(inb(port + UART_LSR) & LSR_THR_EMPTY))
		;
	outb(port + UART_DATA, (uint8_t)c);
}

void serial_write(uint16_t port, const char *s, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc(port, '\r');
		serial_putc(port, s[i]);
	}
}

int serial_getc(uint16_t port, bool *overrun)
{
	uint8_t lsr = inb(port + UART_LSR);

	if (lsr & LSR_OVERRUN)
		*overrun = true;
	if (!(lsr & LSR_DATA_READY))
		return -1;
	return inb(port + UART_DATA);
}

void serial_rx_irq(uint16_t port, bool on)
{
	outb(port + UART_IER, on ? IER_RX_AVAILABLE : 0);
}
