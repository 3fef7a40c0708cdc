/*
 * bad_xrstor: an otherwise ordinary domain whose text hides XRSTOR (%rdi),
 * 0f ae 2f, inside the immediate of a MOV that nothing calls: a jump one
 * byte into the MOV would run it and load PKRU from domain memory. The
 * loader must refuse the image; test_domain_images expects exactly that.
 */
#include <sdk/dom.h>

__attribute__((used, noinline)) static long hidden_xrstor(void)
{
	long v;
	__asm__ volatile("movl $0x002fae0f, %k0" : "=r"(v));
	return v;
}

long domain_main(long arg)
{
	(void)arg;
	dom_printf("bad_xrstor: loaded, which the loader must not allow");
	return 0;
}
