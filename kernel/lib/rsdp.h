/*
 * The ACPI Root System Description Pointer and the BIOS search for it
 * (kernel/lib/rsdp.c). UEFI hands the RSDP's address over in a
 * configuration table; on the BIOS path the kernel looks for it in low
 * memory. The byte checksum is shared with the rest of the ACPI code.
 */
#ifndef MAPLE_RSDP_H
#define MAPLE_RSDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Reads physical memory: returns a pointer through which [addr, addr+len)
 * can be read, or NULL if that range is not accessible. The kernel passes
 * its boot mapping; host tests pass a bounds-checked buffer.
 */
typedef const void *(*phys_map_fn)(uint64_t addr, uint64_t len);

#define RSDP_SIGNATURE "RSD PTR " /* 8 bytes, no NUL */
#define RSDP_V1_LENGTH 20	  /* bytes covered by the first checksum */
#define RSDP_V2_LENGTH 36

/* ACPI 6.5, 5.2.5.3 "Root System Description Pointer (RSDP) Structure" */
struct acpi_rsdp {
	char signature[8];
	uint8_t checksum; /* bytes 0..19 sum to zero */
	char oem_id[6];
	uint8_t revision; /* 0 for ACPI 1.0; 2 and up have the fields below */
	uint32_t rsdt_address;
	uint32_t length; /* of the whole table */
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* the whole table sums to zero */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(offsetof(struct acpi_rsdp, checksum) == 8, "layout");
_Static_assert(offsetof(struct acpi_rsdp, oem_id) == 9, "layout");
_Static_assert(offsetof(struct acpi_rsdp, revision) == 15, "layout");
_Static_assert(offsetof(struct acpi_rsdp, rsdt_address) == 16, "layout");
_Static_assert(offsetof(struct acpi_rsdp, length) == 20, "layout");
_Static_assert(offsetof(struct acpi_rsdp, xsdt_address) == 24, "layout");
_Static_assert(offsetof(struct acpi_rsdp, extended_checksum) == 32, "layout");
_Static_assert(sizeof(struct acpi_rsdp) == RSDP_V2_LENGTH, "layout");

/* Sum of len bytes modulo 256; an ACPI table is intact when this is 0. */
uint8_t acpi_checksum(const void *data, size_t len);

/*
 * Whether the `avail` readable bytes at p hold a valid RSDP: signature,
 * checksum over the first 20 bytes, and for revision 2 and up a length of at
 * least 36 that fits in avail and the extended checksum over it.
 */
bool rsdp_valid(const void *p, size_t avail);

/*
 * The BIOS search (ACPI 6.5, 5.2.5.1): the first KiB of the Extended BIOS
 * Data Area, whose segment is the 16-bit word at physical 0x40E, then the
 * read-only BIOS area 0xE0000-0xFFFFF, each on 16-byte boundaries. Returns
 * the physical address of the first valid RSDP, or 0.
 */
uint64_t rsdp_find_bios(phys_map_fn phys);

#endif
