/* 16550 UART driver for COM1 (log) and COM2 (control console), polled output. */
#ifndef ARCH_PC_SERIAL_H
#define ARCH_PC_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

#define COM1 0x3f8
#define COM2 0x2f8

void serial_init(uint16_t port);
void serial_putc(uint16_t port, char c);
void serial_write(uint16_t port, const char *s, unsigned long n);
/* Returns the next received byte, or -1 if none is waiting. Sets *overrun
 * (never clears it) when the UART reports that it lost a received byte. */
int serial_getc(uint16_t port, bool *overrun);
/* Raise an interrupt when a byte arrives, or stop (the IRQ is routed
 * elsewhere). Unreceived bytes wait in the UART meanwhile. */
void serial_rx_irq(uint16_t port, bool on);

#endif
