/*
 * PCI enumeration through ECAM (PCI Express Base Spec 4.0, 7.2.2: bus << 20 |
 * device << 15 | function << 12 within a segment's window, as MCFG gives
 * it). Buses are found the way firmware numbered them: bus_start of each
 * segment, then the secondary bus of every bridge found, each bus once, so
 * a bridge that names a bus already seen (or itself) cannot make a loop.
 * Only the buses reached are mapped, 1 MiB each.
 */
#include <core/boot.h>
#include <core/log.h>
#include <dev/pci.h>
#include <lib/fmt.h>
#include <lib/string.h>
#include <mm/vm.h>
#include <platform/pc/acpi.h>

#define ECAM_BUS_SIZE (1UL << 20)
#define NVME_REGS     0x1000 /* the registers quiescing needs: CAP, CC, CSTS (NVMe 2.0, 3.1.4) */

/* Virtio over PCI (virtio 1.1): a modern network function is 1af4:1041
 * (4.1.2.1: 0x1040 + device type 1, 5.1.1); its register blocks are found
 * through vendor-specific capabilities (4.1.4: cap_vndr 0x09) whose
 * cfg_type (byte 3) 1 is the common configuration, bar (byte 4) and
 * offset (bytes 8-11) place it. The kernel maps only that block: its
 * device_status byte (4.1.4.3, offset 0x14) resets the device. */
/* The Intel 82576 (82576 datasheet, 1.5 device ids; QEMU's `igb`) is
 * `igbN`, the 82599 SFP+ part (82599 datasheet 9.3.3.2, Device ID) is
 * `ixgbeN`, each for its driver image. The kernel maps the first 64 KiB of
 * BAR 0: CTRL (82576 8.2.1, 82599 8.2.3.1.1), whose RST bit resets the
 * chip when its driver dies, and the queue registers (the 82576's up to
 * its transmit blocks at 0xE000, 8.12; the 82599's queue 0 at 0x1000 and
 * 0x6000, 8.2.3.8 and 8.2.3.9) the ktests play a broken device on. */
#define INTEL_VENDOR	    0x8086
#define I82576		    0x10c9
#define I82599_SFP	    0x10fb
#define INTEL_REGS	    0x10000
#define VIRTIO_VENDOR	    0x1af4
#define VIRTIO_NET_MODERN   0x1041
#define PCI_CAP_VENDOR	    0x09
#define VIRTIO_CAP_CFG_TYPE 3
#define VIRTIO_CAP_BAR	    4
#define VIRTIO_CAP_OFFSET   8
#define VIRTIO_CAP_COMMON   1
#define VIRTIO_COMMON_SIZE  0x38 /* struct virtio_pci_common_cfg */

static struct pci_func funcs[PCI_MAX_FUNCS];
static uint32_t nfuncs;

struct where {
	volatile uint32_t *cfg;
	uint8_t bus, dev, fn;
};

static uint32_t ecam_read(void *ctx, uint16_t off)
{
	return ((struct where *)ctx)->cfg[off / 4];
}

static void ecam_write(void *ctx, uint16_t off, uint32_t v)
{
	((struct where *)ctx)->cfg[off / 4] = v;
}

static void cfg_problem(void *ctx, const char *what)
{
	const struct where *w = ctx;
	klog("pci: %02x:%02x.%u: %s; skipped", w->bus, w->dev, w->fn, what);
}

/* Names by class (PCI Code and ID Assignment Spec 1.11, 1.2 and 1.3). */
#define CLASS_NVME 0x010802 /* mass storage, non-volatile memory, NVM Express */
static const struct {
	uint32_t class; /* class << 16 | subclass << 8 | prog_if */
	const char *prefix;
} class_names[] = {
	{CLASS_NVME, "nvme"},
	{0x010601, "ahci"},
	{0x020000, "eth"},
};

static void name_func(struct pci_func *f)
{
	uint32_t cls = (uint32_t)f->info.class_code << 16 | f->info.subclass << 8 | f->info.prog_if;
	for (unsigned i = 0; i < sizeof class_names / sizeof class_names[0]; i++) {
		if (class_names[i].class != cls)
			continue;
		unsigned n = 0;
		for (uint32_t j = 0; j < nfuncs; j++)
			n += !memcmp(funcs[j].name, class_names[i].prefix,
				     strlen(class_names[i].prefix));
		fmt_snprintf(f->name, sizeof f->name, "%s%u", class_names[i].prefix, n);
		f->nvme = cls == CLASS_NVME;
	}
	/* Virtio network functions get their own prefix: the driver image
	 * that takes `net0` speaks virtio, not any Ethernet controller. */
	if (f->info.vendor == VIRTIO_VENDOR && f->info.device == VIRTIO_NET_MODERN) {
		unsigned n = 0;
		for (uint32_t j = 0; j < nfuncs; j++)
			n += !memcmp(funcs[j].name, "net", 3);
		fmt_snprintf(f->name, sizeof f->name, "net%u", n);
	}
	/* ... and so do the Intel chips: `igb0` is for the igb image,
	 * `ixgbe0` for ixgbe. */
	const char *intel = f->info.vendor != INTEL_VENDOR ? NULL
			    : f->info.device == I82576	   ? "igb"
			    : f->info.device == I82599_SFP ? "ixgbe"
							   : NULL;
	if (intel) {
		unsigned n = 0;
		for (uint32_t j = 0; j < nfuncs; j++)
			n += !memcmp(funcs[j].name, intel, strlen(intel));
		fmt_snprintf(f->name, sizeof f->name, "%s%u", intel, n);
		f->intel = true;
	}
}

static void size_text(uint64_t bytes, char *buf, uint64_t len)
{
	if (bytes >= (1UL << 30) && !(bytes & ((1UL << 30) - 1)))
		fmt_snprintf(buf, len, "%lu GiB", bytes >> 30);
	else if (bytes >= (1UL << 20) && !(bytes & ((1UL << 20) - 1)))
		fmt_snprintf(buf, len, "%lu MiB", bytes >> 20);
	else if (bytes >= 1024 && !(bytes & 1023))
		fmt_snprintf(buf, len, "%lu KiB", bytes >> 10);
	else
		fmt_snprintf(buf, len, "%lu B", bytes);
}

void pci_describe(const struct pci_func *f, char *buf, uint64_t len)
{
	const struct pci_func_cfg *c = &f->info;
	uint64_t n = (uint64_t)fmt_snprintf(
		buf, len, "%02x:%02x.%u %04x:%04x class %02x:%02x:%02x rev %02x%s%s:", f->bus,
		f->dev, f->fn, c->vendor, c->device, c->class_code, c->subclass, c->prog_if,
		c->revision, f->name[0] ? " " : "", f->name);
	bool any = false;
	for (int i = 0; i < MAPLE_PCI_BARS && n < len; i++) {
		uint32_t fl = c->bar_flags[i];
		if (!fl || (fl & MAPLE_BAR_UPPER))
			continue;
		char sz[16];
		size_text(c->bar_size[i], sz, sizeof sz);
		n += (uint64_t)fmt_snprintf(
			buf + n, len - n, " bar%d %s%s%s %#lx %s%s", i,
			fl & MAPLE_BAR_IO ? "io" : "mem", fl & MAPLE_BAR_64 ? "64" : "",
			fl & MAPLE_BAR_PREFETCH ? " prefetch" : "", c->bar_base[i], sz,
			fl & MAPLE_BAR_BAD ? " (unusable)" : "");
		any = true;
	}
	if (!any && n < len)
		n += (uint64_t)fmt_snprintf(buf + n, len - n, " no BARs");
	if (n < len)
		n += (uint64_t)fmt_snprintf(buf + n, len - n, ";%s",
					    c->ncaps ? " caps" : " no caps");
	for (int i = 0; i < c->ncaps && n < len; i++) {
		const char *cap = pci_cap_name(c->caps[i].id);
		n += cap ? (uint64_t)fmt_snprintf(buf + n, len - n, " %s", cap)
			 : (uint64_t)fmt_snprintf(buf + n, len - n, " %#x", c->caps[i].id);
	}
}

/*
 * A memory BAR that overlaps memory the boot map calls anything but
 * reserved (RAM, ACPI tables, the kernel, modules) would hand whoever maps
 * it that memory: firmware bug or not, it is marked unusable.
 */
static void check_bars_against_ram(struct pci_func *f)
{
	struct pci_func_cfg *c = &f->info;
	for (int i = 0; i < MAPLE_PCI_BARS; i++) {
		if ((c->bar_flags[i] & (MAPLE_BAR_MEM | MAPLE_BAR_BAD)) != MAPLE_BAR_MEM)
			continue;
		for (uint32_t j = 0; j < boot_info.mem_count; j++) {
			const struct bootinfo_mem *m = &boot_info.mem[j];
			if (m->type == BOOTINFO_MEM_RESERVED ||
			    m->base >= c->bar_base[i] + c->bar_size[i] ||
			    c->bar_base[i] >= m->base + m->length)
				continue;
			c->bar_flags[i] |= MAPLE_BAR_BAD;
			klog("pci: %02x:%02x.%u: BAR %d (%#lx, %#lx bytes) overlaps memory at "
			     "%#lx; "
			     "skipped",
			     f->bus, f->dev, f->fn, i, c->bar_base[i], c->bar_size[i], m->base);
			break;
		}
	}
}

/* The NVMe registers the kernel itself touches to stop the controller. */
/* The first `size` bytes of BAR 0, for quiescing, or NULL (logged). */
static volatile uint32_t *map_bar0(struct pci_func *f, uint64_t size)
{
	const struct pci_func_cfg *c = &f->info;
	if ((c->bar_flags[0] & (MAPLE_BAR_MEM | MAPLE_BAR_BAD)) != MAPLE_BAR_MEM ||
	    c->bar_size[0] < size) {
		klog("pci: %s: BAR 0 is not a usable memory BAR: it cannot be stopped but by "
		     "Bus Master Enable",
		     f->name);
		return NULL;
	}
	volatile uint32_t *regs = mmio_map(c->bar_base[0], size);
	if (!regs)
		klog("pci: %s: no room to map its registers: it cannot be stopped but by Bus "
		     "Master Enable",
		     f->name);
	return regs;
}

/* A virtio function's common configuration, for quiescing: the first
 * vendor capability of cfg_type 1 that lies inside a usable memory BAR. */
static void map_virtio_common(struct pci_func *f)
{
	const struct pci_func_cfg *c = &f->info;
	for (int i = 0; i < c->ncaps; i++) {
		if (c->caps[i].id != PCI_CAP_VENDOR)
			continue;
		uint16_t at = c->caps[i].off;
		uint32_t w0 = f->cfg[at / 4], w1 = f->cfg[at / 4 + 1];
		uint32_t off = f->cfg[(at + VIRTIO_CAP_OFFSET) / 4];
		_Static_assert(VIRTIO_CAP_CFG_TYPE == 3 && VIRTIO_CAP_BAR == 4,
			       "cfg_type is the top byte of word 0, bar the low byte of word 1");
		uint8_t type = (uint8_t)(w0 >> 24), bar = (uint8_t)w1;
		if (type != VIRTIO_CAP_COMMON)
			continue;
		if (bar >= MAPLE_PCI_BARS ||
		    (c->bar_flags[bar] & (MAPLE_BAR_MEM | MAPLE_BAR_BAD)) != MAPLE_BAR_MEM ||
		    off > c->bar_size[bar] || c->bar_size[bar] - off < VIRTIO_COMMON_SIZE)
			break;
		f->virtio_common = mmio_map(c->bar_base[bar] + off, VIRTIO_COMMON_SIZE);
		if (f->virtio_common)
			return;
		break;
	}
	klog("pci: %s: no usable virtio common configuration: it cannot be stopped but by Bus "
	     "Master Enable",
	     f->name);
}

static void scan_bus(const struct acpi_ecam *seg, uint8_t bus, uint64_t *seen);

static void scan_func(const struct acpi_ecam *seg, volatile uint32_t *cfg, uint8_t bus, uint8_t dev,
		      uint8_t fn, uint64_t *seen, bool *multi)
{
	struct where w = {cfg, bus, dev, fn};
	struct pci_cfg c = {ecam_read, ecam_write, cfg_problem, &w};
	struct pci_func_cfg info;
	/* The problems land in the log before the function's own line. */
	if (!pci_cfg_parse(&c, &info))
		return;
	if (fn == 0)
		*multi = info.multifunction;
	if (nfuncs == PCI_MAX_FUNCS) {
		klog("pci: %02x:%02x.%u: more than %d functions; the rest are not listed", bus, dev,
		     fn, PCI_MAX_FUNCS);
		return;
	}
	struct pci_func *f = &funcs[nfuncs];
	*f = (struct pci_func){.segment = seg->segment,
			       .bus = bus,
			       .dev = dev,
			       .fn = fn,
			       .cfg = cfg,
			       .info = info};
	name_func(f);
	check_bars_against_ram(f);
	nfuncs++;
	char line[256];
	pci_describe(f, line, sizeof line);
	klog("pci: %s", line);
	if (f->nvme)
		f->regs = map_bar0(f, NVME_REGS);
	else if (f->intel)
		f->intel_regs = map_bar0(f, INTEL_REGS);
	else if (!memcmp(f->name, "net", 3))
		map_virtio_common(f);
	if (info.header_type == 1 && info.secondary_bus > bus)
		scan_bus(seg, info.secondary_bus, seen);
	else if (info.header_type == 1)
		klog("pci: %02x:%02x.%u: bridge to bus %u, not below its own: not followed", bus,
		     dev, fn, info.secondary_bus);
}

static void scan_bus(const struct acpi_ecam *seg, uint8_t bus, uint64_t *seen)
{
	if (bus < seg->bus_start || bus > seg->bus_end || (seen[bus / 64] & (1ULL << (bus % 64))))
		return;
	seen[bus / 64] |= 1ULL << (bus % 64);
	uint8_t *win = mmio_map(seg->base + (uint64_t)bus * ECAM_BUS_SIZE, ECAM_BUS_SIZE);
	if (!win) {
		klog("pci: segment %u bus %u: no room to map its ECAM window; skipped",
		     seg->segment, bus);
		return;
	}
	for (uint8_t dev = 0; dev < 32; dev++) {
		bool multi = false;
		for (uint8_t fn = 0; fn < (multi ? 8 : 1); fn++)
			scan_func(seg,
				  (volatile uint32_t *)(win + ((uint64_t)dev << 15 | fn << 12)),
				  bus, dev, fn, seen, &multi);
	}
}

void pci_init(void)
{
	if (!acpi_info.necam) {
		klog("pci: no MCFG table: no PCI devices");
		return;
	}
	for (uint32_t i = 0; i < acpi_info.necam; i++) {
		uint64_t seen[4] = {0};
		scan_bus(&acpi_info.ecam[i], acpi_info.ecam[i].bus_start, seen);
	}
	klog("pci: %u functions", nfuncs);
}

struct pci_func *pci_find(const char *name)
{
	for (uint32_t i = 0; i < nfuncs && name[0]; i++)
		if (!strcmp(funcs[i].name, name))
			return &funcs[i];
	return NULL;
}

uint32_t pci_count(void)
{
	return nfuncs;
}

struct pci_func *pci_get(uint32_t i)
{
	return i < nfuncs ? &funcs[i] : NULL;
}

void pci_set_master(struct pci_func *f, bool on)
{
	uint32_t cmd = f->cfg[PCI_COMMAND / 4] & 0xffff;
	cmd = on ? cmd | PCI_CMD_MASTER : cmd & ~PCI_CMD_MASTER;
	f->cfg[PCI_COMMAND / 4] = cmd; /* status (upper half) is write-one-to-clear: 0 */
}

bool pci_master(const struct pci_func *f)
{
	return f->cfg[PCI_COMMAND / 4] & PCI_CMD_MASTER;
}
