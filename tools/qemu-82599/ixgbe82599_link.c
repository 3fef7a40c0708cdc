/*
 * Intel 82599 model (ixgbe82599.h): the link and the MAC's view of the PHY
 * side. The link is up at 10 Gb/s while the netdev's link is (STATUS, LINKS);
 * AUTOC and AUTOC2 keep the 10G serial (SFI) link they reset to; no SFP+
 * module answers on the I2C bus and no PHY on MDIO, so a driver finds none
 * without waiting out a timeout.
 *
 * This file is part of the Maple OS project; it is licensed under the GNU
 * GPL, version 2 or later, like the QEMU it is built into.
 */

/* QEMU's rule: osdep.h comes first, alone in its block. */
#include "qemu/osdep.h"

#include "ixgbe82599.h"

bool i82599_link_up(Ixgbe82599State *s)
{
	return !qemu_get_queue(s->nic)->link_down;
}

bool i82599_link_read(Ixgbe82599State *s, hwaddr off, uint32_t *v)
{
	switch (off) {
	case STATUS:
		*v = reg(s, STATUS) & ~(STATUS_LINKUP | STATUS_GIO);
		if (i82599_link_up(s)) {
			*v |= STATUS_LINKUP;
		}
		if (!(reg(s, CTRL) & CTRL_GIO_DIS)) {
			*v |= STATUS_GIO; /* no request pending, so master disable is at once */
		}
		return true;
	case I2CCTL: {
		/* No SFP+ module on the I2C bus: SCL and SDA read back what the
		 * driver drives, so every address byte is NACKed and the driver
		 * finds no module (it then keeps the 10G serial link of AUTOC). */
		uint32_t out = reg(s, I2CCTL) & (I2C_SCL_OUT | I2C_DATA_OUT);
		*v = out | ((out & I2C_SCL_OUT) ? I2C_SCL_IN : 0) |
		     ((out & I2C_DATA_OUT) ? I2C_DATA_IN : 0);
		return true;
	}
	case MSCA:
	case MSRWD:
	case AUTOC:
	case AUTOC2:
		*v = reg(s, off);
		return true;
	case LINKS:
		*v = i82599_link_up(s) ? LINKS_UP_10G : 0;
		return true;
	case ANLP1:
		*v = ANLP1_AN_STATE; /* AN state machine not idle */
		return true;
	default:
		return false;
	}
}

bool i82599_link_write(Ixgbe82599State *s, hwaddr off, uint32_t val)
{
	switch (off) {
	case STATUS:
	case LINKS:
		return true; /* read-only */
	case MSCA:
		/*
		 * No PHY sits on the MDIO bus (the 82599 SFI port has none): a
		 * command completes at once and a read returns all ones, as an
		 * MDIO bus with nobody driving it does (8.2.3.22.11-12).
		 */
		set_reg(s, MSCA, val & ~MSCA_MDI_COMMAND);
		set_reg(s, MSRWD, 0xffff0000u | (reg(s, MSRWD) & 0xffff));
		return true;
	case MSRWD:
		set_reg(s, MSRWD, (reg(s, MSRWD) & 0xffff0000u) | (val & 0xffff));
		return true;
	case AUTOC:
	case AUTOC2:
	case I2CCTL:
		set_reg(s, off, val);
		return true;
	default:
		return false;
	}
}
