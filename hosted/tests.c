/*
 * maple-hosted test [NAME...]: the hosted platform's own tests, the same
 * on a machine with protection keys (a PKU CPU, or the Linux guest under
 * QEMU's `-cpu max`) and without. Each test runs in a child process of its
 * own (a fresh key layout, its own seccomp filter, and a crash of the
 * runtime is a FAIL naming the signal, never a lost line). A test that
 * needs enforced keys to mean anything is a SKIP naming why keys are
 * missing on a machine without them: there a rogue read of another domain
 * would succeed, and must not be reported as a pass. The others run there
 * too, the gate's WRPKRU emulated as an instruction that enforces nothing
 * (entry.c). Output, one line each:
 *
 *   hosted-test: NAME ok
 *   hosted-test: NAME FAIL <what happened, and what was expected>
 *   hosted-test: NAME SKIP <reason>
 *   hosted-test: N passed, N failed, N skipped
 *
 * This file is the harness and the one list of every test (list_tests: a
 * new test is a line there, or a row of its file's table): the rogue table
 * and its jumps into the runtime are tests_escape.c, the calls between
 * domains and the RRefs tests_xcall.c, domains creating domains
 * tests_domains.c, membdev's recovery and ramdisk0 tests_membdev.c, the
 * VM's other rogue ktests tests_rogue.c, fault injection tests_inject.c and
 * the watchdog tests_watch.c. The helpers the harness gives them (tests.h)
 * are here too; those of domains creating domains are tests_domains.c's.
 */
#define _GNU_SOURCE
#include "tests.h"

#include "entry.h"
#include "gate.h"
#include "loader.h"
#include "pkeys.h"
#include "runtime.h"
#include "tests_domains.h"
#include "tests_escape.h"
#include "tests_lifecycle.h"
#include "tests_prove.h"
#include "tests_rogue.h"
#include "tests_sigframe.h"
#include "tests_threads.h"
#include "tests_watch.h"
#include "tests_xcall.h"

#include <idl/hello_methods.h>

#include <asm/prctl.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEST_SECONDS 10 /* a test that takes longer has hung */
#define DOMAINS	     "out/domains/"
#define RFLAGS_AC    (1u << 18)

static int keys;
static char no_keys[160];

/* Run fn (already initialised domain d) and describe the outcome as
 * "NAME returned R" or "NAME failed: WHY". */
void htest_outcome(struct hosted_domain *d, uint64_t fn, const long a[4], char *out, size_t len)
{
	char why[HTEST_WHY];
	long r;
	fflush(stdout);
	if (entry_upcall(d, fn, a, &r, why, sizeof why) < 0)
		snprintf(out, len, "%s failed: %.400s", d->name, why);
	else
		snprintf(out, len, "%s returned %ld", d->name, r);
}

static void *upcall_thread(void *arg)
{
	struct htest_thread *t = arg;
	if (entry_thread_begin((unsigned)t->slot, t->got, sizeof t->got) == 0) {
		htest_outcome(t->d, t->fn, t->a, t->got, sizeof t->got);
		entry_thread_end();
	}
	return NULL;
}

int htest_thread_start(struct htest_thread *t, char *why, size_t len)
{
	pthread_t id;
	t->got[0] = 0;
	if ((t->slot = hgate_slot_take(why, len)) < 0)
		return -1;
	if (pthread_create(&id, NULL, upcall_thread, t)) {
		hgate_slot_give_back((unsigned)t->slot);
		snprintf(why, len, "cannot start a thread for %s", t->d->name);
		return -1;
	}
	t->id = id;
	return 0;
}

void htest_thread_join(struct htest_thread *t)
{
	pthread_join(t->id, NULL);
}

/* Load and initialise image `name` as domain id; 0, or -1 with why. */
int htest_start(const char *name, unsigned id, struct hosted_domain *d, char *why, size_t len)
{
	char path[128], got[HTEST_WHY];
	static const long none[4];
	snprintf(path, sizeof path, DOMAINS "%s.elf", name);
	if (hosted_load(path, id, keys, d, why, len) < 0 || hgate_add(d, why, len) < 0)
		return -1;
	htest_outcome(d, d->entry, none, got, sizeof got);
	char want[64];
	snprintf(want, sizeof want, "%s returned 0", d->name);
	if (strcmp(got, want)) {
		snprintf(why, len, "initialising %s: %.300s, want '%.60s'", name, got, want);
		return -1;
	}
	return 0;
}

int htest_matches(const char *pattern, const char *s)
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
int htest_hello_answers(struct hosted_domain *hello, char *why, size_t len)
{
	const long a[4] = {5, 0, 0, 0};
	char got[HTEST_WHY], want[64];
	htest_outcome(hello, hello->methods[Hello_greet_METHOD], a, got, sizeof got);
	snprintf(want, sizeof want, "hello returned %u", 5 + hello->id);
	if (strcmp(got, want)) {
		snprintf(why, len, "then hello.greet(5): %.300s, want '%.60s'", got, want);
		return -1;
	}
	return 0;
}

/* The runtime's own state after a test's upcalls: no continuation left
 * on the thread, its own rights (PKRU 0) again, RFLAGS.AC clear (a
 * domain's alignment checks are not the runtime's) and its own GS base
 * (the gate's GATE_RO page; a domain's selector load gives base 0). */
int htest_runtime_clean(char *why, size_t len)
{
	uint32_t pkru = 0;
	uint64_t flags, gs = 0;
	if (keys)
		__asm__ volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
	__asm__ volatile("pushfq\n\tpopq %0" : "=r"(flags));
	syscall(SYS_arch_prctl, ARCH_GET_GS, &gs);
	uint64_t want_gs = entry_bases[hgate_thread_slot()].gs;
	if (pkru || hgate_depth() || flags & RFLAGS_AC || gs != want_gs) {
		snprintf(why, len,
			 "after the upcalls the runtime holds PKRU %#x, %u continuations, RFLAGS "
			 "%#lx and GS base %#lx, want 0, 0, AC (%#x) clear and %#lx",
			 pkru, hgate_depth(), (unsigned long)flags, (unsigned long)gs, RFLAGS_AC,
			 (unsigned long)want_gs);
		return -1;
	}
	return 0;
}

int htest_keys(void)
{
	return keys;
}

/* Every test: hello, the rogue cases, the cross-domain calls, the RRefs. */
struct test {
	const char *name;
	const char *needs; /* NULL, or what it needs keys for (its SKIP says so) */
	int (*run)(char *why, size_t len);
	/* Or case i of a file's table (tests_escape.c's rogue table, the RRef
	 * cases of tests_xcall.c, tests_rogue.c's cases), run by run_case. */
	int (*run_case)(unsigned i, char *why, size_t len);
	unsigned i;
};
/* Room for every test; add() refuses to write past it, so a test added in
 * one file without growing this fails loudly instead of overrunning. */
#define MAX_TESTS 256
static struct test tests[MAX_TESTS];
static int ntests;

static void add(struct test t)
{
	if (ntests == MAX_TESTS) {
		fprintf(stderr, "hosted-test: more than %d tests: %s has no room (MAX_TESTS)\n",
			MAX_TESTS, t.name);
		exit(2);
	}
	tests[ntests++] = t;
}

/* Every test of a file's table of named tests, in its order. */
static void add_named(const struct hosted_named_test *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		add((struct test){.name = t[i].name, .needs = t[i].needs, .run = t[i].run});
}

/* Every case of a table, name(i) NULL past the last. */
static void add_cases(const char *(*name)(unsigned i, const char **needs),
		      int (*run)(unsigned i, char *why, size_t len))
{
	const char *n, *needs;
	for (unsigned i = 0; (n = name(i, &needs)); i++)
		add((struct test){.name = n, .needs = needs, .run_case = run, .i = i});
}

static void list_tests(void)
{
	add((struct test){.name = "hello-answers", .run = htest_hello});
	add_cases(hosted_escape_case_name, hosted_escape_case);
	add((struct test){.name = "rogue-vsyscall-gettimeofday-is-enosys-or-faults",
			  .run = htest_vsyscall});
	add((struct test){.name = "rogue-sysenter-with-a-stack-below-4-gib-fails-rogue",
			  .run = htest_sysenter});
	add((struct test){.name = "xcall-chain-through-the-gate", .run = htest_chain});
	add((struct test){.name = "xcall-callee-failing-in-32-bit-mode-unwinds-to-64-bit",
			  .run = htest_compat});
	add((struct test){.name = "gate-vector-state-crosses-no-call", .run = htest_vectors});
	add((struct test){.name = "gate-amx-tile-config-crosses-no-call", .run = htest_tiles});
	add((struct test){.name = "gate-avx512-state-crosses-no-call", .run = htest_wide});
	add((struct test){.name = "gate-x87-and-sse-control-state-crosses-no-call",
			  .run = htest_control});
	add((struct test){.name = "gate-an-xcr0-component-the-gate-does-not-zero-is-refused",
			  .run = htest_xcr0_refused});
	add((struct test){.name = "upcall-a-domains-unmasked-fp-exceptions-stay-in-it",
			  .run = htest_unmasked_fp});
	add((struct test){.name = "runtime-leaves-no-avx512-state-in-use", .run = htest_no_avx512});
	add((struct test){.name = "xcall-callee-fault-unwinds-to-caller", .run = htest_unwind});
	add((struct test){.name = "gate-alignment-checks-cross-no-call", .run = htest_flags});
	add((struct test){.name = "gate-call-depth-past-the-limit-is-edepth", .run = htest_depth});
	add((struct test){.name = "gate-counts-every-call-from-two-threads-at-once",
			  .run = htest_counts});
	add((struct test){
		.name = "gate-every-wrpkru-jumped-to-with-zero-rights-faults-at-the-violation-site",
		.needs = "isolation", /* without keys every domain's rights are 0 too */
		.run = htest_every_gate_wrpkru});
	add((struct test){
		.name = "gate-every-wrpkru-jumped-to-denying-shared-faults-at-the-violation-site",
		.needs = "isolation",
		.run = htest_every_gate_wrpkru_denying_shared});
	add((struct test){.name = "runtime-every-base-write-jumped-to-faults-at-its-check",
			  .needs = "isolation", /* without keys the check's read succeeds */
			  .run = htest_every_base_write});
	add((struct test){.name = "runtime-every-kind-of-load-and-store-is-a-protection-key-fault",
			  .needs = "isolation", /* without keys every access succeeds */
			  .run = htest_every_access_kind});
	add((struct test){.name = "runtime-every-wrpkru-jumped-to-with-zero-rights-traps",
			  .needs = "isolation", /* without keys a WRPKRU is #UD where it stands */
			  .run = htest_every_runtime_wrpkru});
	add_cases(hosted_rref_case_name, hosted_rref_case);
	add_cases(hosted_evil_case_name, hosted_evil_case);
	add_named(hosted_domain_tests, HOSTED_DOMAIN_TESTS);
	add_named(hosted_lifecycle_tests, HOSTED_LIFECYCLE_TESTS);
	for (unsigned i = 0; i < HOSTED_ROGUE_CASES; i++) {
		const char *needs;
		const char *name = hosted_rogue_case_name(i, &needs);
		add((struct test){
			.name = name, .needs = needs, .run_case = hosted_rogue_case, .i = i});
	}
	add_named(hosted_rogue_tests, HOSTED_ROGUE_TESTS);
	add_named(inject_tests, HOSTED_INJECT_TESTS);
	add_named(hosted_watch_tests, HOSTED_WATCH_TESTS);
	add_named(hosted_thread_tests, HOSTED_THREAD_TESTS);
	add_named(hosted_prove_tests, HOSTED_PROVE_TESTS);
	add_named(hosted_sigframe_tests, HOSTED_SIGFRAME_TESTS);
}

#define CHILD_SKIPPED 4 /* the child's exit status for HTEST_SKIP */

/* The child: set the runtime up, run one test, report on the pipe. */
static void child(int fd, const struct test *t)
{
	char why[HTEST_WHY] = "";
	alarm(TEST_SECONDS);
	int rc = runtime_start(keys, why, sizeof why);
	if (rc == 0)
		rc = t->run ? t->run(why, sizeof why) : t->run_case(t->i, why, sizeof why);
	if (rc == 0)
		why[0] = 0;
	else if (!why[0])
		snprintf(why, sizeof why, "failed without a reason");
	if (write(fd, why, strlen(why)) < 0)
		_exit(3);
	_exit(rc == 0 ? 0 : rc == HTEST_SKIP ? CHILD_SKIPPED : 1);
}

struct tally {
	int passed, failed, skipped;
};

static void one(const struct test *test, struct tally *t)
{
	const char *name = test->name;
	if (test->needs && !keys) {
		printf("hosted-test: %s SKIP %s needs protection keys: %s\n", name, test->needs,
		       no_keys);
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
		child(p[1], test);
	}
	close(p[1]);
	char why[HTEST_WHY] = "";
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
	} else if (WEXITSTATUS(status) == CHILD_SKIPPED) {
		printf("hosted-test: %s SKIP %s\n", name, why);
		t->skipped++;
	} else if (WEXITSTATUS(status) != 0) {
		printf("hosted-test: %s FAIL %s\n", name, why);
		t->failed++;
	} else {
		printf("hosted-test: %s ok\n", name);
		t->passed++;
	}
}

int hosted_tests(int n, char **names)
{
	list_tests();
	for (int k = 0; k < n; k++) {
		int i = 0;
		while (i < ntests && strcmp(names[k], tests[i].name))
			i++;
		if (i == ntests) {
			fprintf(stderr,
				"maple-hosted: test: no test named '%s'; there are:", names[k]);
			for (i = 0; i < ntests; i++)
				fprintf(stderr, " %s", tests[i].name);
			fputc('\n', stderr);
			return 2;
		}
	}
	keys = pkeys_available(no_keys, sizeof no_keys);
	printf("hosted-test: protection keys: %s\n", keys ? "yes" : no_keys);
	struct tally t = {0, 0, 0};
	for (int i = 0; i < ntests; i++) {
		int wanted = n == 0;
		for (int k = 0; k < n && !wanted; k++)
			wanted = !strcmp(names[k], tests[i].name);
		if (wanted)
			one(&tests[i], &t);
	}
	printf("hosted-test: %d passed, %d failed, %d skipped\n", t.passed, t.failed, t.skipped);
	return t.failed ? 1 : 0;
}
