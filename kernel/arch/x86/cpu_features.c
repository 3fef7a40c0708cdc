/*
 * CPU feature detection and enabling, per CPU. The kernel needs NX (W^X
 * mappings), turns on SMEP so the kernel never runs user-page code, and turns
 * on protection keys (CR4.PKE), which isolation domains are built on. The
 * boot CPU's findings are the system's; every AP must match them.
 */
#include <arch/x86/cpu.h>
#include <arch/x86/cpu_features.h>
#include <core/log.h>
#include <core/panic.h>
#include <lib/fmt.h>
#include <lib/string.h>

enum feature {
	F_NX,
	F_SMEP,
	F_SMAP,
	F_UMIP,
	F_PKU,
	F_PKS,
	F_X2APIC,
	F_FSGSBASE,
	F_PCID,
	F_INVPCID,
	F_LA57,
	F_PAGE1G,
	F_COUNT
};

enum { REG_EAX, REG_EBX, REG_ECX, REG_EDX };

/* Where CPUID reports each feature (Intel SDM Vol. 2A, CPUID, Tables 3-8 and 3-10). */
static const struct {
	const char *name;
	uint32_t leaf;
	uint8_t reg;
	uint8_t bit;
} feature_bits[F_COUNT] = {
	[F_NX] = {"nx", 0x80000001, REG_EDX, 20},
	[F_SMEP] = {"smep", 7, REG_EBX, 7},
	[F_SMAP] = {"smap", 7, REG_EBX, 20},
	[F_UMIP] = {"umip", 7, REG_ECX, 2},
	[F_PKU] = {"pku", 7, REG_ECX, 3},
	[F_PKS] = {"pks", 7, REG_ECX, 31},
	[F_X2APIC] = {"x2apic", 1, REG_ECX, 21},
	[F_FSGSBASE] = {"fsgsbase", 7, REG_EBX, 0},
	[F_PCID] = {"pcid", 1, REG_ECX, 17},
	[F_INVPCID] = {"invpcid", 7, REG_EBX, 10},
	[F_LA57] = {"la57", 7, REG_ECX, 16},
	[F_PAGE1G] = {"1g-pages", 0x80000001, REG_EDX, 26},
};

/* CPUID.(7,0):ECX.OSPKE mirrors CR4.PKE (SDM Vol. 2A, CPUID). */
#define CPUID7_ECX_OSPKE (1U << 4)

static bool boot_has[F_COUNT];

static uint32_t reg_of(struct cpuid_regs r, uint8_t reg)
{
	switch (reg) {
	case REG_EAX:
		return r.eax;
	case REG_EBX:
		return r.ebx;
	case REG_ECX:
		return r.ecx;
	default:
		return r.edx;
	}
}

static void detect(bool has[F_COUNT])
{
	uint32_t max_basic = cpuid(0, 0).eax;
	uint32_t max_ext = cpuid(0x80000000, 0).eax;
	for (int f = 0; f < F_COUNT; f++) {
		uint32_t leaf = feature_bits[f].leaf;
		bool ext = leaf >= 0x80000000;
		if ((ext && leaf > max_ext) || (!ext && leaf > max_basic)) {
			has[f] = false;
			continue;
		}
		uint32_t v = reg_of(cpuid(leaf, 0), feature_bits[f].reg);
		has[f] = (v >> feature_bits[f].bit) & 1;
	}
}

static inline void wrpkru(uint32_t pkru)
{
	/* WRPKRU needs ECX = EDX = 0 (SDM Vol. 2B, WRPKRU). */
	__asm__ volatile("wrpkru" : : "a"(pkru), "c"(0), "d"(0) : "memory");
}

static void log_boot_cpu(void)
{
	char brand[49] = "";
	if (cpuid(0x80000000, 0).eax >= 0x80000004) {
		/* Processor brand string (SDM Vol. 2A, CPUID leaves 80000002H-80000004H). */
		for (uint32_t i = 0; i < 3; i++) {
			struct cpuid_regs r = cpuid(0x80000002 + i, 0);
			memcpy(brand + 16 * i, &r, 16);
		}
		brand[48] = '\0';
	}
	const char *b = brand;
	while (*b == ' ')
		b++;
	klog("cpu: %s", *b ? b : "(no brand string)");

	char present[128] = "", absent[128] = "";
	size_t np = 0, na = 0;
	for (int f = 0; f < F_COUNT; f++) {
		if (boot_has[f])
			np += (size_t)fmt_snprintf(present + np, sizeof present - np, " %s",
						   feature_bits[f].name);
		else
			na += (size_t)fmt_snprintf(absent + na, sizeof absent - na, " %s",
						   feature_bits[f].name);
	}
	klog("cpu: features:%s; absent:%s", present, na ? absent : " none");
	if (boot_has[F_PKU])
		klog("cpu: PKU present, CR4.PKE enabled");
	else
		klog("cpu: PKU not present: isolation domains cannot start");
}

void cpu_features_init(struct cpu *c)
{
	bool has[F_COUNT];
	detect(has);
	bool boot = c->id == 0;
	if (boot)
		memcpy(boot_has, has, sizeof has);
	for (int f = 0; f < F_COUNT; f++)
		if (boot_has[f] && !has[f])
			panic("cpu %u lacks %s, which the boot CPU has", c->id,
			      feature_bits[f].name);

	/* The boot stub set EFER.NXE, which faults without NX; check anyway so
	 * that a page table's NX bits never silently mean nothing (SDM 4.1.1). */
	if (!has[F_NX] || !(rdmsr(MSR_EFER) & EFER_NXE))
		panic("cpu %u: no execute-disable (NX): W^X mappings impossible", c->id);

	/*
	 * No x87, MMX, SSE or XSAVE state, in any ring: the kernel saves and
	 * clears none of it on a thread switch or at the gate, so those
	 * registers would carry one domain's values into the next (a caller's
	 * into its callee, a thread's into whatever runs after it on this
	 * CPU). Nothing is built to use them (-mgeneral-regs-only); with
	 * CR0.EM an x87 instruction raises #NM and an MMX one #UD, and without
	 * CR4.OSFXSR/OSXSAVE every SSE/AVX instruction and XSAVE/XRSTOR (the
	 * other way to load PKRU) raises #UD: the domain that tries fails. A
	 * UEFI boot hands over CR4.OSFXSR set, so clear it, not just leave it.
	 */
	write_cr0(read_cr0() | CR0_EM);
	uint64_t cr4 = read_cr4() & ~(CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE);
	/* SMEP: a supervisor fetch from a user page faults (SDM 4.6.1). */
	if (has[F_SMEP])
		cr4 |= CR4_SMEP;
	/* UMIP: SGDT, SIDT, SLDT, SMSW and STR from ring 3 raise #GP (SDM
	 * 2.5), so a domain cannot read where the kernel keeps its
	 * descriptor tables. */
	if (has[F_UMIP])
		cr4 |= CR4_UMIP;
	/* Protection keys for user pages (SDM 4.6.2); PKRU = 0 lets every key
	 * read and write until domains set their own. */
	if (has[F_PKU])
		cr4 |= CR4_PKE;
	write_cr4(cr4);
	if (has[F_PKU]) {
		wrpkru(0);
		if (!(cpuid(7, 0).ecx & CPUID7_ECX_OSPKE))
			panic("cpu %u: CR4.PKE set but CPUID.OSPKE still clear", c->id);
	}

	if (boot)
		log_boot_cpu();
}

bool cpu_has_pku(void)
{
	return boot_has[F_PKU];
}

bool cpu_has_umip(void)
{
	return boot_has[F_UMIP];
}

bool cpu_has_x2apic(void)
{
	return boot_has[F_X2APIC];
}
