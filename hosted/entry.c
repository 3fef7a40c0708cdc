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
 * domain, and the thread is unwound as in the VM (gate.c, hgate_unwind):
 * to the runtime where it entered, or to the failed callee's caller.
 *
 * What the filter cannot see (docs/platform.md): protection keys do not
 * govern instruction fetch, so a domain can jump to a `syscall` instruction
 * in the runtime's own code, whose address the filter allows. Closing that
 * needs a per-process secret in an argument register that the filter
 * compares; not built yet.
 *
 * Handlers run on an alternate stack (a domain's stack is its own memory),
 * with known rights (sigentry.S writes PKRU 0 first) and restore the
 * interrupted ones exactly (altstack(), entry_upcall, frame_set_pkru).
 * They are entered synchronously from domain or gate code, never from
 * runtime code, so the runtime holds no lock and is inside no stdio call
 * when they run.
 */
#define _GNU_SOURCE
#include "entry.h"

#include "gate.h"
#include "inject.h"
#include "jump.h"
#include "pkeys.h"
#include "runtime.h"
#include "syscalls.h"

#include <lib/log_text.h>
#include <maple/abi.h>
#include <maple/rref_abi.h>
#include <xheap/rref.h>

#include <cpuid.h>
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
#include <sys/rseq.h>
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

#define GATE_SPAN (1u << 20) /* gatepage.c's limit on the gate's size */
#define ALTSTACK  (128u << 10)
/* Upcalls nested in SIGSYS handlers (a domain's SYS_DOMAIN_CREATE runs the
 * new domain's init there, whose own init may create another): one
 * signal stack each, so at most the gate's depth. */
#define ALT_LEVELS GATE_MAX_DEPTH
#define LOG_MAX	   256

/* The thread's current upcall; NULL while it runs runtime code. The
 * domain a system call or fault comes from is the gate's current domain
 * (hgate_current): a call through the gate moves the thread on. */
struct upcall {
	struct upcall *outer;	 /* the upcall whose SIGSYS handler made this one, or NULL */
	unsigned level;		 /* how many enclose it: its signal stack's index */
	unsigned floor;		 /* its continuation's index on the thread's stack */
	struct hosted_domain *d; /* where the runtime entered */
	uint32_t runtime_pkru;	 /* the rights the runtime entered d with, restored after */
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

/* The rights rt_sigreturn will give the interrupted code: the PKRU
 * component (XSAVE component 9) of the XSAVE area in the signal frame. Its
 * offset is CPUID.(EAX=0DH,ECX=9):EBX (Intel SDM Vol. 1, 13.2); the frame
 * is in XSAVE format when its software bytes (offset 464 of the legacy
 * area, Linux's struct _fpx_sw_bytes) hold FP_XSTATE_MAGIC1 and name the
 * component; XSTATE_BV (offset 512, SDM 13.4.2) must then have bit 9 set,
 * or XRSTOR would put PKRU in its init state (0: every key) instead. */
#define XFEATURE_PKRU 9
static int frame_set_pkru(ucontext_t *uc, uint32_t pkru)
{
	uint8_t *x = (uint8_t *)uc->uc_mcontext.fpregs;
	uint32_t magic, a, off, c, d;
	uint64_t features;
	if (!x)
		return -1;
	memcpy(&magic, x + 464, 4);
	memcpy(&features, x + 464 + 8, 8);
	if (magic != FP_XSTATE_MAGIC1 || !(features >> XFEATURE_PKRU & 1) ||
	    !__get_cpuid_count(0xd, XFEATURE_PKRU, &a, &off, &c, &d) || !off)
		return -1;
	memcpy(x + off, &pkru, 4);
	uint64_t bv;
	memcpy(&bv, x + 512, 8);
	bv |= 1ull << XFEATURE_PKRU;
	memcpy(x + 512, &bv, 8);
	return 0;
}

/*
 * The current domain failed (u->why says how): unwind as the VM does. To
 * the runtime (siglongjmp) when the call it made is the one that failed;
 * otherwise the caller of the outermost failed call resumes at the gate's
 * gate_resume with -MAPLE_ECALLEE, its own %rsp and rights, and none of
 * the failed callee's scratch registers, as unwind_failed sets them.
 */
static void fail_domain(struct upcall *u, ucontext_t *uc)
{
	struct hosted_domain *d = hgate_current();
	uint64_t rip, rsp;
	uint32_t pkru;
	long err;
	inject_note_failed(d, u->why); /* when and why, for the fault campaign */
	if (hgate_unwind(u->floor, &rip, &rsp, &pkru, &err)) {
		if (d && d != u->d) { /* say who failed: it is not the domain entered */
			char why[256];
			snprintf(why, sizeof why, "%s", u->why);
			snprintf(u->why, u->whylen, "in %s: %s", d->name, why);
		}
		siglongjmp(u->back, 1);
	}
	printf("hosted: %s failed: %s\n", d ? d->name : "?", u->why);
	fflush(stdout);
	if (keys && frame_set_pkru(uc, pkru) < 0)
		abort(); /* cannot resume the caller with its rights: stop, not guess */
	greg_t *g = uc->uc_mcontext.gregs;
	g[REG_RIP] = (greg_t)rip;
	g[REG_RSP] = (greg_t)rsp;
	g[REG_RAX] = err;
	g[REG_RDI] = g[REG_RSI] = g[REG_RDX] = g[REG_RCX] = 0;
	g[REG_R8] = g[REG_R9] = g[REG_R10] = g[REG_R11] = 0;
	g[REG_EFL] = 0x202; /* IF and the always-set bit: not the callee's TF or DF */
}

/* The pointers a syscall reads must lie in the calling domain's image or
 * its stack, as the VM's dmem_owns decides (hgate_owns). */
static long sys_log(struct hosted_domain *d, uint64_t text, uint64_t len)
{
	char buf[LOG_MAX];
	uint64_t n = len < sizeof buf ? len : sizeof buf;
	if (!hgate_owns(d, text, n))
		return -MAPLE_EFAULT;
	memcpy(buf, (const void *)text, n);
	n = log_text_clean(buf, n);
	char line[LOG_MAX + 64];
	int k = snprintf(line, sizeof line, "[%s] %.*s\n", d->name, (int)n, buf);
	if (write(STDOUT_FILENO, line, k) < 0)
		return -MAPLE_EIO;
	return (long)len;
}

static long sys_export(struct hosted_domain *d, uint64_t entries, uint64_t n)
{
	uint64_t table[sizeof d->methods / sizeof d->methods[0]];
	if (n > sizeof table / sizeof table[0])
		return -MAPLE_EINVAL;
	if (!hgate_owns(d, entries, n * 8))
		return -MAPLE_EFAULT;
	memcpy(table, (const void *)entries, n * 8);
	for (uint64_t i = 0; i < n; i++)
		if (table[i] < d->base || table[i] >= d->base + d->span)
			return -MAPLE_EINVAL; /* a method must be the domain's own code */
	hgate_export(d, table, (unsigned)n);
	return 0;
}

static long sys_lookup(struct hosted_domain *d, uint64_t name, uint64_t len)
{
	char buf[MAPLE_DOMAIN_NAME_MAX];
	if (len >= sizeof buf)
		return -MAPLE_EINVAL;
	if (!hgate_owns(d, name, len))
		return -MAPLE_EFAULT;
	memcpy(buf, (const void *)name, len);
	buf[len] = 0;
	return hgate_lookup(buf);
}

/* The Maple syscalls of the gate and the exchange heap, the latter by the
 * VM's own xheap/rref.c (SYS_RREF_BUS too: no DMA here, but the same rule
 * on who may ask); syscalls.c serves the lifecycle, memory, devices, time
 * and threads, and every other number gets -MAPLE_ENOSYS. */
static long maple_syscall(struct hosted_domain *d, long nr, const greg_t *g)
{
	static const struct rref_limits limits = RREF_LIMITS_DEFAULT;
	switch (nr) {
	case SYS_NULL:
		return 0;
	case SYS_LOG:
		return sys_log(d, g[REG_RDI], g[REG_RSI]);
	case SYS_EXPORT:
		return sys_export(d, g[REG_RDI], g[REG_RSI]);
	case SYS_LOOKUP:
		return sys_lookup(d, g[REG_RDI], g[REG_RSI]);
	case SYS_DOMAIN_ID:
		return (long)hgate_handle(d);
	case SYS_RREF_ALLOC:
		return rref_alloc(d->id, &limits, (uint32_t)g[REG_RDI], g[REG_RSI]);
	case SYS_RREF_FREE:
		return rref_free(d->id, g[REG_RDI]);
	case SYS_RREF_NEST:
		return rref_nest(d->id, g[REG_RDI], g[REG_RSI]);
	case SYS_RREF_UNNEST:
		return rref_unnest(d->id, g[REG_RDI]);
	case SYS_RREF_SIZE:
		return rref_size(d->id, g[REG_RDI]);
	case SYS_RREF_RECALL:
		return rref_recall(d->id, g[REG_RDI]);
	case SYS_RREF_INFO:
		return rref_info(d->id, g[REG_RDI]);
	case SYS_RREF_BUS: /* the same authority; the answer is the payload's address */
		return rref_bus(d->id, g[REG_RDI], g[REG_RSI]);
	default:
		return hsys_serve(d, nr, g[REG_RDI], g[REG_RSI], g[REG_RDX]);
	}
}

/* Where ip is, for a failure line: "rogue+0x124f", "gate+0x40" or the address. */
static void where(const struct hosted_domain *d, uint64_t ip, char *out, size_t outlen)
{
	if (d && ip - d->base < d->span)
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
	struct hosted_domain *d = hgate_current();
	uint64_t ip = (uint64_t)si->si_call_addr;
	int from_gate = ip - MAPLE_GATE_VA < GATE_SPAN;
	char at[64];
	where(d, ip, at, sizeof at);
	if (si->si_arch != AUDIT_ARCH_X86_64) {
		fail_now(u, "a 32-bit system call (%d) at %s", si->si_syscall, at);
		fail_domain(u, ctx);
	} else if (si->si_syscall == SYS_RETURN && from_gate && hgate_upcall_pop()) {
		u->result = g[REG_RDI];
		siglongjmp(u->back, 2);
	} else if (si->si_syscall == SYS_RETURN) {
		fail_now(u, "returned through the gate without a call to return from");
		fail_domain(u, ctx);
	} else if (!d) { /* the gate names no domain: nothing to serve it for */
		fail_now(u, "a system call outside any domain at %s", at);
		fail_domain(u, ctx);
	} else if (si->si_syscall == SYS_PANIC) {
		char msg[LOG_MAX] = "";
		uint64_t len = (uint64_t)g[REG_RSI];
		uint64_t n = len < sizeof msg - 1 ? len : sizeof msg - 1;
		if (hgate_owns(d, g[REG_RDI], n))
			memcpy(msg, (const void *)g[REG_RDI], n);
		fail_now(u, "panicked: %.*s", (int)n, msg);
		fail_domain(u, ctx);
	} else {
		g[REG_RAX] = maple_syscall(d, si->si_syscall, g);
		/* As the VM's way back to ring 3 (gate_return_to_user): a domain
		 * failed while it ran (killed, or destroyed with its call in
		 * progress) unwinds now rather than running on; the gate's
		 * callee_failed loops on SYS_NULL waiting for exactly this. */
		if (hgate_state(d) != GATE_DOMAIN_RUNNING) {
			fail_now(u, "%s", d->fail_reason[0] ? d->fail_reason : "failed");
			fail_domain(u, ctx);
		}
	}
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

/*
 * Without keys (a CPU without PKU) the gate's WRPKRU is #UD. So that the
 * gate's code still runs, for the tests of calls, RRefs and unwinding that
 * do not depend on keys, a WRPKRU in the gate page is skipped as if it had
 * written rights that nothing enforces here anyway: every check the gate
 * makes after it compares %eax, which the instruction does not change, so
 * the gate decides exactly as with keys. Only the gate page's WRPKRUs, and
 * only in this mode (with keys the instruction never faults); the tests
 * that need enforced rights SKIP without keys (tests.c).
 */
static int emulate_wrpkru(uint64_t ip)
{
	const uint8_t *p = (const uint8_t *)ip;
	return ip - MAPLE_GATE_VA + 3 <= runtime_gatepage()->size && p[0] == 0x0f && p[1] == 0x01 &&
	       p[2] == 0xef;
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
	greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	if (!keys && sig == SIGILL && emulate_wrpkru((uint64_t)g[REG_RIP])) {
		g[REG_RIP] += 3;
		return;
	}
	/* The fault campaign's strikes (inject.c) arrive as refused fetches. */
	enum inject_take take = sig == SIGSEGV ? inject_fault(ctx, si) : INJECT_NOT_OURS;
	if (take == INJECT_RETRY || take == INJECT_REDIRECTED)
		return;
	char at[64];
	where(hgate_current(), ((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RIP], at, sizeof at);
	if (take == INJECT_KILL)
		fail_now(u, "killed to test recovery"); /* the VM's domain_fail reason */
	else if (sig == SIGSEGV && si->si_code == SEGV_PKUERR)
		fail_now(u, "SIGSEGV (SEGV_PKUERR, key %u) at %s, address %#lx", si->si_pkey, at,
			 (unsigned long)si->si_addr);
	else if (sig == SIGSEGV || sig == SIGBUS)
		fail_now(u, "SIG%s (%s) at %s, address %#lx", sigabbrev_np(sig),
			 code_name(sig, si->si_code), at, (unsigned long)si->si_addr);
	else
		fail_now(u, "SIG%s at %s", sigabbrev_np(sig), at);
	fail_domain(u, ctx);
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
 * Every upcall needs a signal stack of its own. Under keys it carries the
 * SHARED key: kernels before 6.12 write the signal frame with the
 * interrupted code's PKRU, and a domain's rights allow its own key, SHARED
 * and (read-only) GATE_RO, so a frame on runtime memory (key 0) could not
 * be written and Linux would kill the process instead of delivering. The
 * price (docs/platform.md): while a handler runs, another thread in any
 * domain could write this thread's frame; maple-hosted runs one domain
 * thread per process for now.
 *
 * Why one per upcall level: an upcall made from inside a SIGSYS handler
 * (the init of a domain another domain creates) runs domain code while
 * that handler's frame is live on its signal stack, and Linux delivers a
 * signal interrupting code that is not on the armed signal stack at that
 * stack's top: a single stack would be overwritten under the live frame.
 * So each upcall arms the stack of its own level before it enters the
 * domain, with SS_AUTODISARM: delivery disarms it (saving it in the
 * frame's uc_stack, which rt_sigreturn restores), so the handler may arm
 * the next level's for a nested upcall, below which nothing is live.
 */
static char *alt[ALT_LEVELS];
#define AUTODISARM (1u << 31) /* Linux's SS_AUTODISARM (uapi linux/signal.h, 4.7 on) */

static int arm_altstack(unsigned level, char *err, size_t errlen)
{
	if (level >= ALT_LEVELS) {
		snprintf(err, errlen, "upcalls nested %u deep", level);
		return -1;
	}
	if (!alt[level]) {
		void *p = mmap(NULL, ALTSTACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		if (p == MAP_FAILED ||
		    (keys && pkey_mprotect(p, ALTSTACK, PROT_READ | PROT_WRITE, PKEY_SHARED) < 0)) {
			snprintf(err, errlen, "cannot set up a signal stack: %s", strerror(errno));
			if (p != MAP_FAILED)
				munmap(p, ALTSTACK);
			return -1;
		}
		alt[level] = p;
	}
	stack_t ss = {.ss_sp = alt[level], .ss_size = ALTSTACK, .ss_flags = (int)AUTODISARM};
	if (sigaltstack(&ss, NULL) < 0) {
		snprintf(err, errlen, "cannot arm a signal stack: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The thread's first signal stack (level 0), and the signal mask domains
 * run with (nested_unblock). */
static sigset_t domain_mask;

static int altstack(char *err, size_t errlen)
{
	sigprocmask(SIG_SETMASK, NULL, &domain_mask);
	return arm_altstack(0, err, errlen);
}

/*
 * Under keys, this thread gives up restartable sequences. glibc registers
 * a struct rseq in the thread's TLS (runtime memory, key 0) and Linux
 * writes it on every signal delivery and on returning to user mode after a
 * preemption, with the thread's PKRU at that moment: in a domain, which
 * denies key 0, the write fails and Linux kills the process with SIGSEGV
 * (seen in the PKU guest: every test died so until this was added).
 */
static int rseq_off(char *err, size_t errlen)
{
	if (!__rseq_size)
		return 0; /* glibc registered none (GLIBC_TUNABLES=glibc.pthread.rseq=0) */
	/* glibc registers at least 32 bytes, the kernel's original size. */
	unsigned len = __rseq_size < 32 ? 32 : __rseq_size;
	if (syscall(SYS_rseq, (char *)__builtin_thread_pointer() + __rseq_offset, len,
		    RSEQ_FLAG_UNREGISTER, RSEQ_SIG) < 0) {
		snprintf(err, errlen, "cannot unregister glibc's rseq area: %s", strerror(errno));
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
	if (altstack(err, errlen) < 0 || (keys && rseq_off(err, errlen) < 0))
		return -1;
	return install_filter(err, errlen);
fail:
	snprintf(err, errlen, "sigaction: %s", strerror(errno));
	return -1;
}

int entry_upcall(struct hosted_domain *d, uint64_t fn, const long a[4], long *result, char *why,
		 size_t whylen)
{
	long err;
	/* Nested when made from a SIGSYS handler of the current upcall
	 * (hdom_create for a domain's SYS_DOMAIN_CREATE). */
	struct upcall u = {.outer = current,
			   .level = current ? current->level + 1 : 0,
			   .floor = hgate_depth(),
			   .d = d,
			   .runtime_pkru = keys ? rdpkru() : 0,
			   .why = why,
			   .whylen = whylen};
	if (arm_altstack(u.level, why, whylen) < 0)
		return -1;
	uint64_t sp = hgate_upcall_push(d, &err);
	if (!sp) {
		snprintf(why, whylen, "cannot enter %s: %s", d->name,
			 err == -MAPLE_EDEAD ? "it does not run" : "too deep");
		return -1;
	}
	/* The return address, as gate_upcall pushes it; sp is 16-byte aligned,
	 * so %rsp + 8 is at the function's entry (psABI 3.2.2). */
	*(uint64_t *)(sp - 8) = MAPLE_GATE_RETURN_VA;
	struct hosted_jump j = {.fn = fn,
				.rsp = sp - 8,
				.pkru = d->pkey >= 0 ? PKRU_DOMAIN(d->pkey) : 0,
				.keys = keys && d->pkey >= 0};
	volatile int how = sigsetjmp(u.back, 1);
	if (how == 0) {
		current = &u;
		/* Nested in a handler: the handler's own code runs with its
		 * signal blocked (and whatever else its sa_mask blocks), but the
		 * new domain traps and faults like any other, and Linux forces a
		 * blocked seccomp SIGSYS or fault signal to its default action, a
		 * kill of the whole process: it runs with the mask every domain
		 * runs with, and the handler's comes back with siglongjmp
		 * (sigsetjmp saved it). The handler's frame stays whole below:
		 * this level has its own signal stack. */
		if (u.outer)
			sigprocmask(SIG_SETMASK, &domain_mask, NULL);
		hosted_enter(a[0], a[1], a[2], a[3], &j);
	}
	/* Back through a handler (PKRU 0, sigentry.S): the runtime's own
	 * rights again, exactly as they were (0, in the runtime and in a
	 * handler alike), and the enclosing upcall current again. Its own
	 * signal stack is armed again by the rt_sigreturn that ends the
	 * handler this ran in (the frame's uc_stack), or by its next upcall. */
	if (keys)
		wrpkru(u.runtime_pkru);
	current = u.outer;
	if (how == 2)
		*result = u.result;
	return how == 2 ? 0 : -1;
}
