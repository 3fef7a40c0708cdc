/* What the boot path handed over, as the kernel's own copy. */
#ifndef CORE_BOOT_H
#define CORE_BOOT_H

#include <maple/bootinfo.h>

extern struct bootinfo boot_info;

/* Fill boot_info from the loader's bootinfo or the multiboot information. */
void boot_intake(uint64_t kind, uint64_t arg, uint64_t magic);

#endif
