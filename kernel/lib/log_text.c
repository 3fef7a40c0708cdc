/* Cleaning a domain's log text before it is printed (log_text.h). */
#include <lib/log_text.h>

uint64_t log_text_clean(char *buf, uint64_t n)
{
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	for (uint64_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	return n;
}
