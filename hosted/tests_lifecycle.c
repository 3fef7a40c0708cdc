/*
 * maple-hosted's tests of what it gained by running the VM's create
 * sequence (kernel/domain/lifecycle.c) rather than its own: an image over
 * a domain's memory limit is refused before anything is mapped, and an
 * image is checked before a slot is looked for; and of the VM's destroy
 * semantics: a domain destroyed with its call still out in another domain
 * gives that call no result. tests.c runs each in a child of its own like
 * every hosted test.
 */
#define _GNU_SOURCE
#include "tests_lifecycle.h"

#include "domains.h"
#include "gate.h"
#include "syscalls.h"
#include "tests.h"
#include "tests_domains.h"

#include <domain/gate_layout.h>
#include <idl/rogue_methods.h>
#include <lib/elf.h>
#include <maple/abi.h>
#include <test/rogue/attack4_cases.h>
#include <test/rogue/watch_cases.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The image file a test writes: `name`.elf in a directory of its own. */
struct made_image {
	char dir[64];
	char path[128];
};

static void made_image_remove(struct made_image *m)
{
	unlink(m->path);
	rmdir(m->dir);
}

/*
 * hello's image with its last loadable segment's memory grown by `more`
 * bytes of zeros (a larger .bss: the image stays one elf_check accepts),
 * written as <dir>/<name>.elf; 0, or -1 with why.
 */
static int make_grown_hello(const char *name, uint64_t more, struct made_image *m, char *why,
			    size_t len)
{
	size_t size;
	uint8_t *file = hosted_read(HDOM_MODULES "hello.elf", &size, why, len);
	if (!file)
		return -1;
	const struct elf64_ehdr *eh = (const struct elf64_ehdr *)file;
	struct elf64_phdr *last = NULL;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		struct elf64_phdr *ph =
			(struct elf64_phdr *)(file + eh->e_phoff + i * (uint64_t)eh->e_phentsize);
		if (ph->p_type == PT_LOAD)
			last = ph;
	}
	if (!last) {
		free(file);
		return htest_fail(why, len, "hello.elf has no loadable segment");
	}
	last->p_memsz += more;
	snprintf(m->dir, sizeof m->dir, "/tmp/maple-lifecycle-XXXXXX");
	int rc = -1;
	if (!mkdtemp(m->dir)) {
		htest_fail(why, len, "cannot make a directory for %s.elf", name);
	} else {
		snprintf(m->path, sizeof m->path, "%s/%s.elf", m->dir, name);
		FILE *f = fopen(m->path, "wb");
		if (f && fwrite(file, 1, size, f) == size && fclose(f) == 0)
			rc = 0;
		else
			htest_fail(why, len, "cannot write %s", m->path);
	}
	free(file);
	return rc;
}

/*
 * THE RULE (the VM's, kernel/domain/lifecycle.c): a domain's image counts
 * against its memory limit, and an image over it is refused before any of
 * it is mapped. Before maple-hosted ran the shared sequence it mapped and
 * started such an image (a 200 MiB .bss, past the 128 MiB limit).
 */
static int run_image_over_limit(char *why, size_t len)
{
	struct made_image m;
	if (make_grown_hello("big", 200ul << 20, &m, why, len) < 0)
		return -1;
	char err[256] = "", want[128];
	struct hosted_domain *d = NULL;
	uint64_t h = hdom_create_path(NULL, m.path, &d, err, sizeof err);
	made_image_remove(&m);
	if (h)
		return htest_fail(why, len,
				  "big (a 200 MiB .bss) was created as id %u, want refused",
				  d ? d->id : 0);
	/* hello's span rounded to pages, plus the 200 MiB */
	unsigned long kib = strtoul(err + 2, NULL, 10);
	snprintf(want, sizeof want, "a %lu KiB image is over its memory limit of %lu KiB", kib,
		 (unsigned long)HDOM_MEM_PAGES * 4);
	if (kib < 200ul << 10 || strcmp(err, want))
		return htest_fail(why, len, "refused with '%s', want '%s' (over 204800 KiB)", err,
				  want);
	return htest_leak_check(why, len);
}

/*
 * The image is checked before a slot is looked for (the VM's order): with
 * every slot or key held, a refused image is refused for its own reason.
 * Before, maple-hosted looked for a slot first and said "all 63 domain
 * slots are in use" (without keys; with keys it ran out of keys later).
 */
static int run_image_checked_before_slot(char *why, size_t len)
{
	char err[256] = "";
	unsigned made = 0;
	while (made < GATE_MAX_DOMAINS && hdom_create(NULL, "hello", NULL, err, sizeof err))
		made++;
	if (made == 0)
		return htest_fail(why, len, "creating hello: %s", err);
	const char *full = "all 63 domain slots are in use";
	const char *nokey = "no protection key left (12 domains hold the 12 domain keys)";
	if (strcmp(err, full) && strcmp(err, nokey))
		return htest_fail(why, len, "after %u hellos: '%s', want '%s' or '%s'", made, err,
				  full, nokey);
	if (hdom_create(NULL, "bad_wrpkru", NULL, err, sizeof err))
		return htest_fail(why, len, "bad_wrpkru was created with every slot held");
	if (strncmp(err, "bad_wrpkru.elf: forbidden instruction WRPKRU (0f 01 ef) at ", 59))
		return htest_fail(why, len, "bad_wrpkru refused with '%s', want its WRPKRU", err);
	return htest_leak_check(why, len);
}

/* The tick of run_destroyed_callee: the first system call served for a
 * domain other than the target while the target's call is out destroys the
 * target, as its creator (the runtime) may. */
struct destroy_midcall {
	struct hosted_domain *target;
	int tried;
	long rc;
	char err[160];
};

static void destroy_midcall(void *arg)
{
	struct destroy_midcall *m = arg;
	if (m->tried || hgate_current() == m->target || !hgate_active(m->target))
		return;
	m->tried = 1;
	m->rc = hdom_destroy(hgate_handle(m->target), m->err, sizeof m->err);
}

/*
 * THE RULE (the VM's gate_return): a callee that failed has no result to
 * give. Rogue 1 calls rogue 2 (ROGUE_H_CALL), whose SYS_SLEEP_NS destroys
 * rogue 1: its call is still out, so it stays failed (-MAPLE_ETIMEDOUT),
 * and once rogue 2 returns into it rogue 1 runs on and returns through the
 * gate without another system call. Before, maple-hosted took that return
 * as the upcall's result ("rogue.run(ROGUE_H_CALL) returned 0x...": rogue
 * 2's ROGUE_W_DONE), and a domain destroyed so during its init was logged
 * created; the VM unwinds such a callee and its caller hears the failure.
 */
static int run_destroyed_callee(char *why, size_t len)
{
	struct hosted_domain *caller = htest_create("rogue", why, len);
	struct hosted_domain *callee = caller ? htest_create("rogue", why, len) : NULL;
	if (!callee)
		return -1;
	struct destroy_midcall m = {.target = caller};
	long r = 0;
	char failed[HTEST_WHY] = "", want[64];
	hsys_set_tick(destroy_midcall, &m);
	int rc = htest_call(caller, Rogue_run_METHOD, ROGUE_H_CALL, (long)hgate_handle(callee),
			    ROGUE_W_SLEEP, &r, failed, sizeof failed);
	hsys_set_tick(NULL, NULL);
	if (!m.tried || m.rc != -MAPLE_ETIMEDOUT)
		return htest_fail(why, len,
				  "destroying rogue 1 with its call out in rogue 2: %s %ld (%s); "
				  "want -MAPLE_ETIMEDOUT (-%d)",
				  m.tried ? "returned" : "never tried,", m.rc, m.err,
				  MAPLE_ETIMEDOUT);
	snprintf(want, sizeof want, "rogue.%d failed: destroyed", Rogue_run_METHOD);
	if (rc == 0)
		return htest_fail(
			why, len,
			"rogue.run(ROGUE_H_CALL) returned %#lx after rogue 1 was destroyed "
			"mid-call; want '%s'",
			r, want);
	if (strcmp(failed, want))
		return htest_fail(why, len, "rogue.run(ROGUE_H_CALL): '%s'; want '%s'", failed,
				  want);
	return htest_leak_check(why, len); /* rogue 1's second destroy: no call out now */
}

const struct hosted_named_test hosted_lifecycle_tests[HOSTED_LIFECYCLE_TESTS] = {
	{"lifecycle-image-over-the-memory-limit-is-refused", run_image_over_limit, NULL},
	{"lifecycle-image-is-checked-before-a-slot", run_image_checked_before_slot, NULL},
	{"lifecycle-callee-destroyed-mid-call-gives-no-result", run_destroyed_callee, NULL},
};
