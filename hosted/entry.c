/*
 * entry: how a domain reaches the hosted runtime, and how it fails.
 *
 * THE INVARIANT: no system call made from a domain's slot or from the gate
 * page reaches Linux. A seccomp filter (installed for the whole process,
 * inherited by every thread) sends each such call to SIGSYS by its
 * instruction pointer (seccomp_data.instruction_pointer), and the SIGSYS
 * handler, the runtime's trusted entry, serves it as the Maple syscall of
 * that number, exactly as the VM's SYSCALL entry would: a "raw Linux
 * syscall" from a domain is simply a Maple syscall number, and an unknown
 * one gets -MAPLE_ENOSYS. A domain's `int 0x80` (a 32-bit system call) is
 * sent to SIGSYS the same way and fails the domain. Faults of domain code
 * (SIGSEGV, including SEGV_PKUERR; SIGILL, SIGFPE, SIGBUS) fail the
 * domain, and the runtime resumes where it entered the domain.
 *
 * What the filter cannot see (docs/platform.md): protection keys do not
 * govern instruction fetch, so a domain can jump to a `syscall` instruction
 * in the runtime's own code, whose address the filter allows. Closing that
 * needs a per-process secret in an argument register that the filter
 * compares; not built yet.
 *
 * Handlers run on an alternate stack in runtime memory (a domain's stack
 * is its own memory, and on a PKU machine Linux writes the signal frame
 * with its default PKRU). They are entered synchronously from domain code,
 * never from runtime code, so the runtime holds no lock when they run.
 */
#define _GNU_SOURCE
#include "entry.h"

#include "jump.h"
#include "pkeys.h"

#include <lib/log_text.h>
#include <maple/abi.h>

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

void hosted_enter(long a0, long a1, long a2, long a3, const struct hosted_jump *j)
	__attribute__((noreturn));

_Static_assert(offsetof(struct hosted_jump, fn) == JUMP_FN &&
		       offsetof(struct hosted_jump, rsp) == JUMP_RSP &&
		       offsetof(struct hosted_jump, pkru) == JUMP_PKRU &&
		       offsetof(struct hosted_jump, keys) == JUMP_KEYS,
	       "jump.h's offsets are struct hosted_jump's");

#define STACK_SIZE   (64u << 10)
#define STACK_OFFSET (MAPLE_DOMAIN_SLOT / 2) /* a domain's stack in its slot */
#define GATE_SPAN    (1u << 20)		     /* gatepage.c's limit on the gate's size */
#define ALTSTACK     (64u << 10)
#define LOG_MAX	     256

/* The thread's current upcall; NULL while it runs runtime code. */
struct upcall {
	struct hosted_domain *d;
	uint32_t runtime_pkru; /* the rights the runtime entered d with, restored after */
	uint64_t stack_lo, stack_hi;
	sigjmp_buf back;
	long result;
	char *why;
	size_t whylen;
};
static __thread struct upcall *current;

/* Whether domains run under their keys (entry_init); set once, before any
 * handler can run, and read by the handlers under Linux's PKRU, which
 * allows key 0 (this variable's). */
static int keys;

/* The high 32 bits of the addresses whose system calls are trapped:
 * MAPLE_GATE_VA's 4 GiB, and every domain slot (one per key). */
#define GATE_HI	   ((uint32_t)(MAPLE_GATE_VA >> 32))
#define DOMAIN_LO  ((uint32_t)(MAPLE_DOMAIN_BASE >> 32))
#define DOMAIN_END ((uint32_t)((MAPLE_DOMAIN_BASE + PKEY_COUNT * MAPLE_DOMAIN_SLOT) >> 32))
_Static_assert(MAPLE_DOMAIN_BASE % (1ull << 32) == 0 &&
		       (PKEY_COUNT * MAPLE_DOMAIN_SLOT) % (1ull << 32) == 0,
	       "the filter compares only the high half of the instruction pointer");
_Static_assert(MAPLE_GATE_VA % (1ull << 32) == 0 &&
		       MAPLE_GATE_VA + GATE_SPAN <= MAPLE_GATE_VA + (1ull << 32),
	       "the gate lies in one 4 GiB block");

#define IP_HI (offsetof(struct seccomp_data, instruction_pointer) + 4)

static int install_filter(char *err, size_t errlen)
{
	struct sock_filter prog[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, IP_HI),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, GATE_HI, 4, 0),    /* -> trap */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, DOMAIN_LO, 0, 1),  /* below: -> arch */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, DOMAIN_END, 0, 2), /* inside: -> trap */
		/* arch: the runtime's own calls must be x86-64 ones. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 2),
		/* trap */
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog fprog = {.len = sizeof prog / sizeof prog[0], .filter = prog};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog) != 0) {
		snprintf(err, errlen, "cannot install the seccomp filter: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int fail_now(struct upcall *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record why u's domain failed; the caller then leaves with siglongjmp. */
static int fail_now(struct upcall *u, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(u->why, u->whylen, fmt, ap);
	va_end(ap);
	return 1;
}

/* Whether [p, p + n) is u's domain's own memory (its image or this stack),
 * as the VM's dmem_owns decides before a syscall reads a domain pointer. */
static int owns(const struct upcall *u, uint64_t p, uint64_t n)
{
	const struct hosted_domain *d = u->d;
	/* Each length is compared before it is subtracted, so nothing wraps. */
	return (n <= d->span && p >= d->base && p - d->base <= d->span - n) ||
	       (n <= STACK_SIZE && p >= u->stack_lo && p - u->stack_lo <= STACK_SIZE - n);
}

static long sys_log(struct upcall *u, uint64_t text, uint64_t len)
{
	char buf[LOG_MAX];
	uint64_t n = len < sizeof buf ? len : sizeof buf;
	if (!owns(u, text, n))
		return -MAPLE_EFAULT;
	memcpy(buf, (const void *)text, n);
	n = log_text_clean(buf, n);
	char line[LOG_MAX + 64];
	int k = snprintf(line, sizeof line, "[%s] %.*s\n", u->d->name, (int)n, buf);
	if (write(STDOUT_FILENO, line, k) < 0)
		return -MAPLE_EIO;
	return (long)len;
}

static long sys_export(struct upcall *u, uint64_t entries, uint64_t n)
{
	struct hosted_domain *d = u->d;
	uint64_t table[sizeof d->methods / sizeof d->methods[0]];
	if (n > sizeof table / sizeof table[0])
		return -MAPLE_EINVAL;
	if (!owns(u, entries, n * 8))
		return -MAPLE_EFAULT;
	memcpy(table, (const void *)entries, n * 8);
	for (uint64_t i = 0; i < n; i++)
		if (table[i] < d->base || table[i] >= d->base + d->span)
			return -MAPLE_EINVAL; /* a method must be the domain's own code */
	memcpy(d->methods, table, n * 8);
	d->nmethods = n;
	return 0;
}

/* The Maple syscalls the hosted runtime serves so far; the rest are the
 * VM's alone for now (docs/platform.md) and get -MAPLE_ENOSYS. */
static long maple_syscall(struct upcall *u, long nr, const greg_t *g)
{
	switch (nr) {
	case SYS_NULL:
		return 0;
	case SYS_LOG:
		return sys_log(u, g[REG_RDI], g[REG_RSI]);
	case SYS_EXPORT:
		return sys_export(u, g[REG_RDI], g[REG_RSI]);
	case SYS_DOMAIN_ID:
		return (long)u->d->id;
	default:
		return -MAPLE_ENOSYS;
	}
}

/* Where ip is, for a failure line: "rogue+0x124f", "gate+0x40" or the address. */
static void where(const struct upcall *u, uint64_t ip, char *out, size_t outlen)
{
	const struct hosted_domain *d = u->d;
	if (ip - d->base < d->span)
		snprintf(out, outlen, "%s+%#lx", d->name, (unsigned long)(ip - d->base));
	else if (ip - MAPLE_GATE_VA < GATE_SPAN)
		snprintf(out, outlen, "gate+%#lx", (unsigned long)(ip - MAPLE_GATE_VA));
	else
		snprintf(out, outlen, "%#lx", (unsigned long)ip);
}

/* Reached from entry_keyed_sigsys (sigentry.S) under keys, else directly. */
void entry_on_sigsys(int sig, siginfo_t *si, void *ctx);
void entry_on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	struct upcall *u = current;
	greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	if (!u)
		abort(); /* the filter traps only domain and gate addresses */
	uint64_t ip = (uint64_t)si->si_call_addr;
	int from_gate = ip - MAPLE_GATE_VA < GATE_SPAN;
	if (si->si_arch != AUDIT_ARCH_X86_64) {
		char at[64];
		where(u, ip, at, sizeof at);
		fail_now(u, "a 32-bit system call (%d) at %s", si->si_syscall, at);
		siglongjmp(u->back, 1);
	}
	if (si->si_syscall == SYS_RETURN && from_gate) {
		u->result = g[REG_RDI];
		siglongjmp(u->back, 2);
	}
	if (si->si_syscall == SYS_RETURN) {
		fail_now(u, "returned through the gate without a call to return from");
		siglongjmp(u->back, 1);
	}
	if (si->si_syscall == SYS_PANIC) {
		char msg[LOG_MAX] = "";
		uint64_t len = (uint64_t)g[REG_RSI];
		uint64_t n = len < sizeof msg - 1 ? len : sizeof msg - 1;
		if (owns(u, g[REG_RDI], n))
			memcpy(msg, (const void *)g[REG_RDI], n);
		fail_now(u, "panicked: %.*s", (int)n, msg);
		siglongjmp(u->back, 1);
	}
	g[REG_RAX] = maple_syscall(u, si->si_syscall, g);
}

static const char *code_name(int sig, int code)
{
	if (sig == SIGSEGV && code == SEGV_PKUERR)
		return "SEGV_PKUERR";
	if (sig == SIGSEGV && code == SEGV_MAPERR)
		return "SEGV_MAPERR";
	if (sig == SIGSEGV && code == SEGV_ACCERR)
		return "SEGV_ACCERR";
	return "";
}

/* Reached from entry_keyed_fault (sigentry.S) under keys, else directly. */
void entry_on_fault(int sig, siginfo_t *si, void *ctx);
void entry_on_fault(int sig, siginfo_t *si, void *ctx)
{
	struct upcall *u = current;
	if (!u) { /* the runtime's own fault: die of it as if unhandled */
		signal(sig, SIG_DFL);
		return;
	}
	char at[64];
	where(u, ((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RIP], at, sizeof at);
	if (sig == SIGSEGV && si->si_code == SEGV_PKUERR)
		fail_now(u, "SIGSEGV (SEGV_PKUERR, key %u) at %s, address %#lx", si->si_pkey, at,
			 (unsigned long)si->si_addr);
	else if (sig == SIGSEGV || sig == SIGBUS)
		fail_now(u, "SIG%s (%s) at %s, address %#lx", sigabbrev_np(sig),
			 code_name(sig, si->si_code), at, (unsigned long)si->si_addr);
	else
		fail_now(u, "SIG%s at %s", sigabbrev_np(sig), at);
	siglongjmp(u->back, 1);
}

void entry_keyed_fault(int sig, siginfo_t *si, void *ctx);
void entry_keyed_sigsys(int sig, siginfo_t *si, void *ctx);

static uint32_t rdpkru(void)
{
	uint32_t eax, edx;
	__asm__ volatile("rdpkru" : "=a"(eax), "=d"(edx) : "c"(0));
	return eax;
}

static void wrpkru(uint32_t pkru)
{
	__asm__ volatile("wrpkru" : : "a"(pkru), "c"(0), "d"(0) : "memory");
}

/*
 * Every thread that enters domains needs its own alternate stack. Under
 * keys it carries the SHARED key: kernels before 6.12 write the signal
 * frame with the interrupted code's PKRU, and a domain's rights allow
 * its own key, SHARED and (read-only) GATE_RO, so a frame on runtime
 * memory (key 0) could not be written and Linux would kill the process
 * instead of delivering. The price (docs/platform.md): while a handler
 * runs, another thread in any domain could write this thread's frame;
 * maple-hosted runs one domain thread per process for now.
 */
static int altstack(char *err, size_t errlen)
{
	stack_t ss = {.ss_size = ALTSTACK};
	ss.ss_sp = mmap(NULL, ALTSTACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ss.ss_sp == MAP_FAILED ||
	    (keys && pkey_mprotect(ss.ss_sp, ALTSTACK, PROT_READ | PROT_WRITE, PKEY_SHARED) < 0) ||
	    sigaltstack(&ss, NULL) < 0) {
		snprintf(err, errlen, "cannot set up a signal stack: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int entry_init(int use_keys, char *err, size_t errlen)
{
	static const int faults[] = {SIGSEGV, SIGILL, SIGFPE, SIGBUS};
	struct sigaction sa = {.sa_flags = SA_SIGINFO | SA_ONSTACK};
	keys = use_keys;
	/* The runtime's own rights: every key (PKRU 0), so it reads and
	 * writes every domain's memory and its own, as the VM's kernel does. */
	if (keys)
		wrpkru(0);
	sigemptyset(&sa.sa_mask);
	sa.sa_sigaction = keys ? entry_keyed_fault : entry_on_fault;
	for (unsigned i = 0; i < sizeof faults / sizeof faults[0]; i++)
		if (sigaction(faults[i], &sa, NULL) < 0)
			goto fail;
	sa.sa_sigaction = keys ? entry_keyed_sigsys : entry_on_sigsys;
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		goto fail;
	if (altstack(err, errlen) < 0)
		return -1;
	return install_filter(err, errlen);
fail:
	snprintf(err, errlen, "sigaction: %s", strerror(errno));
	return -1;
}

/* d's upcall stack, mapped at its first upcall and kept until
 * entry_release: a thread's stack in a domain outlives one call, as in the VM. */
static int upcall_stack(struct hosted_domain *d, char *why, size_t whylen)
{
	if (d->stack)
		return 0;
	uint64_t lo = d->base + STACK_OFFSET;
	void *at = mmap((void *)lo, STACK_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (at != (void *)lo ||
	    (d->pkey >= 0 && pkey_mprotect(at, STACK_SIZE, PROT_READ | PROT_WRITE, d->pkey) < 0)) {
		snprintf(why, whylen, "cannot map a stack in %s's slot: %s", d->name,
			 strerror(errno));
		if (at != MAP_FAILED)
			munmap(at, STACK_SIZE);
		return -1;
	}
	d->stack = lo;
	return 0;
}

void entry_release(struct hosted_domain *d)
{
	if (d->stack)
		munmap((void *)d->stack, STACK_SIZE);
	d->stack = 0;
}

int entry_upcall(struct hosted_domain *d, uint64_t fn, const long a[4], long *result, char *why,
		 size_t whylen)
{
	if (upcall_stack(d, why, whylen) < 0)
		return -1;
	struct upcall u = {.d = d,
			   .runtime_pkru = keys ? rdpkru() : 0,
			   .stack_lo = d->stack,
			   .stack_hi = d->stack + STACK_SIZE,
			   .why = why,
			   .whylen = whylen};
	/* The return address, as gate_upcall pushes it; 16-byte alignment at
	 * the function's entry means %rsp + 8 is aligned (psABI 3.2.2). */
	uint64_t rsp = u.stack_hi - 16 - 8;
	*(uint64_t *)rsp = MAPLE_GATE_RETURN_VA;
	struct hosted_jump j = {.fn = fn,
				.rsp = rsp,
				.pkru = d->pkey >= 0 ? PKRU_DOMAIN(d->pkey) : 0,
				.keys = keys && d->pkey >= 0};
	volatile int how = sigsetjmp(u.back, 1);
	if (how == 0) {
		current = &u;
		hosted_enter(a[0], a[1], a[2], a[3], &j);
	}
	/* Back through a handler (PKRU 0, sigentry.S): the runtime's own
	 * rights again, exactly as they were. */
	if (keys)
		wrpkru(u.runtime_pkru);
	current = NULL;
	if (how == 2)
		*result = u.result;
	return how == 2 ? 0 : -1;
}
