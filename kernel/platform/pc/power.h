/* Turning the machine off and restarting it (pc: ACPI, platform/pc/power.c). */
#ifndef CORE_POWER_H
#define CORE_POWER_H

/* Stop every CPU and power off; logs why and halts if the firmware refuses. */
__attribute__((noreturn)) void power_off(void);
/* Stop every CPU and reset the machine. */
__attribute__((noreturn)) void power_reboot(void);

#endif
