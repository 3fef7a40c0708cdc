/*
 * rogue's attacks on the kernel's authority over domains and devices
 * (test/rogue/cases.h, 40-59): destroy a domain it did not create, create an
 * image the manifest does not let it create, map a device granted to
 * another domain. The raw syscalls, so the tests see the kernel's exact
 * answer rather than the SDK's summary of it.
 */
#include <lib/string.h>
#include <sdk/dom.h>
#include <sdk/syscall.h>
#include <test/rogue/auth.h>
#include <test/rogue/cases.h>

static long syscall_name(long nr, const char *name)
{
	return syscall2(nr, (long)name, (long)strlen(name));
}

long rogue_auth_run(long number, uint64_t target)
{
	switch (number) {
	case ROGUE_DESTROY: {
		long h = target ? (long)target : maple_lookup("victim");
		return h < 0 ? h : syscall1(SYS_DOMAIN_DESTROY, h);
	}
	case ROGUE_CREATE_MEMBDEV:
		return syscall_name(SYS_DOMAIN_CREATE, "membdev");
	case ROGUE_MAP_RAMDISK:
		return syscall_name(SYS_DEVICE_MAP, "ramdisk0");
	}
	return -MAPLE_EINVAL;
}
