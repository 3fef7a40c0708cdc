/*
 * PCI configuration-space parsing (dev/pci_cfg.h). Every value read here is
 * untrusted: a broken or hostile function (or, under passthrough, a device
 * the operator does not control) may answer anything, so each BAR and each
 * capability pointer is checked before it is believed, and the capability
 * walk is bounded by a visited set and the size of the space.
 */
#include <dev/pci_cfg.h>
#include <lib/fmt.h>
#include <lib/string.h>

static void problem(const struct pci_cfg *c, struct pci_func_cfg *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(const struct pci_cfg *c, struct pci_func_cfg *f, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	f->problems++;
	c->problem(c->ctx, buf);
}

static uint8_t read8(const struct pci_cfg *c, uint16_t off)
{
	return (uint8_t)(c->read(c->ctx, off & ~3u) >> (8 * (off & 3)));
}

/*
 * Write all ones to the BAR word at off and read what sticks (the standard
 * probe), then zeros: an address bit that reads 1 then is stuck, and the BAR
 * does not size. Puts the value back. Returns the ones' read; *zeros gets
 * the zeros'.
 */
static uint32_t probe(const struct pci_cfg *c, uint16_t off, uint32_t orig, uint32_t *zeros)
{
	c->write(c->ctx, off, 0xffffffffu);
	uint32_t v = c->read(c->ctx, off);
	c->write(c->ctx, off, 0);
	*zeros = c->read(c->ctx, off);
	c->write(c->ctx, off, orig);
	return v;
}

/*
 * Check a sized BAR: its size mask must be one run of ones from the top (a
 * power-of-two size), its base aligned to that size and the decoded range
 * inside the address space it lives in. Returns a reason, or NULL.
 */
static const char *bar_insane(uint64_t base, uint64_t size, uint64_t limit)
{
	if (size & (size - 1))
		return "its size mask has holes";
	if (base & (size - 1))
		return "its address is not aligned to its size";
	if (base > limit || size - 1 > limit - base)
		return "it decodes past the end of its address space";
	return NULL;
}

/* BAR i at config offset PCI_BAR0 + 4i; returns how many BAR words it used. */
static int size_bar(const struct pci_cfg *c, struct pci_func_cfg *f, int i, int nbars)
{
	uint16_t off = (uint16_t)(PCI_BAR0 + 4 * i);
	uint32_t orig = c->read(c->ctx, off);
	if (orig == 0xffffffffu) {
		/* No BAR type has every bit set once assigned; a function
		 * that reads all ones here is broken or went away. */
		f->bar_flags[i] = MAPLE_BAR_BAD;
		problem(c, f, "BAR %d reads all ones", i);
		return 1;
	}
	uint32_t zeros, hi_zeros = 0;
	uint32_t sized = probe(c, off, orig, &zeros);
	uint64_t base, mask, limit;
	uint32_t flags;
	int used = 1;
	if (orig & 1) { /* I/O space (PCI 3.0, 6.2.5.1, figure 6-6) */
		flags = MAPLE_BAR_IO;
		base = orig & ~3u;
		mask = sized & ~3u;
		if (mask && !(mask & 0xffff0000u))
			mask |= 0xffff0000u; /* 16-bit decode: upper bits hardwired to 0 */
		mask |= ~0xffffffffULL;
		limit = 0xffff; /* x86 has 64 KiB of I/O ports */
	} else {
		flags = MAPLE_BAR_MEM | ((orig & 8) ? MAPLE_BAR_PREFETCH : 0);
		base = orig & ~0xfu;
		mask = (sized & ~0xfu) | ~0xffffffffULL;
		limit = 0xffffffffULL;
		switch ((orig >> 1) & 3) {
		case 0: /* 32-bit */
			break;
		case 2: /* 64-bit: the next word is the upper half */
			if (i + 1 >= nbars) {
				f->bar_flags[i] = MAPLE_BAR_BAD;
				problem(c, f, "BAR %d is 64-bit but has no upper half", i);
				return 1;
			}
			uint32_t hi = c->read(c->ctx, (uint16_t)(off + 4));
			uint32_t hi_sized = probe(c, (uint16_t)(off + 4), hi, &hi_zeros);
			base |= (uint64_t)hi << 32;
			mask = (mask & 0xffffffffULL) | (uint64_t)hi_sized << 32;
			limit = ~0ULL;
			flags |= MAPLE_BAR_64;
			f->bar_flags[i + 1] = MAPLE_BAR_UPPER;
			used = 2;
			break;
		default: /* 1: below 1 MiB (PCI 2.x only), 3: reserved */
			f->bar_flags[i] = MAPLE_BAR_BAD;
			problem(c, f, "BAR %d has memory type %u, which is reserved", i,
				(orig >> 1) & 3);
			return 1;
		}
	}
	uint64_t live = flags & MAPLE_BAR_IO   ? mask & 0xffffffffULL & ~3ULL
			: flags & MAPLE_BAR_64 ? mask & ~0xfULL
					       : mask & 0xfffffff0ULL;
	uint64_t stuck = ((uint64_t)hi_zeros << 32 | zeros) & live;
	if (stuck) {
		f->bar_flags[i] = MAPLE_BAR_BAD;
		problem(c, f, "BAR %d does not size (address bits %#lx ignore writes)", i, stuck);
		return used;
	}
	if (!live)
		return used; /* not implemented: flags stay 0 */
	uint64_t size = ~(mask & ~(uint64_t)(flags & MAPLE_BAR_IO ? 3 : 0xf)) + 1;
	const char *why = bar_insane(base, size, limit);
	if (!why && !base && (flags & MAPLE_BAR_MEM))
		why = "the firmware assigned it no address";
	f->bar_base[i] = base;
	f->bar_size[i] = size;
	f->bar_flags[i] = flags | (why ? MAPLE_BAR_BAD : 0);
	if (why)
		problem(c, f, "BAR %d (%#lx, %#lx bytes): %s", i, base, size, why);
	return used;
}

static void size_bars(const struct pci_cfg *c, struct pci_func_cfg *f, int nbars)
{
	uint32_t cmd = c->read(c->ctx, PCI_COMMAND) & 0xffff;
	/* The status half is written as 0: its bits are write-one-to-clear. */
	if (cmd & (PCI_CMD_IO | PCI_CMD_MEM))
		c->write(c->ctx, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
	for (int i = 0; i < nbars;)
		i += size_bar(c, f, i, nbars);
	if (cmd & (PCI_CMD_IO | PCI_CMD_MEM))
		c->write(c->ctx, PCI_COMMAND, cmd);
}

/*
 * The capability list (PCI 3.0, 6.7): a chain of pointers inside the
 * device-specific part of the space (0x40-0xff), the low two bits of each
 * reserved. A pointer into the header or back to a capability already seen
 * ends the walk, reported; so the walk visits each dword at most once.
 */
static void walk_caps(const struct pci_cfg *c, struct pci_func_cfg *f)
{
	uint64_t seen = 0; /* one bit per dword of 0x00-0xff */
	uint8_t ptr = read8(c, PCI_CAP_PTR) & 0xfc;
	while (ptr) {
		if (ptr < 0x40) {
			problem(c, f, "capability pointer %#x points into the header", ptr);
			return;
		}
		if (seen & (1ULL << (ptr / 4))) {
			problem(c, f, "capability list loops back to %#x", ptr);
			return;
		}
		if (f->ncaps == PCI_MAX_CAPS) {
			problem(c, f, "more than %d capabilities; the rest are ignored",
				PCI_MAX_CAPS);
			return;
		}
		seen |= 1ULL << (ptr / 4);
		uint32_t w = c->read(c->ctx, ptr);
		uint8_t id = (uint8_t)w;
		f->caps[f->ncaps++] = (struct pci_cap){.id = id, .off = ptr};
		if (id == PCI_CAP_MSI && !f->msi)
			f->msi = ptr;
		else if (id == PCI_CAP_MSIX && !f->msix)
			f->msix = ptr;
		else if (id == PCI_CAP_PCIE && !f->pcie)
			f->pcie = ptr;
		ptr = (uint8_t)(w >> 8) & 0xfc;
	}
}

bool pci_cfg_parse(const struct pci_cfg *c, struct pci_func_cfg *out)
{
	uint32_t id = c->read(c->ctx, PCI_VENDOR);
	if ((id & 0xffff) == 0xffff)
		return false;
	memset(out, 0, sizeof *out);
	out->vendor = (uint16_t)id;
	out->device = (uint16_t)(id >> 16);
	uint32_t cr = c->read(c->ctx, PCI_CLASS_REV);
	out->revision = (uint8_t)cr;
	out->prog_if = (uint8_t)(cr >> 8);
	out->subclass = (uint8_t)(cr >> 16);
	out->class_code = (uint8_t)(cr >> 24);
	uint8_t hdr = (uint8_t)(c->read(c->ctx, PCI_HEADER) >> 16);
	out->multifunction = hdr & PCI_HDR_MULTIFUNC;
	out->header_type = hdr & 0x7f;
	switch (out->header_type) {
	case 0:
		size_bars(c, out, 6);
		break;
	case 1: /* a bridge: two BARs, then its bus numbers */
		size_bars(c, out, 2);
		out->secondary_bus = (uint8_t)(c->read(c->ctx, PCI_BUSES) >> 8);
		break;
	default: /* 2 (CardBus) has another layout; others are undefined */
		problem(c, out, "header type %u is not supported: BARs and capabilities skipped",
			out->header_type);
		return true;
	}
	if (c->read(c->ctx, PCI_COMMAND) & PCI_STATUS_CAPS)
		walk_caps(c, out);
	return true;
}

const char *pci_cap_name(uint8_t id)
{
	/* PCI Code and ID Assignment Spec 1.11, 2 (capability ids). */
	switch (id) {
	case 0x01:
		return "pm";
	case 0x03:
		return "vpd";
	case 0x04:
		return "slotid";
	case PCI_CAP_MSI:
		return "msi";
	case 0x09:
		return "vendor";
	case 0x0d:
		return "bridge-ssid";
	case PCI_CAP_PCIE:
		return "pcie";
	case PCI_CAP_MSIX:
		return "msix";
	case 0x12:
		return "sata";
	case 0x13:
		return "af";
	case 0x14:
		return "ea";
	default:
		return NULL;
	}
}
