/*
 * printf-style formatting into a buffer (kernel/lib/fmt.c). Supports the
 * conversions d i u x X o p s c %, the length modifiers hh h l ll z t j,
 * the flags - 0 + space #, a width and a precision (both may be `*`).
 * Widths and precisions are clamped at 4096. Returns the length the full
 * output would have had, like C99 snprintf.
 */
#ifndef MAPLE_FMT_H
#define MAPLE_FMT_H

#include <stdarg.h>
#include <stddef.h>

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
