/*
 * I/O APIC driver (Intel 82093AA datasheet) and the retirement of the 8259
 * PICs. Each IOAPIC serves a contiguous range of GSIs from its MADT
 * gsi_base; ISA IRQs map to GSIs one-to-one unless an interrupt source
 * override says otherwise (ACPI 6.4 5.2.12.5).
 */
#include <arch/x86/io.h>
#include <arch/x86/traps.h>
#include <core/log.h>
#include <core/spinlock.h>
#include <mm/vm.h>
#include <platform/pc/acpi.h>
#include <platform/pc/ioapic.h>

/* Register window: an index register and a data register (82093AA 3.0, Table 1). */
#define IOREGSEL	 0x00
#define IOWIN		 0x10
#define IOAPIC_MMIO_SIZE 0x20

/* Indirect registers (82093AA 3.1, Table 2). */
#define IOAPIC_VER    0x01
#define IOAPIC_REDTBL 0x10 /* pin n: low dword at 0x10 + 2n, high at 0x11 + 2n */

/* IOAPICVER (82093AA 3.2.2): index of the highest redirection entry in bits 23:16. */
#define VER_MAX_REDIR_SHIFT 16
#define VER_MAX_REDIR_MASK  0xffu

/* Redirection table entry (82093AA 3.2.4). */
#define RTE_DM_FIXED	  (0ULL << 8)
#define RTE_DEST_PHYSICAL (0ULL << 11)
#define RTE_POLARITY_LOW  (1ULL << 13)
#define RTE_LEVEL	  (1ULL << 15)
#define RTE_MASKED	  (1ULL << 16)
#define RTE_DEST_SHIFT	  56
#define RTE_DEST_MAX	  0xffu

#define ISA_IRQS 16

/* 8259A ports and initialization words (Intel 8259A datasheet, "Programming the 8259A"). */
#define PIC1_CMD       0x20
#define PIC1_DATA      0x21
#define PIC2_CMD       0xa0
#define PIC2_DATA      0xa1
#define ICW1_INIT      0x10
#define ICW1_NEED_ICW4 0x01
#define ICW3_SLAVE_IR2 0x04 /* master: a slave on IR2 */
#define ICW3_SLAVE_ID  0x02 /* slave: its cascade identity */
#define ICW4_8086      0x01
#define OCW1_MASK_ALL  0xff
#define POST_PORT      0x80 /* a write here gives an old PIC time between words */
/* Below IRQ_VECTOR_FIRST, so a stray 8259 interrupt cannot hit a device's handler. */
#define PIC1_VECTOR 0x20
#define PIC2_VECTOR 0x28

struct ioapic {
	volatile uint32_t *regs;
	uint32_t gsi_base;
	uint32_t pins;
};

static struct ioapic ioapics[ACPI_MAX_IOAPICS];
static unsigned nioapics;
static struct spinlock ioapic_lock = SPINLOCK_INIT("ioapic");

static uint32_t reg_read(struct ioapic *io, uint32_t reg)
{
	io->regs[IOREGSEL / 4] = reg;
	return io->regs[IOWIN / 4];
}

static void reg_write(struct ioapic *io, uint32_t reg, uint32_t v)
{
	io->regs[IOREGSEL / 4] = reg;
	io->regs[IOWIN / 4] = v;
}

/* Masked while the halves change, so no interrupt sees a half-written entry. */
static void rte_write(struct ioapic *io, uint32_t pin, uint64_t rte)
{
	reg_write(io, IOAPIC_REDTBL + 2 * pin, (uint32_t)RTE_MASKED);
	reg_write(io, IOAPIC_REDTBL + 2 * pin + 1, (uint32_t)(rte >> 32));
	reg_write(io, IOAPIC_REDTBL + 2 * pin, (uint32_t)rte);
}

static struct ioapic *find_pin(uint32_t gsi, uint32_t *pin)
{
	for (unsigned i = 0; i < nioapics; i++) {
		struct ioapic *io = &ioapics[i];
		if (gsi >= io->gsi_base && gsi - io->gsi_base < io->pins) {
			*pin = gsi - io->gsi_base;
			return io;
		}
	}
	return NULL;
}

static void pic_io(uint16_t port, uint8_t v)
{
	outb(port, v);
	outb(POST_PORT, 0);
}

/* Reinitialise both 8259s off the exception vectors, then mask every line (OCW1). */
static void pic_disable(void)
{
	pic_io(PIC1_CMD, ICW1_INIT | ICW1_NEED_ICW4);
	pic_io(PIC2_CMD, ICW1_INIT | ICW1_NEED_ICW4);
	pic_io(PIC1_DATA, PIC1_VECTOR); /* ICW2: vector base */
	pic_io(PIC2_DATA, PIC2_VECTOR);
	pic_io(PIC1_DATA, ICW3_SLAVE_IR2);
	pic_io(PIC2_DATA, ICW3_SLAVE_ID);
	pic_io(PIC1_DATA, ICW4_8086);
	pic_io(PIC2_DATA, ICW4_8086);
	pic_io(PIC1_DATA, OCW1_MASK_ALL);
	pic_io(PIC2_DATA, OCW1_MASK_ALL);
}

void ioapic_init(void)
{
	/* ACPI 6.4 5.2.12: PCAT_COMPAT means 8259s are present. */
	if (acpi_info.pcat_compat || !acpi_info.have_madt)
		pic_disable();
	for (uint32_t i = 0; i < acpi_info.nioapics; i++) {
		const struct acpi_ioapic *a = &acpi_info.ioapics[i];
		struct ioapic *io = &ioapics[nioapics];
		io->regs = mmio_map(a->phys, IOAPIC_MMIO_SIZE);
		if (!io->regs) {
			klog("ioapic: id %u at %#lx: cannot map its registers, ignored", a->id,
			     a->phys);
			continue;
		}
		io->gsi_base = a->gsi_base;
		io->pins =
			((reg_read(io, IOAPIC_VER) >> VER_MAX_REDIR_SHIFT) & VER_MAX_REDIR_MASK) +
			1;
		for (uint32_t pin = 0; pin < io->pins; pin++)
			rte_write(io, pin, RTE_MASKED);
		nioapics++;
		klog("ioapic: id %u at %#lx, GSIs %u-%u, all masked", a->id, a->phys, io->gsi_base,
		     io->gsi_base + io->pins - 1);
	}
	if (!nioapics)
		klog("ioapic: none usable; device interrupts unavailable");
}

/* The GSI and INTI flags ISA IRQ `irq` arrives with, or false if its GSI serves another IRQ. */
static bool isa_gsi(unsigned irq, uint32_t *gsi, uint16_t *flags)
{
	for (uint32_t i = 0; i < acpi_info.noverrides; i++) {
		const struct acpi_override *o = &acpi_info.overrides[i];
		if (o->isa_irq == irq) {
			*gsi = o->gsi;
			*flags = o->flags;
			return true;
		}
	}
	for (uint32_t i = 0; i < acpi_info.noverrides; i++)
		if (acpi_info.overrides[i].gsi == irq)
			return false;
	*gsi = irq;
	*flags = ACPI_INTI_POLARITY_BUS | ACPI_INTI_TRIGGER_BUS;
	return true;
}

int ioapic_route_isa_irq(unsigned isa_irq, uint8_t vector, uint32_t dest_apic_id)
{
	uint32_t gsi, pin;
	uint16_t flags;
	if (isa_irq >= ISA_IRQS || vector < T_EXCEPTIONS || dest_apic_id > RTE_DEST_MAX) {
		klog("ioapic: cannot route ISA IRQ %u to vector %#x on APIC %u: out of range",
		     isa_irq, vector, dest_apic_id);
		return -1;
	}
	if (!isa_gsi(isa_irq, &gsi, &flags)) {
		klog("ioapic: ISA IRQ %u: its GSI is overridden to another IRQ; not wired",
		     isa_irq);
		return -1;
	}
	struct ioapic *io = find_pin(gsi, &pin);
	if (!io) {
		klog("ioapic: ISA IRQ %u: GSI %u has no IOAPIC", isa_irq, gsi);
		return -1;
	}
	/* ISA lines are edge-triggered and active high unless overridden. */
	uint64_t rte = vector | RTE_DM_FIXED | RTE_DEST_PHYSICAL |
		       ((uint64_t)dest_apic_id << RTE_DEST_SHIFT);
	if ((flags & ACPI_INTI_POLARITY_MASK) == ACPI_INTI_POLARITY_LOW)
		rte |= RTE_POLARITY_LOW;
	if ((flags & ACPI_INTI_TRIGGER_MASK) == ACPI_INTI_TRIGGER_LEVEL)
		rte |= RTE_LEVEL;
	spin_lock(&ioapic_lock);
	rte_write(io, pin, rte);
	spin_unlock(&ioapic_lock);
	return (int)gsi;
}

static void set_mask(uint32_t gsi, bool masked)
{
	uint32_t pin;
	struct ioapic *io = find_pin(gsi, &pin);
	if (!io)
		return;
	spin_lock(&ioapic_lock);
	uint32_t low = reg_read(io, IOAPIC_REDTBL + 2 * pin);
	low = masked ? low | (uint32_t)RTE_MASKED : low & ~(uint32_t)RTE_MASKED;
	reg_write(io, IOAPIC_REDTBL + 2 * pin, low);
	spin_unlock(&ioapic_lock);
}

void ioapic_mask(uint32_t gsi)
{
	set_mask(gsi, true);
}
