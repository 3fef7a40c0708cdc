/*
 * Host tests for kernel/dev/pci_cfg.c: a fake function's configuration space
 * in a buffer, whose BARs behave like hardware (only the address bits above
 * the size stick), and hostile spaces: a capability loop, a pointer into the
 * header, a BAR of all ones, a BAR that does not size, a 64-bit BAR in the
 * last slot. Every oddity must be reported and skipped, never loop or crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dev/pci_cfg.h>

struct fake {
	uint32_t space[PCI_CFG_SPACE_SIZE / 4];
	/* Per BAR word: writable address bits (0: the word reads as written
	 * in `space`, e.g. hardwired). */
	uint32_t bar_mask[6];
	bool bar_fixed[6];	   /* ignores writes altogether */
	uint32_t cmd_during_probe; /* command register seen by the first BAR write */
	bool probed;
	int reads;
	char problems[8][128];
	int nproblems;
};

static uint32_t fake_read(void *ctx, uint16_t off)
{
	struct fake *f = ctx;
	assert_true(off % 4 == 0 && off < PCI_CFG_SPACE_SIZE);
	f->reads++;
	return f->space[off / 4];
}

static void fake_write(void *ctx, uint16_t off, uint32_t v)
{
	struct fake *f = ctx;
	assert_true(off % 4 == 0 && off < PCI_CFG_SPACE_SIZE);
	if (off >= PCI_BAR0 && off < PCI_BAR0 + 24) {
		int i = (off - PCI_BAR0) / 4;
		if (!f->probed) {
			f->probed = true;
			f->cmd_during_probe = f->space[PCI_COMMAND / 4] & 0xffff;
		}
		if (f->bar_fixed[i])
			return;
		/* The bits below the writable ones are hardwired (type bits). */
		f->space[off / 4] = (v & f->bar_mask[i]) | (f->space[off / 4] & ~f->bar_mask[i]);
		return;
	}
	if (off == PCI_COMMAND) { /* status is RW1C: the test checks it is written as 0 */
		assert_int_equal(v >> 16, 0);
		f->space[1] = (f->space[1] & 0xffff0000u) | (v & 0xffff);
		return;
	}
	f->space[off / 4] = v;
}

static void fake_problem(void *ctx, const char *what)
{
	struct fake *f = ctx;
	if (f->nproblems < 8)
		snprintf(f->problems[f->nproblems], sizeof f->problems[0], "%s", what);
	f->nproblems++;
}

/* An NVMe controller as QEMU models it: 1b36:0010, class 01:08:02, a 64-bit
 * 16 KiB BAR 0 at 0xfebd0000, MSI-X at 0x40 -> PCIe at 0x80 -> PM at 0x60. */
static void nvme_like(struct fake *f)
{
	memset(f, 0, sizeof *f);
	f->space[0] = 0x00101b36;
	f->space[1] = PCI_STATUS_CAPS | PCI_CMD_MEM | PCI_CMD_MASTER;
	f->space[2] = 0x01080202;
	f->space[3] = 0;
	f->space[4] = 0xfebd0000u | 0x4; /* 64-bit, not prefetchable */
	f->space[5] = 0;
	f->bar_mask[0] = 0xffffc000u;
	f->bar_mask[1] = 0xffffffffu;
	f->space[PCI_CAP_PTR / 4] = 0x40;
	f->space[0x40 / 4] = 0x8011;
	f->space[0x80 / 4] = 0x6010;
	f->space[0x60 / 4] = 0x0001;
}

static struct pci_cfg cfg_of(struct fake *f)
{
	return (struct pci_cfg){fake_read, fake_write, fake_problem, f};
}

static void test_nvme_function(void **state)
{
	(void)state;
	struct fake f;
	nvme_like(&f);
	struct pci_cfg c = cfg_of(&f);
	struct pci_func_cfg p;
	assert_true(pci_cfg_parse(&c, &p));
	assert_int_equal(p.vendor, 0x1b36);
	assert_int_equal(p.device, 0x0010);
	assert_int_equal(p.class_code, 1);
	assert_int_equal(p.subclass, 8);
	assert_int_equal(p.prog_if, 2);
	assert_int_equal(p.revision, 2);
	assert_int_equal(p.bar_flags[0], MAPLE_BAR_MEM | MAPLE_BAR_64);
	assert_int_equal(p.bar_flags[1], MAPLE_BAR_UPPER);
	assert_int_equal(p.bar_base[0], 0xfebd0000u);
	assert_int_equal(p.bar_size[0], 0x4000);
	for (int i = 2; i < 6; i++)
		assert_int_equal(p.bar_flags[i], 0);
	assert_int_equal(p.ncaps, 3);
	assert_int_equal(p.msix, 0x40);
	assert_int_equal(p.pcie, 0x80);
	assert_int_equal(p.msi, 0);
	assert_int_equal(p.caps[2].id, 1);
	assert_int_equal(f.nproblems, 0);
	/* Decode was off while the BARs were probed, and is back after. */
	assert_int_equal(f.cmd_during_probe, PCI_CMD_MASTER);
	assert_int_equal(f.space[1] & 0xffff, PCI_CMD_MEM | PCI_CMD_MASTER);
	/* The BAR holds its address again. */
	assert_int_equal(f.space[4], 0xfebd0004u);
	assert_int_equal(f.space[5], 0);
}

static void test_io_and_prefetch_bars(void **state)
{
	(void)state;
	struct fake f;
	nvme_like(&f);
	f.space[4] = 0xc001; /* I/O, 32 ports, 16-bit decode */
	f.bar_mask[1] = 0;
	f.bar_mask[0] = 0x0000ffe0u;
	f.space[5] = 0xe0000008u; /* 32-bit prefetchable, 16 MiB */
	f.bar_mask[1] = 0xff000000u;
	struct pci_cfg c = cfg_of(&f);
	struct pci_func_cfg p;
	assert_true(pci_cfg_parse(&c, &p));
	assert_int_equal(p.bar_flags[0], MAPLE_BAR_IO);
	assert_int_equal(p.bar_base[0], 0xc000);
	assert_int_equal(p.bar_size[0], 32);
	assert_int_equal(p.bar_flags[1], MAPLE_BAR_MEM | MAPLE_BAR_PREFETCH);
	assert_int_equal(p.bar_size[1], 16 << 20);
	assert_int_equal(f.nproblems, 0);
}

static void test_capability_loop(void **state)
{
	(void)state;
	struct fake f;
	nvme_like(&f);
	f.space[0x60 / 4] = 0x4001; /* PM points back to MSI-X */
	struct pci_cfg c = cfg_of(&f);
	struct pci_func_cfg p;
	assert_true(pci_cfg_parse(&c, &p));
	assert_int_equal(p.ncaps, 3);
	assert_int_equal(f.nproblems, 1);
	assert_string_equal(f.problems[0], "capability list loops back to 0x40");
	assert_int_equal(p.bar_size[0], 0x4000); /* the rest still parsed */
}

static void test_capability_self_loop_and_header_pointer(void **state)
{
	(void)state;
	struct fake f;
	nvme_like(&f);
	f.space[0x40 / 4] = 0x4311; /* low bits reserved: 0x43 is 0x40 again */
	struct pci_cfg c = cfg_of(&f);
	struct pci_func_cfg p;
	assert_true(pci_cfg_parse(&c, &p));
	assert_int_equal(p.ncaps, 1);
	assert_string_equal(f.problems[0], "capability list loops back to 0x40");

	nvme_like(&f);
	f.space[0x80 / 4] = 0x1010; /* PCIe's next points into the header */
	c = cfg_of(&f);
	assert_true(pci_cfg_parse(&c, &p));
	assert_int_equal(p.ncaps, 2);
	assert_int_equal(f.nproblems, 1);
	assert_string_equal(f.problems[0], "capability pointer 0x10 points into the header");
}

static void test_every_dword_a_capability(void **state)
{
	(void)state;
	struct fake f;
	nvme_like(&f);
	for (int off = 0x40; off < 0x100; off += 4)
		f.space[off / 4] = (uint32_t)((off + 4) & 0xff) << 8 | 0x09;
	struct pci_cfg c = cfg_of(&f);
	struct pci_func_cfg p;
	assert_true(pci_cfg_parse(&c, &p));
	assert_int_equal(p.ncaps, PCI_MAX_CAPS);
	assert_int_equal(f.nproblems, 1);
	assert_string_equal(f.problems[0], "more than 16 capabilities; the rest are ignored");
	assert_true(f.reads < 64);
}

static void test_bar_all_ones(void **state)
{
	(void)state;
	struct fake f;
	nvme_like(&f);
	f.space[4] = 0xffffffffu;
	f.space[5] = 0xffffffffu;
	f.bar_fixed[0] = f.bar_fixed[1] = true;
	struct pci_cfg c = cfg_of(&f);
	struct pci_func_cfg p;
	assert_true(pci_cfg_parse(&c, &p));
	assert_int_equal(p.bar_flags[0], MAPLE_BAR_BAD);
	assert_int_equal(p.bar_flags[1], MAPLE_BAR_BAD);
	assert_int_equal(f.nproblems, 2);
	assert_string_equal(f.problems[0], "BAR 0 reads all ones");
	assert_string_equal(f.problems[1], "BAR 1 reads all ones");
	assert_int_equal(p.ncaps, 3);
}

static void test_bar_does_not_size(void **state)
{
	(void)state;
	struct fake f;
	nvme_like(&f);
	f.space[4] = 0xfe000000u; /* an address, but nothing writable */
	f.bar_mask[0] = 0;
	f.bar_mask[1] = 0;
	f.space[6] = 0xfd001000u; /* 32-bit, writable bits with a hole */
	f.bar_mask[2] = 0xff0ff000u;
	f.space[7] = 0xfc000800u; /* 4 KiB BAR with a bit below 4 KiB stuck at 1 */
	f.bar_mask[3] = 0xfffff000u;
	struct pci_cfg c = cfg_of(&f);
	struct pci_func_cfg p;
	assert_true(pci_cfg_parse(&c, &p));
	assert_int_equal(p.bar_flags[0], MAPLE_BAR_BAD);
	assert_int_equal(p.bar_flags[2], MAPLE_BAR_MEM | MAPLE_BAR_BAD);
	assert_int_equal(f.nproblems, 3);
	assert_string_equal(f.problems[0], "BAR 0 does not size (address bits 0xfe000000 ignore "
					   "writes)");
	assert_string_equal(f.problems[1],
			    "BAR 2 (0xfd001000, 0xf01000 bytes): its size mask has holes");
	assert_string_equal(f.problems[2],
			    "BAR 3 does not size (address bits 0x800 ignore writes)");
}

static void test_bar_64_in_last_slot_and_reserved_type(void **state)
{
	(void)state;
	struct fake f;
	nvme_like(&f);
	f.space[4] = 0xfe000006u; /* memory type 3: reserved */
	f.bar_mask[1] = 0;
	f.space[9] = 0xfd000004u; /* BAR 5: 64-bit with no BAR 6 */
	f.bar_mask[5] = 0xfff00000u;
	struct pci_cfg c = cfg_of(&f);
	struct pci_func_cfg p;
	assert_true(pci_cfg_parse(&c, &p));
	assert_int_equal(p.bar_flags[0], MAPLE_BAR_BAD);
	assert_int_equal(p.bar_flags[5], MAPLE_BAR_BAD);
	assert_int_equal(f.nproblems, 2);
	assert_string_equal(f.problems[0], "BAR 0 has memory type 3, which is reserved");
	assert_string_equal(f.problems[1], "BAR 5 is 64-bit but has no upper half");
}

static void test_io_bar_beyond_port_space(void **state)
{
	(void)state;
	struct fake f;
	nvme_like(&f);
	f.space[4] = 0x00fff001u; /* 32-bit I/O decode at 0xfff000 */
	f.bar_mask[0] = 0xfffffff0u;
	f.bar_mask[1] = 0;
	struct pci_cfg c = cfg_of(&f);
	struct pci_func_cfg p;
	assert_true(pci_cfg_parse(&c, &p));
	assert_int_equal(p.bar_flags[0], MAPLE_BAR_IO | MAPLE_BAR_BAD);
	assert_string_equal(f.problems[0], "BAR 0 (0xfff000, 0x10 bytes): it decodes past the "
					   "end of its address space");
}

static void test_absent_and_odd_header(void **state)
{
	(void)state;
	struct fake f;
	memset(&f, 0xff, sizeof f.space);
	f.nproblems = 0;
	struct pci_cfg c = cfg_of(&f);
	struct pci_func_cfg p;
	assert_false(pci_cfg_parse(&c, &p));
	nvme_like(&f);
	f.space[3] = 0x00820000u; /* multifunction, header type 2 */
	c = cfg_of(&f);
	assert_true(pci_cfg_parse(&c, &p));
	assert_true(p.multifunction);
	assert_int_equal(p.ncaps, 0);
	assert_false(f.probed);
	assert_string_equal(f.problems[0],
			    "header type 2 is not supported: BARs and capabilities skipped");
}

static void test_bridge(void **state)
{
	(void)state;
	struct fake f;
	nvme_like(&f);
	f.space[3] = 0x00010000u;
	f.space[4] = 0;
	f.space[5] = 0;
	f.bar_mask[0] = f.bar_mask[1] = 0;
	f.space[6] = 0x00050100u; /* primary 0, secondary 1, subordinate 5 */
	f.space[PCI_CAP_PTR / 4] = 0;
	struct pci_cfg c = cfg_of(&f);
	struct pci_func_cfg p;
	assert_true(pci_cfg_parse(&c, &p));
	assert_int_equal(p.header_type, 1);
	assert_int_equal(p.secondary_bus, 1);
	assert_int_equal(p.ncaps, 0);
	assert_int_equal(f.nproblems, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nvme_function),
		cmocka_unit_test(test_io_and_prefetch_bars),
		cmocka_unit_test(test_capability_loop),
		cmocka_unit_test(test_capability_self_loop_and_header_pointer),
		cmocka_unit_test(test_every_dword_a_capability),
		cmocka_unit_test(test_bar_all_ones),
		cmocka_unit_test(test_bar_does_not_size),
		cmocka_unit_test(test_bar_64_in_last_slot_and_reserved_type),
		cmocka_unit_test(test_io_bar_beyond_port_space),
		cmocka_unit_test(test_absent_and_odd_header),
		cmocka_unit_test(test_bridge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
