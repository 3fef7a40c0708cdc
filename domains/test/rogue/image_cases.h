/*
 * rogue's cases against the rights its own image's pages are mapped with
 * (number 480 of its run(case, target, a2, a3) method, cases.h;
 * domains/test/rogue/image.c). The loader scans only executable segments'
 * bytes for WRPKRU (kernel/lib/elf_check.c), so no other byte of an image
 * may ever be executable. Plain numbers, so hosted/tests_lifecycle.c can
 * include them.
 */
#ifndef DOMAINS_ROGUE_IMAGE_CASES_H
#define DOMAINS_ROGUE_IMAGE_CASES_H

/* What precedes ROGUE_I_RODATA's bytes in rogue's read-only data, so that a
 * test can find them in rogue.elf (8 bytes, no terminator). */
#define ROGUE_I_MARK "rogue-xr"

enum rogue_image_case {
	ROGUE_I_FIRST = 480,
	/* Call four bytes of rogue's read-only data, WRPKRU; RET, with
	 * %eax = %ecx = %edx = 0 (PKRU 0: every key). Should the fetch not
	 * fault, store ROGUE_SCRIBBLE at target (a TRUSTED word, which PKRU 0
	 * lets it write) and return ROGUE_NOT_CONTAINED. */
	ROGUE_I_RODATA = 480,
	ROGUE_I_END
};

/* rogue's own (domains/test/rogue/image.c): run() hands it these cases. */
long rogue_image_case(long number, unsigned long target);

#endif
