/* The first link's stand-in for the generated symbol table (tools/ksyms). */
	.section .ksyms, "a"
	.balign 8
	.globl ksyms_count, ksyms_addrs, ksyms_name_offsets, ksyms_names
ksyms_count:
	.quad 0
ksyms_addrs:
ksyms_name_offsets:
ksyms_names:
	.byte 0
