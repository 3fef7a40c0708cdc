/*
 * panic(): the kernel cannot go on. Report on COM1 (breaking the log lock,
 * which the dying CPU may hold), stop the other CPUs, and halt.
 */
#include <arch/x86/cpu.h>
#include <arch/x86/percpu.h>
#include <core/backtrace.h>
#include <core/log.h>
#include <core/panic.h>
#include <core/smp.h>
#include <lib/fmt.h>
#include <stdarg.h>

void panic(const char *fmt, ...)
{
	irq_disable();
	struct cpu *c = this_cpu();
	if (c->panicking++)
		cpu_stop(); /* panicked while reporting a panic */
	log_force_unlock();
	smp_stop_others();

	char msg[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	kprintf("\nkernel panic on cpu %u: %s\n", c->id, msg);
	/* Start at our caller: frame = (caller's rbp, return address into it). */
	const uint64_t *frame = __builtin_frame_address(0);
	backtrace_print(frame[1], frame[0]);
	kprintf("maple: halted\n");
	cpu_stop();
}
