/*
 * The domain ABI: what a domain image (built against domains/sdk) and the
 * kernel agree on. Syscall numbers and error codes, the fixed addresses of
 * the kernel-provided gate, and the protection-key plan. Included by the
 * kernel, the domain SDK and host tests; no pc internals.
 *
 * Syscalls: SYSCALL with the number in %rax and arguments in %rdi, %rsi,
 * %rdx, %r10, %r8, %r9 (System V order, %r10 for %rcx which SYSCALL
 * clobbers). The result comes back in %rax: >= 0 on success, a negative
 * MAPLE_E* code on failure. %rcx and %r11 are clobbered.
 */
#ifndef MAPLE_ABI_H
#define MAPLE_ABI_H

#define SYS_NULL 0 /* () -> 0; the baseline for benchmarks */
#define SYS_LOG                                                                                    \
	1		     /* (const char *text, uint64_t len) -> len; one log line, or          \
			      * -MAPLE_EQUOTA past the domain's share of the log */
#define SYS_THREAD_EXIT	  2  /* () -> does not return */
#define SYS_YIELD	  3  /* () -> 0 */
#define SYS_SLEEP_NS	  4  /* (uint64_t ns) -> 0 */
#define SYS_CLOCK_NS	  5  /* () -> nanoseconds since boot */
#define SYS_HEAP_GROW	  6  /* (uint64_t bytes) -> address of a fresh private region */
#define SYS_THREAD_CREATE 7  /* (void (*fn)(void *), void *arg) -> thread id */
#define SYS_PANIC	  8  /* (const char *msg, uint64_t len) -> the domain fails */
#define SYS_EXPORT	  9  /* (const uint64_t *entries, uint64_t n) -> 0; the domain's methods */
#define SYS_LOOKUP	  10 /* (const char *name, uint64_t len) -> domain id */
#define SYS_DOMAIN_ID	  11 /* () -> the calling domain's handle (id in bits 15:0) */
#define SYS_RETURN	  12 /* (long value): the gate's end of a thread or kernel call */
#define SYS_GATE_STACK	  13 /* (uint64_t domain): the gate asks for this thread's stack there */
/* 14-19: the shared heap, see maple/rref_abi.h */
#define SYS_DOMAIN_CREATE  20 /* (const char *image, uint64_t len) -> handle of a new domain */
#define SYS_DOMAIN_DESTROY 21 /* (uint64_t handle) -> 0; fails it first if it runs */
#define SYS_DEVICE_MAP	   22 /* (const char *name, uint64_t len) -> address of the device's memory */
#define SYS_DEVICE_SIZE	   23 /* (const char *name, uint64_t len) -> its size in bytes */
/*
 * 24-29: PCI functions and DMA (docs/drivers.md). `name` is a granted
 * function's name (e.g. "nvme0"); every one of them answers -MAPLE_ESRCH for
 * no such function, and those that act on it -MAPLE_EPERM (logged, naming
 * both) unless the caller runs and holds its grant.
 */
/* (name, len, bar) -> address of memory BAR `bar` mapped uncached into the
 * caller only, under its key (the same address again on a second call);
 * -MAPLE_EINVAL if bar is not a whole-page memory BAR that sized (an I/O
 * BAR, bar >= 6, the upper half of a 64-bit BAR) */
#define SYS_DEVICE_BAR 24
/* (name, len, bar) -> its size in bytes, memory or I/O; -MAPLE_EINVAL if not
 * implemented or unusable; no grant needed */
#define SYS_DEVICE_BAR_SIZE 25
/* (bytes) -> address of physically contiguous, zeroed, page-aligned memory
 * in the caller's heap window, charged to its memory limit (-MAPLE_EQUOTA)
 * and freed with it, after its devices stopped; -MAPLE_EINVAL for 0 or more
 * than 4 MiB, -MAPLE_ENOMEM if no contiguous run is free */
#define SYS_DMA_ALLOC 26
/* (addr) -> the bus address of that byte of the caller's DMA memory;
 * -MAPLE_EFAULT for any other address. RRef payloads: SYS_RREF_BUS. */
#define SYS_DMA_BUS 27
/* (name, len, on) -> 0: Bus Master Enable set (1) or cleared (0);
 * -MAPLE_EINVAL for other values */
#define SYS_DEVICE_BUSMASTER 28
/* (name, len, struct maple_pci_info *out) -> 0 (maple/pci_abi.h); no grant
 * needed; -MAPLE_EFAULT if out is not the caller's */
#define SYS_DEVICE_INFO 29
/* 32-34 (issue 11, network drivers). (name, len, off) -> the 32-bit word at
 * byte offset off of the function's configuration space, read-only, for its
 * holder (virtio finds its register blocks through vendor capabilities
 * there); -MAPLE_EINVAL unless off is 4-byte aligned and below 4096 */
#define SYS_DEVICE_CONFIG 32
/* 33-34: SYS_RREF_SIZE, SYS_RREF_RECALL, in maple/rref_abi.h */
#define SYS_COUNT 35

/* Error codes, returned negated. */
#define MAPLE_EFAULT	14  /* a pointer argument is not the caller's own memory */
#define MAPLE_EINVAL	22  /* a bad argument */
#define MAPLE_ENOMEM	12  /* the machine is out of memory (a domain's own limit: EQUOTA) */
#define MAPLE_ENOSYS	38  /* no such syscall */
#define MAPLE_ESRCH	3   /* no such domain, or no such method */
#define MAPLE_ECALLEE	200 /* the callee domain failed during the call */
#define MAPLE_EDEAD	201 /* the callee domain is not running (failed or destroyed) */
#define MAPLE_ETIMEDOUT 110 /* the call exceeded the watchdog deadline */
#define MAPLE_EPERM	1   /* the caller lacks the authority (or RRef ownership) for this */
#define MAPLE_EAGAIN	11  /* a thread limit (the domain's, or the gate's slots); retry later */
#define MAPLE_EBUSY	16  /* the domain is already being destroyed by someone else */
#define MAPLE_EQUOTA	122 /* the domain is at one of its limits (memory, RRefs, log lines) */
#define MAPLE_EIO	5   /* the device reported an error for this request */
#define MAPLE_EDEPTH	202 /* call chain or RRef nesting at its depth limit */
#define MAPLE_ENOTUNIQ	76  /* a name that several domains share: address one by its id */

/*
 * Cross-domain calls go through the gate, kernel-provided code mapped
 * user-executable at MAPLE_GATE_VA in the one address space. Its entry is
 *
 *     long maple_xcall(uint64_t domain, uint64_t method,
 *                      long a0, long a1, long a2, long a3);
 *
 * at MAPLE_GATE_XCALL_VA: an ordinary System V call. The callee's method
 * `method` (index into the table it gave SYS_EXPORT) runs on the calling
 * thread, in the callee domain, as `long fn(long a0, long a1, long a2,
 * long a3)`. The result is the method's return value, or -MAPLE_ECALLEE /
 * -MAPLE_EDEAD / -MAPLE_ETIMEDOUT / -MAPLE_ESRCH. Methods should return
 * values >= 0 or small negative codes of their own.
 */
#define MAPLE_GATE_VA	    0x0000008000000000UL
#define MAPLE_GATE_XCALL_VA MAPLE_GATE_VA

/* Where a domain thread's first function returns to; it ends the thread
 * (or the kernel's call into the domain) with the function's result. */
#define MAPLE_GATE_RETURN_VA (MAPLE_GATE_VA + 0x800)

/* TRUSTED data (continuation stacks, per-thread domain state, the domain
 * table): user pages with PKEY_TRUSTED, reachable only by the gate. */
#define MAPLE_TRUSTED_VA 0x0000008000200000UL

/* Domain images: ELF ET_DYN (PIE), entry `_domain_start`, placed by the
 * kernel in its own slot of this many bytes starting at MAPLE_DOMAIN_BASE. */
#define MAPLE_DOMAIN_BASE     0x0000010000000000UL
#define MAPLE_DOMAIN_SLOT     0x0000000040000000UL /* 1 GiB */
#define MAPLE_DOMAIN_NAME_MAX 32

/*
 * Protection keys (x86 PKU, 16 keys; DESIGN.md §3). Key 0 is the default
 * key of supervisor pages and no user page uses it; TRUSTED holds the
 * gate's data (continuation stacks, the domain table); SHARED holds the
 * shared heap; GATE_RO holds what every domain may read but only the gate
 * may write (the gate's code and each thread's expected-PKRU word, which
 * the gate compares after every WRPKRU); the rest belong to domains.
 */
#define PKEY_KERNEL	  0
#define PKEY_TRUSTED	  1
#define PKEY_SHARED	  2
#define PKEY_GATE_RO	  3
#define PKEY_FIRST_DOMAIN 4
#define PKEY_COUNT	  16

/* PKRU: two bits per key, AD (access disable) at 2k and WD (write disable)
 * at 2k+1 (Intel SDM Vol. 3A 4.6.2). */
#define PKRU_AD(key)	(1u << (2 * (key)))
#define PKRU_WD(key)	(1u << (2 * (key) + 1))
#define PKRU_ALLOW(key) (PKRU_AD(key) | PKRU_WD(key))
#define PKRU_DENY_ALL	0xffffffffu
/* A running domain: its own key and SHARED; GATE_RO read-only. */
#define PKRU_DOMAIN(key)                                                                           \
	(PKRU_DENY_ALL & ~PKRU_ALLOW(key) & ~PKRU_ALLOW(PKEY_SHARED) & ~PKRU_AD(PKEY_GATE_RO))
/* The gate while it switches: the current rights plus TRUSTED and GATE_RO. */
#define PKRU_GATE_RAISE (PKRU_DENY_ALL & ~PKRU_ALLOW(PKEY_TRUSTED) & ~PKRU_WD(PKEY_GATE_RO))

#endif
