/*
 * Starting the boot runners the command line asks for (core/boot_runner.h),
 * and naming the test-image keys this image cannot act on.
 */
#include <core/boot_runner.h>
#include <core/log.h>
#include <lib/cmdline.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <maple/bootinfo.h>
#include <stddef.h>

extern const struct boot_runner __boot_runners_start[], __boot_runners_end[];

/* The keys the test image's runners take (ktest/ktest.c, bench/bench.c). */
static const char *const test_image_keys[] = {"test", "bench"};

static const struct boot_runner *runner_for(const char *key)
{
	for (const struct boot_runner *r = __boot_runners_start; r < __boot_runners_end; r++)
		if (!strcmp(r->key, key))
			return r;
	return NULL;
}

void boot_runners_start(const char *cmdline)
{
	char value[BOOTINFO_CMDLINE_MAX], unserved[64] = "";
	size_t n = 0;
	for (size_t i = 0; i < sizeof test_image_keys / sizeof test_image_keys[0]; i++) {
		const char *key = test_image_keys[i];
		if (!cmdline_get(cmdline, key, value, sizeof value) || runner_for(key))
			continue;
		/* fmt_snprintf returns the length it wanted: never step past the end. */
		n += (size_t)fmt_snprintf(unserved + n, sizeof unserved - n, "%s%s=", n ? ", " : "",
					  key);
		if (n >= sizeof unserved)
			n = sizeof unserved - 1;
	}
	if (n)
		klog("maple: %s ignored: this kernel image has no in-kernel tests or benchmarks "
		     "(they are in the test image, kernel-test.elf)",
		     unserved);
	for (const struct boot_runner *r = __boot_runners_start; r < __boot_runners_end; r++)
		if (cmdline_get(cmdline, r->key, value, sizeof value))
			r->start(cmdline);
}
