/*
 * Find and check the ACPI RSDP. The checksum rule (all bytes of a table sum
 * to zero modulo 256) is the same for every ACPI table, so acpi_checksum()
 * lives here for the table parser too.
 */
#include <lib/rsdp.h>
#include <lib/string.h>

#define BDA_EBDA_SEGMENT 0x40E	 /* BIOS data area: EBDA segment (ACPI 6.5, 5.2.5.1) */
#define EBDA_SCAN_LENGTH 1024	 /* only its first KiB is searched */
#define EBDA_LIMIT	 0xA0000 /* the EBDA sits below the legacy video area */
#define BIOS_AREA_START	 0xE0000
#define BIOS_AREA_END	 0x100000
#define RSDP_ALIGN	 16

uint8_t acpi_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum;
}

bool rsdp_valid(const void *p, size_t avail)
{
	const struct acpi_rsdp *r = p;

	if (avail < RSDP_V1_LENGTH || memcmp(r->signature, RSDP_SIGNATURE, 8) != 0 ||
	    acpi_checksum(r, RSDP_V1_LENGTH) != 0)
		return false;
	if (r->revision < 2)
		return true;
	return avail >= RSDP_V2_LENGTH && r->length >= RSDP_V2_LENGTH && r->length <= avail &&
	       acpi_checksum(r, r->length) == 0;
}

/* Search [start, start+len) on 16-byte boundaries; 0 if not there. */
static uint64_t scan(phys_map_fn phys, uint64_t start, uint64_t len)
{
	const uint8_t *area = phys(start, len);

	if (!area)
		return 0;
	for (uint64_t off = 0; off + RSDP_V1_LENGTH <= len; off += RSDP_ALIGN)
		if (rsdp_valid(area + off, len - off))
			return start + off;
	return 0;
}

uint64_t rsdp_find_bios(phys_map_fn phys)
{
	const uint16_t *seg = phys(BDA_EBDA_SEGMENT, sizeof(*seg));
	uint64_t found = 0;

	if (seg) {
		uint64_t ebda = (uint64_t)*seg << 4;
		if (ebda != 0 && ebda + EBDA_SCAN_LENGTH <= EBDA_LIMIT)
			found = scan(phys, ebda, EBDA_SCAN_LENGTH);
	}
	if (!found)
		found = scan(phys, BIOS_AREA_START, BIOS_AREA_END - BIOS_AREA_START);
	return found;
}
