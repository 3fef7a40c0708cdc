/*
 * Interrupts and exceptions: the trap frame every entry stub builds
 * (traps.S), the device-interrupt vector API, the exception table that lets
 * a kernel instruction fault and resume, and the NMI stop used by panic.
 * Shared by C and assembly.
 */
#ifndef ARCH_PC_TRAPS_H
#define ARCH_PC_TRAPS_H

/* Exception vectors (Intel SDM Vol. 3A 6.2, Table 6-1; 28-30 are AMD's). */
#define T_DE  0	 /* divide error */
#define T_DB  1	 /* debug */
#define T_NMI 2	 /* non-maskable interrupt */
#define T_BP  3	 /* breakpoint (int3) */
#define T_OF  4	 /* overflow */
#define T_BR  5	 /* bound range exceeded */
#define T_UD  6	 /* invalid opcode */
#define T_NM  7	 /* device not available */
#define T_DF  8	 /* double fault */
#define T_TS  10 /* invalid TSS */
#define T_NP  11 /* segment not present */
#define T_SS  12 /* stack-segment fault */
#define T_GP  13 /* general protection */
#define T_PF  14 /* page fault */
#define T_MF  16 /* x87 floating-point error */
#define T_AC  17 /* alignment check */
#define T_MC  18 /* machine check */
#define T_XM  19 /* SIMD floating-point */
#define T_VE  20 /* virtualization exception */
#define T_CP  21 /* control protection */
#define T_HV  28 /* hypervisor injection (AMD) */
#define T_VC  29 /* VMM communication (AMD) */
#define T_SX  30 /* security exception (AMD) */

#define T_EXCEPTIONS 32 /* vectors below this are exceptions */
#define T_VECTORS    256
#define T_SYSCALL    0x100 /* the "vector" of a frame built by syscall_entry */

/* Device interrupts and IPIs get vectors from irq_alloc_vector, from here up. */
#define IRQ_VECTOR_FIRST    0x30
#define IRQ_VECTOR_SPURIOUS 0xff /* the LAPIC spurious vector; never EOI'd */

/* Page-fault error code bits (Intel SDM Vol. 3A 4.7, Figure 4-12). */
#define PF_ERR_P    (1UL << 0)	/* 0: page not present, 1: protection violation */
#define PF_ERR_W    (1UL << 1)	/* the access was a write */
#define PF_ERR_U    (1UL << 2)	/* the access was made in user mode (CPL 3) */
#define PF_ERR_RSVD (1UL << 3)	/* a reserved bit was set in a paging entry */
#define PF_ERR_I    (1UL << 4)	/* instruction fetch */
#define PF_ERR_PK   (1UL << 5)	/* protection-key violation (PKRU/PKRS) */
#define PF_ERR_SS   (1UL << 6)	/* shadow-stack access */
#define PF_ERR_SGX  (1UL << 15) /* SGX access-control violation */

/* Selector error code bits for #TS, #NP, #SS, #GP (Intel SDM Vol. 3A 6.13). */
#define SEL_ERR_EXT	    (1UL << 0) /* raised by an event external to the program */
#define SEL_ERR_IDT	    (1UL << 1) /* the index refers to an IDT gate */
#define SEL_ERR_TI	    (1UL << 2) /* LDT (when IDT is clear) */
#define SEL_ERR_INDEX_SHIFT 3
#define SEL_ERR_INDEX_MASK  0x1fffUL

/* struct trap_frame offsets, for traps.S. */
#define TF_R15	  0
#define TF_R14	  8
#define TF_R13	  16
#define TF_R12	  24
#define TF_R11	  32
#define TF_R10	  40
#define TF_R9	  48
#define TF_R8	  56
#define TF_RBP	  64
#define TF_RDI	  72
#define TF_RSI	  80
#define TF_RDX	  88
#define TF_RCX	  96
#define TF_RBX	  104
#define TF_RAX	  112
#define TF_VECTOR 120
#define TF_ERROR  128
#define TF_RIP	  136
#define TF_CS	  144
#define TF_RFLAGS 152
#define TF_RSP	  160
#define TF_SS	  168
#define TF_SIZE	  176

/*
 * The exception table. EXTABLE(insn, fixup), inside an inline-asm string,
 * lets the kernel instruction at label `insn` fault: instead of a report and
 * a panic, the trap returns to label `fixup` with
 *     %rax = the vector, %rdx = the error code (0 if the vector has none),
 *     %rcx = CR2 for #PF, otherwise 0,
 * so the asm must list those three as outputs or clobbers. Applies to every
 * exception taken in kernel mode except NMI, #DF and #MC. Loading %rax with
 * EXTABLE_NO_FAULT beforehand tells the two outcomes apart. EXTABLE_ASM is
 * the same for .S files.
 */
#define EXTABLE_NO_FAULT 0x100 /* not a vector */
/* clang-format off */
#define EXTABLE(insn, fixup) \
	".pushsection .extable, \"a\"\n\t.balign 8\n\t.quad " #insn ", " #fixup "\n\t.popsection\n\t"
#define EXTABLE_ASM(insn, fixup) \
	.pushsection .extable, "a"; .balign 8; .quad insn, fixup; .popsection
/* clang-format on */

#ifndef __ASSEMBLY__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What every entry leaves on the stack, lowest address first: the general
 * registers (traps.S), the vector and error code (the stub; 0 when the CPU
 * pushes none), then the frame the CPU pushes in 64-bit mode (Intel SDM
 * Vol. 3A 6.14.2, Figure 6-9). Changes to it before return take effect.
 */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector;
	uint64_t error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(offsetof(struct trap_frame, r15) == TF_R15, "trap_frame.r15");
_Static_assert(offsetof(struct trap_frame, r14) == TF_R14, "trap_frame.r14");
_Static_assert(offsetof(struct trap_frame, r13) == TF_R13, "trap_frame.r13");
_Static_assert(offsetof(struct trap_frame, r12) == TF_R12, "trap_frame.r12");
_Static_assert(offsetof(struct trap_frame, r11) == TF_R11, "trap_frame.r11");
_Static_assert(offsetof(struct trap_frame, r10) == TF_R10, "trap_frame.r10");
_Static_assert(offsetof(struct trap_frame, r9) == TF_R9, "trap_frame.r9");
_Static_assert(offsetof(struct trap_frame, r8) == TF_R8, "trap_frame.r8");
_Static_assert(offsetof(struct trap_frame, rbp) == TF_RBP, "trap_frame.rbp");
_Static_assert(offsetof(struct trap_frame, rdi) == TF_RDI, "trap_frame.rdi");
_Static_assert(offsetof(struct trap_frame, rsi) == TF_RSI, "trap_frame.rsi");
_Static_assert(offsetof(struct trap_frame, rdx) == TF_RDX, "trap_frame.rdx");
_Static_assert(offsetof(struct trap_frame, rcx) == TF_RCX, "trap_frame.rcx");
_Static_assert(offsetof(struct trap_frame, rbx) == TF_RBX, "trap_frame.rbx");
_Static_assert(offsetof(struct trap_frame, rax) == TF_RAX, "trap_frame.rax");
_Static_assert(offsetof(struct trap_frame, vector) == TF_VECTOR, "trap_frame.vector");
_Static_assert(offsetof(struct trap_frame, error_code) == TF_ERROR, "trap_frame.error_code");
_Static_assert(offsetof(struct trap_frame, rip) == TF_RIP, "trap_frame.rip");
_Static_assert(offsetof(struct trap_frame, cs) == TF_CS, "trap_frame.cs");
_Static_assert(offsetof(struct trap_frame, rflags) == TF_RFLAGS, "trap_frame.rflags");
_Static_assert(offsetof(struct trap_frame, rsp) == TF_RSP, "trap_frame.rsp");
_Static_assert(offsetof(struct trap_frame, ss) == TF_SS, "trap_frame.ss");
_Static_assert(sizeof(struct trap_frame) == TF_SIZE, "trap_frame size");
/* The CPU aligns RSP to 16 before pushing (SDM 6.14.2); keep calls aligned. */
_Static_assert(TF_SIZE % 16 == 0, "trap_frame keeps the stack 16-byte aligned");

/* What EXTABLE emits: a kernel instruction that may fault, and where to resume. */
struct extable_entry {
	uint64_t insn;
	uint64_t fixup;
};
_Static_assert(offsetof(struct extable_entry, fixup) == 8, "EXTABLE emits two quads");
_Static_assert(sizeof(struct extable_entry) == 16, "EXTABLE emits two quads");

static inline bool trap_from_user(const struct trap_frame *tf)
{
	return (tf->cs & 3) != 0;
}

typedef void (*irq_handler_fn)(struct trap_frame *tf, void *arg);

/*
 * Device interrupts. A handler runs with interrupts off; trap_dispatch then
 * sends the LAPIC EOI and lets the scheduler switch (sched_irq_exit), so a
 * handler never switches threads itself. Set the handler before the source
 * can fire.
 */
/* A free vector in [IRQ_VECTOR_FIRST, IRQ_VECTOR_SPURIOUS), or -1 if none is left. */
int irq_alloc_vector(void);
/* Give a vector back; its handler is removed. */
void irq_free_vector(uint8_t vector);
/* fn == NULL removes the handler. */
void irq_set_handler(uint8_t vector, irq_handler_fn fn, void *arg);

/* Called by the entry code in traps.S for every interrupt and exception. */
void trap_dispatch(struct trap_frame *tf);

/*
 * A fault from ring 3. Weak default returns false; the domain code overrides
 * it. Returns true if the fault was dealt with (the frame may be changed to
 * resume elsewhere); false makes the kernel report it and panic.
 */
bool trap_user_fault(struct trap_frame *tf);

/* From now on every NMI halts the CPU that takes it, silently: smp_stop_others
 * calls this before sending the NMIs. */
void trap_nmi_set_stop(void);

/* Interrupts and exceptions taken on vector v since boot, summed over CPUs. */
uint64_t trap_count(uint8_t vector);

/* The IST index (0: none) the IDT gate for vector v switches to. */
unsigned idt_gate_ist(uint8_t vector);

/* "#PF" etc., "NMI", "#21". */
const char *trap_name(uint64_t vector);

/* The test image's console command panic-test (ktest/trap_selftest.c, in
 * kernel/test-sources only): a #UD from two calls deep; never returns. */
__attribute__((noreturn)) void trap_selftest_panic(void);

/* exceptions.c: an exception (vector < 32); returns if execution may go on. */
void trap_exception(struct trap_frame *tf);
/* extable.c: if tf->rip has an exception-table entry, make the frame resume
 * at its fixup (registers as EXTABLE says; cr2 is passed on for #PF). */
bool extable_fixup(struct trap_frame *tf, uint64_t cr2);
/* idt.c: build the IDT (first call) and load it on this CPU. */
void idt_load(void);

#endif
#endif
