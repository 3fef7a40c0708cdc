/*
 * Symbol lookup for backtraces. tools/ksyms emits, in section .ksyms, the
 * kernel's text symbols sorted by address: a count, the addresses, offsets
 * of the names, and the NUL-terminated names.
 */
#include <core/ksyms.h>
#include <stddef.h>

extern const uint64_t ksyms_count;
extern const uint64_t ksyms_addrs[];
extern const uint32_t ksyms_name_offsets[];
extern const char ksyms_names[];
extern const char __kernel_start[], __text_end[];

const char *ksyms_lookup(uint64_t addr, uint64_t *offset)
{
	if (addr < (uint64_t)__kernel_start || addr >= (uint64_t)__text_end || ksyms_count == 0 ||
	    addr < ksyms_addrs[0])
		return NULL;
	/* Largest i with ksyms_addrs[i] <= addr. */
	uint64_t lo = 0, hi = ksyms_count;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (ksyms_addrs[mid] <= addr)
			lo = mid;
		else
			hi = mid;
	}
	*offset = addr - ksyms_addrs[lo];
	return ksyms_names + ksyms_name_offsets[lo];
}
