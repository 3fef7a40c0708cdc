/*
 * CPU exceptions: what to do with each (return, resume at an exception-table
 * fixup, hand to the domain code, or report and panic) and the report itself:
 * the vector, the decoded error code, every register, the control registers
 * and a symbolized backtrace, on COM1.
 */
#include <arch/x86/cpu.h>
#include <arch/x86/gdt.h>
#include <arch/x86/traps.h>
#include <core/backtrace.h>
#include <core/ksyms.h>
#include <core/log.h>
#include <core/panic.h>
#include <lib/fmt.h>
#include <mm/kstack.h>

static volatile bool nmi_stop;

static const char *const names[T_EXCEPTIONS][2] = {
	[T_DE] = {"#DE", "divide error"},
	[T_DB] = {"#DB", "debug"},
	[T_NMI] = {"NMI", "non-maskable interrupt"},
	[T_BP] = {"#BP", "breakpoint"},
	[T_OF] = {"#OF", "overflow"},
	[T_BR] = {"#BR", "bound range exceeded"},
	[T_UD] = {"#UD", "invalid opcode"},
	[T_NM] = {"#NM", "device not available"},
	[T_DF] = {"#DF", "double fault"},
	[9] = {"#CSO", "coprocessor segment overrun"},
	[T_TS] = {"#TS", "invalid TSS"},
	[T_NP] = {"#NP", "segment not present"},
	[T_SS] = {"#SS", "stack-segment fault"},
	[T_GP] = {"#GP", "general protection"},
	[T_PF] = {"#PF", "page fault"},
	[T_MF] = {"#MF", "x87 floating-point error"},
	[T_AC] = {"#AC", "alignment check"},
	[T_MC] = {"#MC", "machine check"},
	[T_XM] = {"#XM", "SIMD floating-point exception"},
	[T_VE] = {"#VE", "virtualization exception"},
	[T_CP] = {"#CP", "control protection"},
	[T_HV] = {"#HV", "hypervisor injection"},
	[T_VC] = {"#VC", "VMM communication"},
	[T_SX] = {"#SX", "security exception"},
};

const char *trap_name(uint64_t vector)
{
	if (vector < T_EXCEPTIONS)
		return names[vector][0] ? names[vector][0] : "#reserved";
	return "IRQ";
}

/* A vector's description ("page fault"). */
static const char *trap_description(uint64_t vector)
{
	if (vector < T_EXCEPTIONS)
		return names[vector][1] ? names[vector][1] : "reserved exception";
	return vector == IRQ_VECTOR_SPURIOUS ? "spurious interrupt" : "device interrupt or IPI";
}

void trap_nmi_set_stop(void)
{
	nmi_stop = true;
}

__attribute__((weak)) bool trap_user_fault(struct trap_frame *tf)
{
	(void)tf;
	return false;
}

/* "(not-present write user ...)" for a #PF error code (SDM 4.7). */
static void decode_pf(char *buf, size_t size, uint64_t err)
{
	fmt_snprintf(buf, size, "(%s %s %s%s%s%s%s%s)",
		     err & PF_ERR_P ? "protection" : "not-present",
		     err & PF_ERR_W ? "write" : "read", err & PF_ERR_U ? "user" : "kernel",
		     err & PF_ERR_RSVD ? " reserved-bit" : "", err & PF_ERR_I ? " ifetch" : "",
		     err & PF_ERR_PK ? " protection-key" : "",
		     err & PF_ERR_SS ? " shadow-stack" : "", err & PF_ERR_SGX ? " sgx" : "");
}

/* "(GDT selector 0x28)" for #TS/#NP/#SS/#GP error codes (SDM 6.13). */
static void decode_selector(char *buf, size_t size, uint64_t err)
{
	if (!err) {
		buf[0] = '\0';
		return;
	}
	const char *table = err & SEL_ERR_IDT  ? "IDT vector"
			    : err & SEL_ERR_TI ? "LDT selector"
					       : "GDT selector";
	uint64_t index = (err >> SEL_ERR_INDEX_SHIFT) & SEL_ERR_INDEX_MASK;
	fmt_snprintf(buf, size, "(%s %#lx%s)", table,
		     err & SEL_ERR_IDT ? index : index << SEL_ERR_INDEX_SHIFT,
		     err & SEL_ERR_EXT ? ", external event" : "");
}

static void print_symbol(const char *label, uint64_t addr)
{
	uint64_t off;
	const char *name = ksyms_lookup(addr, &off);
	if (name)
		kprintf("  %s 0x%016lx %s+0x%lx\n", label, addr, name, off);
	else
		kprintf("  %s 0x%016lx\n", label, addr);
}

/* Read a kernel word that may not be mapped (a broken stack); false if it faults. */
static bool read_word(uint64_t addr, uint64_t *val)
{
	uint64_t vector, v;
	__asm__ volatile("movq %[nf], %%rax\n"
			 "1:\tmovq (%[addr]), %%rdx\n"
			 "2:\n\t" EXTABLE(1b, 2b)
			 : "=&a"(vector), "=&d"(v)
			 : [addr] "r"(addr), [nf] "i"(EXTABLE_NO_FAULT)
			 : "rcx", "memory");
	*val = v;
	return vector == EXTABLE_NO_FAULT;
}

/*
 * GCC gives a leaf function that needs no stack no frame record, even with
 * -fno-omit-frame-pointer, and no function has one before its first
 * instruction. A fault there leaves rbp pointing at the caller's caller; the
 * return address into the caller is on top of the stack. Put it back in
 * the chain with a record of our own.
 */
static void print_backtrace(const struct trap_frame *tf)
{
	uint64_t off, ret;
	const char *name = ksyms_lookup(tf->rip, &off);
	bool framed = name && off && *(const uint8_t *)(tf->rip - off) == 0x55; /* push %rbp */
	if (name && !framed && read_word(tf->rsp, &ret) && ksyms_lookup(ret, &off)) {
		const uint64_t record[2] = {tf->rbp, ret};
		backtrace_print(tf->rip, (uint64_t)record);
		return;
	}
	backtrace_print(tf->rip, tf->rbp);
}

static void report(const struct trap_frame *tf, uint64_t cr2, const char *what)
{
	uint64_t v = tf->vector, err = tf->error_code;
	const struct cpu_tables *t = this_cpu()->arch;
	char decoded[96] = "";
	if (v == T_PF)
		decode_pf(decoded, sizeof decoded, err);
	else if (v == T_TS || v == T_NP || v == T_SS || v == T_GP)
		decode_selector(decoded, sizeof decoded, err);

	kprintf("\ntrap: %s %s (vector %lu) in %s mode on cpu %u: %s\n", trap_name(v),
		trap_description(v), v, trap_from_user(tf) ? "user" : "kernel", t->cpu_id, what);
	kprintf("  error 0x%lx%s%s\n", err, decoded[0] ? " " : "", decoded);
	/* A #DF is most often a #PF that could not be delivered: say where that was. */
	if (v == T_PF || v == T_DF)
		kprintf("  %s 0x%016lx%s\n",
			v == T_PF ? "fault address (cr2)" : "last page-fault address (cr2)", cr2,
			kstack_guard_hit(cr2) ? ": a kernel stack's guard page (stack overflow)"
					      : "");
	print_symbol("rip", tf->rip);
	kprintf("  cs  0x%04lx  ss 0x%04lx  rflags 0x%016lx  rsp 0x%016lx\n", tf->cs, tf->ss,
		tf->rflags, tf->rsp);
	kprintf("  rax 0x%016lx  rbx 0x%016lx  rcx 0x%016lx\n", tf->rax, tf->rbx, tf->rcx);
	kprintf("  rdx 0x%016lx  rsi 0x%016lx  rdi 0x%016lx\n", tf->rdx, tf->rsi, tf->rdi);
	kprintf("  rbp 0x%016lx  r8  0x%016lx  r9  0x%016lx\n", tf->rbp, tf->r8, tf->r9);
	kprintf("  r10 0x%016lx  r11 0x%016lx  r12 0x%016lx\n", tf->r10, tf->r11, tf->r12);
	kprintf("  r13 0x%016lx  r14 0x%016lx  r15 0x%016lx\n", tf->r13, tf->r14, tf->r15);
	kprintf("  cr0 0x%016lx  cr2 0x%016lx  cr3 0x%016lx  cr4 0x%016lx\n", read_cr0(), cr2,
		read_cr3(), read_cr4());
	if (trap_from_user(tf))
		kprintf("backtrace: (user mode: not walked)\n");
	else
		print_backtrace(tf);
}

static __attribute__((noreturn)) void fatal(struct trap_frame *tf, uint64_t cr2, const char *what)
{
	irq_disable();
	struct cpu_tables *t = this_cpu()->arch;
	if (t->in_fatal_report) {
		/* Faulted while reporting a fault: say the least and stop. */
		kprintf("\ntrap: %s on cpu %u while reporting a fatal trap; cpu halted\n",
			trap_name(tf->vector), t->cpu_id);
		cpu_stop();
	}
	t->in_fatal_report = true;
	log_force_unlock();
	report(tf, cr2, what);
	panic("unhandled %s in %s mode at rip %#lx", trap_name(tf->vector),
	      trap_from_user(tf) ? "user" : "kernel", tf->rip);
}

void trap_exception(struct trap_frame *tf)
{
	/* Read before anything else can fault; only an NMI can come between. */
	uint64_t cr2 = read_cr2();
	switch (tf->vector) {
	case T_NMI:
		if (nmi_stop)
			cpu_stop(); /* smp_stop_others: a panic elsewhere */
		report(tf, cr2, "unexpected NMI (continuing)");
		return;
	case T_BP:
	case T_DB: {
		/* A domain's own: it fails like on any other exception (below),
		 * with one log line. Continuing would let it single-step or loop
		 * on int3 and write a kernel log line per instruction; a domain
		 * has no debugger to serve. The kernel's own (gdb) continue. */
		if (trap_from_user(tf))
			break;
		uint64_t off = 0;
		const char *name = ksyms_lookup(tf->rip, &off);
		klog("trap: %s %s at %#lx (%s+%#lx) in kernel mode on cpu %u (continuing)",
		     trap_name(tf->vector), trap_description(tf->vector), tf->rip,
		     name ? name : "?", off, ((const struct cpu_tables *)this_cpu()->arch)->cpu_id);
		return;
	}
	case T_DF:
		fatal(tf, cr2, "the kernel stack or IDT is unusable");
	case T_MC:
		fatal(tf, cr2, "hardware error");
	}
	if (trap_from_user(tf)) {
		if (trap_user_fault(tf))
			return;
		fatal(tf, cr2, "fault in a domain that nothing handled");
	}
	if (extable_fixup(tf, cr2))
		return;
	fatal(tf, cr2, "kernel fault with no exception-table entry");
}
