/*
 * What every libFuzzer target here checks of a message or name a parser
 * hands back: the kernel and the loader print it as it is, so it must be
 * one NUL-terminated line of printable ASCII within its buffer.
 */
#ifndef KERNEL_TEST_FUZZ_CHECK_LINE_H
#define KERNEL_TEST_FUZZ_CHECK_LINE_H

#include <stddef.h>

/* abort() (a libFuzzer crash) unless s, in a buffer of n bytes, is a
 * NUL-terminated line of bytes 0x20-0x7e. */
void fuzz_check_line(const char *s, size_t n);

#endif
