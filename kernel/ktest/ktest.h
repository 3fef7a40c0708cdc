/*
 * In-guest kernel tests. A test is a function registered with KTEST(name);
 * the runner (ktest/ktest.c) runs the ones the command line selects
 * (`test=all`, `test=name1,name2`, or a group: `test=chaos` runs chaos_*)
 * in a kernel thread, one at a time, prints `ktest: PASS name`, `ktest:
 * FAIL name: reason` or, for a test whose subject this machine lacks,
 * `ktest: SKIP name: reason` on COM1, then `ktest: summary N passed, N
 * failed, N skipped`, and powers the machine off (unless the flag
 * `test_stay` is set). Built only into the test kernel image
 * (kernel/test-sources), which registers the runner for `test=`.
 */
#ifndef CORE_KTEST_H
#define CORE_KTEST_H

#include <stdbool.h>
#include <stdint.h>

struct ktest_ctx {
	bool failed;
	bool skipped;
	char reason[160];
};

struct ktest {
	const char *name;
	void (*fn)(struct ktest_ctx *t);
};

#define KTEST(tname)                                                                               \
	static void ktest_fn_##tname(struct ktest_ctx *t);                                         \
	static const struct ktest ktest_##tname                                                    \
		__attribute__((used, section(".ktests"), aligned(8))) = {#tname,                   \
									 ktest_fn_##tname};        \
	static void ktest_fn_##tname(struct ktest_ctx *t)

void ktest_fail(struct ktest_ctx *t, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * The machine lacks what the test checks (a CPU feature, a chipset): record
 * why; the test must return right after. A skip is neither a pass nor a
 * failure, so a test that cannot run here never reports that it passed.
 */
void ktest_skip(struct ktest_ctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* On failure: record file:line and the expression, and leave the test. */
#define KT_ASSERT(cond)                                                                            \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			ktest_fail(t, __FILE__, __LINE__, "%s", #cond);                            \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define KT_ASSERT_EQ(a, b)                                                                         \
	do {                                                                                       \
		uint64_t ka_ = (uint64_t)(a), kb_ = (uint64_t)(b);                                 \
		if (ka_ != kb_) {                                                                  \
			ktest_fail(t, __FILE__, __LINE__, "%s == %s (%#lx != %#lx)", #a, #b, ka_,  \
				   kb_);                                                           \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#endif
