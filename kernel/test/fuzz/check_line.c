/*
 * The printable-line check every fuzz target applies (check_line.h).
 */
#include <stdlib.h>
#include <string.h>
#include <test/fuzz/check_line.h>

void fuzz_check_line(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	if (len == n)
		abort();
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			abort();
}
