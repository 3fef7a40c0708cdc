/*
 * entry: how a domain reaches the hosted runtime, and how it fails.
 *
 * THE INVARIANT: no system call made by domain or gate code reaches Linux,
 * wherever the instruction lies; only the runtime's own code makes Linux
 * system calls. Two layers hold it:
 *
 * - Syscall user dispatch (Linux 5.11 and later; Documentation/admin-
 *   guide/syscall-user-dispatch.rst), turned on for every thread that
 *   enters domains (confine_thread). Its selector byte says BLOCK whenever
 *   domain or gate code runs (hosted_enter sets it before the jump into a
 *   domain, entry_sigreturn before each rt_sigreturn into one) and ALLOW
 *   while the runtime runs (each handler's first statement). With BLOCK,
 *   Linux turns every system call into a SIGSYS (si_code SYS_USER_DISPATCH)
 *   before seccomp or the call itself runs, whatever the address of the
 *   `syscall`, except the one in entry_sigreturn (sigentry.S). So a domain
 *   that jumps to a `syscall` of the runtime's code (glibc's getpid, say),
 *   to make a Linux system call with registers of its choosing or an
 *   rt_sigreturn through a frame it forged (whose XSAVE area would give it
 *   PKRU 0), gets a SIGSYS from an address outside the domains and the
 *   gate, and fails. The selector lies on a page of key GATE_RO: every
 *   PKRU a domain or the gate holds may read it (Linux reads it with the
 *   caller's rights at each system call and kills the process with SIGSEGV
 *   if it cannot: PKRU_DOMAIN allows reading GATE_RO, PKRU_GATE writing it
 *   too, and the gate checks every other value a WRPKRU of its gives
 *   against GATE_RO memory before it goes on), and only the runtime's
 *   (PKRU 0) and the gate's may write it; the gate never does.
 * - The seccomp filter (install_filter, for the whole process), the layer
 *   under it: a system call whose instruction pointer
 *   (seccomp_data.instruction_pointer) lies in a domain slot or the gate's
 *   block is a SIGSYS (SYS_SECCOMP); one from entry_sigreturn must be an
 *   rt_sigreturn carrying the per-process secret entry_sigreturn_token in
 *   %rdi, or it is a SIGSYS too; so is one from Linux's vsyscall page (an
 *   instruction pointer above the lower canonical half) and every call
 *   that is not an x86-64 one (the runtime makes none).
 *
 * The SIGSYS handler, the runtime's trusted entry, serves a system call
 * from a domain or the gate as the Maple syscall of that number, exactly as
 * the VM's SYSCALL entry would: a "raw Linux syscall" from a domain is
 * simply a Maple syscall number, and an unknown one gets -MAPLE_ENOSYS. A
 * domain's `int 0x80` (a 32-bit system call) fails the domain, and so does
 * any system call from elsewhere while a domain runs. Faults of domain code
 * (SIGSEGV, including SEGV_PKUERR; SIGILL, SIGFPE, SIGBUS, SIGTRAP) fail the
 * domain, and the thread is unwound as in the VM (gate.c, hgate_unwind):
 * to the runtime where it entered, or to the failed callee's caller.
 *
 * Both rest on a domain never holding PKRU 0, or PKRU_GATE outside the
 * gate's code. Protection keys do not govern instruction fetch, so a
 * domain can jump to any PKRU-writing instruction of the process: there
 * are none but the gate's and the runtime's audited few (hosted/audit.c
 * scans the whole process at start-up, and maple-hosted is linked
 * statically so that neither glibc's pkey_set nor ld.so's XRSTOR is in
 * it), and each of those checks after its WRPKRU that it gave only what
 * it may (enter.S, sigentry.S, wrpkru_pair.S). The runtime itself holds
 * PKRU 0 without a WRPKRU of its own (pkeys.c: pkey_alloc's rights).
 * Without protection keys nothing here isolates anything (a domain can
 * write the selector and read the secret); the same code runs so that the
 * mechanism is tested on such machines too.
 *
 * Handlers run on an alternate stack (a domain's stack is its own memory),
 * with known rights (sigentry.S writes PKRU 0 first) and restore the
 * interrupted ones exactly (altstack(), entry_upcall, frame_set_pkru).
 * They are entered synchronously from domain or gate code, never from
 * runtime code, so the runtime holds no lock and is inside no stdio call
 * when they run; the one asynchronous signal, the watchdog's, acts only
 * where domain or gate code was interrupted (on_watchdog) and leaves
 * the runtime's own code as it found it. They run with every signal
 * blocked (their sa_mask): no signal frame is written while one runs, so
 * none can catch the secret in entry_sigreturn's %rdi, and a fault of the
 * runtime's own inside one kills the process (Linux's answer to a blocked
 * synchronous signal) rather than passing for a domain's.
 */
#define _GNU_SOURCE
#include "entry.h"

#include "domains.h"
#include "gate.h"
#include "inject.h"
#include "jump.h"
#include "ksigaction.h"
#include "pkeys.h"
#include "runtime.h"
#include "syscalls.h"
#include "watchdog.h"

#include <domain/gate_layout.h>
#include <lib/log_text.h>
#include <maple/abi.h>
#include <maple/rref_abi.h>
#include <xheap/rref.h>

#include <asm/hwcap2.h>
#include <asm/prctl.h>
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
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

_Static_assert(offsetof(struct hosted_jump, fn) == JUMP_FN &&
		       offsetof(struct hosted_jump, rsp) == JUMP_RSP &&
		       offsetof(struct hosted_jump, pkru) == JUMP_PKRU &&
		       offsetof(struct hosted_jump, keys) == JUMP_KEYS &&
		       offsetof(struct hosted_jump, selector) == JUMP_SELECTOR,
	       "jump.h's offsets are struct hosted_jump's");
_Static_assert(GATE_RO_EXPECTED_PKRU == offsetof(struct gate_thread_ro, expected_pkru) &&
		       GATE_RO_CLEAR_VECTORS == offsetof(struct gate_thread_ro, clear_vectors) &&
		       PKRU_DOMAIN_DENIES == (PKRU_AD(PKEY_KERNEL) | PKRU_AD(PKEY_TRUSTED)) &&
		       (PKRU_DOMAIN(PKEY_FIRST_DOMAIN) & PKRU_DOMAIN_DENIES) == PKRU_DOMAIN_DENIES,
	       "jump.h's constants for enter.S's check");
_Static_assert(SIGSTACK_LO == offsetof(struct entry_sigstack, lo) &&
		       SIGSTACK_HI == offsetof(struct entry_sigstack, hi),
	       "jump.h's offsets are struct entry_sigstack's");
_Static_assert(SUD_ALLOW == SYSCALL_DISPATCH_FILTER_ALLOW &&
		       SUD_BLOCK == SYSCALL_DISPATCH_FILTER_BLOCK,
	       "jump.h's selector values are linux/prctl.h's");

#define SYSCALL_LEN 2 /* `syscall` and `int 0x80`: si_call_addr is the address after */

/* This thread's syscall user dispatch selector (THE INVARIANT above), on a
 * page of its own with key GATE_RO; enter.S and sigentry.S store to it. */
__thread volatile uint8_t *entry_selector;

/* entry_sigreturn resumes the runtime's own code with ALLOW (entry.h). */
__thread uint8_t entry_resume_runtime;

/* The secret entry_sigreturn's rt_sigreturn carries in %rdi, which the
 * seccomp filter compares (THE INVARIANT above): random, never 0, set once
 * before the filter is installed. In key-0 memory, which no domain's
 * rights, raised by the gate or not, can read. */
uint64_t entry_sigreturn_token;

/* The signal stack of the level whose domain code this thread runs
 * (use_sigstack); the keyed entries (sigentry.S) and frame_set_pkru accept
 * only frames that lie in it. */
__thread struct entry_sigstack entry_sigstack;

#define GATE_SPAN (1u << 20) /* gatepage.c's limit on the gate's size */
#define ALTSTACK  (128u << 10)
#define PAGE	  4096u
/* Upcalls nested in SIGSYS handlers (a domain's SYS_DOMAIN_CREATE runs the
 * new domain's init there, whose own init may create another): one
 * signal stack each, so at most the gate's depth. */
#define ALT_LEVELS GATE_MAX_DEPTH
#define LOG_MAX	   256
_Static_assert(ALTSTACK >= 3 * SIGSTACK_HEADROOM, "the signal stack holds the entries' headroom");

/* The thread's current upcall; NULL while it runs runtime code. The
 * domain a system call or fault comes from is the gate's current domain
 * (hgate_current): a call through the gate moves the thread on. */
struct upcall {
	struct upcall *outer;	 /* the upcall whose SIGSYS handler made this one, or NULL */
	unsigned level;		 /* how many enclose it: its signal stack's index */
	unsigned floor;		 /* its continuation's index on the thread's stack */
	struct hosted_domain *d; /* where the runtime entered */
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

/* Without keys: the rights the thread would hold, as the gate's WRPKRUs
 * (emulated: emulate_wrpkru), the upcalls and the unwinding write them, so
 * the watchdog's handler can tell a raised pass of the gate (PKRU_GATE)
 * from the rest, as the VM's tick reads PKRU. */
static __thread uint32_t gate_rights;

/* The high 32 bits of the addresses whose system calls are trapped:
 * MAPLE_GATE_VA's 4 GiB, and every domain slot the gate's table has (ids
 * past the keys' 15 are used where there are no keys: a slot outside the
 * range made its domain's every system call the runtime's, refused). */
#define GATE_HI	   ((uint32_t)(MAPLE_GATE_VA >> 32))
#define DOMAIN_LO  ((uint32_t)(MAPLE_DOMAIN_BASE >> 32))
#define DOMAIN_END ((uint32_t)((MAPLE_DOMAIN_BASE + GATE_MAX_DOMAINS * MAPLE_DOMAIN_SLOT) >> 32))
/* The lower canonical half ends at 2^47: the runtime's code lies below it.
 * The only instruction pointer above it a system call can have is Linux's
 * vsyscall page (0xffffffffff600000), whose gettimeofday, time and getcpu
 * Linux emulates as system calls at that address (and filters with
 * seccomp) for any caller: a domain's call there must trap like any other
 * of its system calls (rogue case ROGUE_H_VSYSCALL: Maple syscall 96,
 * -MAPLE_ENOSYS). */
#define USER_END_HI ((uint32_t)((1ull << 47) >> 32))
_Static_assert(MAPLE_DOMAIN_BASE % (1ull << 32) == 0 &&
		       (PKEY_COUNT * MAPLE_DOMAIN_SLOT) % (1ull << 32) == 0,
	       "the filter compares only the high half of the instruction pointer");
_Static_assert(MAPLE_GATE_VA % (1ull << 32) == 0 &&
		       MAPLE_GATE_VA + GATE_SPAN <= MAPLE_GATE_VA + (1ull << 32),
	       "the gate lies in one 4 GiB block");

#define IP_LO	  offsetof(struct seccomp_data, instruction_pointer)
#define IP_HI	  (IP_LO + 4)
#define ARG0_LO	  offsetof(struct seccomp_data, args[0])
#define ARG0_HI	  (ARG0_LO + 4)
#define NR	  offsetof(struct seccomp_data, nr)
#define ARCH	  offsetof(struct seccomp_data, arch)
#define LOAD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
/* Jump offsets count the instructions skipped: to index `to` from `at`. */
#define TO(at, to)	      ((to) - (at)-1)
#define IF_EQ(at, k, yes, no) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), TO(at, yes), TO(at, no))
#define IF_GE(at, k, yes, no) BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (k), TO(at, yes), TO(at, no))

/* Whether the filter traps every system call at ip whatever it is: a domain
 * slot, the gate's block or the vsyscall page, compared as the filter
 * compares them. */
static int trapped_at(uint64_t ip)
{
	uint32_t hi = (uint32_t)(ip >> 32);
	return hi == GATE_HI || hi >= USER_END_HI || (hi >= DOMAIN_LO && hi < DOMAIN_END);
}

static int install_filter(char *err, size_t errlen)
{
	enum { RUNTIME = 5, SIGRETURN = 8, ARCH_CHECK = 16, TRAP = 18, ALLOW = 19 };
	uint64_t ret = (uint64_t)entry_sigreturn_end, token = entry_sigreturn_token;
	struct sock_filter prog[] = {
		/* 0 */ LOAD(IP_HI),
		/* 1 */ IF_EQ(1, GATE_HI, TRAP, 2),
		/* 2 */ IF_GE(2, USER_END_HI, TRAP, 3), /* the vsyscall page */
		/* 3 */ IF_GE(3, DOMAIN_LO, 4, RUNTIME),
		/* 4 */ IF_GE(4, DOMAIN_END, RUNTIME, TRAP),
		/* RUNTIME: anywhere else; the signal return is checked apart */
		/* 5 */ IF_EQ(5, (uint32_t)(ret >> 32), 6, ARCH_CHECK),
		/* 6 */ LOAD(IP_LO),
		/* 7 */ IF_EQ(7, (uint32_t)ret, SIGRETURN, ARCH_CHECK),
		/* SIGRETURN: only an rt_sigreturn with the secret in %rdi */
		/* 8 */ LOAD(ARCH),
		/* 9 */ IF_EQ(9, AUDIT_ARCH_X86_64, 10, TRAP),
		/* 10 */ LOAD(NR),
		/* 11 */ IF_EQ(11, __NR_rt_sigreturn, 12, TRAP),
		/* 12 */ LOAD(ARG0_LO),
		/* 13 */ IF_EQ(13, (uint32_t)token, 14, TRAP),
		/* 14 */ LOAD(ARG0_HI),
		/* 15 */ IF_EQ(15, (uint32_t)(token >> 32), ALLOW, TRAP),
		/* ARCH_CHECK: the runtime makes x86-64 calls only, so any other
		 * is a domain's, whatever its instruction pointer: SYSENTER on an
		 * Intel CPU enters Linux's 32-bit entry, which reports the vDSO's
		 * landing pad (rogue case ROGUE_H_SYSENTER). It traps and fails
		 * the domain; killing the process here let a domain stop it. */
		/* 16 */ LOAD(ARCH),
		/* 17 */ IF_EQ(17, AUDIT_ARCH_X86_64, ALLOW, TRAP),
		/* 18 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		/* 19 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	_Static_assert(sizeof prog / sizeof prog[0] == ALLOW + 1, "the labels are the indices");
	struct sock_fprog fprog = {.len = sizeof prog / sizeof prog[0], .filter = prog};
	int rc = 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog) != 0) {
		snprintf(err, errlen, "cannot install the seccomp filter: %s", strerror(errno));
		rc = -1;
	}
	explicit_bzero(prog, sizeof prog); /* the secret stays in one place */
	explicit_bzero(&token, sizeof token);
	return rc;
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
 * or XRSTOR would put PKRU in its init state (0: every key) instead.
 *
 * The frame may be a domain's forgery (sigentry.S: a domain that jumps to
 * a handler's entry with a frame it wrote on the SHARED signal stack), so
 * the area's pointer is trusted no further than the signal stack: every
 * byte read or written here must lie in it, or this writes nothing and
 * fails (-1). The PKRU written comes from the caller, out of the gate's
 * TRUSTED state, never from the frame. */
#define XFEATURE_PKRU 9
#define XSAVE_HEADER  512 /* XSTATE_BV, then XCOMP_BV */
static int in_sigstack(const uint8_t *p, uint64_t n)
{
	uint64_t lo = entry_sigstack.lo, hi = entry_sigstack.hi;
	return (uint64_t)p >= lo && n <= hi - lo && (uint64_t)p - lo <= hi - lo - n;
}

static int frame_set_pkru(ucontext_t *uc, uint32_t pkru)
{
	uint8_t *x = (uint8_t *)uc->uc_mcontext.fpregs;
	uint32_t magic, a, off, c, d;
	uint64_t features;
	if (!x || !in_sigstack(x, XSAVE_HEADER + 8))
		return -1;
	memcpy(&magic, x + 464, 4);
	memcpy(&features, x + 464 + 8, 8);
	if (magic != FP_XSTATE_MAGIC1 || !(features >> XFEATURE_PKRU & 1) ||
	    !__get_cpuid_count(0xd, XFEATURE_PKRU, &a, &off, &c, &d) || !off ||
	    !in_sigstack(x, (uint64_t)off + 4))
		return -1;
	memcpy(x + off, &pkru, 4);
	uint64_t bv;
	memcpy(&bv, x + 512, 8);
	bv |= 1ull << XFEATURE_PKRU;
	memcpy(x + 512, &bv, 8);
	return 0;
}

/* The runtime's own code and stack segment selectors (entry_init): the
 * mode a resumed caller runs in, whatever mode its callee failed in. */
static uint16_t user_cs, user_ss;

/*
 * The current domain failed (u->why says how): unwind as the VM does. To
 * the runtime (siglongjmp) when the call it made is the one that failed;
 * otherwise the caller of the outermost failed call resumes at the gate's
 * gate_resume with -MAPLE_ECALLEE, its own %rsp and rights, in 64-bit mode,
 * and none of the failed callee's registers (the caller pops its own
 * callee-saved ones at gate_resume), nor where or how it faulted, as
 * unwind_failed sets them; si, the signal's siginfo, is zeroed too
 * (rt_sigreturn reads none).
 */
static void fail_domain(struct upcall *u, siginfo_t *si, ucontext_t *uc)
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
		abort(); /* cannot resume the caller with its rights (a frame a domain
			  * forged: sigentry.S): stop, not guess */
	greg_t *g = uc->uc_mcontext.gregs;
	g[REG_RIP] = (greg_t)rip;
	g[REG_RSP] = (greg_t)rsp;
	g[REG_RAX] = err;
	gate_rights = pkru;
	g[REG_RDI] = g[REG_RSI] = g[REG_RDX] = g[REG_RCX] = 0;
	g[REG_R8] = g[REG_R9] = g[REG_R10] = g[REG_R11] = 0;
	g[REG_EFL] = 0x202; /* IF and the always-set bit: not the callee's TF or DF */
	/* REG_CSGSFS is Linux's sigcontext cs, gs, fs, ss (16 bits each): a
	 * callee that failed in 32-bit mode (a far jump to __USER32_CS) must
	 * not resume its caller in that mode (seen: the caller then failed at
	 * gate_resume). */
	g[REG_CSGSFS] = (greg_t)((uint64_t)user_cs | (uint64_t)user_ss << 48);
	g[REG_RBX] = g[REG_RBP] = g[REG_R12] = g[REG_R13] = g[REG_R14] = g[REG_R15] = 0;
	g[REG_ERR] = g[REG_TRAPNO] = g[REG_CR2] = 0;
	memset(si, 0, sizeof *si);
}

/* The pointers a syscall reads must lie in the calling domain's image or
 * its stack, as the VM's dmem_owns decides (hgate_owns). */
static long sys_log(struct hosted_domain *d, uint64_t text, uint64_t len)
{
	char buf[LOG_MAX];
	uint64_t n = len < sizeof buf ? len : sizeof buf;
	if (!hgate_owns(d, text, n))
		return -MAPLE_EFAULT;
	if (!hsys_may_log(d))
		return -MAPLE_EQUOTA;
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
	*entry_selector = SUD_ALLOW; /* the runtime runs: before any system call */
	(void)sig;
	struct upcall *u = current;
	greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	if (!u)
		abort(); /* the runtime's own call was trapped: the selector is wrong */
	struct hosted_domain *d = hgate_current();
	uint64_t ip = (uint64_t)si->si_call_addr;
	int from_gate = ip - MAPLE_GATE_VA < GATE_SPAN;
	char at[64];
	where(d, ip, at, sizeof at);
	if (ip == (uint64_t)entry_sigreturn_end) {
		/* The filter refused it: a jump to the runtime's own signal
		 * return, which only the runtime can make with the secret. */
		fail_now(u,
			 "a system call (%d) at %#lx, the runtime's signal return, without its "
			 "token",
			 si->si_syscall, (unsigned long)(ip - SYSCALL_LEN));
		fail_domain(u, si, ctx);
	} else if (si->si_arch != AUDIT_ARCH_X86_64) {
		/* Wherever it came from (SYSENTER's lands in the vDSO). */
		fail_now(u, "a 32-bit system call (%d) at %s", si->si_syscall, at);
		fail_domain(u, si, ctx);
	} else if (!trapped_at(ip)) {
		/* Dispatch blocked a `syscall` of the runtime's own code while
		 * domain or gate code ran: a domain jumped there. */
		fail_now(u, "a system call (%d) at %#lx outside the domains and the gate",
			 si->si_syscall, (unsigned long)(ip - SYSCALL_LEN));
		fail_domain(u, si, ctx);
	} else if (si->si_syscall == SYS_RETURN && from_gate && hgate_upcall_pop()) {
		u->result = g[REG_RDI];
		siglongjmp(u->back, 2);
	} else if (si->si_syscall == SYS_RETURN) {
		fail_now(u, "returned through the gate without a call to return from");
		fail_domain(u, si, ctx);
	} else if (!d) { /* the gate names no domain: nothing to serve it for */
		fail_now(u, "a system call outside any domain at %s", at);
		fail_domain(u, si, ctx);
	} else if (si->si_syscall == SYS_PANIC) {
		char msg[LOG_MAX] = "";
		uint64_t len = (uint64_t)g[REG_RSI];
		uint64_t n = len < sizeof msg - 1 ? len : sizeof msg - 1;
		if (hgate_owns(d, g[REG_RDI], n))
			memcpy(msg, (const void *)g[REG_RDI], n);
		fail_now(u, "panicked: %.*s", (int)n, msg);
		fail_domain(u, si, ctx);
	} else {
		g[REG_RAX] = maple_syscall(d, si->si_syscall, g);
		/* As the VM's way back to ring 3 (gate_return_to_user): a domain
		 * failed while it ran (killed, or destroyed with its call in
		 * progress) unwinds now rather than running on; the gate's
		 * callee_failed loops on SYS_NULL waiting for exactly this. */
		if (hgate_state(d) != GATE_DOMAIN_RUNNING) {
			fail_now(u, "%s", d->fail_reason[0] ? d->fail_reason : "failed");
			fail_domain(u, si, ctx);
			return;
		}
		/* Back to the caller through rt_sigreturn, with the rights the
		 * gate holds for this thread (the caller's own: a domain's
		 * system call interrupts nothing else), whatever PKRU the frame
		 * says: the frame may be a forgery (sigentry.S). */
		if (keys && frame_set_pkru(ctx, hgate_expected_pkru()) < 0) {
			fail_now(u,
				 "a system call (%d) at %s with a signal frame not of Linux's "
				 "making",
				 si->si_syscall, at);
			fail_domain(u, si, ctx);
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
	/* Linux's #GP (SIGSEGV) or #SS (SIGBUS) in user mode: a privileged
	 * instruction, port I/O, a non-canonical stack; the VM's "#GP (error
	 * 0)" or "#SS". */
	if ((sig == SIGSEGV || sig == SIGBUS) && code == SI_KERNEL)
		return "SI_KERNEL";
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

/*
 * The watchdog's signal (watchdog.c, HWATCH_SIGNAL; without keys), aimed at
 * this thread, through the fault handlers' entry. Blocked while the runtime runs here (altstack)
 * and in every handler (their sa_mask), it can still land in the runtime's few instructions between
 * opening it for an upcall and entering the domain, or arrive for a call that has ended since.
 * Where the thread was comes from the selector, which says BLOCK exactly while domain or gate code
 * runs (THE INVARIANT above) and lies on a page no domain can write: ALLOW is the runtime, resumed
 * as it was (entry_sigreturn keeps ALLOW). Otherwise hwatch_judge decides from the gate's trusted
 * state, and the thread goes on, or unwinds as from a fault.
 */
static void on_watchdog(siginfo_t *si, void *ctx)
{
	if (*entry_selector != SUD_BLOCK) {
		entry_resume_runtime = 1;
		return;
	}
	*entry_selector = SUD_ALLOW; /* the runtime runs: before any system call */
	struct upcall *u = current;
	if (!u)
		abort(); /* domain code runs only inside an upcall: the selector is wrong */
	uint64_t rip = (uint64_t)((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RIP];
	if (hwatch_judge(rip - MAPLE_GATE_VA < runtime_gatepage()->size, gate_rights == PKRU_GATE,
			 u->why, u->whylen) == HWATCH_UNWIND)
		fail_domain(u, si, ctx);
}

/* Reached from entry_keyed_fault (sigentry.S) under keys, else directly. */
void entry_on_fault(int sig, siginfo_t *si, void *ctx);
void entry_on_fault(int sig, siginfo_t *si, void *ctx)
{
	if (sig == HWATCH_SIGNAL) {
		on_watchdog(si, ctx); /* before the selector changes: it says where */
		return;
	}
	*entry_selector = SUD_ALLOW; /* the runtime runs: before any system call */
	struct upcall *u = current;
	if (!u) { /* the runtime's own fault: die of it as if unhandled */
		signal(sig, SIG_DFL);
		return;
	}
	greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	if (!keys && sig == SIGILL && emulate_wrpkru((uint64_t)g[REG_RIP])) {
		g[REG_RIP] += 3;
		gate_rights = (uint32_t)g[REG_RAX];
		return;
	}
	/* The fault campaign's strikes (inject.c) arrive as refused fetches. */
	enum inject_take take = sig == SIGSEGV ? inject_fault(ctx, si) : INJECT_NOT_OURS;
	char at[64];
	where(hgate_current(), ((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RIP], at, sizeof at);
	/* Back into the domain through rt_sigreturn: with the rights the gate
	 * holds for the thread (a strike or flip refuses fetches of the
	 * current domain's own code, which runs with them), never the
	 * frame's PKRU. The frame may be a forgery (sigentry.S) naming a fetch
	 * in code a strike once changed: with its PKRU 0 restored, rogue case
	 * 220 had every key (rogue-forged-fault-frame-after-a-strike-keeps-
	 * its-rights). */
	if (take == INJECT_RETRY || take == INJECT_REDIRECTED) {
		if (!keys || frame_set_pkru(ctx, hgate_expected_pkru()) == 0)
			return;
		fail_now(u, "a fault at %s with a signal frame not of Linux's making", at);
		fail_domain(u, si, ctx);
		return;
	}
	if (take == INJECT_KILL)
		fail_now(u, "killed to test recovery"); /* the VM's domain_fail reason */
	else if (take == INJECT_TIMEOUT)
		hwatch_fail_current(u->why, u->whylen); /* the watchdog's: ETIMEDOUT */
	else if (sig == SIGSEGV && si->si_code == SEGV_PKUERR)
		fail_now(u, "SIGSEGV (SEGV_PKUERR, key %u) at %s, address %#lx", si->si_pkey, at,
			 (unsigned long)si->si_addr);
	else if (sig == SIGSEGV || sig == SIGBUS)
		fail_now(u, "SIG%s (%s) at %s, address %#lx", sigabbrev_np(sig),
			 code_name(sig, si->si_code), at, (unsigned long)si->si_addr);
	else
		fail_now(u, "SIG%s at %s", sigabbrev_np(sig), at);
	fail_domain(u, si, ctx);
}

static uint32_t rdpkru(void)
{
	uint32_t eax, edx;
	__asm__ volatile("rdpkru" : "=a"(eax), "=d"(edx) : "c"(0));
	return eax;
}

/*
 * Every upcall needs a signal stack of its own. Under keys it carries the
 * SHARED key: kernels before 6.12 write the signal frame with the
 * interrupted code's PKRU, and a domain's rights allow its own key, SHARED
 * and (read-only) GATE_RO, so a frame on runtime memory (key 0) could not
 * be written and Linux would kill the process instead of delivering. The
 * price (docs/platform.md): while a handler runs, another thread in any
 * domain could write this thread's frame; maple-hosted runs one domain
 * thread per process for now. A page below each is mapped with no access,
 * so a handler that ran out of stack faults rather than writing the
 * runtime's memory with PKRU 0 (the keyed entries also start a handler
 * only SIGSTACK_HEADROOM above the bottom).
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
 * entry_sigstack always names the level whose domain code runs, the one
 * stack a signal can arrive on (use_sigstack): the upcall sets it, and
 * the return from a nested one sets the enclosing level's again.
 * And while a nested upcall runs, the enclosing levels' stacks are the
 * runtime's own (key_sigstack).
 */
static char *alt[ALT_LEVELS];
#define AUTODISARM (1u << 31) /* Linux's SS_AUTODISARM (uapi linux/signal.h, 4.7 on) */

uint64_t entry_level_stack(unsigned level)
{
	return level < ALT_LEVELS ? (uint64_t)alt[level] : 0;
}

/*
 * Under keys, level's signal stack with key pkey: the runtime's (0) while
 * an upcall nested above it runs, SHARED otherwise. THE INVARIANT: no
 * domain can write the state of a handler that is still live. A handler
 * that makes a nested upcall (a domain's SYS_DOMAIN_CREATE running the new
 * domain's init) is suspended on its level's stack with the runtime's C
 * frames, their return addresses (followed later with PKRU 0), the nested
 * upcall's sigjmp_buf and the frame rt_sigreturn resumes its domain from;
 * SHARED, the nested domain (or any domain it calls) could rewrite them.
 * No signal needs that stack meanwhile: the nested domain's arrive on the
 * next level's, armed with SS_AUTODISARM. A stack that cannot be keyed
 * either way is a process that cannot go on safely: stop, not guess.
 */
static void key_sigstack(unsigned level, int pkey)
{
	if (keys && pkey_mprotect(alt[level], ALTSTACK, PROT_READ | PROT_WRITE, pkey) < 0) {
		fprintf(stderr, "hosted: cannot give signal stack %u key %d: %s\n", level, pkey,
			strerror(errno));
		abort();
	}
}

/* The keyed entries and frame_set_pkru accept frames on level's stack only. */
static void use_sigstack(unsigned level)
{
	entry_sigstack = (struct entry_sigstack){.lo = (uint64_t)alt[level],
						 .hi = (uint64_t)alt[level] + ALTSTACK};
}

static int arm_altstack(unsigned level, char *err, size_t errlen)
{
	if (level >= ALT_LEVELS) {
		snprintf(err, errlen, "upcalls nested %u deep", level);
		return -1;
	}
	if (!alt[level]) {
		uint8_t *at =
			mmap(NULL, PAGE + ALTSTACK, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (at == MAP_FAILED ||
		    (keys ? pkey_mprotect(at + PAGE, ALTSTACK, PROT_READ | PROT_WRITE, PKEY_SHARED)
			  : mprotect(at + PAGE, ALTSTACK, PROT_READ | PROT_WRITE)) < 0) {
			snprintf(err, errlen, "cannot set up a signal stack: %s", strerror(errno));
			if (at != MAP_FAILED)
				munmap(at, PAGE + ALTSTACK);
			return -1;
		}
		alt[level] = (char *)at + PAGE;
	}
	stack_t ss = {.ss_sp = alt[level], .ss_size = ALTSTACK, .ss_flags = (int)AUTODISARM};
	if (sigaltstack(&ss, NULL) < 0) {
		snprintf(err, errlen, "cannot arm a signal stack: %s", strerror(errno));
		return -1;
	}
	use_sigstack(level);
	return 0;
}

/* The thread's first signal stack (level 0), and the signal mask domains
 * run with (entry_upcall): the thread's own, but the watchdog's signal,
 * which the runtime's code blocks here (on_watchdog) and domain and
 * gate code take. */
static sigset_t domain_mask;

static int altstack(char *err, size_t errlen)
{
	sigset_t watchdog;
	sigemptyset(&watchdog);
	sigaddset(&watchdog, HWATCH_SIGNAL);
	sigprocmask(SIG_BLOCK, &watchdog, &domain_mask);
	sigdelset(&domain_mask, HWATCH_SIGNAL);
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

/*
 * This thread's syscall user dispatch (THE INVARIANT above): its selector
 * on a fresh page of key GATE_RO (under keys), ALLOW for now, and Linux's
 * allowed region exactly the address after entry_sigreturn's `syscall`
 * (Linux compares the instruction pointer after the instruction: an
 * allowed region of one byte there admits that `syscall` and nothing
 * else). Each thread that enters domains needs its own.
 */
static int confine_thread(char *err, size_t errlen)
{
	uint8_t *page =
		mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED ||
	    (keys && pkey_mprotect(page, 4096, PROT_READ | PROT_WRITE, PKEY_GATE_RO) < 0)) {
		snprintf(err, errlen, "cannot map the dispatch selector: %s", strerror(errno));
		return -1;
	}
	entry_selector = page;
	*entry_selector = SUD_ALLOW;
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON,
		  (unsigned long)entry_sigreturn_end, 1ul, page) < 0) {
		snprintf(err, errlen,
			 "cannot turn on syscall user dispatch (Linux 5.11 or later): %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* Install handler for sig with the runtime's own restorer (glibc's
 * sigaction would put its own there: ksigaction.h) and every signal
 * blocked while it runs (see the handlers' comment above). */
uint64_t entry_fs_base, entry_gs_base;

/* The bases the handler entries write back: this thread's, the one that
 * enters domains (hgate_init pointed its GS base at its GATE_RO page).
 * WRFSBASE and WRGSBASE need Linux to have turned FSGSBASE on. */
static int record_bases(char *err, size_t errlen)
{
	uint64_t gs = 0;
	if (!(getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE)) {
		snprintf(err, errlen,
			 "the handlers need WRFSBASE and WRGSBASE, which this kernel has not "
			 "enabled (AT_HWCAP2 lacks FSGSBASE: Linux 5.9 or later on a CPU with it)");
		return -1;
	}
	if (syscall(SYS_arch_prctl, ARCH_GET_GS, &gs) < 0 || !gs) {
		snprintf(err, errlen, "cannot read the GS base the gate uses: %s",
			 gs ? strerror(errno) : "0 (hgate_init has not run)");
		return -1;
	}
	uint64_t fs = (uint64_t)__builtin_thread_pointer();
	if (entry_fs_base && (entry_fs_base != fs || entry_gs_base != gs)) {
		snprintf(err, errlen, "domains are entered from one thread per process");
		return -1;
	}
	entry_fs_base = fs;
	entry_gs_base = gs;
	return 0;
}

static int handle(int sig, void (*handler)(int, siginfo_t *, void *))
{
	struct ksigaction sa = {.handler = (void *)handler,
				.flags = SA_SIGINFO | SA_ONSTACK | KSA_RESTORER,
				.restorer = entry_sigreturn,
				.mask = ~0ull};
	return (int)syscall(SYS_rt_sigaction, sig, &sa, NULL, sizeof sa.mask);
}

int entry_init(int use_keys, char *err, size_t errlen)
{
	/* SIGTRAP too: a domain's int3, icebp or trap flag (#BP, #DB) fails
	 * that domain as in the VM; unhandled, its default action killed the
	 * whole process. */
	static const int faults[] = {SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGTRAP};
	keys = use_keys;
	__asm__("movw %%cs, %0\n\tmovw %%ss, %1" : "=r"(user_cs), "=r"(user_ss));
	/* The runtime's own rights: every key (PKRU 0), so it reads and
	 * writes every domain's memory and its own, as the VM's kernel does.
	 * It has them without a WRPKRU of its own (pkeys_layout), and keeps
	 * them: the keyed handler entries write 0 too. */
	if (keys && rdpkru() != 0) {
		snprintf(err, errlen, "the runtime's rights are PKRU %#x, not 0 (every key)",
			 rdpkru());
		return -1;
	}
	/* The signal stack first: the keyed entries accept no frame outside it;
	 * and the bases every entry writes back. */
	if (altstack(err, errlen) < 0 || record_bases(err, errlen) < 0)
		return -1;
	while (!entry_sigreturn_token)
		if (getrandom(&entry_sigreturn_token, sizeof entry_sigreturn_token, 0) !=
		    sizeof entry_sigreturn_token) {
			snprintf(err, errlen, "cannot draw the signal return's secret: %s",
				 strerror(errno));
			return -1;
		}
	for (unsigned i = 0; i < sizeof faults / sizeof faults[0]; i++)
		if (handle(faults[i], keys ? entry_keyed_fault : entry_plain_fault) < 0)
			goto fail;
	if (handle(SIGSYS, keys ? entry_keyed_sigsys : entry_plain_sigsys) < 0 ||
	    (!keys && handle(HWATCH_SIGNAL, entry_plain_fault) < 0))
		goto fail;
	if ((keys && rseq_off(err, errlen) < 0) || confine_thread(err, errlen) < 0)
		return -1;
	return install_filter(err, errlen);
fail:
	snprintf(err, errlen, "rt_sigaction: %s", strerror(errno));
	return -1;
}

int entry_upcall(struct hosted_domain *d, uint64_t fn, const long a[4], long *result, char *why,
		 size_t whylen)
{
	long err;
	uint32_t outer_rights = gate_rights; /* a nested upcall's handler's domain's */
	/* Nested when made from a SIGSYS handler of the current upcall
	 * (hdom_create for a domain's SYS_DOMAIN_CREATE). */
	struct upcall u = {.outer = current,
			   .level = current ? current->level + 1 : 0,
			   .floor = hgate_depth(),
			   .d = d,
			   .why = why,
			   .whylen = whylen};
	if (arm_altstack(u.level, why, whylen) < 0)
		return -1;
	uint64_t refused = 0;
	uint64_t sp = hgate_upcall_push(d, &err, &refused);
	if (!sp) {
		if (err == -MAPLE_ECALLEE) { /* the VM's reason and line (domain_fail) */
			snprintf(why, whylen,
				 "gate: thread slot 0 would enter it at %#lx, outside its stack "
				 "there",
				 (unsigned long)refused);
			hdom_fail(d, why);
		} else {
			snprintf(why, whylen, "cannot enter %s: %s", d->name,
				 err == -MAPLE_EDEAD ? "it does not run" : "too deep");
		}
		if (u.outer) /* the handler goes on: on its own level's stack */
			use_sigstack(u.outer->level);
		return -1;
	}
	/* The return address, as gate_upcall pushes it; sp is 16-byte aligned,
	 * so %rsp + 8 is at the function's entry (psABI 3.2.2). */
	*(uint64_t *)(sp - 8) = MAPLE_GATE_RETURN_VA;
	struct hosted_jump j = {.fn = fn,
				.rsp = sp - 8,
				.pkru = d->pkey >= 0 ? PKRU_DOMAIN(d->pkey) : 0,
				.keys = keys && d->pkey >= 0,
				.selector = entry_selector};
	volatile int how = sigsetjmp(u.back, 1);
	if (how == 0) {
		current = &u;
		/* The domain runs with the mask every domain runs with: the
		 * watchdog's signal open (the runtime's is back with siglongjmp:
		 * sigsetjmp saved it). Nested in a handler, whose own code runs
		 * with its signal blocked (and whatever else its sa_mask blocks),
		 * the new domain traps and faults like any other, as Linux forces
		 * a blocked seccomp SIGSYS or fault signal to its default action,
		 * a kill of the whole process. The handler's frame stays whole
		 * below: this level has its own signal stack. */
		sigprocmask(SIG_SETMASK, &domain_mask, NULL);
		if (u.outer)
			key_sigstack(u.outer->level, 0);
		gate_rights = j.pkru;
		hosted_enter(a[0], a[1], a[2], a[3], &j);
	}
	/* Back through a handler, whose entry (sigentry.S) wrote PKRU 0: the
	 * runtime's own rights, as before the upcall (0, in the runtime and in
	 * a handler alike; siglongjmp leaves PKRU alone), and the enclosing
	 * upcall current again, with its signal stack the keyed entries accept.
	 * That stack is armed again by the rt_sigreturn that ends the handler
	 * this ran in (the frame's uc_stack), or by the next upcall.
	 *
	 * This level's signal stack is dead now (the handler that came back
	 * ran on it), and it is SHARED: the frames and C handler frames left
	 * there (the domains' registers and vector state, runtime addresses,
	 * a SYS_LOG line a handler copied) would be there for the next
	 * upcall's domains to read. Its pages go back to zero fill. What a
	 * handler leaves there while its upcall still runs stays
	 * (docs/platform.md, "What it cannot enforce"). */
	if (madvise(alt[u.level], ALTSTACK, MADV_DONTNEED) < 0) {
		fprintf(stderr, "hosted: cannot clear signal stack %u: %s\n", u.level,
			strerror(errno));
		abort(); /* a stack that keeps another domain's state: stop, not go on */
	}
	if (u.outer) {
		key_sigstack(u.outer->level, PKEY_SHARED);
		use_sigstack(u.outer->level);
	}
	current = u.outer;
	gate_rights = outer_rights;
	if (how == 2)
		*result = u.result;
	return how == 2 ? 0 : -1;
}
