/*
 * maple-hosted's tests of what it gained by running the VM's create
 * sequence (kernel/domain/lifecycle.c) rather than its own: an image over
 * a domain's memory limit is refused before anything is mapped, and an
 * image is checked before a slot is looked for; and of the VM's destroy
 * semantics: a domain destroyed with its call still out in another domain
 * gives that call no result; and of the image's page rights the sequence
 * maps (elf_page_flags): an empty segment makes no page executable.
 * tests.c runs each in a child of its own like every hosted test.
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
#include <test/rogue/cases.h>
#include <test/rogue/image_cases.h>
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

/* `size` bytes of `file` written as <dir>/<name>.elf in a directory of
 * its own; 0, or -1 with why. */
static int write_made_image(const char *name, const uint8_t *file, size_t size,
			    struct made_image *m, char *why, size_t len)
{
	snprintf(m->dir, sizeof m->dir, "/tmp/maple-lifecycle-XXXXXX");
	if (!mkdtemp(m->dir))
		return htest_fail(why, len, "cannot make a directory for %s.elf", name);
	snprintf(m->path, sizeof m->path, "%s/%s.elf", m->dir, name);
	FILE *f = fopen(m->path, "wb");
	int ok = f && fwrite(file, 1, size, f) == size;
	if (f && fclose(f) != 0)
		ok = 0;
	if (!ok) {
		made_image_remove(m);
		return htest_fail(why, len, "cannot write %s", m->path);
	}
	return 0;
}

/* Program header i of an image hosted_read read (elf_check bounds the
 * table before anyone else reads it; the callers read only what it
 * checked in the images built here). */
static struct elf64_phdr *file_phdr(uint8_t *file, unsigned i)
{
	const struct elf64_ehdr *eh = (const struct elf64_ehdr *)file;
	return (struct elf64_phdr *)(file + eh->e_phoff + i * (uint64_t)eh->e_phentsize);
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
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (file_phdr(file, i)->p_type == PT_LOAD)
			last = file_phdr(file, i);
	int rc = -1;
	if (!last) {
		htest_fail(why, len, "hello.elf has no loadable segment");
	} else {
		last->p_memsz += more;
		rc = write_made_image(name, file, size, m, why, len);
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

/*
 * rogue's image with one more loadable segment listed before all others:
 * an empty one (p_memsz 0), readable and executable, claiming an address
 * just below the end of the page that holds ROGUE_I_RODATA's bytes in
 * rogue's read-only data (the program header PT_GNU_STACK's place takes
 * the first PT_LOAD it displaces). elf_check accepts it: an empty segment
 * occupies no memory. *code is those bytes' offset from the image's
 * start, where they run in its slot; 0, or -1 with why.
 */
static int make_rogue_with_empty_exec(struct made_image *m, uint64_t *code, char *why, size_t len)
{
	static const char bytes[] = ROGUE_I_MARK "\x0f\x01\xef\xc3";
	size_t size;
	uint8_t *file = hosted_read(HDOM_MODULES "rogue.elf", &size, why, len);
	if (!file)
		return -1;
	const struct elf64_ehdr *eh = (const struct elf64_ehdr *)file;
	const uint8_t *at = memmem(file, size, bytes, sizeof bytes - 1);
	uint64_t off = at ? (uint64_t)(at - file) : 0;
	int first = -1, stack = -1, rc = -1;
	uint64_t lo = UINT64_MAX; /* the span's start: link address lo runs at the slot's base */
	*code = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const struct elf64_phdr *ph = file_phdr(file, i);
		if (ph->p_type == PT_LOAD && first < 0)
			first = (int)i;
		if (ph->p_type == PT_LOAD && ph->p_memsz &&
		    (ph->p_vaddr & ~(ELF_PAGE_SIZE - 1)) < lo)
			lo = ph->p_vaddr & ~(ELF_PAGE_SIZE - 1);
		if (ph->p_type == PT_GNU_STACK)
			stack = (int)i;
		if (at && ph->p_type == PT_LOAD && !(ph->p_flags & PF_X) && off >= ph->p_offset &&
		    off - ph->p_offset < ph->p_filesz)
			*code = ph->p_vaddr + (off - ph->p_offset) + sizeof ROGUE_I_MARK - 1;
	}
	if (!*code || first < 0 || stack < 0) {
		htest_fail(why, len,
			   "rogue.elf: ROGUE_I_RODATA's bytes %s a segment without execute "
			   "rights, first PT_LOAD %d, PT_GNU_STACK %d",
			   *code ? "in" : "not found in", first, stack);
	} else {
		/* Below the page's end, past the 4 bytes (16-byte aligned,
		 * after the 8-byte mark): [page, vaddr) is all of them. */
		uint64_t vaddr = (*code & ~(ELF_PAGE_SIZE - 1)) + ELF_PAGE_SIZE - 1;
		*file_phdr(file, (unsigned)stack) = *file_phdr(file, (unsigned)first);
		*file_phdr(file, (unsigned)first) = (struct elf64_phdr){
			.p_type = PT_LOAD,
			.p_flags = PF_R | PF_X,
			.p_offset = vaddr % ELF_PAGE_SIZE,
			.p_vaddr = vaddr,
			.p_paddr = vaddr,
			.p_align = ELF_PAGE_SIZE,
		};
		rc = write_made_image("rogue", file, size, m, why, len);
		*code -= lo;
	}
	free(file);
	return rc;
}

/* rogue (from `path`, or the boot module) runs ROGUE_I_RODATA: it must
 * fail at the fetch of those bytes, with the TRUSTED word unchanged. */
static int rodata_does_not_run(const char *path, uint64_t code, char *why, size_t len)
{
	char err[256] = "", failed[HTEST_WHY] = "", want[160];
	struct hosted_domain *d = NULL;
	if (!hdom_create_path(NULL, path, &d, err, sizeof err))
		return htest_fail(why, len, "%s was refused: %s", path, err);
	volatile uint64_t *word = (volatile uint64_t *)MAPLE_TRUSTED_VA;
	uint64_t before = *word;
	long r = 0;
	int rc = htest_call(d, Rogue_run_METHOD, ROGUE_I_RODATA, (long)MAPLE_TRUSTED_VA, 0, &r,
			    failed, sizeof failed);
	if (rc == 0 || *word != before)
		return htest_fail(why, len,
				  "%s: rogue.run(ROGUE_I_RODATA) %s%#lx%s, the TRUSTED word %s; "
				  "want the fetch of its read-only data refused",
				  path, rc == 0 ? "returned " : "failed (", rc == 0 ? r : 0,
				  rc == 0 ? "" : ")", *word != before ? "written" : "unchanged");
	snprintf(want, sizeof want,
		 "^rogue\\.%d failed: SIGSEGV \\(SEGV_ACCERR\\) at [^ ]+, address %#lx$",
		 Rogue_run_METHOD, (unsigned long)(d->base + code));
	if (!htest_matches(want, failed))
		return htest_fail(why, len, "%s: '%s'; want /%s/", path, failed, want);
	return htest_leak_check(why, len);
}

/*
 * THE RULE (kernel/lib/elf_reloc.c, elf_page_flags): no byte of an image
 * is executable unless elf_check scanned it, and it scans only executable
 * segments' file bytes. A segment that occupies no memory gives no page
 * its rights. rogue calls a WRPKRU; RET stored in its read-only data, as
 * built and with an empty executable segment claiming that page. Before,
 * the empty segment, listed first, made the page executable: under keys
 * `rogue.run(ROGUE_I_RODATA) returned 0x600d, the TRUSTED word written`
 * (PKRU 0, every key: out of its domain).
 */
static int run_empty_segment(char *why, size_t len)
{
	struct made_image m;
	uint64_t code;
	if (make_rogue_with_empty_exec(&m, &code, why, len) < 0)
		return -1;
	int rc = rodata_does_not_run(HDOM_MODULES "rogue.elf", code, why, len);
	if (rc == 0)
		rc = rodata_does_not_run(m.path, code, why, len);
	made_image_remove(&m);
	return rc;
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
	{"lifecycle-an-empty-segment-makes-no-data-executable", run_empty_segment, NULL},
};
