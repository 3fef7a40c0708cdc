/*
 * bad_wrpkru: an otherwise ordinary domain with a WRPKRU (0f 01 ef) in its
 * text that nothing calls. A jump could still reach it, so the loader must
 * refuse the image; test_domain_images expects exactly that.
 */
#include <sdk/dom.h>

/* Would open every key: PKRU = %eax with %ecx = %edx = 0. */
__attribute__((used, noinline)) static void grant_all_keys(void)
{
	__asm__ volatile("wrpkru" : : "a"(0), "c"(0), "d"(0));
}

long domain_main(long arg)
{
	(void)arg;
	dom_printf("bad_wrpkru: loaded, which the loader must not allow");
	return 0;
}
