/*
 * Intel 82599 model (ixgbe82599.h): the EEPROM and the semaphores that guard
 * it. The image is built once at realize and read (or written) a word at a
 * time through EERD and EEWR (8.2.3.2); EEC grants direct access at once,
 * as nobody else uses the EEPROM; SWSM and SW_FW_SYNC behave as the driver's
 * semaphore protocol expects (10.5.4) and FWSM says firmware is valid with
 * no manageability mode.
 *
 * This file is part of the Maple OS project; it is licensed under the GNU
 * GPL, version 2 or later, like the QEMU it is built into.
 */

/* QEMU's rule: osdep.h comes first, alone in its block. */
#include "qemu/osdep.h"

#include "ixgbe82599.h"
#include "qemu/log.h"

/*
 * EEPROM image (6.2), 0 but for:
 * - 0x0F, the firmware module pointer, to a block at 0x40 whose word 4
 *   points to the pass-through patch configuration at 0x50, whose word 7
 *   is the firmware patch version, 0x0006: drivers call a missing block or
 *   a version of 5 or less a pre-production part (6.2);
 * - 0x2C, the device capabilities, with bit 7 set: no SFP+ crosstalk
 *   workaround (without it Linux's ixgbe trusts LINKS only while ESDP.SDP2
 *   says a module sits in the cage, and the model has no module);
 * - 0x3F, the checksum, which makes words 0x00-0x3F sum to 0xBABA (6.3.2);
 *   the section pointers 0x03-0x0E are 0, so no other section is summed.
 * The MAC address is loaded into RAL0/RAH0 by i82599_reset_regs() as the EEPROM auto-read
 * would (6.3.1).
 */
void i82599_eeprom_init(Ixgbe82599State *s)
{
	uint16_t sum = 0;
	memset(s->eeprom, 0, sizeof(s->eeprom));
	s->eeprom[0x0f] = 0x40;
	s->eeprom[0x40 + 4] = 0x50;
	s->eeprom[0x50 + 7] = 0x0006;
	s->eeprom[0x2c] = 1u << 7;
	for (int i = 0; i < 0x3f; i++) {
		sum += s->eeprom[i];
	}
	s->eeprom[0x3f] = 0xbaba - sum;
}

/* EERD reads word a (8.2.3.2.2); EEWR writes it first (8.2.3.2.4). Either
 * completes at once: DONE, the address and the word's value read back. */
static void eeprom_access(Ixgbe82599State *s, hwaddr off, uint32_t val)
{
	uint32_t a = (val >> EERD_ADDR_SHIFT) & 0x3fff;
	uint32_t data = 0;
	if (val & EERD_START) {
		if (a < EEPROM_WORDS) {
			if (off == EEWR) {
				s->eeprom[a] = val >> EERD_DATA_SHIFT;
			}
			data = s->eeprom[a];
		} else {
			qemu_log_mask(LOG_GUEST_ERROR,
				      "ixgbe82599: EEPROM word 0x%x beyond "
				      "its %u words\n",
				      a, EEPROM_WORDS);
		}
	}
	set_reg(s, off, (data << EERD_DATA_SHIFT) | (a << EERD_ADDR_SHIFT) | EERD_DONE);
}

bool i82599_eeprom_read(Ixgbe82599State *s, hwaddr off, uint32_t *v)
{
	switch (off) {
	case EEC:
	case EERD:
	case EEWR:
	case SW_FW_SYNC:
		*v = reg(s, off);
		return true;
	case SWSM:
		/* Reading SMBI as 0 takes the semaphore: the read sets it (the
		 * driver's EEPROM/PHY semaphore protocol, 10.5.4). */
		*v = reg(s, SWSM);
		set_reg(s, SWSM, *v | SWSM_SMBI);
		return true;
	case FWSM:
		*v = FWSM_FW_VAL; /* firmware valid, no manageability mode */
		return true;
	default:
		return false;
	}
}

bool i82599_eeprom_write(Ixgbe82599State *s, hwaddr off, uint32_t val)
{
	switch (off) {
	case EEC:
		/* The grant follows the request at once (no other EEPROM user). */
		set_reg(s, EEC,
			(reg(s, EEC) & ~(EEC_REQ | EEC_GNT)) |
				((val & EEC_REQ) ? EEC_REQ | EEC_GNT : 0));
		return true;
	case EERD:
	case EEWR:
		eeprom_access(s, off, val);
		return true;
	case SWSM:
		set_reg(s, SWSM, val & 3); /* SMBI and SWESMBI */
		return true;
	case SW_FW_SYNC:
		set_reg(s, off, val);
		return true;
	case FWSM:
		return true; /* read-only */
	default:
		return false;
	}
}
