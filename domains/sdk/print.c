/*
 * dom_printf and maple_panic: format with kernel/lib/fmt.c (compiled into
 * the SDK) into a stack buffer, then hand the text to the kernel.
 */
#include "syscall.h"

#include <lib/fmt.h>
#include <lib/string.h>
#include <sdk/dom.h>

#include <stdarg.h>

int dom_printf(const char *fmt, ...)
{
	char buf[DOM_PRINTF_MAX];
	va_list ap;
	va_start(ap, fmt);
	int len = fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	/* SYS_LOG takes one line: split at each newline; a final one ends the
	 * last line rather than starting an empty one. */
	size_t have = strnlen(buf, sizeof(buf));
	for (size_t start = 0, end = 0; start < have; start = ++end) {
		while (end < have && buf[end] != '\n')
			end++;
		long rc = maple_log(buf + start, end - start);
		if (rc < 0)
			return (int)rc;
	}
	return len;
}

void maple_panic(const char *fmt, ...)
{
	char buf[DOM_PRINTF_MAX];
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	syscall2(SYS_PANIC, (long)buf, (long)strnlen(buf, sizeof(buf)));
	__builtin_trap(); /* SYS_PANIC does not return; fault if it ever did */
}
