/*
 * hello: the smallest domain. Its domain_main says which domain it runs in
 * and exports one method (test/hello/hello.h), whose exact answer tells a test
 * that the image was loaded, entered in ring 3, could make syscalls and
 * return through the gate.
 */
#include <sdk/dom.h>
#include <test/hello/hello.h>

static long greet(long x)
{
	return x + maple_domain_id();
}

long domain_main(long arg)
{
	(void)arg;
	dom_printf("hello: running in domain %ld\n", maple_domain_id());
	const uint64_t methods[] = {[HELLO_GREET] = MAPLE_METHOD(greet)};
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
