/*
 * Static glibc's lazy-binding trampolines, replaced by a trap. glibc's own
 * (dl-trampoline.o, which libc.a's dl-reloc.o references for objects a
 * static program would dlopen) save and restore the vector registers with
 * `xrstor 0x40(%rsp)`: an XRSTOR that a domain can jump to with the PKRU
 * bit set in %edx:%eax and a save area it wrote loads any PKRU (with
 * XSTATE_BV bit 9 clear, the init value 0: every key). Nothing is ever
 * bound lazily in maple-hosted: it is linked statically (tools/configure)
 * and loads no shared object (no dlopen, NSS or iconv). Defining every
 * symbol of dl-trampoline.o here keeps that member of libc.a out of the
 * link; a glibc whose member defines more would be linked in again and
 * fail the start-up scan (audit.c) by name, or the link as a duplicate.
 */
	.text
	.globl _dl_runtime_resolve_fxsave, _dl_runtime_resolve_xsave, _dl_runtime_resolve_xsavec
	.globl _dl_runtime_profile_sse, _dl_runtime_profile_avx, _dl_runtime_profile_avx512
	.type hosted_no_lazy_binding, @function
hosted_no_lazy_binding:
_dl_runtime_resolve_fxsave:
_dl_runtime_resolve_xsave:
_dl_runtime_resolve_xsavec:
_dl_runtime_profile_sse:
_dl_runtime_profile_avx:
_dl_runtime_profile_avx512:
	ud2
	.size hosted_no_lazy_binding, . - hosted_no_lazy_binding
	.section .note.GNU-stack, "", @progbits
