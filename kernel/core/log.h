/* The kernel log on COM1: timestamped lines, whole lines even with several CPUs. */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stdarg.h>
#include <stdint.h>

#define LOG_LINE_MAX 256

void log_init(void);
/* One line, prefixed with the monotonic time; a trailing newline is added. */
void klog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Raw text, no prefix: for multi-line reports that klog would split up. */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Lines written so far (klog lines and kprintf newlines). */
uint64_t log_lines(void);
/* Take the console for good (panic): later output bypasses the lock. */
void log_force_unlock(void);

#endif
