/*
 * Host tests for kernel/lib/sha256.c: the FIPS 180-4 example messages
 * (NIST CSRC "Cryptographic Standards and Guidelines: Examples with
 * Intermediate Values", SHA-256) and the padding boundaries around them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <lib/sha256.h>

static void expect_digest(const void *data, size_t len, const char *want)
{
	uint8_t d[SHA256_DIGEST_SIZE];
	char hex[2 * SHA256_DIGEST_SIZE + 1];

	sha256(data, len, d);
	for (unsigned i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	assert_string_equal(hex, want);
}

static void test_empty(void **state)
{
	(void)state;
	expect_digest("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_abc(void **state)
{
	(void)state;
	expect_digest("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* 448 bits: the padding's 1 bit and length no longer fit the block, so a second one follows. */
static void test_448_bits(void **state)
{
	(void)state;
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	assert_int_equal(strlen(m), 56);
	expect_digest(m, 56, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_896_bits(void **state)
{
	(void)state;
	const char *m =
		"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnop"
		"qklmnopqrlmnopqrsmnopqrstnopqrstu";
	assert_int_equal(strlen(m), 112);
	expect_digest(m, 112, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_million_a(void **state)
{
	(void)state;
	char *m = malloc(1000000);
	assert_non_null(m);
	memset(m, 'a', 1000000);
	expect_digest(m, 1000000,
		      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(m);
}

/*
 * Lengths either side of where the padding spills into a second block (55
 * and 56 bytes) and of whole blocks, against digests from Python's hashlib.
 */
static void test_padding_boundaries(void **state)
{
	(void)state;
	static const struct {
		size_t n;
		const char *want;
	} cases[] = {
		{55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
		{56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
		{63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
		{64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
		{119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
		{120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
	};
	char m[128];
	memset(m, 'a', sizeof(m));
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_digest(m, cases[i].n, cases[i].want);
}

/* The loader hashes files wherever they were read to: no alignment is assumed. */
static void test_any_alignment(void **state)
{
	(void)state;
	char buf[4 + 3];
	for (unsigned off = 0; off < 4; off++) {
		memcpy(buf + off, "abc", 3);
		expect_digest(buf + off, 3,
			      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),	      cmocka_unit_test(test_abc),
		cmocka_unit_test(test_448_bits),      cmocka_unit_test(test_896_bits),
		cmocka_unit_test(test_million_a),     cmocka_unit_test(test_padding_boundaries),
		cmocka_unit_test(test_any_alignment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
