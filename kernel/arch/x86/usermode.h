/*
 * Ring 3 as the kernel sees it (arch/x86/usermode.c, domain/arch/x86/upcall.S): entering a domain
 * for an upcall and coming back, per-thread PKRU and user GS, SYSCALL
 * setup, and copying from domain memory.
 */
#ifndef CORE_USERMODE_H
#define CORE_USERMODE_H

/* struct user_entry offsets, for upcall.S. */
#define UE_RIP	0
#define UE_RSP	8
#define UE_ARGS 16

#ifndef __ASSEMBLY__
#include <domain/gate.h>
#include <stddef.h>
#include <stdint.h>

struct user_entry {
	uint64_t rip;
	uint64_t rsp;
	uint64_t args[4]; /* rdi, rsi, rdx, rcx */
};
_Static_assert(offsetof(struct user_entry, rsp) == UE_RSP, "upcall.S");
_Static_assert(offsetof(struct user_entry, args) == UE_ARGS, "upcall.S");

/* Save this kernel context in ctx and enter ring 3 at e with PKRU = pkru;
 * returns the value a later upcall_resume(ctx, value) passes. */
long upcall_enter(struct upcall_ctx *ctx, const struct user_entry *e, uint32_t pkru);
__attribute__((noreturn)) void upcall_resume(struct upcall_ctx *ctx, long value);

void arch_set_user_gs(uint64_t va);
/* Where entries from ring 3 land on this CPU (TSS.RSP0 and SYSCALL's stack). */
void arch_set_kernel_entry(uint64_t rsp);
void arch_set_pkru(uint32_t pkru);
uint32_t arch_get_pkru(void);
/* SYSCALL/SYSRET MSRs on the calling CPU. */
void usermode_init_cpu(void);
/* Copy from a user address with the thread's own rights in force; a fault
 * returns -1 instead of crashing. The caller checks ownership first. */
int copy_from_user(void *dst, uint64_t src, uint64_t len);
/* The same towards the user (SYS_DEVICE_INFO's result): PKRU still the
 * caller's, so it can write only what the caller itself may. */
int copy_to_user(uint64_t dst, const void *src, uint64_t len);

/* Called by trap_dispatch / syscall entry for every return to ring 3. */
void syscall_dispatch(struct trap_frame *tf);

#endif
#endif
