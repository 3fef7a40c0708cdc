/* The monotonic clock: nanoseconds since boot, from the calibrated TSC. */
#ifndef CORE_TIME_H
#define CORE_TIME_H

#include <stdint.h>

/* 0 until time_init() has calibrated the TSC. */
uint64_t time_ns(void);
/* Calibrate the TSC (pc: against the PIT); logs the frequency found. */
void time_init(void);
/* Busy-wait; usable before the scheduler and with interrupts off. */
void time_delay_us(uint64_t us);
/* TSC ticks per second, 0 before calibration. */
uint64_t time_tsc_hz(void);

#endif
