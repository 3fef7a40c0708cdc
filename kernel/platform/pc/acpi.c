/*
 * ACPI table discovery: from the RSDP the boot path found, walk the XSDT
 * (or the RSDT) and copy what the kernel needs from the MADT, MCFG, FADT,
 * HPET and the DSDT's \_S5_ object into acpi_info. Every table is checked
 * (signature, length, checksum) before use; a bad one is logged by name
 * and skipped, so broken firmware costs features, never the boot.
 */
#include <arch/x86/layout.h>
#include <core/boot.h>
#include <core/log.h>
#include <lib/fmt.h>
#include <lib/rsdp.h>
#include <lib/string.h>
#include <platform/pc/acpi.h>
#include <stddef.h>

/* acpi_init runs on the boot page tables, which map the low 4 GiB only. */
#define ACPI_MAPPED_LIMIT 0x100000000ULL

struct acpi_info acpi_info;

#define RSDP_MAX_LENGTH 4096 /* sanity bound on the revision-2 length field */

/* System Description Table header (ACPI 6.4 5.2.6). */
struct sdt_header {
	char signature[4];
	uint32_t length; /* of the whole table, header included */
	uint8_t revision;
	uint8_t checksum; /* all bytes of the table sum to 0 */
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(offsetof(struct sdt_header, length) == 4, "layout");
_Static_assert(offsetof(struct sdt_header, checksum) == 9, "layout");
_Static_assert(offsetof(struct sdt_header, oem_id) == 10, "layout");
_Static_assert(offsetof(struct sdt_header, oem_table_id) == 16, "layout");
_Static_assert(offsetof(struct sdt_header, creator_revision) == 32, "layout");
_Static_assert(sizeof(struct sdt_header) == 36, "layout");

/* Generic Address Structure (ACPI 6.4 5.2.3.2). */
struct gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));
_Static_assert(offsetof(struct gas, address) == 4, "layout");
_Static_assert(sizeof(struct gas) == 12, "layout");

/* MADT (ACPI 6.4 5.2.12) and the entries used here. */
struct madt {
	struct sdt_header h;
	uint32_t lapic_addr;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(offsetof(struct madt, lapic_addr) == 36, "layout");
_Static_assert(offsetof(struct madt, flags) == 40, "layout");
_Static_assert(sizeof(struct madt) == 44, "layout");
#define MADT_PCAT_COMPAT (1u << 0)

#define MADT_LAPIC	    0x0
#define MADT_IOAPIC	    0x1
#define MADT_OVERRIDE	    0x2
#define MADT_NMI_SOURCE	    0x3
#define MADT_LAPIC_NMI	    0x4
#define MADT_LAPIC_OVERRIDE 0x5
#define MADT_X2APIC	    0x9
#define MADT_X2APIC_NMI	    0xa

/* Processor Local APIC / x2APIC flags (ACPI 6.4 5.2.12.2). */
#define MADT_CPU_ENABLED (1u << 0)

struct madt_entry {
	uint8_t type;
	uint8_t length;
} __attribute__((packed));

/* ACPI 6.4 5.2.12.2 */
struct madt_lapic {
	struct madt_entry e;
	uint8_t uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(offsetof(struct madt_lapic, uid) == 2, "layout");
_Static_assert(offsetof(struct madt_lapic, apic_id) == 3, "layout");
_Static_assert(offsetof(struct madt_lapic, flags) == 4, "layout");
_Static_assert(sizeof(struct madt_lapic) == 8, "layout");

/* ACPI 6.4 5.2.12.3 */
struct madt_ioapic {
	struct madt_entry e;
	uint8_t id;
	uint8_t reserved;
	uint32_t addr;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(offsetof(struct madt_ioapic, id) == 2, "layout");
_Static_assert(offsetof(struct madt_ioapic, addr) == 4, "layout");
_Static_assert(offsetof(struct madt_ioapic, gsi_base) == 8, "layout");
_Static_assert(sizeof(struct madt_ioapic) == 12, "layout");

/* ACPI 6.4 5.2.12.5 */
struct madt_override {
	struct madt_entry e;
	uint8_t bus; /* 0: ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));
_Static_assert(offsetof(struct madt_override, bus) == 2, "layout");
_Static_assert(offsetof(struct madt_override, source) == 3, "layout");
_Static_assert(offsetof(struct madt_override, gsi) == 4, "layout");
_Static_assert(offsetof(struct madt_override, flags) == 8, "layout");
_Static_assert(sizeof(struct madt_override) == 10, "layout");

/* ACPI 6.4 5.2.12.7 */
struct madt_lapic_nmi {
	struct madt_entry e;
	uint8_t uid; /* 0xff: all processors */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));
_Static_assert(offsetof(struct madt_lapic_nmi, uid) == 2, "layout");
_Static_assert(offsetof(struct madt_lapic_nmi, flags) == 3, "layout");
_Static_assert(offsetof(struct madt_lapic_nmi, lint) == 5, "layout");
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "layout");

/* ACPI 6.4 5.2.12.8 */
struct madt_lapic_override {
	struct madt_entry e;
	uint16_t reserved;
	uint64_t addr;
} __attribute__((packed));
_Static_assert(offsetof(struct madt_lapic_override, addr) == 4, "layout");
_Static_assert(sizeof(struct madt_lapic_override) == 12, "layout");

/* ACPI 6.4 5.2.12.12 */
struct madt_x2apic {
	struct madt_entry e;
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t uid;
} __attribute__((packed));
_Static_assert(offsetof(struct madt_x2apic, x2apic_id) == 4, "layout");
_Static_assert(offsetof(struct madt_x2apic, flags) == 8, "layout");
_Static_assert(offsetof(struct madt_x2apic, uid) == 12, "layout");
_Static_assert(sizeof(struct madt_x2apic) == 16, "layout");

/* ACPI 6.4 5.2.12.13 */
struct madt_x2apic_nmi {
	struct madt_entry e;
	uint16_t flags;
	uint32_t uid; /* 0xffffffff: all processors */
	uint8_t lint;
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(offsetof(struct madt_x2apic_nmi, flags) == 2, "layout");
_Static_assert(offsetof(struct madt_x2apic_nmi, uid) == 4, "layout");
_Static_assert(offsetof(struct madt_x2apic_nmi, lint) == 8, "layout");
_Static_assert(sizeof(struct madt_x2apic_nmi) == 12, "layout");

/* MCFG (PCI Firmware Specification 3.2, 4.1.2, Tables 4-2 and 4-3). */
struct mcfg {
	struct sdt_header h;
	uint64_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct mcfg) == 44, "layout");

struct mcfg_entry {
	uint64_t base;
	uint16_t segment;
	uint8_t bus_start;
	uint8_t bus_end;
	uint32_t reserved;
} __attribute__((packed));
_Static_assert(offsetof(struct mcfg_entry, segment) == 8, "layout");
_Static_assert(offsetof(struct mcfg_entry, bus_start) == 10, "layout");
_Static_assert(offsetof(struct mcfg_entry, bus_end) == 11, "layout");
_Static_assert(sizeof(struct mcfg_entry) == 16, "layout");

/* FADT (ACPI 6.4 5.2.9), up to the fields read here; older,
 * shorter revisions end earlier, so each field is read only if the table's
 * length covers it. */
struct fadt {
	struct sdt_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct gas x_pm1a_evt_blk;
	struct gas x_pm1b_evt_blk;
	struct gas x_pm1a_cnt_blk;
	struct gas x_pm1b_cnt_blk;
	struct gas x_pm2_cnt_blk;
	struct gas x_pm_tmr_blk;
} __attribute__((packed));
_Static_assert(offsetof(struct fadt, dsdt) == 40, "layout");
_Static_assert(offsetof(struct fadt, sci_int) == 46, "layout");
_Static_assert(offsetof(struct fadt, smi_cmd) == 48, "layout");
_Static_assert(offsetof(struct fadt, acpi_enable) == 52, "layout");
_Static_assert(offsetof(struct fadt, pm1a_cnt_blk) == 64, "layout");
_Static_assert(offsetof(struct fadt, pm1b_cnt_blk) == 68, "layout");
_Static_assert(offsetof(struct fadt, pm_tmr_blk) == 76, "layout");
_Static_assert(offsetof(struct fadt, pm1_cnt_len) == 89, "layout");
_Static_assert(offsetof(struct fadt, pm_tmr_len) == 91, "layout");
_Static_assert(offsetof(struct fadt, century) == 108, "layout");
_Static_assert(offsetof(struct fadt, iapc_boot_arch) == 109, "layout");
_Static_assert(offsetof(struct fadt, flags) == 112, "layout");
_Static_assert(offsetof(struct fadt, reset_reg) == 116, "layout");
_Static_assert(offsetof(struct fadt, reset_value) == 128, "layout");
_Static_assert(offsetof(struct fadt, x_dsdt) == 140, "layout");
_Static_assert(offsetof(struct fadt, x_pm1a_cnt_blk) == 172, "layout");
_Static_assert(offsetof(struct fadt, x_pm1b_cnt_blk) == 184, "layout");
_Static_assert(offsetof(struct fadt, x_pm_tmr_blk) == 208, "layout");
_Static_assert(sizeof(struct fadt) == 220, "layout");
#define FADT_HAS(f, len, field) ((len) >= offsetof(struct fadt, field) + sizeof((f)->field))

/* FADT fixed feature flags (ACPI 6.4 5.2.9). */
#define FADT_TMR_VAL_EXT   (1u << 8)
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HW_REDUCED	   (1u << 20)

/* HPET description table (IA-PC HPET Specification 1.0a, 3.2.4, Table 3). */
struct hpet_table {
	struct sdt_header h;
	uint32_t block_id;
	struct gas base;
	uint8_t number;
	uint16_t min_tick;
	uint8_t page_protection;
} __attribute__((packed));
_Static_assert(offsetof(struct hpet_table, base) == 40, "layout");
_Static_assert(sizeof(struct hpet_table) == 56, "layout");

/* The low-4-GiB window of the boot tables, or NULL for a range outside it. */
static const void *acpi_phys(uint64_t pa, uint64_t len)
{
	if (!pa || pa >= ACPI_MAPPED_LIMIT || len > ACPI_MAPPED_LIMIT - pa)
		return NULL;
	return (const void *)(DIRECT_MAP_BASE + pa);
}

/*
 * A validated table at pa, or NULL after logging why not. `want` is the
 * expected signature, or NULL to accept any (root-table entries).
 */
static const struct sdt_header *table_get(uint64_t pa, const char *want)
{
	const char *name = want ? want : "table";
	const struct sdt_header *h = acpi_phys(pa, sizeof *h);
	if (!h) {
		klog("acpi: %s at %#lx: outside the mapped low 4 GiB, ignored", name, pa);
		return NULL;
	}
	char sig[5];
	memcpy(sig, h->signature, 4);
	sig[4] = '\0';
	if (want && memcmp(h->signature, want, 4)) {
		klog("acpi: %s at %#lx: signature \"%s\", ignored", want, pa, sig);
		return NULL;
	}
	if (h->length < sizeof *h) {
		klog("acpi: %s at %#lx: length %u shorter than its header, ignored", sig, pa,
		     h->length);
		return NULL;
	}
	if (!acpi_phys(pa, h->length)) {
		klog("acpi: %s at %#lx: length %u runs past the mapped low 4 GiB, ignored", sig, pa,
		     h->length);
		return NULL;
	}
	if (acpi_checksum(h, h->length)) {
		klog("acpi: %s at %#lx: checksum mismatch, ignored", sig, pa);
		return NULL;
	}
	return h;
}

static void add_cpu(uint32_t apic_id, uint32_t uid, uint32_t flags)
{
	if (!(flags & MADT_CPU_ENABLED))
		return; /* absent, or only hot-pluggable later */
	for (uint32_t i = 0; i < acpi_info.ncpus; i++)
		if (acpi_info.cpus[i].apic_id == apic_id)
			return; /* listed both as LAPIC and x2APIC */
	if (acpi_info.ncpus == MAX_CPUS) {
		acpi_info.ncpus_ignored++;
		return;
	}
	acpi_info.cpus[acpi_info.ncpus++] = (struct acpi_cpu){.apic_id = apic_id, .uid = uid};
}

static void add_lapic_nmi(uint32_t uid, uint16_t flags, uint8_t lint)
{
	if (acpi_info.nlapic_nmis == ACPI_MAX_NMIS || lint > 1)
		return;
	acpi_info.lapic_nmis[acpi_info.nlapic_nmis++] =
		(struct acpi_lapic_nmi){.uid = uid, .flags = flags, .lint = lint};
}

/* One MADT entry, whose length the caller checked against the table. */
static void madt_entry(const uint8_t *p, uint8_t type, uint8_t len)
{
	switch (type) {
	case MADT_LAPIC: {
		struct madt_lapic e;
		if (len < sizeof e)
			break;
		memcpy(&e, p, sizeof e);
		add_cpu(e.apic_id, e.uid, e.flags);
		return;
	}
	case MADT_X2APIC: {
		struct madt_x2apic e;
		if (len < sizeof e)
			break;
		memcpy(&e, p, sizeof e);
		add_cpu(e.x2apic_id, e.uid, e.flags);
		return;
	}
	case MADT_IOAPIC: {
		struct madt_ioapic e;
		if (len < sizeof e)
			break;
		memcpy(&e, p, sizeof e);
		if (acpi_info.nioapics < ACPI_MAX_IOAPICS)
			acpi_info.ioapics[acpi_info.nioapics++] = (struct acpi_ioapic){
				.id = e.id, .phys = e.addr, .gsi_base = e.gsi_base};
		return;
	}
	case MADT_OVERRIDE: {
		struct madt_override e;
		if (len < sizeof e)
			break;
		memcpy(&e, p, sizeof e);
		if (e.bus == 0 && e.source < 16 && acpi_info.noverrides < ACPI_MAX_OVERRIDES)
			acpi_info.overrides[acpi_info.noverrides++] = (struct acpi_override){
				.isa_irq = e.source, .flags = e.flags, .gsi = e.gsi};
		return;
	}
	case MADT_NMI_SOURCE:
		acpi_info.nnmi_sources++;
		return;
	case MADT_LAPIC_NMI: {
		struct madt_lapic_nmi e;
		if (len < sizeof e)
			break;
		memcpy(&e, p, sizeof e);
		add_lapic_nmi(e.uid == 0xff ? ACPI_UID_ALL : e.uid, e.flags, e.lint);
		return;
	}
	case MADT_X2APIC_NMI: {
		struct madt_x2apic_nmi e;
		if (len < sizeof e)
			break;
		memcpy(&e, p, sizeof e);
		add_lapic_nmi(e.uid, e.flags, e.lint);
		return;
	}
	case MADT_LAPIC_OVERRIDE: {
		struct madt_lapic_override e;
		if (len < sizeof e)
			break;
		memcpy(&e, p, sizeof e);
		acpi_info.lapic_phys = e.addr;
		return;
	}
	default:
		return; /* GIC, RINTC and other architectures' entries */
	}
	klog("acpi: APIC: entry type %u has length %u, too short; ignored", type, len);
}

static void parse_madt(const struct sdt_header *h)
{
	struct madt m;
	if (h->length < sizeof m) {
		klog("acpi: APIC: length %u shorter than its fixed fields, ignored", h->length);
		return;
	}
	memcpy(&m, h, sizeof m);
	acpi_info.have_madt = true;
	if (!acpi_info.lapic_phys) /* an address override entry may already have set it */
		acpi_info.lapic_phys = m.lapic_addr;
	acpi_info.pcat_compat = m.flags & MADT_PCAT_COMPAT;
	const uint8_t *p = (const uint8_t *)h + sizeof m, *end = (const uint8_t *)h + h->length;
	while (p < end) {
		struct madt_entry e;
		if (end - p < (long)sizeof e) {
			klog("acpi: APIC: %ld stray bytes at the end, ignored", (long)(end - p));
			break;
		}
		memcpy(&e, p, sizeof e);
		if (e.length < sizeof e || e.length > end - p) {
			klog("acpi: APIC: entry type %u at offset %ld has length %u, rest of the "
			     "table ignored",
			     e.type, (long)(p - (const uint8_t *)h), e.length);
			break;
		}
		madt_entry(p, e.type, e.length);
		p += e.length;
	}
}

static void parse_mcfg(const struct sdt_header *h)
{
	uint32_t n = h->length < sizeof(struct mcfg)
			     ? 0
			     : (h->length - sizeof(struct mcfg)) / sizeof(struct mcfg_entry);
	if (n == 0) {
		klog("acpi: MCFG: no configuration space entries, ignored");
		return;
	}
	const uint8_t *p = (const uint8_t *)h + sizeof(struct mcfg);
	for (uint32_t i = 0; i < n && acpi_info.necam < ACPI_MAX_ECAM; i++) {
		struct mcfg_entry e;
		memcpy(&e, p + i * sizeof e, sizeof e);
		if (e.bus_end < e.bus_start) {
			klog("acpi: MCFG: entry %u has bus range %u-%u, ignored", i, e.bus_start,
			     e.bus_end);
			continue;
		}
		acpi_info.ecam[acpi_info.necam++] = (struct acpi_ecam){.base = e.base,
								       .segment = e.segment,
								       .bus_start = e.bus_start,
								       .bus_end = e.bus_end};
	}
}

/* A FADT register block: the 64-bit GAS form if present, else the legacy port. */
static struct acpi_reg fadt_block(uint32_t port, const struct gas *x, bool has_x)
{
	if (has_x && x->address)
		return (struct acpi_reg){
			.space = x->space_id, .bit_width = x->bit_width, .addr = x->address};
	return (struct acpi_reg){.space = ACPI_SPACE_IO, .bit_width = 16, .addr = port};
}

/*
 * Find `Name(_S5_, Package(){a, b, ...})` in the DSDT's AML and take its
 * first two elements, SLP_TYPa and SLP_TYPb (ACPI 6.4 7.4.2 and 16.1.7).
 * Encodings: DefName := NameOp NameString DataRefObject (20.2.5.1);
 * DefPackage := PackageOp PkgLength NumElements PackageElementList
 * (20.2.5.4); PkgLength's lead byte gives its extra byte count in bits 7:6
 * (20.2.4); integers are ZeroOp, OneOp or BytePrefix/WordPrefix/DWordPrefix
 * followed by the value (20.2.3).
 */
#define AML_ZERO_OP	 0x00
#define AML_ONE_OP	 0x01
#define AML_NAME_OP	 0x08
#define AML_BYTE_PREFIX	 0x0a
#define AML_WORD_PREFIX	 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_PACKAGE_OP	 0x12
#define AML_ROOT_CHAR	 0x5c /* '\' */
#define SLP_TYP_MAX	 7    /* a 3-bit field of PM1 control */

/* Decode one integer element at *p; returns false for anything else. */
static bool aml_integer(const uint8_t **p, const uint8_t *end, uint32_t *out)
{
	if (*p >= end)
		return false;
	uint8_t op = *(*p)++;
	unsigned bytes;
	switch (op) {
	case AML_ZERO_OP:
		*out = 0;
		return true;
	case AML_ONE_OP:
		*out = 1;
		return true;
	case AML_BYTE_PREFIX:
		bytes = 1;
		break;
	case AML_WORD_PREFIX:
		bytes = 2;
		break;
	case AML_DWORD_PREFIX:
		bytes = 4;
		break;
	default:
		return false;
	}
	if (end - *p < (long)bytes)
		return false;
	*out = 0;
	for (unsigned i = 0; i < bytes; i++)
		*out |= (uint32_t)(*p)[i] << (8 * i);
	*p += bytes;
	return true;
}

static const char *parse_s5_package(const uint8_t *p, const uint8_t *end)
{
	if (p >= end || *p++ != AML_PACKAGE_OP)
		return "_S5_ is not a package";
	if (p >= end)
		return "_S5_ package truncated";
	unsigned follow = *p >> 6; /* PkgLength bytes after the lead byte */
	if (end - p < (long)follow + 2)
		return "_S5_ package truncated";
	p += 1 + follow;
	uint8_t count = *p++;
	uint32_t a, b;
	if (count < 2 || !aml_integer(&p, end, &a) || !aml_integer(&p, end, &b))
		return "_S5_ package does not start with two integers";
	if (a > SLP_TYP_MAX || b > SLP_TYP_MAX)
		return "_S5_ sleep type out of range";
	acpi_info.slp_typ_a = (uint8_t)a;
	acpi_info.slp_typ_b = (uint8_t)b;
	acpi_info.have_s5 = true;
	return NULL;
}

static void parse_dsdt(uint64_t pa)
{
	const struct sdt_header *h = table_get(pa, "DSDT");
	if (!h)
		return;
	const uint8_t *aml = (const uint8_t *)h, *end = aml + h->length;
	for (const uint8_t *p = aml + sizeof *h; end - p >= 5; p++) {
		if (memcmp(p, "_S5_", 4))
			continue;
		bool named =
			p[-1] == AML_NAME_OP || (p[-1] == AML_ROOT_CHAR && p[-2] == AML_NAME_OP);
		if (!named)
			continue; /* a reference to _S5_, not its definition */
		const char *err = parse_s5_package(p + 4, end);
		if (err)
			klog("acpi: DSDT: %s; power-off unavailable", err);
		return;
	}
	klog("acpi: DSDT: no \\_S5_ object; power-off unavailable");
}

static void parse_fadt(const struct sdt_header *h)
{
	struct fadt f = {0};
	uint32_t len = h->length < sizeof f ? h->length : (uint32_t)sizeof f;
	if (!FADT_HAS(&f, len, pm_tmr_len)) {
		klog("acpi: FACP: length %u too short for the PM blocks, ignored", h->length);
		return;
	}
	memcpy(&f, h, len);
	acpi_info.have_fadt = true;
	acpi_info.sci_irq = f.sci_int;
	acpi_info.smi_cmd = f.smi_cmd;
	acpi_info.acpi_enable = f.acpi_enable;
	acpi_info.pm1a_cnt =
		fadt_block(f.pm1a_cnt_blk, &f.x_pm1a_cnt_blk, FADT_HAS(&f, len, x_pm1a_cnt_blk));
	acpi_info.pm1b_cnt =
		fadt_block(f.pm1b_cnt_blk, &f.x_pm1b_cnt_blk, FADT_HAS(&f, len, x_pm1b_cnt_blk));
	if (f.pm_tmr_len == 4 && f.pm_tmr_blk)
		acpi_info.pm_timer_port = f.pm_tmr_blk;
	if (FADT_HAS(&f, len, century))
		acpi_info.century_cmos = f.century;
	if (FADT_HAS(&f, len, flags)) {
		acpi_info.pm_timer_32bit = f.flags & FADT_TMR_VAL_EXT;
		acpi_info.hw_reduced = f.flags & FADT_HW_REDUCED;
	}
	if (FADT_HAS(&f, len, reset_value) && (f.flags & FADT_RESET_REG_SUP)) {
		acpi_info.reset_supported = true;
		acpi_info.reset_reg = (struct acpi_reg){.space = f.reset_reg.space_id,
							.bit_width = f.reset_reg.bit_width,
							.addr = f.reset_reg.address};
		acpi_info.reset_value = f.reset_value;
	}
	uint64_t dsdt = FADT_HAS(&f, len, x_dsdt) && f.x_dsdt ? f.x_dsdt : f.dsdt;
	if (dsdt)
		parse_dsdt(dsdt);
}

static void parse_hpet(const struct sdt_header *h)
{
	struct hpet_table t;
	if (h->length < sizeof t) {
		klog("acpi: HPET: length %u too short, ignored", h->length);
		return;
	}
	memcpy(&t, h, sizeof t);
	acpi_info.have_hpet = true;
	acpi_info.hpet_phys = t.base.address;
}

static void dispatch(uint64_t pa)
{
	const struct sdt_header *h = table_get(pa, NULL);
	if (!h)
		return;
	if (!memcmp(h->signature, "APIC", 4) && !acpi_info.have_madt)
		parse_madt(h);
	else if (!memcmp(h->signature, "MCFG", 4) && !acpi_info.necam)
		parse_mcfg(h);
	else if (!memcmp(h->signature, "FACP", 4) && !acpi_info.have_fadt)
		parse_fadt(h);
	else if (!memcmp(h->signature, "HPET", 4) && !acpi_info.have_hpet)
		parse_hpet(h);
}

/* Walk a root table whose entries are `entry_size` bytes (4: RSDT, 8: XSDT). */
static bool walk_root(uint64_t pa, const char *sig, unsigned entry_size)
{
	const struct sdt_header *h = table_get(pa, sig);
	if (!h)
		return false;
	uint32_t n = (h->length - sizeof *h) / entry_size;
	const uint8_t *e = (const uint8_t *)h + sizeof *h;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t addr = 0;
		memcpy(&addr, e + i * entry_size, entry_size);
		dispatch(addr);
	}
	return true;
}

static bool find_root(void)
{
	uint64_t pa = boot_info.rsdp;
	if (!pa) {
		klog("acpi: the boot path found no RSDP; running without ACPI");
		return false;
	}
	const struct acpi_rsdp *r = acpi_phys(pa, sizeof *r);
	if (!r || memcmp(r->signature, RSDP_SIGNATURE, 8) || acpi_checksum(r, RSDP_V1_LENGTH)) {
		klog("acpi: RSDP at %#lx: unmapped, bad signature or checksum; running without "
		     "ACPI",
		     pa);
		return false;
	}
	acpi_info.revision = r->revision;
	memcpy(acpi_info.oem_id, r->oem_id, 6);
	acpi_info.oem_id[6] = '\0';
	/* The extended checksum covers the XSDT address; the RSDT is the fallback. */
	bool xsdt_ok = r->revision >= 2 && r->length <= RSDP_MAX_LENGTH &&
		       acpi_phys(pa, r->length) && rsdp_valid(r, r->length) && r->xsdt_address;
	if (r->revision >= 2 && !xsdt_ok)
		klog("acpi: RSDP at %#lx: extended checksum or XSDT address bad; trying the RSDT",
		     pa);
	if (xsdt_ok && walk_root(r->xsdt_address, "XSDT", 8))
		return true;
	return walk_root(r->rsdt_address, "RSDT", 4);
}

bool acpi_init(void)
{
	acpi_info.present = find_root();
	if (!acpi_info.present)
		return false;
	char mcfg[64] = "no MCFG";
	if (acpi_info.necam)
		fmt_snprintf(mcfg, sizeof mcfg, "MCFG %#lx bus %u-%u", acpi_info.ecam[0].base,
			     acpi_info.ecam[0].bus_start, acpi_info.ecam[0].bus_end);
	klog("acpi: rev %u, OEM %s, %u CPUs, %u IOAPIC%s, %s%s%s", acpi_info.revision,
	     acpi_info.oem_id, acpi_info.ncpus, acpi_info.nioapics,
	     acpi_info.nioapics == 1 ? "" : "s", mcfg, acpi_info.have_hpet ? ", HPET" : "",
	     acpi_info.have_s5 ? ", S5" : "");
	if (acpi_info.ncpus_ignored)
		klog("acpi: APIC: %u more enabled CPUs than the kernel's %d, ignored",
		     acpi_info.ncpus_ignored, MAX_CPUS);
	if (!acpi_info.have_madt)
		klog("acpi: no usable MADT: one CPU, no IOAPIC");
	return acpi_info.have_madt;
}
