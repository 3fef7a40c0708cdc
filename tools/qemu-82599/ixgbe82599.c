/*
 * Intel 82599 10 GbE controller (8086:10fb) for QEMU: Maple's model, written
 * from the Intel 82599 10 GbE Controller Datasheet (section numbers below
 * name it). This file is the PCI device: its BARs and capabilities, reset,
 * the netdev it sends to and receives from, and QEMU's type registration.
 * ixgbe82599.h lists the model's other files and what each does; README.md
 * beside them says what is modelled and what is not.
 *
 * BAR0 is 128 KiB of registers (ixgbe82599_regs.c); BAR3 holds the MSI-X
 * table and PBA (64 vectors). Descriptors and buffers move through
 * pci_dma_read()/pci_dma_write(), so an emulated IOMMU applies to them.
 *
 * This file is part of the Maple OS project; it is licensed under the GNU
 * GPL, version 2 or later, like the QEMU it is built into.
 */

/* QEMU's rule: osdep.h comes first, alone in its block. */
#include "qemu/osdep.h"

#include "hw/pci/msix.h"
#include "hw/pci/pcie.h"
#include "hw/qdev-properties.h"
#include "ixgbe82599.h"
#include "migration/vmstate.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"

/* --- reset (4.2) ----------------------------------------------------------- */

void i82599_reset_regs(Ixgbe82599State *s)
{
	const uint8_t *mac = s->conf.macaddr.a;

	memset(s->regs, 0, sizeof(s->regs));
	s->qcause = s->qmask = s->qautomask = 0;
	s->eicr_other = s->eims_other = 0;
	s->gorc = s->gotc = s->tor = 0;
	s->gorch_latch = s->gotch_latch = s->torh_latch = 0;
	s->gprc = s->gptc = s->bprc = s->mprc = s->bptc = s->mptc = 0;
	s->tpr = s->tpt = s->mpc = 0;
	s->txlen = 0;
	s->txdrop = false;
	s->tx_next = 0;

	/* Defaults after the EEPROM auto-read (8.2.3, "Initial value"). */
	set_reg(s, EEC, EEC_PRES | EEC_ARD | (4u << EEC_SIZE_SHIFT));
	set_reg(s, RDRXCTL, RDRXCTL_DMAIDONE);
	set_reg(s, HLREG0, HLREG0_TXCRCEN | HLREG0_RXCRCSTRP | HLREG0_TXPADEN);
	set_reg(s, AUTOC, AUTOC_LMS_10G_SERIAL);
	set_reg(s, AUTOC2, AUTOC2_10G_SFI);
	/* Packet buffers: all 512 KiB RX and 160 KiB TX to TC 0 (8.2.3.8.9, 8.2.3.9.13). */
	set_reg(s, RXPBSIZE0, 0x80000);
	set_reg(s, TXPBSIZE0, 0x28000);
	set_reg(s, RAL0, mac[0] | mac[1] << 8 | mac[2] << 16 | (uint32_t)mac[3] << 24);
	set_reg(s, RAH0, mac[4] | mac[5] << 8 | RAH_AV);
	/* RXDCTL/TXDCTL defaults: queue disabled. */
}

static void ixgbe_reset_hold(Object *obj, ResetType type)
{
	Ixgbe82599State *s = IXGBE82599(obj);
	i82599_reset_regs(s);
	i82599_update_irq(s);
}

/* --- device --------------------------------------------------------------- */

static void ixgbe_link_status_changed(NetClientState *nc)
{
	Ixgbe82599State *s = qemu_get_nic_opaque(nc);
	i82599_other_event(s, EICR_LSC);
}

static NetClientInfo net_ixgbe_info = {
	.type = NET_CLIENT_DRIVER_NIC,
	.size = sizeof(NICState),
	.can_receive = i82599_can_receive,
	.receive = i82599_receive,
	.link_status_changed = ixgbe_link_status_changed,
};

static void ixgbe_realize(PCIDevice *d, Error **errp)
{
	Ixgbe82599State *s = IXGBE82599(d);

	d->config[PCI_CACHE_LINE_SIZE] = 0x10;
	d->config[PCI_INTERRUPT_PIN] = 1;

	memory_region_init_io(&s->mmio, OBJECT(s), &i82599_mmio_ops, s, "ixgbe82599-mmio",
			      MMIO_SIZE);
	pci_register_bar(d, 0, PCI_BASE_ADDRESS_SPACE_MEMORY | PCI_BASE_ADDRESS_MEM_TYPE_64,
			 &s->mmio);
	memory_region_init(&s->msix, OBJECT(s), "ixgbe82599-msix", MSIX_BAR_SIZE);
	pci_register_bar(d, MSIX_BAR, PCI_BASE_ADDRESS_SPACE_MEMORY | PCI_BASE_ADDRESS_MEM_TYPE_64,
			 &s->msix);

	/* Capabilities where the 82599 has them (9.3.7): the driver reads PCIe
	 * device status at the fixed offset 0xAA (cap 0xA0 + 0x0A). */
	if (pci_is_express(d) && pcie_endpoint_cap_init(d, 0xa0) < 0) {
		error_setg(errp, "ixgbe82599: cannot add the PCIe capability");
		return;
	}
	if (msix_init(d, MSIX_VECTORS, &s->msix, MSIX_BAR, 0, &s->msix, MSIX_BAR, 0x2000, 0x70,
		      errp) < 0) {
		return;
	}
	for (int i = 0; i < MSIX_VECTORS; i++) {
		msix_vector_use(d, i);
	}

	s->txbuf = g_malloc0(MAX_FRAME + MIN_FRAME);
	s->rxbuf = g_malloc(MAX_FRAME + MIN_FRAME + 4);
	qemu_macaddr_default_if_unset(&s->conf.macaddr);
	i82599_eeprom_init(s);
	s->nic = qemu_new_nic(&net_ixgbe_info, &s->conf, object_get_typename(OBJECT(s)),
			      DEVICE(d)->id, &DEVICE(d)->mem_reentrancy_guard, s);
	/* Guarded like MMIO: TX work in the bottom half cannot DMA into this
	 * device's own registers either. */
	s->tx_bh = qemu_bh_new_guarded(i82599_tx_bh, s, &DEVICE(d)->mem_reentrancy_guard);
	qemu_format_nic_info_str(qemu_get_queue(s->nic), s->conf.macaddr.a);
	i82599_reset_regs(s);
}

static void ixgbe_exit(PCIDevice *d)
{
	Ixgbe82599State *s = IXGBE82599(d);
	msix_unuse_all_vectors(d);
	msix_uninit(d, &s->msix, &s->msix);
	qemu_bh_delete(s->tx_bh);
	qemu_del_nic(s->nic);
	g_free(s->txbuf);
	g_free(s->rxbuf);
}

/* Migration is not modelled: say so rather than lose state silently. */
static const VMStateDescription ixgbe_vmstate = {
	.name = TYPE_IXGBE82599,
	.unmigratable = 1,
};

static const Property ixgbe_properties[] = {
	DEFINE_NIC_PROPERTIES(Ixgbe82599State, conf),
};

static void ixgbe_class_init(ObjectClass *klass, void *data)
{
	DeviceClass *dc = DEVICE_CLASS(klass);
	ResettableClass *rc = RESETTABLE_CLASS(klass);
	PCIDeviceClass *c = PCI_DEVICE_CLASS(klass);

	c->realize = ixgbe_realize;
	c->exit = ixgbe_exit;
	c->vendor_id = PCI_VENDOR_ID_INTEL;
	c->device_id = IXGBE_DEVICE_ID;
	c->revision = 1;
	c->subsystem_vendor_id = PCI_VENDOR_ID_INTEL;
	c->subsystem_id = 0x000c;
	c->class_id = PCI_CLASS_NETWORK_ETHERNET;
	rc->phases.hold = ixgbe_reset_hold;
	dc->desc = "Intel 82599 10 Gigabit Ethernet Controller (Maple's model)";
	dc->vmsd = &ixgbe_vmstate;
	device_class_set_props(dc, ixgbe_properties);
	set_bit(DEVICE_CATEGORY_NETWORK, dc->categories);
}

static const TypeInfo ixgbe_info = {
	.name = TYPE_IXGBE82599,
	.parent = TYPE_PCI_DEVICE,
	.instance_size = sizeof(Ixgbe82599State),
	.class_init = ixgbe_class_init,
	.interfaces = (InterfaceInfo[]){{INTERFACE_PCIE_DEVICE}, {}},
};

static void ixgbe_register_types(void)
{
	type_register_static(&ixgbe_info);
}

type_init(ixgbe_register_types)
