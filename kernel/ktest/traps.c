/*
 * In-guest tests of the CPU tables and trap paths: int3 returns, kernel
 * faults resume at exception-table fixups with the right vector, error code
 * and CR2, every CPU has its own IST stacks, device-interrupt handlers run,
 * and protection keys are on and enforced.
 */
#include <arch/x86/cpu.h>
#include <arch/x86/cpu_features.h>
#include <arch/x86/gdt.h>
#include <arch/x86/layout.h>
#include <arch/x86/percpu.h>
#include <arch/x86/traps.h>
#include <domain/domain.h>
#include <ktest/counted.h>
#include <ktest/ktest.h>

/* Canonical, kernel half, and far beyond any direct-mapped RAM: never mapped. */
#define UNMAPPED_KERNEL_VA (DIRECT_MAP_BASE + (1UL << 45))
#define NON_CANONICAL_VA   0x8000000000000000UL

struct fault {
	uint64_t vector, error, cr2;
};

/*
 * Run `insn` (label 1) with an exception-table entry resuming right after it
 * (label 2). The fixup loads %rax/%rdx/%rcx (traps.h); without a fault they
 * keep EXTABLE_NO_FAULT/0/0. The outputs are early-clobber: they are written
 * before the inputs are used. A load into %rdx leaves EXTABLE_NO_FAULT in
 * place if the access unexpectedly succeeds.
 */
#define PROBE(f, insn, ...)                                                                        \
	__asm__ volatile("movq %[nf], %%rax\n\t"                                                   \
			 "xorl %%edx, %%edx\n\t"                                                   \
			 "xorl %%ecx, %%ecx\n"                                                     \
			 "1:\t" insn "\n"                                                          \
			 "2:\n\t" EXTABLE(1b, 2b)                                                  \
			 : "=&a"((f).vector), "=&d"((f).error), "=&c"((f).cr2)                     \
			 : [nf] "i"(EXTABLE_NO_FAULT), ##__VA_ARGS__                               \
			 : "memory")

/* `int $v; ret` for every vector, 4 bytes apart: `int` takes only an immediate. */
__asm__(".pushsection .text\n"
	".balign 16\n"
	"ktest_int_table:\n"
	".set ktest_int_vec, 0\n"
	".rept 256\n"
	".org ktest_int_table + 4 * ktest_int_vec, 0xcc\n"
	"int $ktest_int_vec\n"
	"ret\n"
	".set ktest_int_vec, ktest_int_vec + 1\n"
	".endr\n"
	".popsection");
extern const char ktest_int_table[];

static void raise_vector(uint8_t v)
{
	((void (*)(void))(ktest_int_table + 4 * (uint64_t)v))();
}

KTEST(traps_int3_returns)
{
	uint64_t before = trap_count(T_BP);
	__asm__ volatile("int3" ::: "memory");
	KT_ASSERT_EQ(trap_count(T_BP), before + 1);
}

KTEST(traps_extable_no_fault)
{
	struct fault f;
	PROBE(f, "nop");
	KT_ASSERT_EQ(f.vector, EXTABLE_NO_FAULT);
}

KTEST(traps_ud_fixup)
{
	struct fault f;
	uint64_t before = trap_count(T_UD);
	PROBE(f, "ud2");
	KT_ASSERT_EQ(f.vector, T_UD);
	KT_ASSERT_EQ(f.error, 0);
	KT_ASSERT_EQ(trap_count(T_UD), before + 1);
}

KTEST(traps_de_fixup)
{
	struct fault f;
	/* Divides %edx:%eax = 0:EXTABLE_NO_FAULT by zero. */
	PROBE(f, "divl %k[zero]", [zero] "r"(0));
	KT_ASSERT_EQ(f.vector, T_DE);
}

KTEST(traps_pf_fixup)
{
	struct fault f;
	PROBE(f, "movq (%[va]), %%rdx", [va] "r"(UNMAPPED_KERNEL_VA));
	KT_ASSERT_EQ(f.vector, T_PF);
	KT_ASSERT_EQ(f.cr2, UNMAPPED_KERNEL_VA);
	/* A kernel-mode data read of a page that is not present (SDM 4.7). */
	KT_ASSERT_EQ(f.error & (PF_ERR_P | PF_ERR_W | PF_ERR_U | PF_ERR_I | PF_ERR_PK), 0);

	PROBE(f, "movq %%rdx, (%[va])", [va] "r"(UNMAPPED_KERNEL_VA + 8));
	KT_ASSERT_EQ(f.vector, T_PF);
	KT_ASSERT_EQ(f.cr2, UNMAPPED_KERNEL_VA + 8);
	KT_ASSERT_EQ(f.error & (PF_ERR_P | PF_ERR_W | PF_ERR_U), PF_ERR_W);
}

KTEST(traps_gp_fixup)
{
	struct fault f;
	/* A non-canonical address raises #GP(0), not #PF (SDM 3.3.7.1). */
	PROBE(f, "movq (%[va]), %%rdx", [va] "r"(NON_CANONICAL_VA));
	KT_ASSERT_EQ(f.vector, T_GP);
	KT_ASSERT_EQ(f.error, 0);
	KT_ASSERT_EQ(f.cr2, 0);
}

KTEST(traps_ist_stacks)
{
	static const struct {
		uint8_t vector;
		unsigned ist;
	} gates[] = {{T_DF, IST_DF}, {T_NMI, IST_NMI}, {T_MC, IST_MC}, {T_PF, 0}, {T_GP, 0}};
	for (unsigned i = 0; i < sizeof gates / sizeof gates[0]; i++)
		KT_ASSERT_EQ(idt_gate_ist(gates[i].vector), gates[i].ist);

	uint64_t seen[MAX_CPUS * IST_USED];
	unsigned n = 0;
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		const struct cpu_tables *ct = cpus[c].arch;
		if (!ct)
			continue;
		for (unsigned i = 0; i < IST_USED; i++) {
			uint64_t top = ct->tss.ist[i];
			KT_ASSERT(top >= KERNEL_VMA);
			KT_ASSERT_EQ(top % 16, 0);
			for (unsigned j = 0; j < n; j++)
				KT_ASSERT(top >= seen[j] + IST_STACK_SIZE ||
					  seen[j] >= top + IST_STACK_SIZE);
			seen[n++] = top;
		}
	}
	KT_ASSERT(n >= IST_USED);

	/* This CPU runs on its own tables (no migration in between). */
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} gdtr;
	uint16_t tr;
	bool irq = irq_enabled();
	irq_disable();
	const struct cpu_tables *mine = this_cpu()->arch;
	__asm__ volatile("sgdt %0; str %1" : "=m"(gdtr), "=r"(tr));
	if (irq)
		irq_enable();
	KT_ASSERT_EQ(gdtr.base, (uint64_t)mine->gdt);
	KT_ASSERT_EQ(tr, GDT_TSS);
}

struct irq_probe {
	uint64_t calls;
	uint64_t vector;
	void *arg;
	bool irq_was_on;
};

static void probe_handler(struct trap_frame *tf, void *arg)
{
	struct irq_probe *p = arg;
	p->calls++;
	p->vector = tf->vector;
	p->arg = arg;
	p->irq_was_on = irq_enabled();
}

KTEST(traps_irq_handler)
{
	int v = irq_alloc_vector();
	KT_ASSERT(v >= IRQ_VECTOR_FIRST && v < IRQ_VECTOR_SPURIOUS);
	struct irq_probe p = {0};
	irq_set_handler((uint8_t)v, probe_handler, &p);
	uint64_t before = trap_count((uint8_t)v);
	raise_vector((uint8_t)v);
	irq_free_vector((uint8_t)v);
	KT_ASSERT_EQ(p.calls, 1);
	KT_ASSERT_EQ(p.vector, v);
	KT_ASSERT(p.arg == &p);
	KT_ASSERT(!p.irq_was_on);
	KT_ASSERT_EQ(trap_count((uint8_t)v), before + 1);

	/* Freed vectors are handed out again. */
	int again = irq_alloc_vector();
	KT_ASSERT(again >= IRQ_VECTOR_FIRST && again <= v);
	irq_free_vector((uint8_t)again);
}

static uint32_t rdpkru(void)
{
	uint32_t pkru, edx;
	/* RDPKRU needs ECX = 0 (SDM Vol. 2B, RDPKRU). */
	__asm__ volatile("rdpkru" : "=a"(pkru), "=d"(edx) : "c"(0));
	return pkru;
}

static void wrpkru(uint32_t pkru)
{
	/* WRPKRU needs ECX = EDX = 0 (SDM Vol. 2B, WRPKRU). */
	__asm__ volatile("wrpkru" : : "a"(pkru), "c"(0), "d"(0) : "memory");
}

/*
 * Protection keys are on and enforced: CR4.PKE is set, RDPKRU reads what
 * WRPKRU wrote, and a read of a domain's page with its key's access denied
 * in PKRU takes a #PF with the PK bit, even from ring 0 (SDM 4.6.2: PKRU
 * governs every data access to a user-mode address). Denying another key,
 * or none, lets the same read through, so it is the page's key that
 * PKRU checks. Without PKU there is nothing to check: a skip, not a pass.
 */
KTEST(cpu_pkeys_enabled)
{
	if (!cpu_has_pku()) {
		ktest_skip(t, "this CPU has no PKU (CPUID.(EAX=7,ECX=0):ECX bit 3 clear)");
		return;
	}
	KT_ASSERT(read_cr4() & CR4_PKE);
	KT_ASSERT_EQ(rdpkru(), 0); /* kernel threads hold every key */
	struct domain *d = ktest_create(t, "hello");
	if (!d)
		return;
	uint64_t va = d->image_lo; /* its first page, mapped with its key */
	uint32_t deny = PKRU_AD(d->pkey), deny_other = PKRU_AD(d->pkey == 15 ? 14 : d->pkey + 1);
	struct fault denied, other, open;
	/* PKRU is this thread's state (saved on switches): keep the probes on
	 * this CPU with interrupts off, and reopen every key before enabling them. */
	bool irq = irq_enabled();
	irq_disable();
	wrpkru(deny);
	uint32_t seen = rdpkru();
	PROBE(denied, "movq (%[va]), %%rdx", [va] "r"(va));
	wrpkru(deny_other);
	PROBE(other, "movq (%[va]), %%rdx", [va] "r"(va));
	wrpkru(0);
	PROBE(open, "movq (%[va]), %%rdx", [va] "r"(va));
	if (irq)
		irq_enable();
	KT_ASSERT_EQ(ktest_destroy(d), 0);
	KT_ASSERT_EQ(seen, deny);
	KT_ASSERT_EQ(denied.vector, T_PF);
	KT_ASSERT_EQ(denied.cr2, va);
	/* A supervisor read of a present page, refused by its key (SDM 4.7). */
	KT_ASSERT_EQ(denied.error & (PF_ERR_P | PF_ERR_W | PF_ERR_U | PF_ERR_PK),
		     PF_ERR_P | PF_ERR_PK);
	KT_ASSERT_EQ(other.vector, EXTABLE_NO_FAULT);
	KT_ASSERT_EQ(open.vector, EXTABLE_NO_FAULT);
}
