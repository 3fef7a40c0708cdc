/*
 * pkeys: the protection-key layout of the hosted platform. Linux hands out
 * the lowest free key (mm/mprotect.c, mm_pkey_alloc), so a fresh process
 * that allocates in order gets 1, 2, 3, ... and the VM's numbers hold; the
 * check below refuses to go on if another allocation got there first,
 * because the gate compares PKRU values built from those numbers. Whether
 * the process gets keys at all also asks Linux how it delivers a signal
 * (probe_delivery: keys need 6.12's delivery, sigstack.c).
 */
#define _GNU_SOURCE
#include "pkeys.h"

#include <domain/lifecycle_lines.h>
#include <maple/abi.h>

#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define STR(x)	#x
#define XSTR(x) STR(x)

static int probe_delivery(char *why, size_t whylen);

/* CPUID leaf 7, subleaf 0, ECX (Intel SDM Vol. 2A, CPUID, Table 3-8). */
#define CPUID7_ECX_PKU	 (1u << 3)
#define CPUID7_ECX_OSPKE (1u << 4)

bool pkeys_available(char *why, size_t whylen)
{
	unsigned a, b, c, d;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(c & CPUID7_ECX_PKU)) {
		snprintf(why, whylen, "the CPU lacks PKU (CPUID.7.0:ECX bit 3 clear)");
		return false;
	}
	if (!(c & CPUID7_ECX_OSPKE)) {
		snprintf(why, whylen, "the kernel has not enabled PKU (CPUID.7.0:ECX.OSPKE clear)");
		return false;
	}
	int k = pkey_alloc(0, 0);
	if (k < 0) {
		snprintf(why, whylen, "pkey_alloc: %s", strerror(errno));
		return false;
	}
	pkey_free(k);
	return pkeys_judge_delivery(probe_delivery(why, whylen), why, whylen);
}

/*
 * The delivery probe's handler: it arrives with Linux's default rights
 * (init_pkru: key 0 only) on a stack of a key those deny, so it touches no
 * memory at all and leaves with the status that says it arrived.
 */
#define ARRIVED	      42
#define SETUP_FAILED  1
#define NOT_DELIVERED 2 /* the signal came back without running the handler */
void pkeys_probe_arrived(int sig);
__asm__(".text\n"
	".type pkeys_probe_arrived, @function\n"
	"pkeys_probe_arrived:\n"
	"\tmovl $" XSTR(SYS_exit_group) ", %eax\n"
					"\tmovl $" XSTR(ARRIVED) ", %edi\n"
								 "\tsyscall\n"
								 "\tud2\n"
								 ".size pkeys_probe_arrived, . - "
								 "pkeys_probe_arrived\n");

/*
 * Whether Linux delivers a signal onto a signal stack whose key the
 * interrupted code's rights deny: 1 (Linux 6.12 and later write the frame
 * with every key enabled, "x86/pkeys: Update PKRU to enable all pkeys
 * before XSAVE"), 0 (before 6.12 the frame is written with the interrupted
 * rights, the write fails and Linux kills the thread with SIGSEGV), or -1
 * with why filled when the probe itself could not run. In a child process,
 * since the answer "no" is a kill: it takes a key with its rights denied
 * (pkey_alloc's init rights, no WRPKRU: audit.c), puts its signal stack on
 * it and signals itself.
 */
static int probe_delivery(char *why, size_t whylen)
{
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "cannot fork the signal delivery probe: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		size_t size = 64 << 10;
		int k = pkey_alloc(0, PKEY_DISABLE_ACCESS);
		void *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				   -1, 0);
		stack_t ss = {.ss_sp = stack, .ss_size = size};
		struct sigaction sa = {.sa_handler = pkeys_probe_arrived, .sa_flags = SA_ONSTACK};
		sigset_t usr1;
		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		/* Its SIGSEGV (before 6.12) is the answer, not a crash to keep a core of. */
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		if (k < 0 || stack == MAP_FAILED ||
		    pkey_mprotect(stack, size, PROT_READ | PROT_WRITE, k) < 0 ||
		    sigaltstack(&ss, NULL) < 0 || sigaction(SIGUSR1, &sa, NULL) < 0 ||
		    sigprocmask(SIG_UNBLOCK, &usr1, NULL) < 0)
			_exit(SETUP_FAILED);
		raise(SIGUSR1); /* delivered on the way back from tgkill, rights denying k */
		_exit(NOT_DELIVERED);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(why, whylen, "cannot wait for the signal delivery probe: %s",
				 strerror(errno));
			return -1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == ARRIVED)
		return 1;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == SETUP_FAILED)
		snprintf(why, whylen,
			 "the signal delivery probe could not take a key and put its signal stack "
			 "there");
	else
		snprintf(why, whylen, "the signal delivery probe %s %d, want exit %d or SIGSEGV",
			 WIFEXITED(status) ? "exited with status" : "died of signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), ARRIVED);
	return -1;
}

bool pkeys_judge_delivery(int arrived, char *why, size_t whylen)
{
	struct utsname u;
	if (arrived < 0)
		return false; /* why says why */
	if (arrived)
		return true;
	if (uname(&u) < 0)
		snprintf(u.release, sizeof u.release, "(uname: %s)", strerror(errno));
	snprintf(why, whylen,
		 "Linux %s writes a signal frame with the interrupted rights (before 6.12): keys "
		 "need Linux 6.12 or later",
		 u.release);
	return false;
}

static int alloc_expect(int want, const char *name, char *why, size_t whylen)
{
	int k = pkey_alloc(0, 0);
	if (k < 0) {
		snprintf(why, whylen, "pkey_alloc for %s: %s", name, strerror(errno));
		return -1;
	}
	if (k != want) {
		snprintf(why, whylen, "pkey_alloc gave key %d for %s, the VM's layout needs %d", k,
			 name, want);
		pkey_free(k);
		return -1;
	}
	return k;
}

/*
 * TRUSTED, SHARED and GATE_RO, and, for a moment, every domain key too:
 * pkey_alloc sets the new key's rights in the calling thread's PKRU to its
 * init value (mm/mprotect.c, arch_set_user_pkey_access), here 0 (allowed),
 * and pkey_free leaves PKRU alone. So the thread ends with PKRU 0 (every
 * key), the runtime's rights, without a WRPKRU of the runtime's own: the
 * process holds no unchecked one (hosted/audit.c). The domain keys are
 * free again for pkeys_domain, in the same order.
 */
int pkeys_layout(char *why, size_t whylen)
{
	if (alloc_expect(PKEY_TRUSTED, "TRUSTED", why, whylen) < 0 ||
	    alloc_expect(PKEY_SHARED, "SHARED", why, whylen) < 0 ||
	    alloc_expect(PKEY_GATE_RO, "GATE_RO", why, whylen) < 0)
		return -1;
	int k = PKEY_FIRST_DOMAIN;
	while (k < PKEY_COUNT && alloc_expect(k, "a domain", why, whylen) == k)
		k++;
	for (int i = PKEY_FIRST_DOMAIN; i < k; i++)
		pkey_free(i);
	return k == PKEY_COUNT ? 0 : -1;
}

int pkeys_domain(char *why, size_t whylen)
{
	int k = pkey_alloc(0, 0);
	if (k < 0 && errno == ENOSPC) { /* every domain key held: the VM's reason */
		lifecycle_no_key(why, whylen);
		return -1;
	}
	if (k < 0) {
		snprintf(why, whylen, "cannot allocate a protection key: %s", strerror(errno));
		return -1;
	}
	if (k < PKEY_FIRST_DOMAIN) {
		snprintf(why, whylen,
			 "pkey_alloc gave key %d below the domain keys (layout not set up)", k);
		pkey_free(k);
		return -1;
	}
	return k;
}

int pkeys_of_mapping(unsigned long addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	char line[512];
	int in = 0, key = -1;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = lo == addr;
		else if (in && sscanf(line, "ProtectionKey: %d", &key) == 1)
			break;
	}
	fclose(f);
	return key;
}
