/*
 * The domain SDK (domains/sdk): everything a domain links against instead of
 * a libc. A domain defines `long domain_main(long arg)`; the SDK's
 * `_domain_start` (crt.S) is the image's entry and calls it. Syscalls follow
 * kernel/include/maple/abi.h, which this header includes; the memory and
 * string functions of kernel/include/lib/string.h (memcpy, strlen, ...) and
 * fmt_snprintf of lib/fmt.h are part of the SDK as well.
 *
 * All functions are safe to call from several threads of one domain.
 */
#ifndef MAPLE_DOM_H
#define MAPLE_DOM_H

#include <maple/abi.h>
#include <maple/pci_abi.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The domain's own code: runs once, on the domain's first thread, when the
 * kernel has placed the image. Its result ends that thread (and the load). */
long domain_main(long arg);

/* ---- syscalls (sys.c); negative results are -MAPLE_E* codes ---- */

long maple_null(void);			      /* SYS_NULL: 0, for benchmarks */
long maple_log(const char *text, size_t len); /* SYS_LOG: one log line; len or -error */
long maple_yield(void);			      /* SYS_YIELD */
long maple_sleep_ns(uint64_t ns);	      /* SYS_SLEEP_NS */
uint64_t maple_clock_ns(void);		      /* SYS_CLOCK_NS: since boot */
long maple_heap_grow(uint64_t bytes);	      /* SYS_HEAP_GROW: region address or -error */
long maple_thread_create(void (*fn)(void *), void *arg); /* SYS_THREAD_CREATE: thread id */
__attribute__((noreturn)) void maple_thread_exit(void);	 /* SYS_THREAD_EXIT */
long maple_export(const uint64_t *entries, size_t n);	 /* SYS_EXPORT: method i = entries[i] */
/* Create a domain from a boot image, if the kernel's manifest lets this
 * domain's image create it; destroy one this domain created (shadows restart
 * drivers). -MAPLE_EPERM otherwise; destroy also -MAPLE_EBUSY (another
 * destroyer has it), -MAPLE_ESRCH (gone), -MAPLE_ETIMEDOUT (calls did not
 * leave in time: it stays failed, try again). docs/isolation.md, "Authority". */
long maple_domain_create(const char *image);
long maple_domain_destroy(uint64_t handle);
/* Map a software device (e.g. "ramdisk0") for this driver: its address, and
 * its size in *size; NULL if it does not exist or the kernel did not grant
 * it to this domain (the manifest names which image gets which device). */
void *maple_device_map(const char *name, uint64_t *size);
/*
 * PCI functions granted to this driver (maple/abi.h 24-29, docs/drivers.md):
 * the address of memory BAR `bar` mapped uncached, its size, Bus Master
 * Enable on or off, the function's ids and BARs; each -MAPLE_ESRCH (no such
 * function), -MAPLE_EPERM (not granted to this domain) or -MAPLE_EINVAL.
 * DMA memory: physically contiguous, zeroed, page aligned, charged to this
 * domain; maple_dma_bus gives a byte's bus address for the device
 * (-MAPLE_EFAULT outside DMA memory; for RRef payloads use rref_bus, <sdk/rref.h>).
 */
long maple_device_bar(const char *name, uint64_t bar);
long maple_device_bar_size(const char *name, uint64_t bar);
long maple_device_busmaster(const char *name, uint64_t on);
long maple_device_info(const char *name, struct maple_pci_info *out);
/* The 32-bit configuration-space word at off (aligned, < 4096), for the
 * function's holder: a non-negative value, or -error (maple/abi.h). */
long maple_device_config(const char *name, uint64_t off);
long maple_dma_alloc(uint64_t bytes);
long maple_dma_bus(const void *addr);
long maple_lookup(const char *name); /* SYS_LOOKUP: a domain's id by name */
long maple_domain_id(void);	     /* SYS_DOMAIN_ID: the caller's handle (id in bits 15:0) */

/*
 * A thread created by maple_thread_create starts in `fn(arg)` on a fresh
 * stack in this domain; returning from fn ends it, as maple_thread_exit does.
 */

/* ---- logging and failure (print.c) ---- */

/* printf-style (lib/fmt.h conversions) to the kernel log: one SYS_LOG per
 * line, at most DOM_PRINTF_MAX bytes in all (the rest is cut). Returns the
 * formatted length, or the first failing SYS_LOG's -error. */
#define DOM_PRINTF_MAX 256
int dom_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fails the whole domain with the formatted message (SYS_PANIC). */
__attribute__((noreturn, format(printf, 1, 2))) void maple_panic(const char *fmt, ...);

#define DOM_ASSERT(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			maple_panic("%s:%d: assertion failed: %s", __FILE__, __LINE__, #cond);     \
	} while (0)

/* ---- methods and cross-domain calls ---- */

/* A method as maple_export wants it: its run-time address. The gate calls
 * it as long fn(long, long, long, long); fewer parameters are fine. */
#define MAPLE_METHOD(fn) ((uint64_t)(uintptr_t)(fn))
#define DOM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef long (*maple_gate_fn)(uint64_t domain, uint64_t method, long a0, long a1, long a2, long a3);

/*
 * Calls method `method` of domain `domain` through the gate (abi.h). The
 * gate sits at a fixed absolute address, so the call is `movabs; call *`
 * and needs no relocation. Returns the method's result or -MAPLE_ECALLEE,
 * -MAPLE_EDEAD, -MAPLE_ETIMEDOUT, -MAPLE_ESRCH.
 */
static inline long maple_xcall(uint64_t domain, uint64_t method, long a0, long a1, long a2, long a3)
{
	maple_gate_fn gate = (maple_gate_fn)(uintptr_t)MAPLE_GATE_XCALL_VA;
	return gate(domain, method, a0, a1, a2, a3);
}

/*
 * Another domain by name, looked up on first use and then remembered, so
 * domains may be loaded in any order: a peer missing at domain_main time is
 * found at its first call. Define one per peer as
 * `static struct maple_peer xb = MAPLE_PEER("xb");`.
 */
struct maple_peer {
	const char *name;
	long id; /* -1 until a lookup succeeded */
};
#define MAPLE_PEER(n)                                                                              \
	{                                                                                          \
		.name = (n), .id = -1                                                              \
	}

/* The peer's id, or the failed lookup's -error (tried again next time). */
long maple_peer_id(struct maple_peer *p);

/* ---- the private heap (malloc.c): 16-byte aligned, thread-safe ---- */

void *malloc(size_t size);
void free(void *p); /* panics the domain on a double or foreign free */
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);

/* ---- locks (lock.c) ---- */

/* A test-and-set lock for the domain's threads. A waiter that spins too
 * long yields its CPU, since the holder may have been preempted. */
struct dom_lock {
	volatile uint32_t locked;
};
#define DOM_LOCK_INIT                                                                              \
	{                                                                                          \
		0                                                                                  \
	}

void dom_lock(struct dom_lock *l);
void dom_unlock(struct dom_lock *l);

#endif
