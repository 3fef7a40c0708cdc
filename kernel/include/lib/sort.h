/*
 * Sorting sample arrays in place: the in-kernel benchmarks
 * (kernel/bench/xcall.c) and the bench domain (domains/test/bench/bench.c)
 * take medians and 99th percentiles of cycle counts this way. Header-only
 * so that both the kernel and the domain SDK get it from one root.
 */
#ifndef LIB_SORT_H
#define LIB_SORT_H

#include <stdint.h>

/* Shell sort ascending: small, no recursion, no allocation (a domain's
 * stack is small and the kernel's bench thread must not allocate). */
static inline void sort_u64(uint64_t *a, long n)
{
	for (long gap = n / 2; gap > 0; gap /= 2)
		for (long i = gap; i < n; i++)
			for (long j = i; j >= gap && a[j - gap] > a[j]; j -= gap) {
				uint64_t t = a[j];
				a[j] = a[j - gap];
				a[j - gap] = t;
			}
}

#endif
