/*
 * maple-hosted test [NAME...]: the hosted platform's own tests, the same
 * on a machine with protection keys (a PKU CPU, or the Linux guest under
 * QEMU's `-cpu max`) and without. Each test runs in a child process of its
 * own (a fresh key layout, its own seccomp filter, and a crash of the
 * runtime is a FAIL naming the signal, never a lost line). A test that
 * needs keys to mean anything is a SKIP naming why keys are missing on a
 * machine without them: there a rogue read of another domain would
 * succeed, and must not be reported as a pass. Output, one line each:
 *
 *   hosted-test: NAME ok
 *   hosted-test: NAME FAIL <what happened, and what was expected>
 *   hosted-test: NAME SKIP <reason>
 *   hosted-test: N passed, N failed, N skipped
 */
#define _GNU_SOURCE
#include "tests.h"

#include "entry.h"
#include "loader.h"
#include "pkeys.h"
#include "runtime.h"

#include <idl/hello_methods.h>
#include <maple/abi.h>
#include <test/rogue/cases.h>

#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEST_SECONDS 10 /* a test that takes longer has hung */
#define WHY	     512
#define DOMAINS	     "out/domains/"

/* Where a rogue case aims (its `target` argument). */
enum target {
	T_NONE,	   /* 0: the case's own default (the kernel's VA, MAPLE_TRUSTED_VA) */
	T_OTHER,   /* hello's first page: another domain's memory */
	T_RUNTIME, /* a word of the runtime's own data (key 0) */
	T_GATE,	   /* the gate page */
};

struct rogue_test {
	const char *name;
	int keyed; /* meaningful only under protection keys */
	long number;
	enum target target;
	/* The outcome line the upcall must give: a regular expression in
	 * which {ADDR} stands for the target address and {KEY} for hello's
	 * protection key. */
	const char *expect;
};

#define STR(x)		  #x
#define XSTR(x)		  STR(x)
#define AT		  "at rogue\\+0x[0-9a-f]+"
#define FAILED		  "rogue failed: "
#define RETURNED	  "rogue returned "
#define PKUERR(key, addr) FAILED "SIGSEGV \\(SEGV_PKUERR, key " key "\\) " AT ", address " addr

static const struct rogue_test rogue_tests[] = {
	{"rogue-raw-linux-syscall-is-enosys", 0, ROGUE_RAW_SYSCALL, T_NONE,
	 RETURNED "-" XSTR(MAPLE_ENOSYS)},
	{"rogue-int80-fails-rogue", 0, ROGUE_INT80, T_NONE,
	 FAILED "a 32-bit system call \\(1\\) " AT},
	{"rogue-null-deref-fails-rogue", 0, ROGUE_NULL_DEREF, T_NONE,
	 FAILED "SIGSEGV \\(SEGV_MAPERR\\) " AT ", address 0"},
	{"rogue-div-zero-fails-rogue", 0, ROGUE_DIV_ZERO, T_NONE, FAILED "SIGFPE " AT},
	{"rogue-ud2-fails-rogue", 0, ROGUE_UD2, T_NONE, FAILED "SIGILL " AT},
	{"rogue-recurse-fails-rogue", 0, ROGUE_RECURSE, T_NONE,
	 FAILED "SIGSEGV \\(SEGV_MAPERR\\) " AT ", address 0x[0-9a-f]+"},
	{"rogue-log-of-a-kernel-address-is-efault", 0, ROGUE_LOG_KERNEL, T_NONE,
	 RETURNED "-" XSTR(MAPLE_EFAULT)},
	{"rogue-log-of-another-domain-is-efault", 0, ROGUE_LOG_DOMAIN, T_OTHER,
	 RETURNED "-" XSTR(MAPLE_EFAULT)},
	{"rogue-log-of-the-gate-page-is-efault", 0, ROGUE_LOG_DOMAIN, T_GATE,
	 RETURNED "-" XSTR(MAPLE_EFAULT)},
	{"rogue-log-of-the-runtime-is-efault", 0, ROGUE_LOG_DOMAIN, T_RUNTIME,
	 RETURNED "-" XSTR(MAPLE_EFAULT)},
	{"rogue-read-another-domain-is-pkuerr", 1, ROGUE_READ_DOMAIN, T_OTHER,
	 PKUERR("{KEY}", "{ADDR}")},
	{"rogue-write-another-domain-is-pkuerr", 1, ROGUE_WRITE_DOMAIN, T_OTHER,
	 PKUERR("{KEY}", "{ADDR}")},
	{"rogue-read-trusted-is-pkuerr", 1, ROGUE_READ_TRUSTED, T_NONE,
	 PKUERR(XSTR(PKEY_TRUSTED), "{ADDR}")},
	{"rogue-write-trusted-is-pkuerr", 1, ROGUE_WRITE_TRUSTED, T_NONE,
	 PKUERR(XSTR(PKEY_TRUSTED), "{ADDR}")},
	{"rogue-read-the-runtime-is-pkuerr", 1, ROGUE_READ_KERNEL, T_RUNTIME,
	 PKUERR(XSTR(PKEY_KERNEL), "{ADDR}")},
	{"rogue-write-the-runtime-is-pkuerr", 1, ROGUE_WRITE_KERNEL, T_RUNTIME,
	 PKUERR(XSTR(PKEY_KERNEL), "{ADDR}")},
};

/* The runtime word the T_RUNTIME cases aim at; it must stay as it is. */
static volatile uint64_t runtime_word = 0x52554e54494d45; /* "RUNTIME" */

static int keys;
static char no_keys[160];

/* Run fn (already initialised domain d) and describe the outcome as
 * "NAME returned R" or "NAME failed: WHY". */
static void outcome(struct hosted_domain *d, uint64_t fn, const long a[4], char *out, size_t len)
{
	char why[WHY];
	long r;
	fflush(stdout);
	if (entry_upcall(d, fn, a, &r, why, sizeof why) < 0)
		snprintf(out, len, "%s failed: %.400s", d->name, why);
	else
		snprintf(out, len, "%s returned %ld", d->name, r);
}

/* Load and initialise image `name` as domain id; 0, or -1 with why. */
static int start(const char *name, unsigned id, struct hosted_domain *d, char *why, size_t len)
{
	char path[128], got[WHY];
	static const long none[4];
	snprintf(path, sizeof path, DOMAINS "%s.elf", name);
	if (hosted_load(path, id, keys, d, why, len) < 0)
		return -1;
	outcome(d, d->entry, none, got, sizeof got);
	char want[64];
	snprintf(want, sizeof want, "%s returned 0", d->name);
	if (strcmp(got, want)) {
		snprintf(why, len, "initialising %s: %.300s, want '%.60s'", name, got, want);
		return -1;
	}
	return 0;
}

static int matches(const char *pattern, const char *s)
{
	regex_t re;
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB))
		return 0;
	int ok = !regexec(&re, s, 0, NULL, 0);
	regfree(&re);
	return ok;
}

/* Hello answers greet(a) with a + its id, with its own rights again after
 * whatever the previous upcall did; 0, or -1 with why. */
static int hello_answers(struct hosted_domain *hello, char *why, size_t len)
{
	const long a[4] = {5, 0, 0, 0};
	char got[WHY], want[64];
	outcome(hello, hello->methods[Hello_greet_METHOD], a, got, sizeof got);
	snprintf(want, sizeof want, "hello returned %u", 5 + hello->id);
	if (strcmp(got, want)) {
		snprintf(why, len, "then hello.greet(5): %.300s, want '%.60s'", got, want);
		return -1;
	}
	return 0;
}

/* t's pattern with {ADDR} and {KEY} filled in. */
static void expand(const char *from, uint64_t addr, int key, char *out, size_t len)
{
	size_t n = 0;
	while (*from && n + 24 < len) {
		if (!strncmp(from, "{ADDR}", 6)) {
			n += (size_t)snprintf(out + n, len - n, "%#lx", (unsigned long)addr);
			from += 6;
		} else if (!strncmp(from, "{KEY}", 5)) {
			n += (size_t)snprintf(out + n, len - n, "%d", key);
			from += 5;
		} else {
			out[n++] = *from++;
		}
	}
	out[n] = 0;
}

/* Rogue as domain 1 and hello as domain 2 (its target); the case's
 * outcome, then: hello still answers, the words aimed at are unchanged,
 * the runtime holds its own rights again, and rogue's slot holds nothing
 * but its image. */
static int run_rogue(const struct rogue_test *t, char *why, size_t len)
{
	struct hosted_domain rogue, hello;
	if (start("rogue", 1, &rogue, why, len) < 0 || start("hello", 2, &hello, why, len) < 0)
		return -1;
	uint64_t target = t->target == T_OTHER	   ? hello.base
			  : t->target == T_RUNTIME ? (uint64_t)&runtime_word
			  : t->target == T_GATE	   ? MAPLE_GATE_VA
						   : 0;
	uint64_t hello_word = *(volatile uint64_t *)hello.base;
	const long a[4] = {t->number, (long)target, 0, 0};
	char got[WHY], pattern[WHY];
	outcome(&rogue, rogue.methods[Rogue_run_METHOD], a, got, sizeof got);
	expand(t->expect, target ? target : MAPLE_TRUSTED_VA, hello.pkey, pattern, sizeof pattern);
	char full[WHY + 4];
	snprintf(full, sizeof full, "^%s$", pattern);
	if (!matches(full, got)) {
		snprintf(why, len, "'%.300s', want /%.180s/", got, pattern);
		return -1;
	}
	if (hello_answers(&hello, why, len) < 0)
		return -1;
	if (*(volatile uint64_t *)hello.base != hello_word || runtime_word != 0x52554e54494d45) {
		snprintf(why, len, "rogue's write landed: the word at %#lx changed",
			 (unsigned long)target);
		return -1;
	}
	uint32_t pkru = 0;
	if (keys)
		__asm__ volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
	if (pkru) {
		snprintf(why, len, "the runtime holds PKRU %#x after the upcall, want 0", pkru);
		return -1;
	}
	entry_release(&rogue);
	entry_release(&hello);
	int extra = hosted_slot_extra(&rogue);
	if (extra) {
		snprintf(why, len, "leak: %d mappings in rogue's slot besides its image", extra);
		return -1;
	}
	return 0;
}

/* hello alone: initialised with one method, greet(5) returns 5 + its id. */
static int run_hello(char *why, size_t len)
{
	struct hosted_domain hello;
	if (start("hello", 1, &hello, why, len) < 0)
		return -1;
	if (hello.nmethods != 1) {
		snprintf(why, len, "hello exported %u methods, want 1", hello.nmethods);
		return -1;
	}
	return hello_answers(&hello, why, len);
}

/* The child: set the runtime up, run one test, report on the pipe. */
static void child(int fd, int which)
{
	char why[WHY] = "";
	alarm(TEST_SECONDS);
	int rc = runtime_start(keys, why, sizeof why);
	if (rc == 0)
		rc = which < 0 ? run_hello(why, sizeof why)
			       : run_rogue(&rogue_tests[which], why, sizeof why);
	if (rc == 0)
		why[0] = 0;
	else if (!why[0])
		snprintf(why, sizeof why, "failed without a reason");
	if (write(fd, why, strlen(why)) < 0)
		_exit(3);
	_exit(rc == 0 ? 0 : 1);
}

struct tally {
	int passed, failed, skipped;
};

static void one(const char *name, int keyed, int which, struct tally *t)
{
	if (keyed && !keys) {
		printf("hosted-test: %s SKIP no protection keys: %s\n", name, no_keys);
		t->skipped++;
		return;
	}
	int p[2];
	fflush(stdout);
	if (pipe(p) < 0) {
		printf("hosted-test: %s FAIL cannot make a pipe\n", name);
		t->failed++;
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		child(p[1], which);
	}
	close(p[1]);
	char why[WHY] = "";
	size_t got = 0;
	ssize_t k;
	while (pid > 0 && got < sizeof why - 1 &&
	       (k = read(p[0], why + got, sizeof why - 1 - got)) > 0)
		got += (size_t)k;
	why[got] = 0;
	close(p[0]);
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		printf("hosted-test: %s FAIL cannot run a child process\n", name);
		t->failed++;
	} else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
		printf("hosted-test: %s FAIL did not finish in %d s\n", name, TEST_SECONDS);
		t->failed++;
	} else if (WIFSIGNALED(status)) {
		/* Containment failed: the host process itself died. */
		printf("hosted-test: %s FAIL the runtime died of SIG%s\n", name,
		       sigabbrev_np(WTERMSIG(status)));
		t->failed++;
	} else if (WEXITSTATUS(status) != 0) {
		printf("hosted-test: %s FAIL %s\n", name, why);
		t->failed++;
	} else {
		printf("hosted-test: %s ok\n", name);
		t->passed++;
	}
}

#define NTESTS ((int)(sizeof rogue_tests / sizeof rogue_tests[0]) + 1)

static const char *test_name(int i, int *keyed)
{
	*keyed = i > 0 && rogue_tests[i - 1].keyed;
	return i == 0 ? "hello-answers" : rogue_tests[i - 1].name;
}

int hosted_tests(int n, char **names)
{
	int keyed;
	for (int k = 0; k < n; k++) {
		int i = 0;
		while (i < NTESTS && strcmp(names[k], test_name(i, &keyed)))
			i++;
		if (i == NTESTS) {
			fprintf(stderr,
				"maple-hosted: test: no test named '%s'; there are:", names[k]);
			for (i = 0; i < NTESTS; i++)
				fprintf(stderr, " %s", test_name(i, &keyed));
			fputc('\n', stderr);
			return 2;
		}
	}
	keys = pkeys_available(no_keys, sizeof no_keys);
	printf("hosted-test: protection keys: %s\n", keys ? "yes" : no_keys);
	struct tally t = {0, 0, 0};
	for (int i = 0; i < NTESTS; i++) {
		const char *name = test_name(i, &keyed);
		int wanted = n == 0;
		for (int k = 0; k < n && !wanted; k++)
			wanted = !strcmp(names[k], name);
		if (wanted)
			one(name, keyed, i - 1, &t);
	}
	printf("hosted-test: %d passed, %d failed, %d skipped\n", t.passed, t.failed, t.skipped);
	return t.failed ? 1 : 0;
}
