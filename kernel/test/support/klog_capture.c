/* klog_capture.h: the kernel's klog for host tests, keeping the lines. */
#include "klog_capture.h"

#include <core/log.h>
#include <lib/fmt.h>
#include <stdarg.h>

static char lines[KLOG_CAPTURE_LINES][KLOG_CAPTURE_LEN];
static unsigned count;

void klog(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (count < KLOG_CAPTURE_LINES)
		fmt_vsnprintf(lines[count], KLOG_CAPTURE_LEN, fmt, ap);
	va_end(ap);
	count++;
}

void klog_capture_reset(void)
{
	count = 0;
}

unsigned klog_capture_count(void)
{
	return count;
}

const char *klog_capture_line(unsigned i)
{
	return i < count && i < KLOG_CAPTURE_LINES ? lines[i] : "";
}
