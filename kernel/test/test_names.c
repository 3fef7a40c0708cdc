/*
 * Host tests for kernel/domain/names.c, what a name or id addresses on both
 * platforms (docs/isolation.md, "Names"): the one creating or running
 * instance, else the only instance; never the first of several.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <domain/gate_layout.h>
#include <domain/names.h>
#include <maple/abi.h>

struct slot {
	const char *name;
	enum domain_state state;
};

/* A table of GATE_MAX_DOMAINS slots, slot 0 never asked for. */
static struct slot table[GATE_MAX_DOMAINS];

static const char *slot_of(void *ctx, uint32_t id, enum domain_state *state)
{
	struct slot *t = ctx;
	assert_true(id >= 1 && id < GATE_MAX_DOMAINS);
	*state = t[id].state;
	return t[id].name;
}

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < GATE_MAX_DOMAINS; i++)
		table[i] = (struct slot){NULL, DOMAIN_GONE};
	return 0;
}

static uint32_t resolve(const char *name, long *why, unsigned *count)
{
	return names_resolve(name, slot_of, table, why, count);
}

/* Each row: the states of "xb" in slots 3, 5 and 9 (GONE: empty), and what
 * "xb" addresses. */
static void test_name_table(void **state)
{
	(void)state;
	const enum domain_state R = DOMAIN_RUNNING, C = DOMAIN_CREATING, F = DOMAIN_FAILING,
				D = DOMAIN_DESTROYING, E = DOMAIN_GONE;
	const struct {
		enum domain_state s[3];
		uint32_t want;
		long why;
		unsigned count;
	} rows[] = {
		{{E, E, E}, 0, -MAPLE_ESRCH, 0},
		{{R, E, E}, 3, 0, 1},
		{{E, E, F}, 9, 0, 1}, /* the only one, failed: destroy can name it */
		{{E, D, E}, 5, 0, 1},
		{{R, R, E}, 0, -MAPLE_ENOTUNIQ, 2}, /* never the first of two */
		{{R, C, E}, 0, -MAPLE_ENOTUNIQ, 2}, /* creating counts as running */
		{{F, R, E}, 5, 0, 2},		    /* the running one beside a failed one */
		{{F, E, C}, 9, 0, 2},
		{{F, F, E}, 0, -MAPLE_ENOTUNIQ, 2}, /* two failed: neither */
		{{F, R, F}, 5, 0, 3},
		{{R, R, R}, 0, -MAPLE_ENOTUNIQ, 3},
	};
	const uint32_t ids[3] = {3, 5, 9};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		setup(NULL);
		table[4] = (struct slot){"xa", DOMAIN_RUNNING}; /* another name */
		table[6] = (struct slot){"xbb", DOMAIN_RUNNING};
		for (int k = 0; k < 3; k++)
			if (rows[i].s[k] != DOMAIN_GONE)
				table[ids[k]] = (struct slot){"xb", rows[i].s[k]};
		long why = 99;
		unsigned count = 99;
		uint32_t got = resolve("xb", &why, &count);
		if (got != rows[i].want || why != rows[i].why || count != rows[i].count)
			fail_msg("row %zu: slot %u why %ld count %u; want slot %u why %ld count %u",
				 i, got, why, count, rows[i].want, rows[i].why, rows[i].count);
	}
}

/* A decimal number is an id, whatever the state; out of the table it
 * names nothing; other digits are names. */
static void test_ids(void **state)
{
	(void)state;
	table[7] = (struct slot){"xb", DOMAIN_FAILING};
	table[63] = (struct slot){"hello", DOMAIN_RUNNING};
	long why;
	assert_int_equal(resolve("7", &why, NULL), 7);
	assert_int_equal(why, 0);
	assert_int_equal(resolve("007", &why, NULL), 7);
	assert_int_equal(resolve("63", &why, NULL), 63);
	assert_int_equal(resolve("8", &why, NULL), 0);
	assert_int_equal(why, -MAPLE_ESRCH);
	assert_int_equal(resolve("0", &why, NULL), 0);
	assert_int_equal(why, -MAPLE_ESRCH);
	assert_int_equal(resolve("64", &why, NULL), 0);
	assert_int_equal(why, -MAPLE_ESRCH);
	assert_int_equal(resolve("99999999999999999999", &why, NULL), 0);
	assert_int_equal(why, -MAPLE_ESRCH);
	assert_int_equal(resolve("7a", &why, NULL), 0); /* a name, and none has it */
	assert_int_equal(why, -MAPLE_ESRCH);
	table[8] = (struct slot){"12", DOMAIN_RUNNING}; /* digits as a name address the id */
	assert_int_equal(resolve("12", &why, NULL), 0);
	assert_int_equal(why, -MAPLE_ESRCH);
	assert_int_equal(resolve("", &why, NULL), 0);
	assert_int_equal(why, -MAPLE_ESRCH);
}

static void test_console_refusal(void **state)
{
	(void)state;
	char buf[128];
	names_console_refusal("xb", -MAPLE_ENOTUNIQ, 8, buf, sizeof buf);
	assert_string_equal(buf, "'xb' names 8 domains: give an id (see 'domains')");
	names_console_refusal("nope", -MAPLE_ESRCH, 0, buf, sizeof buf);
	assert_string_equal(buf, "no domain 'nope' (see 'domains')");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_name_table, setup),
		cmocka_unit_test_setup(test_ids, setup),
		cmocka_unit_test_setup(test_console_refusal, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
