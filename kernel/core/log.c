/*
 * Kernel log. Lines go to COM1 with a "[seconds.micros]" prefix from the
 * monotonic clock (zero until the clock is calibrated). A spinlock keeps
 * lines from two CPUs from interleaving; panic breaks it so a CPU that dies
 * holding the lock cannot silence the report.
 */
#include <core/log.h>
#include <core/spinlock.h>
#include <core/time.h>
#include <lib/fmt.h>
#include <platform/pc/serial.h>
#include <stdbool.h>

static struct spinlock log_lock = SPINLOCK_INIT("log");
static volatile bool log_broken;
static uint64_t lines; /* written so far: tests bound what a domain can make us log */

void log_init(void)
{
	serial_init(COM1);
}

static void log_emit(const char *s, int n)
{
	uint64_t newlines = 0;
	for (int i = 0; i < n; i++)
		newlines += s[i] == '\n';
	__atomic_add_fetch(&lines, newlines, __ATOMIC_RELAXED);
	if (log_broken) {
		serial_write(COM1, s, (unsigned long)n);
		return;
	}
	spin_lock(&log_lock);
	serial_write(COM1, s, (unsigned long)n);
	spin_unlock(&log_lock);
}

static void kvlog(const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	uint64_t ns = time_ns();
	int n = fmt_snprintf(line, sizeof line, "[%5lu.%06lu] ", (unsigned long)(ns / 1000000000),
			     (unsigned long)(ns / 1000 % 1000000));
	n += fmt_vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2; /* truncated: still end the line */
	line[n++] = '\n';
	log_emit(line, n);
}

void klog(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvlog(fmt, ap);
	va_end(ap);
}

void kprintf(const char *fmt, ...)
{
	char buf[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 1)
		n = (int)sizeof buf - 1;
	log_emit(buf, n);
}

uint64_t log_lines(void)
{
	return __atomic_load_n(&lines, __ATOMIC_RELAXED);
}

void log_force_unlock(void)
{
	log_broken = true;
}
