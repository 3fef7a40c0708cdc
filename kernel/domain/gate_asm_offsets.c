/*
 * The gate assembly's view of the gate's structures (domain/gate_layout.h),
 * generated from them: compiled to assembly only (never linked), and each
 * GATE_ASM_OFFSET below becomes a `#define NAME value` line of
 * out/gen/kernel/gate_asm.h by tools/asm-offsets. So the C structs are the
 * one description of the layout and domain/arch/x86/gate.S cannot drift from it.
 */
#include <domain/gate_layout.h>

/* Generated under the same names; the C spellings would expand here. */
#undef GT_TRUSTED
#undef GTT_CONTS
#undef CONT_SIZE

#define GATE_ASM_OFFSET(name, value)                                                               \
	__asm__ volatile(".ascii \"\\n@asm-offset " #name " %c0\\n\"" : : "i"(value))
#define FIELD(name, type, field) GATE_ASM_OFFSET(name, offsetof(type, field))

void gate_asm_offsets(void);
void gate_asm_offsets(void)
{
	FIELD(GD_STATE, struct gate_domain, state);
	FIELD(GD_GEN, struct gate_domain, gen);
	FIELD(GD_PKRU, struct gate_domain, pkru);
	FIELD(GD_NMETHODS, struct gate_domain, nmethods);
	FIELD(GD_ACTIVE, struct gate_domain, active);
	FIELD(GD_METHODS, struct gate_domain, methods);
	GATE_ASM_OFFSET(GD_SIZE, sizeof(struct gate_domain));

	FIELD(GT_EXPECTED_PKRU, struct gate_thread_ro, expected_pkru);
	FIELD(GT_DOMAIN, struct gate_thread_ro, domain);
	FIELD(GT_TRUSTED, struct gate_thread_ro, trusted);
	FIELD(GT_DEPTH_LIMIT, struct gate_thread_ro, depth_limit);
	FIELD(GT_GATE_STACK, struct gate_thread_ro, gate_stack);
	FIELD(GT_CLEAR_VECTORS, struct gate_thread_ro, clear_vectors);

	FIELD(GTT_CONT_TOP, struct gate_thread_trusted, cont_top);
	FIELD(GTT_DOMAIN_SP, struct gate_thread_trusted, domain_sp);
	FIELD(GTT_CALLS, struct gate_thread_trusted, calls);
	FIELD(GTT_CALLS_OUT, struct gate_thread_trusted, calls_out);
	FIELD(GTT_CONTS, struct gate_thread_trusted, conts);

	FIELD(CONT_KIND, struct continuation, kind);
	FIELD(CONT_CALLER, struct continuation, caller);
	FIELD(CONT_CALLEE, struct continuation, callee);
	FIELD(CONT_CALLEE_GEN, struct continuation, callee_gen);
	FIELD(CONT_CALLER_PKRU, struct continuation, caller_pkru);
	FIELD(CONT_CALLER_RSP, struct continuation, caller_rsp);
	FIELD(CONT_CALLEE_SP, struct continuation, callee_sp);
	FIELD(CONT_CALLER_SP, struct continuation, caller_sp);
	FIELD(CONT_START_TSC, struct continuation, start_tsc);
	FIELD(CONT_WORD, struct continuation, word);
	FIELD(CONT_ARGS, struct continuation, args);
	GATE_ASM_OFFSET(CONT_SIZE, sizeof(struct continuation));
}
