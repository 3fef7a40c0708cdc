/*
 * Intel 82599 model (ixgbe82599.h): interrupts (7.3). Causes and masks are
 * kept one bit per MSI-X vector for the queues (or per EICR queue bit outside
 * MSI-X mode) and as EICR bits 31:16 for the other causes; this file owns
 * EICR, EICS, EIMS, EIMC, EIAM and their _EX halves and delivers what is
 * pending and unmasked, by MSI-X (edge, one vector per cause) or INTx
 * (level). IVAR, IVAR_MISC, EIAC and EITR are plain storage it reads.
 *
 * This file is part of the Maple OS project; it is licensed under the GNU
 * GPL, version 2 or later, like the QEMU it is built into.
 */

/* QEMU's rule: osdep.h comes first, alone in its block. */
#include "qemu/osdep.h"

#include "hw/pci/msix.h"
#include "ixgbe82599.h"

/* MSI-X delivery: the PCI capability enabled and GPIE in MSI-X mode (8.2.3.5.16). */
static bool msix_mode(Ixgbe82599State *s)
{
	return msix_enabled(PCI_DEVICE(s)) && (reg(s, GPIE) & GPIE_MSIX_MODE);
}

/* The MSI-X vector of the "other" causes: IVAR_MISC bits 15:8 (8.2.3.5.15). */
static int other_vector(Ixgbe82599State *s)
{
	uint32_t v = (reg(s, IVAR_MISC) >> 8) & 0xff;
	return (v & IVAR_VALID) ? (int)(v & IVAR_VECTOR) : -1;
}

/*
 * Deliver what is pending and unmasked. MSI-X is edge-triggered: a vector
 * fires once per cause set while unmasked, then auto-clears its cause
 * (EIAC bits 15:0; vectors above 15 always, as the driver's EIAC leaves no
 * choice there) and auto-masks when GPIE.EIAME and EIAM_EX say so
 * (7.3.1.4, 7.3.4). INTx is level: asserted while EICR & EIMS is not 0.
 */
void i82599_update_irq(Ixgbe82599State *s)
{
	PCIDevice *d = PCI_DEVICE(s);

	if (msix_mode(s)) {
		uint64_t fire = s->qcause & s->qmask;
		for (int v = 0; fire && v < MSIX_VECTORS; v++) {
			uint64_t bit = 1ull << v;
			if (!(fire & bit)) {
				continue;
			}
			fire &= ~bit;
			if (v >= 16 || (reg(s, EIAC) & bit)) {
				s->qcause &= ~bit;
			}
			if ((reg(s, GPIE) & GPIE_EIAME) && (s->qautomask & bit)) {
				s->qmask &= ~bit;
			}
			msix_notify(d, v);
		}
		uint32_t other = s->eicr_other & s->eims_other;
		int ov = other_vector(s);
		if (other && ov >= 0) {
			if ((reg(s, GPIE) & GPIE_EIAME) && (reg(s, EIAM) & other)) {
				s->eims_other &= ~(reg(s, EIAM) & other);
			}
			/* The driver reads the causes (EICS) and writes them back to EICR
			 * to clear them; until then the same causes do not fire again. */
			s->eims_other &= ~other;
			msix_notify(d, ov);
		}
		pci_set_irq(d, 0);
		return;
	}
	bool level = (s->eicr_other & s->eims_other) || (s->qcause & s->qmask & EICR_QUEUES);
	pci_set_irq(d, level);
}

/* A queue event: RX queue q (tx false) or TX queue q wrote back descriptors.
 * IVAR(q/2) holds RX q at bits 7:0 (+16 for odd q), TX q at 15:8 (8.2.3.5.14). */
void i82599_queue_event(Ixgbe82599State *s, unsigned q, bool tx)
{
	uint32_t ivar = reg(s, IVAR0 + (q / 2) * 4);
	uint32_t alloc = (ivar >> ((q & 1) * 16 + (tx ? 8 : 0))) & 0xff;
	if (!(alloc & IVAR_VALID)) {
		return;
	}
	unsigned bit = alloc & IVAR_VECTOR;
	if (!msix_mode(s)) {
		bit &= 15; /* EICR has 16 queue bits (7.3.1.3) */
	}
	s->qcause |= 1ull << bit;
	i82599_update_irq(s);
}

void i82599_other_event(Ixgbe82599State *s, uint32_t cause)
{
	s->eicr_other |= cause;
	i82599_update_irq(s);
}

static uint32_t read_eicr_view(Ixgbe82599State *s)
{
	return (s->eicr_other & EICR_OTHER_CAUSES) | (uint32_t)(s->qcause & EICR_QUEUES);
}

bool i82599_irq_read(Ixgbe82599State *s, hwaddr off, uint32_t *v)
{
	switch (off) {
	case EICR:
		*v = read_eicr_view(s);
		if (!msix_mode(s)) { /* read-to-clear outside MSI-X mode (8.2.3.5.1) */
			s->eicr_other = 0;
			s->qcause &= ~(uint64_t)EICR_QUEUES;
			i82599_update_irq(s);
		}
		return true;
	case EICS:
		*v = read_eicr_view(s); /* EICS reads the causes without clearing */
		return true;
	case EIMS:
		*v = (s->eims_other & EICR_OTHER_CAUSES) | (uint32_t)(s->qmask & EICR_QUEUES);
		return true;
	case EIMS_EX0:
	case EIMS_EX0 + 4:
		*v = (uint32_t)(s->qmask >> ((off - EIMS_EX0) * 8));
		return true;
	case EIAM_EX0:
	case EIAM_EX0 + 4:
		*v = (uint32_t)(s->qautomask >> ((off - EIAM_EX0) * 8));
		return true;
	case EIMC:
	case EIMC_EX0:
	case EIMC_EX0 + 4:
	case EICS_EX0:
	case EICS_EX0 + 4:
		*v = 0; /* write-only */
		return true;
	case EIAM:
		*v = reg(s, EIAM);
		return true;
	default:
		return false;
	}
}

bool i82599_irq_write(Ixgbe82599State *s, hwaddr off, uint32_t val)
{
	switch (off) {
	case EICR: /* write 1 to clear */
		s->eicr_other &= ~(val & EICR_OTHER_CAUSES);
		s->qcause &= ~(uint64_t)(val & EICR_QUEUES);
		break;
	case EICS:
		s->eicr_other |= val & EICR_OTHER_CAUSES;
		s->qcause |= val & EICR_QUEUES;
		break;
	case EICS_EX0:
	case EICS_EX0 + 4:
		s->qcause |= (uint64_t)val << ((off - EICS_EX0) * 8);
		break;
	case EIMS:
		s->eims_other |= val & EICR_OTHER_CAUSES;
		s->qmask |= val & EICR_QUEUES;
		break;
	case EIMC:
		s->eims_other &= ~(val & EICR_OTHER_CAUSES);
		s->qmask &= ~(uint64_t)(val & EICR_QUEUES);
		break;
	case EIMS_EX0:
	case EIMS_EX0 + 4:
		s->qmask |= (uint64_t)val << ((off - EIMS_EX0) * 8);
		break;
	case EIMC_EX0:
	case EIMC_EX0 + 4:
		s->qmask &= ~((uint64_t)val << ((off - EIMC_EX0) * 8));
		break;
	case EIAM_EX0:
	case EIAM_EX0 + 4: {
		unsigned sh = (off - EIAM_EX0) * 8;
		s->qautomask = (s->qautomask & ~(0xffffffffull << sh)) | ((uint64_t)val << sh);
		return true; /* masks only what fires later: nothing to deliver now */
	}
	case EIAM:
		set_reg(s, off, val);
		return true;
	case GPIE:
		set_reg(s, off, val); /* MSI-X mode may have changed */
		break;
	default:
		return false;
	}
	i82599_update_irq(s);
	return true;
}
