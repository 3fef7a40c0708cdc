/*
 * bad_wrgsbase: an otherwise ordinary domain whose text hides WRGSBASE %rax,
 * f3 48 0f ae d8, inside the immediate of a MOVABS that nothing calls. The
 * gate finds the thread's GATE_RO page through %gs (gate.S, "THE
 * INVARIANT"); on the pc platform CR4.FSGSBASE is off and the instruction
 * faults, but Linux turns FSGSBASE on for every process (AT_HWCAP2 bit 1),
 * so under maple-hosted a jump two bytes into the MOVABS would point %gs at
 * a fake GATE_RO page in the domain's own memory. The loader must refuse
 * the image; test_domain_images and the hosted group expect exactly that.
 */
#include <sdk/dom.h>

__attribute__((used, noinline)) static long hidden_wrgsbase(void)
{
	long v;
	__asm__ volatile("movabsq $0x000000d8ae0f48f3, %0" : "=r"(v));
	return v;
}

long domain_main(long arg)
{
	(void)arg;
	dom_printf("bad_wrgsbase: loaded, which the loader must not allow");
	return 0;
}
