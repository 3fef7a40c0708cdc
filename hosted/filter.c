/*
 * filter: what keeps every system call of domain and gate code from Linux
 * (entry.c serves them as Maple syscalls).
 *
 * THE INVARIANT: no system call made by domain or gate code reaches Linux,
 * wherever the instruction lies; only the runtime's own code makes Linux
 * system calls. Two layers hold it:
 *
 * - Syscall user dispatch (Linux 5.11 and later; Documentation/admin-
 *   guide/syscall-user-dispatch.rst), turned on for every thread that
 *   enters domains (filter_confine_thread). Its selector byte says BLOCK whenever
 *   domain or gate code runs (hosted_enter sets it before the jump into a
 *   domain, entry_sigreturn before each rt_sigreturn into one) and ALLOW
 *   while the runtime runs (each handler's first statement). With BLOCK,
 *   Linux turns every system call into a SIGSYS (si_code SYS_USER_DISPATCH)
 *   before seccomp or the call itself runs, whatever the address of the
 *   `syscall`, except the two of the handler entries' allowed region
 *   (sigentry.S: entry_sigreturn's and entry_gettid's). So a domain
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
 * - The seccomp filter (filter_install, for the whole process), the layer
 *   under it: a system call whose instruction pointer
 *   (seccomp_data.instruction_pointer) lies in a domain slot or the gate's
 *   block is a SIGSYS (SYS_SECCOMP); one from entry_sigreturn must be an
 *   rt_sigreturn carrying the per-process secret entry_sigreturn_token in
 *   %rdi, and one from entry_gettid a gettid, or it is a SIGSYS too; so is
 *   one from Linux's vsyscall page (an
 *   instruction pointer above the lower canonical half) and every call
 *   that is not an x86-64 one (the runtime makes none).
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
 * The Linux system calls a domain can reach: jumping to entry_gettid's
 * `syscall` with gettid's number, which answers its own thread's id and
 * changes nothing; the next instruction reads key-0 memory, so the domain
 * faults there and fails with the id unseen (sigentry.S). And, at either
 * `syscall` of the allowed region, uretprobe and uprobe, which Linux 6.13
 * and later run without asking any seccomp filter (only uprobes'
 * trampolines make them): from anywhere else uretprobe answers SIGILL
 * and uprobe -ENXIO, changing nothing, and the next instruction
 * (entry_sigreturn's ud2, entry_gettid's key-0 read) fails the domain
 * (`filter-the-uprobe-calls-linux-runs-past-seccomp-fail-the-domain`).
 *
 * Without protection keys nothing here isolates anything (a domain can
 * write the selector and read the secret); the same code runs so that the
 * mechanism is tested on such machines too.
 *
 */
#define _GNU_SOURCE
#include "filter.h"

#include "entry.h"
#include "jump.h"

#include <domain/gate_layout.h>
#include <maple/abi.h>

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

_Static_assert(SUD_ALLOW == SYSCALL_DISPATCH_FILTER_ALLOW &&
		       SUD_BLOCK == SYSCALL_DISPATCH_FILTER_BLOCK,
	       "jump.h's selector values are linux/prctl.h's");

/* This thread's syscall user dispatch selector (THE INVARIANT above), on a
 * page of its own with key GATE_RO; enter.S and sigentry.S store to it. */
__thread volatile uint8_t *entry_selector;

/* The secret entry_sigreturn's rt_sigreturn carries in %rdi, which the
 * seccomp filter compares (THE INVARIANT above): random, never 0, set once
 * before the filter is installed. In key-0 memory, which no domain's
 * rights, raised by the gate or not, can read. */
uint64_t entry_sigreturn_token;

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
int filter_trapped_at(uint64_t ip)
{
	uint32_t hi = (uint32_t)(ip >> 32);
	return hi == GATE_HI || hi >= USER_END_HI || (hi >= DOMAIN_LO && hi < DOMAIN_END);
}

static int install(char *err, size_t errlen)
{
	enum { RUNTIME = 5, SIGRETURN = 9, GETTID = 17, ARCH_CHECK = 21, TRAP = 23, ALLOW = 24 };
	uint64_t ret = (uint64_t)entry_sigreturn_end, token = entry_sigreturn_token;
	uint64_t tid = (uint64_t)entry_gettid_end;
	if (tid >> 32 != ret >> 32) {
		snprintf(err, errlen,
			 "entry_sigreturn_end %#lx and entry_gettid_end %#lx lie in two 4 GiB "
			 "blocks: the filter compares one high half",
			 (unsigned long)ret, (unsigned long)tid);
		return -1;
	}
	struct sock_filter prog[] = {
		/* 0 */ LOAD(IP_HI),
		/* 1 */ IF_EQ(1, GATE_HI, TRAP, 2),
		/* 2 */ IF_GE(2, USER_END_HI, TRAP, 3), /* the vsyscall page */
		/* 3 */ IF_GE(3, DOMAIN_LO, 4, RUNTIME),
		/* 4 */ IF_GE(4, DOMAIN_END, RUNTIME, TRAP),
		/* RUNTIME: anywhere else; the entries' two sites are checked apart */
		/* 5 */ IF_EQ(5, (uint32_t)(ret >> 32), 6, ARCH_CHECK),
		/* 6 */ LOAD(IP_LO),
		/* 7 */ IF_EQ(7, (uint32_t)ret, SIGRETURN, 8),
		/* 8 */ IF_EQ(8, (uint32_t)tid, GETTID, ARCH_CHECK),
		/* SIGRETURN: only an rt_sigreturn with the secret in %rdi */
		/* 9 */ LOAD(ARCH),
		/* 10 */ IF_EQ(10, AUDIT_ARCH_X86_64, 11, TRAP),
		/* 11 */ LOAD(NR),
		/* 12 */ IF_EQ(12, __NR_rt_sigreturn, 13, TRAP),
		/* 13 */ LOAD(ARG0_LO),
		/* 14 */ IF_EQ(14, (uint32_t)token, 15, TRAP),
		/* 15 */ LOAD(ARG0_HI),
		/* 16 */ IF_EQ(16, (uint32_t)(token >> 32), ALLOW, TRAP),
		/* GETTID: only a gettid (the entries' proof of their thread) */
		/* 17 */ LOAD(ARCH),
		/* 18 */ IF_EQ(18, AUDIT_ARCH_X86_64, 19, TRAP),
		/* 19 */ LOAD(NR),
		/* 20 */ IF_EQ(20, __NR_gettid, ALLOW, TRAP),
		/* ARCH_CHECK: the runtime makes x86-64 calls only, so any other
		 * is a domain's, whatever its instruction pointer: SYSENTER on an
		 * Intel CPU enters Linux's 32-bit entry, which reports the vDSO's
		 * landing pad (rogue case ROGUE_H_SYSENTER). It traps and fails
		 * the domain; killing the process here let a domain stop it. */
		/* 21 */ LOAD(ARCH),
		/* 22 */ IF_EQ(22, AUDIT_ARCH_X86_64, ALLOW, TRAP),
		/* 23 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		/* 24 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
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

int filter_install(char *err, size_t errlen)
{
	while (!entry_sigreturn_token)
		if (getrandom(&entry_sigreturn_token, sizeof entry_sigreturn_token, 0) !=
		    sizeof entry_sigreturn_token) {
			snprintf(err, errlen, "cannot draw the signal return's secret: %s",
				 strerror(errno));
			return -1;
		}
	return install(err, errlen);
}

/*
 * This thread's syscall user dispatch (THE INVARIANT above): its selector
 * on a fresh page of key GATE_RO (under keys), ALLOW for now, and Linux's
 * allowed region from the address after entry_sigreturn's `syscall` to
 * the address after entry_gettid's, 4 bytes on (Linux compares the
 * instruction pointer after the instruction: the region's 5 bytes, 0f 0b
 * 0f 05 and the first of what follows, admit those two `syscall`s and
 * nothing else, as no system call instruction ends at the three addresses
 * between: sigentry.S). Each thread that enters domains needs its own.
 */
int filter_confine_thread(int keys, char *err, size_t errlen)
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
		  (unsigned long)entry_sigreturn_end,
		  (unsigned long)(entry_gettid_end - entry_sigreturn_end) + 1, page) < 0) {
		snprintf(err, errlen,
			 "cannot turn on syscall user dispatch (Linux 5.11 or later): %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}
