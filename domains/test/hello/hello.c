/*
 * hello: the smallest domain. Its domain_main says which domain it runs in
 * and exports one method (domains/idl/hello.idl), whose exact answer tells a test
 * that the image was loaded, entered in ring 3, could make syscalls and
 * return through the gate.
 */
#include <idl/hello_methods.h>
#include <sdk/dom.h>

static long greet(long x)
{
	return x + maple_domain_id();
}

long domain_main(long arg)
{
	(void)arg;
	dom_printf("hello: running in domain %ld\n", maple_domain_id());
	const uint64_t methods[] = {[Hello_greet_METHOD] = MAPLE_METHOD(greet)};
	/* Indexed by the numbers idlc generated: a method missing here fails the build. */
	_Static_assert(DOM_ARRAY_LEN(methods) == Hello_METHODS, "Hello: every method exported");
	return maple_export(methods, DOM_ARRAY_LEN(methods));
}
