/*
 * sigstack: the signal stacks the runtime's handlers run on, the frames
 * Linux writes there, and what else signal delivery needs of a thread that
 * enters domains (its FS and GS bases, no rseq area, the handlers'
 * restorer). entry.c's handlers and upcalls use it; sigentry.S checks the
 * frames it accepts against entry_sigstack.
 */
#define _GNU_SOURCE
#include "sigstack.h"

#include "entry.h"
#include "gate.h"
#include "jump.h"
#include "ksigaction.h"

#include <domain/gate_layout.h>
#include <maple/abi.h>

#include <asm/hwcap2.h>
#include <asm/prctl.h>
#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

_Static_assert(SIGSTACK_LO == offsetof(struct entry_sigstack, lo) &&
		       SIGSTACK_HI == offsetof(struct entry_sigstack, hi) &&
		       SIGSTACK_FRAME == offsetof(struct entry_sigstack, frame),
	       "jump.h's offsets are struct entry_sigstack's");

/* The signal stack of the level whose domain code this thread runs
 * (sigstack_use); the keyed entries (sigentry.S) accept only the frame
 * at its .frame, and sigstack_set_pkru only an XSAVE area inside it. */
__thread struct entry_sigstack entry_sigstack;

#define ALTSTACK ENTRY_SIGSTACK_BYTES
#define PAGE	 4096u
/* Upcalls nested in SIGSYS handlers (a domain's SYS_DOMAIN_CREATE runs the
 * new domain's init there, whose own init may create another): one
 * signal stack each, so at most the gate's depth. */
#define ALT_LEVELS GATE_MAX_DEPTH
_Static_assert(ALTSTACK >= 3 * SIGSTACK_HEADROOM, "the signal stack holds the handlers' headroom");
_Static_assert((uint64_t)ALT_LEVELS *(PAGE + ALTSTACK) <= 1ull << SIGSTACKS_SHIFT,
	       "a thread slot's signal stacks fit its share of SIGSTACKS_VA");
_Static_assert(SIGSTACKS_VA >= MAPLE_DOMAIN_BASE + PKEY_COUNT * MAPLE_DOMAIN_SLOT &&
		       SIGSTACKS_VA + ((uint64_t)GATE_MAX_THREADS << SIGSTACKS_SHIFT) <=
			       1ull << 47 &&
		       (SIGSTACKS_VA >> SIGSTACKS_SHIFT) < (1ull << 31) &&
		       sizeof(struct entry_bases) == 1u << BASES_SHIFT &&
		       offsetof(struct entry_bases, fs) == BASES_FS &&
		       offsetof(struct entry_bases, gs) == BASES_GS &&
		       offsetof(struct entry_bases, tid) == BASES_TID,
	       "jump.h's signal stack region and entry_bases layout for sigentry.S");

/*
 * Every upcall needs a signal stack of its own, and every one is the
 * runtime's memory (key 0), which no domain's rights reach, raised by the
 * gate or not. Linux 6.12 and later write a signal frame with every key
 * enabled, whatever the interrupted code held, and enter the handler with
 * their default rights (init_pkru: key 0 only), so a frame on key-0 memory
 * is delivered from any domain and from the gate (pkeys.c refuses keys on
 * a kernel that does not: its probe). THE INVARIANT: no domain reads or
 * writes a signal frame or what a handler leaves on its stack: the frames
 * of its own signals, of another domain's in the same upcall, of a handler
 * suspended under a nested upcall, and the runtime's C frames and return
 * addresses there. A page below each is mapped with no access, so a
 * handler that ran out of stack faults rather than writing other runtime
 * memory.
 *
 * Why one per upcall level: an upcall made from inside a SIGSYS handler
 * (the init of a domain another domain creates) runs domain code while
 * that handler's frame is live on its signal stack, and Linux delivers a
 * signal interrupting code that is not on the armed signal stack at that
 * stack's top: a single stack would be overwritten under the live frame.
 * So each upcall arms the stack of its own level before it enters the
 * domain, with SS_AUTODISARM: delivery disarms it (saving it in the
 * frame's uc_stack, which rt_sigreturn restores), so the handler may arm
 * the next level's for a nested upcall, below which nothing is live. With
 * SS_AUTODISARM Linux never takes the interrupted %rsp for one on the
 * signal stack (on_sig_stack is false), so every frame of a level lies at
 * the same address, frame_offset below its top; the keyed entries accept
 * that address only (entry_sigstack.frame). entry_sigstack always names
 * the level whose domain code runs, the one stack a signal can arrive on
 * (sigstack_use): the upcall sets it, and the return from a nested one
 * sets the enclosing level's again.
 */
#define AUTODISARM (1u << 31) /* Linux's SS_AUTODISARM (uapi linux/signal.h, 4.7 on) */

/* Which of its levels' stacks each thread slot has mapped, written only by
 * the slot's thread (and read by the tests' sigstack_frame_of); a slot's
 * stacks stay for its next thread. */
static uint8_t alt_mapped[GATE_MAX_THREADS][ALT_LEVELS];

/* The lowest address of this thread's signal stack of `level`: each thread
 * slot's stacks lie in its own share of SIGSTACKS_VA (jump.h), one guard
 * page below each, so the entries find the thread's bases from %rsp. */
static char *alt_at(unsigned level)
{
	return (char *)(SIGSTACKS_VA + ((uint64_t)hgate_thread_slot() << SIGSTACKS_SHIFT) +
			(uint64_t)level * (PAGE + ALTSTACK) + PAGE);
}

/* How far below a signal stack's top Linux puts a handler's %rsp (the
 * struct rt_sigframe under the XSAVE area: its size is the CPU's and the
 * kernel's), measured once by measure_frame. */
static uint64_t frame_offset;

uint64_t entry_level_stack(unsigned level)
{
	return level < ALT_LEVELS && alt_mapped[hgate_thread_slot()][level]
		       ? (uint64_t)alt_at(level)
		       : 0;
}

uint64_t sigstack_frame(unsigned level)
{
	return (uint64_t)alt_at(level) + ALTSTACK - frame_offset;
}

uint64_t sigstack_frame_of(unsigned slot, unsigned level)
{
	if (slot >= GATE_MAX_THREADS || level >= ALT_LEVELS ||
	    !__atomic_load_n(&alt_mapped[slot][level], __ATOMIC_ACQUIRE))
		return 0;
	return sigstack_frame(level) +
	       (((uint64_t)slot - hgate_thread_slot()) << SIGSTACKS_SHIFT); /* its share */
}

/* The keyed entries and sigstack_set_pkru accept level's frame only. */
void sigstack_use(unsigned level)
{
	uint64_t hi = (uint64_t)alt_at(level) + ALTSTACK;
	entry_sigstack = (struct entry_sigstack){
		.lo = (uint64_t)alt_at(level), .hi = hi, .frame = hi - frame_offset};
}

int sigstack_arm(unsigned level, char *err, size_t errlen)
{
	if (level >= ALT_LEVELS) {
		snprintf(err, errlen, "upcalls nested %u deep", level);
		return -1;
	}
	uint8_t *mapped = &alt_mapped[hgate_thread_slot()][level];
	if (!*mapped) {
		uint8_t *want = (uint8_t *)alt_at(level) - PAGE;
		uint8_t *at = mmap(want, PAGE + ALTSTACK, PROT_NONE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (at != want || mprotect(at + PAGE, ALTSTACK, PROT_READ | PROT_WRITE) < 0) {
			snprintf(err, errlen, "cannot set up signal stack %u at %p: %s", level,
				 (void *)(want + PAGE),
				 at == MAP_FAILED ? strerror(errno)
				 : at != want	  ? "placed elsewhere"
						  : strerror(errno));
			if (at != MAP_FAILED)
				munmap(at, PAGE + ALTSTACK);
			return -1;
		}
		__atomic_store_n(mapped, 1, __ATOMIC_RELEASE); /* sigstack_frame_of reads it */
	}
	stack_t ss = {.ss_sp = alt_at(level), .ss_size = ALTSTACK, .ss_flags = (int)AUTODISARM};
	if (sigaltstack(&ss, NULL) < 0) {
		snprintf(err, errlen, "cannot arm a signal stack: %s", strerror(errno));
		return -1;
	}
	sigstack_use(level);
	return 0;
}

/*
 * A frame a handler left by siglongjmp (a failed domain) was never
 * returned through, so entry_sigreturn did not mark it consumed: mark it
 * here, so that no later jump to a handler's entry (sigentry.S) finds a
 * live-looking frame of a domain that is gone at that address.
 */
void sigstack_retire(unsigned level)
{
	uint64_t frame = (uint64_t)alt_at(level) + ALTSTACK - frame_offset;
	((siginfo_t *)(frame + SIGFRAME_INFO))->si_signo = 0;
}

/* measure_frame's handler: where Linux put the frame (its ucontext's place). */
static volatile uint64_t measured_at;
static void measured(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	measured_at = (uint64_t)ctx - SIGFRAME_UC;
}

/*
 * frame_offset, from one real delivery onto level 0's signal stack (armed,
 * SS_AUTODISARM, as every upcall arms it): a SIGUSR1 the thread sends
 * itself before any handler of the runtime is installed. It must leave a
 * handler SIGSTACK_HEADROOM below the frame.
 */
static int measure_frame(char *err, size_t errlen)
{
	struct sigaction sa = {.sa_sigaction = measured, .sa_flags = SA_SIGINFO | SA_ONSTACK}, old;
	uint64_t top = (uint64_t)alt_at(0) + ALTSTACK;
	sigset_t usr1, mask;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	measured_at = 0;
	/* Unblocked for the raise only: a caller may have blocked it. */
	if (sigaction(SIGUSR1, &sa, &old) < 0 || sigprocmask(SIG_UNBLOCK, &usr1, &mask) < 0 ||
	    raise(SIGUSR1) != 0 || sigprocmask(SIG_SETMASK, &mask, NULL) < 0 ||
	    sigaction(SIGUSR1, &old, NULL) < 0) {
		snprintf(err, errlen, "cannot measure the signal frame: %s", strerror(errno));
		return -1;
	}
	frame_offset = top - measured_at;
	if (measured_at % 16 != 8 || frame_offset < SIGFRAME_BYTES ||
	    frame_offset > ALTSTACK - SIGSTACK_HEADROOM) {
		snprintf(err, errlen,
			 "Linux put the measuring signal's frame at %#lx, not 8 past a 16-byte "
			 "boundary between %d bytes and %u KiB below the signal stack's top %#lx",
			 (unsigned long)measured_at, SIGFRAME_BYTES,
			 (ALTSTACK - SIGSTACK_HEADROOM) >> 10, (unsigned long)top);
		return -1;
	}
	/* The measuring frame lies where every frame of level 0 goes, and its
	 * signal was handled (by glibc's restorer, which marks nothing): it is
	 * marked consumed like any other, or the keyed entries took it for a
	 * live frame until level 0's first signal (a domain jumping to one as
	 * its init's first act had a handler run on the runtime's start-up
	 * registers: sigframe-no-frame-is-live-before-a-domain-runs). */
	sigstack_retire(0);
	return sigstack_arm(0, err, errlen); /* delivery disarmed it; entry_sigstack.frame */
}

/* The rights rt_sigreturn will give the interrupted code: the PKRU
 * component (XSAVE component 9) of the XSAVE area in the signal frame. Its
 * offset is CPUID.(EAX=0DH,ECX=9):EBX (Intel SDM Vol. 1, 13.2); the frame
 * is in XSAVE format when its software bytes (offset 464 of the legacy
 * area, Linux's struct _fpx_sw_bytes) hold FP_XSTATE_MAGIC1 and name the
 * component; XSTATE_BV (offset 512, SDM 13.4.2) must then have bit 9 set,
 * or XRSTOR would put PKRU in its init state (0: every key) instead.
 *
 * The keyed entries take only the frame Linux wrote (sigentry.S), and
 * still its area's pointer is trusted no further than the signal stack:
 * every byte read or written here with PKRU 0 must lie in it, or this
 * writes nothing and fails (-1). The PKRU written comes from the caller,
 * out of the gate's TRUSTED state, never from the frame; the one read is
 * the watchdog's (entry.c, on_watchdog: which rights it interrupted). */
#define XFEATURE_PKRU 9
#define XSAVE_HEADER  512 /* XSTATE_BV, then XCOMP_BV */
static int in_sigstack(const uint8_t *p, uint64_t n)
{
	uint64_t lo = entry_sigstack.lo, hi = entry_sigstack.hi;
	return (uint64_t)p >= lo && n <= hi - lo && (uint64_t)p - lo <= hi - lo - n;
}

/* Where the frame's PKRU component lies, or NULL. */
static uint8_t *pkru_slot(ucontext_t *uc)
{
	uint8_t *x = (uint8_t *)uc->uc_mcontext.fpregs;
	uint32_t magic, a, off, c, d;
	uint64_t features;
	if (!x || !in_sigstack(x, XSAVE_HEADER + 8))
		return NULL;
	memcpy(&magic, x + 464, 4);
	memcpy(&features, x + 464 + 8, 8);
	if (magic != FP_XSTATE_MAGIC1 || !(features >> XFEATURE_PKRU & 1) ||
	    !__get_cpuid_count(0xd, XFEATURE_PKRU, &a, &off, &c, &d) || !off ||
	    !in_sigstack(x, (uint64_t)off + 4))
		return NULL;
	return x + off;
}

int sigstack_set_pkru(ucontext_t *uc, uint32_t pkru)
{
	uint8_t *at = pkru_slot(uc), *x = (uint8_t *)uc->uc_mcontext.fpregs;
	if (!at)
		return -1;
	memcpy(at, &pkru, 4);
	uint64_t bv;
	memcpy(&bv, x + 512, 8);
	bv |= 1ull << XFEATURE_PKRU;
	memcpy(x + 512, &bv, 8);
	return 0;
}

int sigstack_get_pkru(ucontext_t *uc, uint32_t *pkru)
{
	const uint8_t *at = pkru_slot(uc), *x = (const uint8_t *)uc->uc_mcontext.fpregs;
	if (!at)
		return -1;
	uint64_t bv;
	memcpy(&bv, x + 512, 8);
	*pkru = 0; /* a component in its init state: PKRU 0 */
	if (bv >> XFEATURE_PKRU & 1)
		memcpy(pkru, at, 4);
	return 0;
}

/*
 * Under keys, this thread gives up restartable sequences. glibc registers
 * a struct rseq in the thread's TLS (runtime memory, key 0) and Linux
 * writes it on every signal delivery and on returning to user mode after a
 * preemption, with the thread's PKRU at that moment: in a domain, which
 * denies key 0, the write fails and Linux kills the process with SIGSEGV
 * (seen in the PKU guest: every test died so until this was added).
 */
int sigstack_rseq_off(char *err, size_t errlen)
{
	struct rseq *area = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
	/* glibc registered none (GLIBC_TUNABLES=glibc.pthread.rseq=0), or none
	 * for this thread (it made a new thread register only if its creator,
	 * which unregistered here, still had one: seen in the PKU guest). */
	if (!__rseq_size || (int32_t)area->cpu_id == RSEQ_CPU_ID_REGISTRATION_FAILED)
		return 0;
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
 * The FS and GS bases every handler entry writes back (sigentry.S,
 * entry_restore_bases), and the thread's id, one set per thread slot,
 * found by the slot whose share of SIGSTACKS_VA holds %rsp; under keys
 * the entries prove by them that the thread running is the slot's
 * (entry_prove_thread). Key-0 memory, which no domain's rights can read
 * or write; a slot's set is written by its thread before it enters a
 * domain and zeroed when it leaves its slot (an entry finding 0 traps).
 */
struct entry_bases entry_bases[GATE_MAX_THREADS];
const uint64_t entry_base_slots = GATE_MAX_THREADS;

int sigstack_bases(char *err, size_t errlen)
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
	entry_bases[hgate_thread_slot()] = (struct entry_bases){
		.fs = (uint64_t)__builtin_thread_pointer(), .gs = gs, .tid = (uint64_t)gettid()};
	return 0;
}

int sigstack_init(char *err, size_t errlen)
{
	return sigstack_arm(0, err, errlen) < 0 || measure_frame(err, errlen) < 0
		       ? -1
		       : sigstack_bases(err, errlen);
}

/* Install handler for sig with the runtime's own restorer (glibc's
 * sigaction would put its own there: ksigaction.h) and every signal
 * blocked while it runs (entry.c's header says why). */
int sigstack_handle(int sig, void (*handler)(int, siginfo_t *, void *))
{
	struct ksigaction sa = {.handler = (void *)handler,
				.flags = SA_SIGINFO | SA_ONSTACK | KSA_RESTORER,
				.restorer = entry_sigreturn,
				.mask = ~0ull};
	return (int)syscall(SYS_rt_sigaction, sig, &sa, NULL, sizeof sa.mask);
}
