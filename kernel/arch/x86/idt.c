/*
 * The IDT (one, shared by every CPU), device-interrupt vectors and their
 * handlers, and trap_dispatch, where every entry from traps.S lands.
 */
#include <arch/x86/cpu.h>
#include <arch/x86/gdt.h>
#include <arch/x86/lapic.h>
#include <arch/x86/layout.h>
#include <arch/x86/traps.h>
#include <core/log.h>
#include <core/sched.h>
#include <core/spinlock.h>
#include <domain/gate.h>

/* 64-bit interrupt gate (Intel SDM Vol. 3A 6.14.1, Figure 6-8). */
struct idt_gate {
	uint16_t offset_lo; /* handler 15:0 */
	uint16_t selector;
	uint8_t ist;	     /* bits 2:0: IST slot, 0 for none */
	uint8_t type_attr;   /* type 3:0, DPL 6:5, P 7 */
	uint16_t offset_mid; /* handler 31:16 */
	uint32_t offset_hi;  /* handler 63:32 */
	uint32_t reserved;
};
_Static_assert(offsetof(struct idt_gate, selector) == 2, "idt_gate.selector");
_Static_assert(offsetof(struct idt_gate, ist) == 4, "idt_gate.ist");
_Static_assert(offsetof(struct idt_gate, type_attr) == 5, "idt_gate.type_attr");
_Static_assert(offsetof(struct idt_gate, offset_mid) == 6, "idt_gate.offset_mid");
_Static_assert(offsetof(struct idt_gate, offset_hi) == 8, "idt_gate.offset_hi");
_Static_assert(sizeof(struct idt_gate) == 16, "idt_gate size");

#define GATE_IST_MASK 0x7
/* Interrupt gates clear IF on entry (SDM 6.12.1.3), so handlers start with
 * interrupts off; traps.S relies on that between entry and swapgs. */
#define GATE_TYPE_INTR	0xe
#define GATE_DPL_SHIFT	5
#define GATE_P		0x80
#define TRAP_STUB_BYTES 16 /* stride of trap_stubs in traps.S */

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));
_Static_assert(sizeof(struct desc_ptr) == 10, "lidt operand");

struct irq_slot {
	irq_handler_fn fn;
	void *arg;
};

extern const char trap_stubs[];

static struct idt_gate idt[T_VECTORS] __attribute__((aligned(4096)));
static bool idt_built;
static struct irq_slot irq_slots[T_VECTORS];
static uint64_t vectors_used[T_VECTORS / 64];
static struct spinlock vector_lock = SPINLOCK_INIT("irq vectors");

static void set_gate(uint8_t v, unsigned ist, unsigned dpl)
{
	uint64_t target = (uint64_t)trap_stubs + (uint64_t)v * TRAP_STUB_BYTES;
	idt[v] = (struct idt_gate){
		.offset_lo = (uint16_t)target,
		.selector = GDT_KCODE,
		.ist = (uint8_t)(ist & GATE_IST_MASK),
		.type_attr = (uint8_t)(GATE_TYPE_INTR | (dpl << GATE_DPL_SHIFT) | GATE_P),
		.offset_mid = (uint16_t)(target >> 16),
		.offset_hi = (uint32_t)(target >> 32),
	};
}

static void idt_build(void)
{
	for (unsigned v = 0; v < T_VECTORS; v++)
		set_gate((uint8_t)v, 0, 0);
	/* Events that may find the kernel stack unusable switch stacks (SDM 6.14.5). */
	set_gate(T_DF, IST_DF, 0);
	set_gate(T_NMI, IST_NMI, 0);
	set_gate(T_MC, IST_MC, 0);
	/* int3 may be used from ring 3; every other `int n` there raises #GP
	 * (SDM 6.12.1.1). */
	set_gate(T_BP, 0, 3);
	idt_built = true;
}

void idt_load(void)
{
	if (!idt_built)
		idt_build(); /* the boot CPU, before any AP exists */
	struct desc_ptr p = {.limit = sizeof idt - 1, .base = (uint64_t)idt};
	__asm__ volatile("lidt %0" : : "m"(p) : "memory");
}

unsigned idt_gate_ist(uint8_t vector)
{
	return idt[vector].ist & GATE_IST_MASK;
}

int irq_alloc_vector(void)
{
	int found = -1;
	spin_lock(&vector_lock);
	for (unsigned v = IRQ_VECTOR_FIRST; v < IRQ_VECTOR_SPURIOUS; v++) {
		if (!(vectors_used[v / 64] & (1UL << (v % 64)))) {
			vectors_used[v / 64] |= 1UL << (v % 64);
			found = (int)v;
			break;
		}
	}
	spin_unlock(&vector_lock);
	return found;
}

void irq_free_vector(uint8_t vector)
{
	irq_set_handler(vector, NULL, NULL);
	spin_lock(&vector_lock);
	vectors_used[vector / 64] &= ~(1UL << (vector % 64));
	spin_unlock(&vector_lock);
}

void irq_set_handler(uint8_t vector, irq_handler_fn fn, void *arg)
{
	/* trap_dispatch reads fn, then arg: publish arg first. */
	__atomic_store_n(&irq_slots[vector].fn, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&irq_slots[vector].arg, arg, __ATOMIC_RELEASE);
	__atomic_store_n(&irq_slots[vector].fn, fn, __ATOMIC_RELEASE);
}

uint64_t trap_count(uint8_t vector)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		const struct cpu_tables *t = cpus[i].arch;
		if (t)
			n += __atomic_load_n(&t->trap_counts[vector], __ATOMIC_RELAXED);
	}
	return n;
}

void trap_dispatch(struct trap_frame *tf)
{
	struct cpu_tables *t = this_cpu()->arch;
	uint8_t v = (uint8_t)tf->vector;
	t->trap_counts[v]++;
	if (v < T_EXCEPTIONS) {
		trap_exception(tf);
		return;
	}
	/* A spurious interrupt sets no in-service bit: no EOI (SDM 10.9). */
	if (v == IRQ_VECTOR_SPURIOUS)
		return;
	irq_handler_fn fn = __atomic_load_n(&irq_slots[v].fn, __ATOMIC_ACQUIRE);
	if (fn)
		fn(tf, __atomic_load_n(&irq_slots[v].arg, __ATOMIC_ACQUIRE));
	else
		klog("trap: interrupt on vector %#x with no handler, cpu %u", v, t->cpu_id);
	lapic_eoi();
	/* Only after the EOI: a thread switch here must not keep this vector's
	 * in-service bit set (and so lower-priority interrupts blocked). */
	sched_irq_exit();
	if (trap_from_user(tf))
		gate_return_to_user(tf);
}
