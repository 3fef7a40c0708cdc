/*
 * entry: how a domain reaches the hosted runtime, and how it fails.
 *
 * THE INVARIANT: no system call made by domain or gate code reaches Linux,
 * wherever the instruction lies; only the runtime's own code makes Linux
 * system calls. filter.c holds it (syscall user dispatch over a seccomp
 * filter); what reaches the runtime arrives here as a SIGSYS.
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
 * Handlers run on a signal stack of the runtime's (a domain's stack is
 * its own memory; sigstack.c), with known rights (sigentry.S writes PKRU 0
 * first) and restore the interrupted ones exactly (entry_upcall,
 * sigstack_set_pkru).
 * They are entered synchronously from domain or gate code, never from
 * runtime code, so the runtime holds no lock and is inside no stdio call
 * when they run; the one asynchronous signal, the watchdog's, acts only
 * where domain or gate code was interrupted (on_watchdog) and leaves the
 * runtime's own code as it found it. They run with every signal blocked
 * (their sa_mask): no signal frame is written while one runs, so none can
 * catch the secret in entry_sigreturn's %rdi, and a fault of the runtime's
 * own inside one kills the process (Linux's answer to a blocked
 * synchronous signal) rather than passing for a domain's.
 */
#define _GNU_SOURCE
#include "entry.h"

#include "dispatch.h"
#include "domains.h"
#include "filter.h"
#include "gate.h"
#include "inject.h"
#include "jump.h"
#include "runtime.h"
#include "sigstack.h"
#include "watchdog.h"

#include <core/log.h>
#include <domain/gate_layout.h>
#include <maple/abi.h>

#include <errno.h>
#include <linux/audit.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <ucontext.h>

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

#define SYSCALL_LEN 2 /* `syscall` and `int 0x80`: si_call_addr is the address after */

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

/* entry_sigreturn resumes the runtime's own code with ALLOW (entry.h). */
__thread uint8_t entry_resume_runtime;

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
	/* Its first failure's reason, for its other threads: one that returns
	 * or calls into it later fails with it (the SYS_RETURN below). */
	if (d && hgate_fail(d)) {
		if (u->why != d->fail_reason) /* an init's is that buffer */
			snprintf(d->fail_reason, sizeof d->fail_reason, "%s", u->why);
		hgate_kick(d); /* its threads elsewhere unwind with that reason */
	}
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
	if (keys && sigstack_set_pkru(uc, pkru) < 0)
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

/* u fails for the reason d's failure recorded (a destroy's, a kill's). For
 * an init's upcall u->why is that very buffer (h_run_init), which must not
 * be formatted onto itself (snprintf's source and destination may not
 * overlap). */
static void fail_for_its_reason(struct upcall *u, const struct hosted_domain *d)
{
	if (u->why == d->fail_reason) {
		if (!u->why[0])
			fail_now(u, "failed");
		return;
	}
	fail_now(u, "%s", d->fail_reason[0] ? d->fail_reason : "failed");
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
	} else if (!filter_trapped_at(ip)) {
		/* Dispatch blocked a `syscall` of the runtime's own code while
		 * domain or gate code ran: a domain jumped there. */
		fail_now(u, "a system call (%d) at %#lx outside the domains and the gate",
			 si->si_syscall, (unsigned long)(ip - SYSCALL_LEN));
		fail_domain(u, si, ctx);
	} else if (si->si_syscall == SYS_RETURN && from_gate && d &&
		   hgate_state(d) != GATE_DOMAIN_RUNNING) {
		/* THE INVARIANT (the VM's gate_return): a callee that failed has
		 * no result to give; the runtime that called it hears the failure.
		 * A domain can fail while this call of it runs on: a thread of
		 * its own panicked meanwhile, or it was destroyed while its call
		 * was out in another (it stays failed) and runs on in its own code
		 * once that call returns, the gate checking only the returning
		 * callee, so it may reach here without another system call (its
		 * result was taken as the upcall's: attack6). */
		fail_for_its_reason(u, d);
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
	} else if (si->si_syscall == SYS_THREAD_EXIT) {
		/* Ends the current upcall (a domain thread's, or the runtime's
		 * call) with 0, as the VM's upcall_resume(ctx, 0), if every frame
		 * above it is d's own; else its error, and the VM's line. */
		long r = hgate_exit_thread(u->floor);
		if (r == 0) {
			u->result = 0;
			siglongjmp(u->back, 2);
		}
		if (r == -MAPLE_EPERM && authority_log_refusal(d->name, d->id, &d->refusals))
			klog("domain: %s may not end its thread: another domain's call is in "
			     "progress on it",
			     d->name);
		g[REG_RAX] = r;
	} else if (si->si_syscall == SYS_PANIC) {
		char msg[DISPATCH_LOG_MAX] = "";
		uint64_t len = (uint64_t)g[REG_RSI];
		uint64_t n = len < sizeof msg - 1 ? len : sizeof msg - 1;
		if (hgate_owns(d, g[REG_RDI], n))
			memcpy(msg, (const void *)g[REG_RDI], n);
		fail_now(u, "panicked: %.*s", (int)n, msg);
		fail_domain(u, si, ctx);
	} else {
		g[REG_RAX] = dispatch_syscall(d, si->si_syscall, g);
		/* As the VM's way back to ring 3 (gate_return_to_user): a domain
		 * failed while it ran (killed, or destroyed with its call in
		 * progress) unwinds now rather than running on; the gate's
		 * callee_failed loops on SYS_NULL waiting for exactly this. */
		if (hgate_state(d) != GATE_DOMAIN_RUNNING) {
			fail_for_its_reason(u, d);
			fail_domain(u, si, ctx);
			return;
		}
		/* Back to the caller through rt_sigreturn, with the rights the
		 * gate holds for this thread (the caller's own: a domain's
		 * system call interrupts nothing else), whatever PKRU the frame
		 * says: the frame may be a forgery (sigentry.S). */
		if (keys && sigstack_set_pkru(ctx, hgate_expected_pkru()) < 0) {
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
	/* #AC: a misaligned access with RFLAGS.AC set (Linux sets CR0.AM). */
	if (sig == SIGBUS && code == BUS_ADRALN)
		return "BUS_ADRALN";
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
 * The watchdog's signal (watchdog.c, HWATCH_SIGNAL), aimed at this thread's
 * slot, through the fault handlers' entry. Blocked while the runtime runs
 * here (runtime_mask) and in every handler (their sa_mask), it can still land in
 * the runtime's few instructions between opening it for an upcall and
 * entering the domain, or arrive for a call that has ended since. Where the
 * thread was comes from the selector, which says BLOCK exactly while domain
 * or gate code runs (THE INVARIANT above) and lies on a page no domain can
 * write: ALLOW is the runtime, resumed as it was (entry_sigreturn keeps
 * ALLOW). Otherwise hwatch_judge decides from the gate's trusted state, and
 * the thread goes on, or unwinds as from a fault. Whether it held the gate's
 * rights: under keys the PKRU Linux saved in the frame, which lies in the
 * runtime's key-0 memory and which the keyed entry took only as Linux wrote
 * it for this delivery (sigentry.S); without keys, what the emulated
 * WRPKRUs would have given. A thread that goes on is resumed with the
 * frame's rights as Linux saved them: the interrupted ones, those of a
 * raised pass included.
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
	uint32_t rights = gate_rights;
	if (keys && sigstack_get_pkru(ctx, &rights) < 0)
		abort(); /* a frame not of Linux's making passed the entry: stop, not guess */
	int raised = rights == PKRU_GATE;
	enum hwatch_verdict v = hwatch_judge(rip - MAPLE_GATE_VA < runtime_gatepage()->size, raised,
					     u->why, u->whylen);
	/* THE INVARIANT (the VM's tick on its way back to ring 3, the kick's
	 * answer: hgate_kick): a thread whose current domain failed unwinds
	 * here exactly as at its next system call (entry_on_sigsys, after
	 * dispatch), with the failure's first reason, so one spinning in the
	 * failed domain's code without a system call is not left there. The
	 * current domain is the gate's trusted word for this thread, never the
	 * frame; a thread in another, running domain (its callee's call runs
	 * on: unwind_failed's callee_running) goes on, and one in a raised
	 * pass finishes it and unwinds at a later signal (a destroy's drain
	 * kicks again), as hwatch_judge's LATER. */
	struct hosted_domain *d = hgate_current();
	if (v == HWATCH_GO_ON && !raised && d && hgate_state(d) != GATE_DOMAIN_RUNNING) {
		fail_for_its_reason(u, d);
		v = HWATCH_UNWIND;
	}
	if (v == HWATCH_UNWIND)
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
		if (!keys || sigstack_set_pkru(ctx, hgate_expected_pkru()) == 0)
			return;
		fail_now(u, "a fault at %s with a signal frame not of Linux's making", at);
		fail_domain(u, si, ctx);
		return;
	}
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
	fail_domain(u, si, ctx);
}

static uint32_t rdpkru(void)
{
	uint32_t eax, edx;
	__asm__ volatile("rdpkru" : "=a"(eax), "=d"(edx) : "c"(0));
	return eax;
}

/* The signal masks of every thread that enters domains (take_signals):
 * the runtime's code runs with runtime_mask, which blocks the watchdog's
 * signal (on_watchdog), and domains with domain_mask, which opens it (a
 * nested upcall, made from a handler, which blocks every signal, sets it
 * again: entry_upcall). Else both are the thread's mask at entry_init, less
 * the signals the runtime handles. */
static sigset_t runtime_mask, domain_mask;

/*
 * THE INVARIANT: a domain's fault or system call reaches its handler here,
 * never the default action of a blocked signal: Linux forces a synchronous
 * signal (a fault's; seccomp's and syscall user dispatch's SIGSYS) that the
 * thread blocks to its default action, a kill of the whole process. A
 * signal mask survives exec, so a launcher that had blocked SIGSEGV or
 * SIGSYS let any domain's null dereference or system call kill the runtime
 * (hosted/inherited-blocked-signals-fail-only-the-domain). The thread that
 * enters domains unblocks them all before any domain runs; the runtime
 * blocks none of them again outside a handler (runtime_mask blocks only
 * the watchdog's, which is asynchronous: blocked, it waits), a handler
 * runs domain code only in a nested upcall, which sets domain_mask, a
 * domain thread starts with runtime_mask, and each upcall's siglongjmp
 * gives its caller back the mask it had. Pending signals
 * survive exec too: one of these queued while blocked (by another process)
 * reached its handler at the unblock with no upcall to fail, and SIGSYS's
 * aborted, a fault's reset itself to the default action for the next domain
 * fault (hosted/inherited-pending-signals-are-discarded). Setting each to
 * SIG_IGN before its handler discards it (POSIX sigaction).
 */
static int take_signals(const int *faults, unsigned n, char *err, size_t errlen)
{
	sigset_t handled;
	sigemptyset(&handled);
	sigaddset(&handled, SIGSYS);
	sigaddset(&handled, HWATCH_SIGNAL); /* through the fault entry: on_watchdog */
	for (unsigned i = 0; i < n; i++)
		sigaddset(&handled, faults[i]);
	for (int sig = 1; sig < NSIG; sig++) {
		void (*handler)(int, siginfo_t *, void *) =
			sig == SIGSYS ? (keys ? entry_keyed_sigsys : entry_plain_sigsys)
				      : (keys ? entry_keyed_fault : entry_plain_fault);
		if (sigismember(&handled, sig) == 1 &&
		    (signal(sig, SIG_IGN) == SIG_ERR || sigstack_handle(sig, handler) < 0)) {
			snprintf(err, errlen, "cannot handle SIG%s: %s", sigabbrev_np(sig),
				 strerror(errno));
			return -1;
		}
	}
	if (sigprocmask(SIG_UNBLOCK, &handled, NULL) < 0 ||
	    sigprocmask(SIG_SETMASK, NULL, &domain_mask) < 0) {
		snprintf(err, errlen, "cannot unblock the signals domains raise: %s",
			 strerror(errno));
		return -1;
	}
	runtime_mask = domain_mask;
	sigaddset(&runtime_mask, HWATCH_SIGNAL);
	if (sigprocmask(SIG_SETMASK, &runtime_mask, NULL) < 0) {
		snprintf(err, errlen, "cannot block the watchdog's signal in the runtime: %s",
			 strerror(errno));
		return -1;
	}
	return 0;
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
	/* The signal stack first: the keyed entries accept no frame but the
	 * one Linux puts on it; and the bases every entry writes back. */
	if (sigstack_init(err, errlen) < 0 ||
	    take_signals(faults, sizeof faults / sizeof faults[0], err, errlen) < 0)
		return -1;
	if ((keys && sigstack_rseq_off(err, errlen) < 0) ||
	    filter_confine_thread(keys, err, errlen) < 0)
		return -1;
	return filter_install(err, errlen);
}

/*
 * A domain thread's own runtime state, each piece per thread as Linux
 * keeps it: the runtime's signal mask (the thread was made inside a SIGSYS
 * handler, every signal blocked: a domain fault then would kill the
 * process; its upcalls open the watchdog's signal), its gate pages and GS
 * base (hgate_thread_attach), the bases its handler entries write back,
 * under keys no rseq area (Linux writes it with the domain's rights), and
 * syscall user dispatch with a selector of its own (a prctl of the calling
 * thread only). The seccomp filter it inherited. Its signal stacks come
 * with its first upcall.
 */
int entry_thread_begin(unsigned slot, char *err, size_t errlen)
{
	sigprocmask(SIG_SETMASK, &runtime_mask, NULL);
	if (hgate_thread_attach(slot, err, errlen) < 0) {
		hgate_slot_give_back(slot);
		return -1;
	}
	if (sigstack_bases(err, errlen) < 0 || (keys && sigstack_rseq_off(err, errlen) < 0) ||
	    filter_confine_thread(keys, err, errlen) < 0) {
		entry_thread_end(); /* gives the slot back too */
		return -1;
	}
	return 0;
}

void entry_thread_end(void)
{
	/* Dispatch off before its selector's page goes: Linux reads the
	 * selector at every system call while it is on. */
	prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0ul, 0ul, 0ul);
	if (entry_selector)
		munmap((void *)entry_selector, 4096);
	entry_selector = NULL;
	entry_bases[hgate_thread_slot()] = (struct entry_bases){0};
	hgate_thread_detach();
}

/* The outermost upcall of a thread leaves: no stack of its is a place a
 * handler may start from (a jump to an entry with %rsp there traps). */
static void upcall_over(const struct upcall *u)
{
	if (!u->outer)
		entry_sigstack = (struct entry_sigstack){0};
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
	if (sigstack_arm(u.level, why, whylen) < 0) {
		upcall_over(&u);
		return -1;
	}
	uint64_t refused = 0;
	uint64_t sp = hgate_upcall_push(d, &err, &refused);
	if (!sp) {
		if (err == -MAPLE_ECALLEE) { /* the VM's reason and line (domain_fail) */
			snprintf(why, whylen,
				 "gate: thread slot %u would enter it at %#lx, outside its stack "
				 "there",
				 hgate_thread_slot(), (unsigned long)refused);
			hdom_fail(d, why);
		} else {
			snprintf(why, whylen, "cannot enter %s: %s", d->name,
				 err == -MAPLE_EDEAD ? "it does not run" : "too deep");
		}
		if (u.outer) /* the handler goes on: on its own level's stack */
			sigstack_use(u.outer->level);
		upcall_over(&u);
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
		gate_rights = j.pkru;
		hosted_enter(a[0], a[1], a[2], a[3], &j);
	}
	/* Back through a handler, whose entry (sigentry.S) wrote PKRU 0: the
	 * runtime's own rights, as before the upcall (0, in the runtime and in
	 * a handler alike; siglongjmp leaves PKRU alone), and the enclosing
	 * upcall current again, with its signal stack the keyed entries accept.
	 * That stack is armed again by the rt_sigreturn that ends the handler
	 * this ran in (the frame's uc_stack), or by the next upcall. What the
	 * handlers left on this level's stack stays there, in key-0 memory. */
	sigstack_retire(u.level);
	if (u.outer)
		sigstack_use(u.outer->level);
	current = u.outer;
	gate_rights = outer_rights;
	upcall_over(&u);
	if (how == 2)
		*result = u.result;
	return how == 2 ? 0 : -1;
}
