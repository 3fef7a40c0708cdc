/*
 * hello: the smallest domain. It says which domain it runs in and returns
 * 42, which proves the image was loaded, entered in ring 3 and could make
 * syscalls and return through the gate.
 */
#include <maple/dom.h>

long domain_main(long arg)
{
	(void)arg;
	dom_printf("hello: running in domain %ld\n", maple_domain_id());
	return 42;
}
