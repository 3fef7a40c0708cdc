/*
 * Host tests for kernel/domain/lifecycle.c, the one create and destroy
 * sequence both platforms run, over a fake platform that records each
 * step: the order of the steps, the unwinding at each failure point (what
 * is given back, the exact reason and lines), a destroy with a call still
 * in progress, and a stale handle refused once its slot's generation has
 * moved on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/elf_image.h"
#include "support/klog_capture.h"

#include <domain/handle.h>
#include <domain/lifecycle.h>
#include <domain/lifecycle_lines.h>
#include <domain/slot_layout.h>

#define SLOTS 3 /* ids 1 and 2 */
#define KEYS  2 /* keys 4 and 5 */

/* One fake domain record. */
struct fdom {
	char name[MAPLE_DOMAIN_NAME_MAX];
	uint32_t id, gen;
	int key;
	bool failed, claimed, mapped;
	uint64_t active; /* calls in progress */
	int refs;
};

/* The fake platform's state: the table, the keys, what to fail, the trace. */
static struct {
	struct fdom *slot[SLOTS];
	uint32_t gen[SLOTS];
	bool key_used[KEYS];
	uint8_t room[DOM_SPAN];
	bool room_taken;
	int records; /* records alive */
	char trace[512];
	/* failure points */
	const char *fail_at; /* "room", "map", "new" */
	enum lifecycle_init init_how;
	long init_r;
	int claim_rc;
	bool devices_stuck;
	uint64_t mem_pages;
	uint64_t methods;
} f;

static void step(const char *s)
{
	strncat(f.trace, f.trace[0] ? " " : "", sizeof f.trace - strlen(f.trace) - 1);
	strncat(f.trace, s, sizeof f.trace - strlen(f.trace) - 1);
}

/* The image bytes of `what`: the fixture domain, or one whose entry lies
 * outside its code. */
static const uint8_t *img_bytes_for(const char *what)
{
	make_domain();
	if (!strcmp(what, "bad"))
		ehdr()->e_entry = 0x2010;
	return img;
}

static int f_image_find(const void *ctx, const char *what, struct lifecycle_image *img, char *err,
			size_t errlen)
{
	(void)ctx;
	step("find");
	if (strcmp(what, "hello") && strcmp(what, "bad")) {
		lifecycle_no_module(what, err, errlen);
		return -1;
	}
	img->bytes = img_bytes_for(what);
	img->size = IMG_SIZE;
	snprintf(img->file, sizeof img->file, "%s.elf", what);
	return 0;
}

static void f_image_put(struct lifecycle_image *img)
{
	(void)img;
	step("put-image");
}

static void *f_domain_new(const struct lifecycle_new *n, struct lifecycle_dom *v, char *err,
			  size_t errlen)
{
	step("new");
	if (f.fail_at && !strcmp(f.fail_at, "new")) {
		snprintf(err, errlen, "out of kernel memory");
		return NULL;
	}
	struct fdom *d = calloc(1, sizeof *d);
	snprintf(d->name, sizeof d->name, "%s", n->name);
	d->key = -1;
	d->refs = 1;
	f.records++;
	v->mem_pages = f.mem_pages;
	return d;
}

static void f_domain_free(void *d)
{
	step("free");
	free(d);
	f.records--;
}

static void view(struct fdom *d, struct lifecycle_dom *v)
{
	*v = (struct lifecycle_dom){.d = d,
				    .id = d->id,
				    .gen = d->gen,
				    .key = d->key,
				    .base = slot_base(d->id),
				    .mem_pages = f.mem_pages};
	snprintf(v->name, sizeof v->name, "%s", d->name);
}

static int f_slot_take(void *dp, struct lifecycle_dom *v, char *err, size_t errlen)
{
	struct fdom *d = dp;
	step("slot");
	uint32_t id = 0;
	for (uint32_t i = 1; i < SLOTS && !id; i++)
		if (!f.slot[i])
			id = i;
	int key = -1;
	for (int k = 0; k < KEYS && key < 0; k++)
		if (!f.key_used[k])
			key = k;
	if (!id || key < 0) {
		(id ? lifecycle_no_key : lifecycle_no_slot)(err, errlen);
		return -1;
	}
	f.slot[id] = d;
	f.key_used[key] = true;
	d->id = id;
	d->gen = f.gen[id] = handle_next_gen(f.gen[id]);
	d->key = PKEY_FIRST_DOMAIN + key;
	d->refs++; /* the table's */
	view(d, v);
	return 0;
}

static void give_back(struct fdom *d)
{
	f.slot[d->id] = NULL;
	f.key_used[d->key - PKEY_FIRST_DOMAIN] = false;
	free(d);
	f.records--;
}

static void f_slot_release(void *d)
{
	step("release-slot");
	give_back(d);
}

static uint8_t *f_image_room(void *d, const struct lifecycle_dom *v,
			     const struct lifecycle_image *img, char *err, size_t errlen)
{
	(void)d, (void)v;
	step("room");
	assert_int_equal(img->info.span_hi - img->info.span_lo, DOM_SPAN);
	if (f.fail_at && !strcmp(f.fail_at, "room")) {
		snprintf(err, errlen, "no memory for a %d KiB image", DOM_SPAN >> 10);
		return NULL;
	}
	memset(f.room, 0xee, sizeof f.room); /* place must zero what is not the file's */
	f.room_taken = true;
	return f.room;
}

static void f_image_room_free(void *d, const struct lifecycle_image *img, uint8_t *room)
{
	(void)d, (void)img;
	step("room-free");
	assert_ptr_equal(room, f.room);
	f.room_taken = false;
}

static int f_image_map(void *dp, const struct lifecycle_dom *v, const struct lifecycle_image *img,
		       uint8_t *room, char *err, size_t errlen)
{
	struct fdom *d = dp;
	step("map");
	assert_int_equal(v->key, d->key);
	if (f.fail_at && !strcmp(f.fail_at, "map")) {
		f_image_room_free(d, img, room);
		snprintf(err, errlen, "cannot map its 12 KiB image: out of memory");
		return -1;
	}
	d->mapped = true;
	return 0;
}

static void f_grant(void *d)
{
	(void)d;
	step("grant");
}

static void f_publish(void *d)
{
	(void)d;
	step("publish");
}

static enum lifecycle_init f_run_init(void *dp, uint64_t entry, long *r, const char **why)
{
	struct fdom *d = dp;
	step("init");
	assert_int_equal(entry, slot_base(d->id) + 0x10); /* entry 0x1010 of span 0x1000.. */
	*r = f.init_r;
	if (f.init_how == LIFECYCLE_INIT_FAILED) {
		d->failed = true;
		*why = "SIGSEGV (SEGV_MAPERR) at hello+0x1010, address 0";
		lifecycle_log_failed(d->name, d->id, *why);
	}
	if (f.init_how == LIFECYCLE_INIT_DESTROYED) {
		d->failed = d->claimed = true;
		give_back(d); /* the racing destroyer's teardown; create's reference remains */
		f.records++;
	}
	return f.init_how;
}

static uint64_t f_methods(void *d)
{
	(void)d;
	return f.methods;
}

static void f_created(void *d)
{
	(void)d;
	step("created");
}

static void *f_get(uint32_t id, struct lifecycle_dom *v)
{
	step("get");
	struct fdom *d = id < SLOTS ? f.slot[id] : NULL;
	if (d)
		view(d, v);
	return d;
}

static void f_put(void *d)
{
	(void)d;
	step("put");
}

static void f_fail(void *dp, const char *why)
{
	struct fdom *d = dp;
	char s[64];
	snprintf(s, sizeof s, "fail(%s)", why);
	step(s);
	if (d->failed)
		return;
	d->failed = true;
	lifecycle_log_failed(d->name, d->id, why);
}

static int f_claim(void *dp, char *err, size_t errlen)
{
	struct fdom *d = dp;
	step("claim");
	if (f.claim_rc) {
		snprintf(err, errlen, "%s is already being destroyed", d->name);
		return f.claim_rc;
	}
	d->claimed = true;
	return 0;
}

static uint64_t f_drain(void *d, uint64_t *waited_ms)
{
	step("drain");
	*waited_ms = 2000;
	return ((struct fdom *)d)->active;
}

static void f_stays_failed(void *d)
{
	step("stays-failed");
	((struct fdom *)d)->claimed = false;
}

static bool f_release_devices(void *d, char *err, size_t errlen)
{
	step("release-devices");
	if (f.devices_stuck)
		snprintf(err, errlen, "%s's PCI function 00:04.0 did not stop",
			 ((struct fdom *)d)->name);
	return !f.devices_stuck;
}

static void f_teardown(void *d, uint64_t *pages, uint64_t *rrefs)
{
	step("teardown");
	*pages = DOM_SPAN / 4096;
	*rrefs = 2;
	give_back(d);
}

static const struct lifecycle_platform fake = {
	.image_find = f_image_find,
	.image_put = f_image_put,
	.domain_new = f_domain_new,
	.domain_free = f_domain_free,
	.slot_take = f_slot_take,
	.slot_release = f_slot_release,
	.image_room = f_image_room,
	.image_map = f_image_map,
	.image_room_free = f_image_room_free,
	.grant = f_grant,
	.publish = f_publish,
	.run_init = f_run_init,
	.methods = f_methods,
	.created = f_created,
	.get = f_get,
	.put = f_put,
	.fail = f_fail,
	.claim = f_claim,
	.drain = f_drain,
	.stays_failed = f_stays_failed,
	.release_devices = f_release_devices,
	.teardown = f_teardown,
};

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < SLOTS; i++)
		free(f.slot[i]);
	memset(&f, 0, sizeof f);
	f.init_how = LIFECYCLE_INIT_RAN;
	f.mem_pages = 1024;
	f.methods = 2;
	klog_capture_reset();
	return 0;
}

static uint64_t create(const char *what, char *err, size_t errlen)
{
	void *d = NULL;
	return lifecycle_create(&fake, NULL, what, 0, "kernel", &d, err, errlen);
}

/* Every step in order; the room holds the relocated image; one line. */
static void test_create_runs_each_step_in_order(void **state)
{
	(void)state;
	char err[160] = "";
	uint64_t h = create("hello", err, sizeof err);
	assert_int_equal(h, handle_make(1, f.gen[1]));
	assert_string_equal(f.trace, "find new slot room map grant publish init created put-image");
	assert_int_equal(klog_capture_count(), 1);
	assert_string_equal(klog_capture_line(0),
			    "domain: hello created by kernel: id 1, key 4, 12 KiB image at "
			    "0x10040000000, 2 methods");
	uint64_t reloc;
	memcpy(&reloc, f.room + (DOM_RELOC0 - 0x1000), sizeof reloc);
	assert_int_equal(reloc, slot_base(1) + 0x10);	    /* addend 0x1010, span from 0x1000 */
	assert_int_equal(f.room[DOM_SPAN - 0x1000 - 9], 0); /* not the file's: zeroed */
}

/* The image map fails after the slot and key are taken: both given back
 * (slot_release frees the record too), the room freed, the map's reason,
 * no line. */
static void test_map_failure_gives_slot_and_key_back(void **state)
{
	(void)state;
	char err[160] = "";
	f.fail_at = "map";
	assert_int_equal(create("hello", err, sizeof err), 0);
	assert_string_equal(err, "cannot map its 12 KiB image: out of memory");
	assert_string_equal(f.trace, "find new slot room map room-free release-slot put-image");
	assert_null(f.slot[1]);
	assert_false(f.key_used[0]);
	assert_false(f.room_taken);
	assert_int_equal(f.records, 0);
	assert_int_equal(klog_capture_count(), 0);
	/* The slot is free again: the next create takes it. */
	f.fail_at = NULL;
	uint64_t h = create("hello", err, sizeof err);
	assert_int_equal(h, handle_make(1, f.gen[1]));
	assert_int_equal(f.gen[1], handle_next_gen(handle_next_gen(0))); /* moved on twice */
}

static void test_room_failure_gives_slot_and_key_back(void **state)
{
	(void)state;
	char err[160] = "";
	f.fail_at = "room";
	assert_int_equal(create("hello", err, sizeof err), 0);
	assert_string_equal(err, "no memory for a 12 KiB image");
	assert_string_equal(f.trace, "find new slot room release-slot put-image");
	assert_false(f.key_used[0]);
	assert_int_equal(f.records, 0);
}

/* Over the memory limit: refused before any room is taken. */
static void test_image_over_memory_limit(void **state)
{
	(void)state;
	char err[160] = "";
	f.mem_pages = 2;
	assert_int_equal(create("hello", err, sizeof err), 0);
	assert_string_equal(err, "a 12 KiB image is over its memory limit of 8 KiB");
	assert_string_equal(f.trace, "find new slot release-slot put-image");
	assert_int_equal(f.records, 0);
}

/* Refusals before a slot: nothing taken, nothing logged. */
static void test_refused_before_a_slot(void **state)
{
	(void)state;
	char err[160] = "";
	assert_int_equal(create("nope", err, sizeof err), 0);
	assert_string_equal(err, "no boot module named 'nope'");
	assert_string_equal(f.trace, "find");
	f.trace[0] = 0;
	assert_int_equal(create("bad", err, sizeof err), 0);
	assert_string_equal(err, "bad.elf: entry point 0x2010 is not inside an executable segment");
	assert_string_equal(f.trace, "find put-image"); /* no record made */
	f.trace[0] = 0;
	f.fail_at = "new";
	assert_int_equal(create("hello", err, sizeof err), 0);
	assert_string_equal(err, "out of kernel memory");
	assert_string_equal(f.trace, "find new put-image");
	f.fail_at = NULL;
	/* Every slot held: the record is freed, the reason the VM's. */
	f.trace[0] = 0;
	assert_true(create("hello", err, sizeof err));
	assert_true(create("hello", err, sizeof err));
	f.trace[0] = 0;
	assert_int_equal(create("hello", err, sizeof err), 0);
	assert_string_equal(err, "all 63 domain slots are in use");
	assert_string_equal(f.trace, "find new slot free put-image");
	assert_int_equal(f.records, 2);
	assert_int_equal(klog_capture_count(), 2);
}

/* The init fails: the creator hears why, and the domain is failed and
 * destroyed through the same steps as any destroy, its lines logged. */
static void test_init_failure_destroys_it(void **state)
{
	(void)state;
	char err[160] = "";
	f.init_how = LIFECYCLE_INIT_FAILED;
	assert_int_equal(create("hello", err, sizeof err), 0);
	assert_string_equal(err, "hello: init failed: SIGSEGV (SEGV_MAPERR) at hello+0x1010, "
				 "address 0");
	assert_string_equal(
		f.trace,
		"find new slot room map grant publish init fail(init failed) fail(destroyed) "
		"claim drain release-devices teardown put put-image");
	assert_int_equal(klog_capture_count(), 2);
	assert_string_equal(klog_capture_line(0), "domain: hello (id 1) failed: SIGSEGV "
						  "(SEGV_MAPERR) at hello+0x1010, address 0");
	assert_string_equal(klog_capture_line(1),
			    "domain: hello (id 1) destroyed, 3 pages and 2 RRefs returned");
	assert_null(f.slot[1]);
	assert_false(f.key_used[0]);
	assert_int_equal(f.records, 0);
}

/* The init returns a negative result: failed for "init failed". */
static void test_init_negative_result(void **state)
{
	(void)state;
	char err[160] = "";
	f.init_r = -22;
	assert_int_equal(create("hello", err, sizeof err), 0);
	assert_string_equal(err, "hello: domain_main returned -22");
	assert_string_equal(klog_capture_line(0), "domain: hello (id 1) failed: init failed");
	assert_string_equal(klog_capture_line(1),
			    "domain: hello (id 1) destroyed, 3 pages and 2 RRefs returned");
	assert_int_equal(f.records, 0);
}

/* A destroyer took it during its init: create only puts its reference. */
static void test_destroyed_during_init(void **state)
{
	(void)state;
	char err[160] = "";
	f.init_how = LIFECYCLE_INIT_DESTROYED;
	assert_int_equal(create("hello", err, sizeof err), 0);
	assert_string_equal(err, "hello: destroyed during its init");
	assert_string_equal(f.trace, "find new slot room map grant publish init put put-image");
	assert_int_equal(klog_capture_count(), 0);
}

/* A call still in progress: nothing freed, the reason, it stays failed;
 * the next destroy, with the call gone, tears it down. */
static void test_destroy_with_a_call_in_progress(void **state)
{
	(void)state;
	char err[160] = "";
	uint64_t h = create("hello", err, sizeof err);
	f.slot[1]->active = 1;
	f.trace[0] = 0;
	klog_capture_reset();
	assert_int_equal(lifecycle_destroy(&fake, h, err, sizeof err), -MAPLE_ETIMEDOUT);
	assert_string_equal(err, "hello still has 1 calls in progress after 2000 ms; it stays "
				 "failed, destroy it again");
	assert_string_equal(f.trace, "get fail(destroyed) claim drain stays-failed put");
	assert_int_equal(klog_capture_count(), 1);
	assert_string_equal(klog_capture_line(0), "domain: hello (id 1) failed: destroyed");
	assert_non_null(f.slot[1]);
	assert_false(f.slot[1]->claimed);
	f.slot[1]->active = 0;
	f.trace[0] = 0;
	assert_int_equal(lifecycle_destroy(&fake, h, err, sizeof err), 0);
	assert_string_equal(f.trace,
			    "get fail(destroyed) claim drain release-devices teardown put");
	assert_int_equal(klog_capture_count(), 2); /* no second failed line */
	assert_string_equal(klog_capture_line(1),
			    "domain: hello (id 1) destroyed, 3 pages and 2 RRefs returned");
	assert_int_equal(f.records, 0);
}

/* A device that does not stop: as a call that does not leave. */
static void test_destroy_with_a_device_stuck(void **state)
{
	(void)state;
	char err[160] = "";
	uint64_t h = create("hello", err, sizeof err);
	f.devices_stuck = true;
	f.trace[0] = 0;
	assert_int_equal(lifecycle_destroy(&fake, h, err, sizeof err), -MAPLE_ETIMEDOUT);
	assert_string_equal(err, "hello's PCI function 00:04.0 did not stop");
	assert_string_equal(f.trace,
			    "get fail(destroyed) claim drain release-devices stays-failed put");
	assert_non_null(f.slot[1]);
}

/* Another destroyer has it: its error, and nothing else done. */
static void test_destroy_claim_refused(void **state)
{
	(void)state;
	char err[160] = "";
	uint64_t h = create("hello", err, sizeof err);
	f.claim_rc = -MAPLE_EBUSY;
	f.trace[0] = 0;
	assert_int_equal(lifecycle_destroy(&fake, h, err, sizeof err), -MAPLE_EBUSY);
	assert_string_equal(err, "hello is already being destroyed");
	assert_string_equal(f.trace, "get fail(destroyed) claim put");
}

/* The slot's generation moves on: the destroyed domain's handle names
 * nothing, even with a new domain in its slot, which it does not touch. */
static void test_stale_handle_refused(void **state)
{
	(void)state;
	char err[160] = "";
	uint64_t old = create("hello", err, sizeof err);
	assert_int_equal(lifecycle_destroy(&fake, old, err, sizeof err), 0);
	uint64_t h = create("hello", err, sizeof err);
	assert_int_equal(handle_slot(h), handle_slot(old));
	assert_int_not_equal(h, old);
	f.trace[0] = 0;
	klog_capture_reset();
	assert_int_equal(lifecycle_destroy(&fake, old, err, sizeof err), -MAPLE_ESRCH);
	assert_string_equal(err, "no such domain (already destroyed?)");
	assert_string_equal(f.trace, "get put");
	assert_false(f.slot[1]->failed);
	assert_int_equal(klog_capture_count(), 0);
	/* And an empty slot, or slot 0, names nothing either. */
	assert_int_equal(lifecycle_destroy(&fake, handle_make(2, 1), err, sizeof err),
			 -MAPLE_ESRCH);
	assert_int_equal(lifecycle_destroy(&fake, 0, err, sizeof err), -MAPLE_ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_create_runs_each_step_in_order, setup),
		cmocka_unit_test_setup(test_map_failure_gives_slot_and_key_back, setup),
		cmocka_unit_test_setup(test_room_failure_gives_slot_and_key_back, setup),
		cmocka_unit_test_setup(test_image_over_memory_limit, setup),
		cmocka_unit_test_setup(test_refused_before_a_slot, setup),
		cmocka_unit_test_setup(test_init_failure_destroys_it, setup),
		cmocka_unit_test_setup(test_init_negative_result, setup),
		cmocka_unit_test_setup(test_destroyed_during_init, setup),
		cmocka_unit_test_setup(test_destroy_with_a_call_in_progress, setup),
		cmocka_unit_test_setup(test_destroy_with_a_device_stuck, setup),
		cmocka_unit_test_setup(test_destroy_claim_refused, setup),
		cmocka_unit_test_setup(test_stale_handle_refused, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
