/*
 * The kernel's log and panic (core/log.h, core/panic.h) in maple-hosted,
 * for the kernel code it runs (the exchange heap): a log line goes to
 * stderr (stdout carries the domains' own lines and the runtime's
 * answers); a panic stops the process with the message on stderr, as the
 * VM's stops every CPU.
 */
#include <core/log.h>
#include <core/panic.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void klog(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("maple-hosted: panic: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
