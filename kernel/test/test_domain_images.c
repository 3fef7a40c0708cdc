/*
 * Host test of every domain image the build makes (domains/sources and
 * drivers/sources, built into TEST_DOMAINS; the names arrive in
 * DOMAIN_IMAGES from tools/configure): the kernel loader's elf_check must accept each one, so
 * the SDK and its flags can never quietly produce an image the kernel would
 * refuse. The images built to be refused must be refused, for the
 * forbidden instruction they carry. One cmocka test per image.
 */
#include <lib/elf.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/read_file.h"

/* Images that exist to prove the loader refuses them, and why it must. */
static const struct {
	const char *name;
	const char *instruction;
} refused[] = {
	{"bad_wrpkru", "WRPKRU"},
	{"bad_xrstor", "XRSTOR"},
	{"bad_wrgsbase", "WRGSBASE"},
};

static const char *expected_refusal(const char *name)
{
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (strcmp(refused[i].name, name) == 0)
			return refused[i].instruction;
	return NULL;
}

/*
 * What elf_check leaves to the build: the SDK promises no thread-local
 * storage (the kernel sets up none) and a non-executable stack. Writes the
 * first broken promise to why[].
 */
static void check_build_promises(const char *path, const uint8_t *file, char *why, size_t len)
{
	struct elf64_ehdr eh;
	memcpy(&eh, file, sizeof(eh));
	for (unsigned n = 0; n < eh.e_phnum; n++) {
		struct elf64_phdr ph;
		memcpy(&ph, file + eh.e_phoff + n * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_TLS) {
			snprintf(why, len, "%s: segment %u: thread-local storage (PT_TLS)", path,
				 n);
			return;
		}
		if (ph.p_type == PT_GNU_STACK && (ph.p_flags & PF_X)) {
			snprintf(why, len, "%s: segment %u: executable stack (PT_GNU_STACK)", path,
				 n);
			return;
		}
	}
}

static void test_image(void **state)
{
	const char *name = *state;
	const char *instruction = expected_refusal(name);
	char path[256], why[512] = "";
	size_t size;
	struct elf_info info;
	struct elf_error err;

	snprintf(path, sizeof(path), "%s/%s.elf", TEST_DOMAINS, name);
	uint8_t *file = test_read_file(path, &size);
	int rc = elf_check(file, size, ELF_KIND_DOMAIN, &info, &err);
	if (!instruction) {
		if (rc != 0)
			snprintf(why, sizeof(why), "%s: the domain loader refuses it: %s", path,
				 err.msg);
		else
			check_build_promises(path, file, why, sizeof(why));
	} else {
		char want[64];
		snprintf(want, sizeof(want), "forbidden instruction %s (", instruction);
		if (rc == 0)
			snprintf(why, sizeof(why), "%s: accepted despite its %s", path,
				 instruction);
		else if (strncmp(err.msg, want, strlen(want)) != 0)
			snprintf(why, sizeof(why), "%s: refused for another reason than %s: %s",
				 path, instruction, err.msg);
	}
	free(file);
	if (why[0])
		fail_msg("%s", why);
}

/* Each expected refusal names an image that is still built. */
static void test_refusals_are_built(void **state)
{
	const char *images = *state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char word[64];
		snprintf(word, sizeof(word), " %s ", refused[i].name);
		if (!strstr(images, word))
			fail_msg("%s is expected to be refused but is not in domains/sources",
				 refused[i].name);
	}
}

int main(void)
{
	/* Spaces around every name, so test_refusals_are_built matches whole words. */
	char *images = malloc(strlen(DOMAIN_IMAGES) + 3);
	char *names = strdup(DOMAIN_IMAGES);
	assert_non_null(images);
	assert_non_null(names);
	sprintf(images, " %s ", DOMAIN_IMAGES);

	size_t count = 0, max = strlen(DOMAIN_IMAGES) / 2 + 2;
	struct CMUnitTest *tests = calloc(max, sizeof(*tests));
	assert_non_null(tests);
	tests[count++] =
		(struct CMUnitTest)cmocka_unit_test_prestate(test_refusals_are_built, images);
	for (char *name = strtok(names, " "); name; name = strtok(NULL, " "))
		tests[count++] = (struct CMUnitTest){
			.name = name, .test_func = test_image, .initial_state = name};
	int failed = _cmocka_run_group_tests("domain_images", tests, count, NULL, NULL);
	free(tests);
	free(names);
	free(images);
	return failed;
}
