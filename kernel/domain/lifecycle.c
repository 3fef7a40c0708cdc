/*
 * The domain lifecycle's one sequence (domain/lifecycle.h), built into the
 * VM's kernel, maple-hosted and the host unit tests
 * (kernel/test/test_lifecycle.c) alike: the order of the steps, what each
 * failure gives back, and the lines and reasons, over a platform's
 * mechanism (struct lifecycle_platform).
 */
#include <domain/handle.h>
#include <domain/lifecycle.h>
#include <domain/lifecycle_lines.h>
#include <lib/fmt.h>
#include <lib/string.h>

int lifecycle_image_check(struct lifecycle_image *img, char *err, size_t errlen)
{
	struct elf_error e;
	if (elf_check(img->bytes, img->size, ELF_KIND_DOMAIN, &img->info, &e) < 0) {
		fmt_snprintf(err, errlen, "%s: %s", img->file, e.msg);
		return -1;
	}
	return lifecycle_image_fits(img->file, img->info.span_hi - img->info.span_lo, err, errlen)
		       ? 0
		       : -1;
}

int lifecycle_image_place(const struct lifecycle_image *img, uint8_t *room, uint64_t base,
			  char *err, size_t errlen)
{
	struct elf_error e;
	/* Every byte of the room is the checked file's or zero (elf.h): no
	 * byte elf_check did not scan can become executable. */
	elf_copy_image(img->bytes, &img->info, room);
	if (elf_apply_relocations(img->bytes, &img->info, room, base, &e) < 0) {
		fmt_snprintf(err, errlen, "%s: %s", img->file, e.msg);
		return -1;
	}
	return 0;
}

/* The map step: room, copy and relocate, map under the key. 0, or -1 with
 * err and nothing of the image left. */
static int map_image(const struct lifecycle_platform *p, struct lifecycle_dom *v,
		     const struct lifecycle_image *img, char *err, size_t errlen)
{
	uint64_t span = img->info.span_hi - img->info.span_lo, pages = span / ELF_PAGE_SIZE;
	if (pages > v->mem_pages) {
		fmt_snprintf(err, errlen, "a %lu KiB image is over its memory limit of %lu KiB",
			     (unsigned long)(span >> 10), (unsigned long)(v->mem_pages * 4));
		return -1;
	}
	uint8_t *room = p->image_room(v->d, v, img, err, errlen);
	if (!room)
		return -1;
	if (lifecycle_image_place(img, room, v->base, err, errlen) < 0) {
		p->image_room_free(v->d, img, room);
		return -1;
	}
	return p->image_map(v->d, v, img, room, err, errlen);
}

static void put(const struct lifecycle_platform *p, void *d)
{
	if (p->put)
		p->put(d);
}

/* Destroy the domain v describes, which this thread holds a reference to. */
static int destroy(const struct lifecycle_platform *p, struct lifecycle_dom *v, char *err,
		   size_t errlen)
{
	p->fail(v->d, "destroyed");
	int r = p->claim ? p->claim(v->d, err, errlen) : 0;
	if (r < 0)
		return r;
	/* d is ours. Nothing of it is freed while a call may still be inside
	 * it: the platform's drain either saw every call leave, or says how
	 * many remain and d stays failed with all its memory. */
	uint64_t waited_ms = 0, active = p->drain(v->d, &waited_ms);
	if (active) {
		p->stays_failed(v->d);
		lifecycle_calls_remain(v->name, active, waited_ms, err, errlen);
		return -MAPLE_ETIMEDOUT;
	}
	/* Before anything of d is freed: its devices must have stopped
	 * writing into its memory. */
	if (!p->release_devices(v->d, err, errlen)) {
		p->stays_failed(v->d);
		return -MAPLE_ETIMEDOUT;
	}
	uint64_t pages = 0, rrefs = 0;
	p->teardown(v->d, &pages, &rrefs);
	lifecycle_log_destroyed(v->name, v->id, pages, rrefs);
	return 0;
}

int lifecycle_destroy(const struct lifecycle_platform *p, uint64_t handle, char *err, size_t errlen)
{
	struct lifecycle_dom v = {0};
	/* A stale handle (a destroyed domain's, whose slot may hold another
	 * domain now: the generation moved on) names nothing. */
	v.d = p->get(handle_slot(handle), &v);
	if (!v.d || !handle_names(handle, v.id, v.gen)) {
		if (v.d)
			put(p, v.d);
		lifecycle_no_such_domain(err, errlen);
		return -MAPLE_ESRCH;
	}
	int r = destroy(p, &v, err, errlen);
	put(p, v.d);
	return r;
}

void lifecycle_image_name(const char *file, char *name, size_t len)
{
	size_t n = strlen(file);
	if (n > 4 && !strcmp(file + n - 4, ".elf"))
		n -= 4;
	fmt_snprintf(name, len, "%.*s", (int)n, file);
}

/* Steps from the slot on; the image is found and checked, d is made. */
static uint64_t create_in_slot(const struct lifecycle_platform *p, struct lifecycle_dom *v,
			       const struct lifecycle_new *n, char *err, size_t errlen)
{
	const struct lifecycle_image *img = n->image;
	/* In the table from here on, as being created: a destroyer is refused
	 * until it runs, so only this thread touches its memory. */
	if (p->slot_take(v->d, v, err, errlen) < 0) {
		p->domain_free(v->d);
		return 0;
	}
	if (map_image(p, v, img, err, errlen) < 0) {
		p->slot_release(v->d);
		return 0;
	}
	p->grant(v->d);
	if (p->publish)
		p->publish(v->d);
	long r = 0;
	const char *why = "";
	enum lifecycle_init how =
		p->run_init(v->d, v->base + (img->info.entry - img->info.span_lo), &r, &why);
	if (how == LIFECYCLE_INIT_DESTROYED) {
		fmt_snprintf(err, errlen, "%s: destroyed during its init", v->name);
		put(p, v->d);
		return 0;
	}
	if (lifecycle_init_failed(v->name, r, how == LIFECYCLE_INIT_FAILED, why, err, errlen)) {
		char ignored[8];
		p->fail(v->d, "init failed");
		destroy(p, v, ignored, sizeof ignored); /* or another destroyer has it */
		put(p, v->d);
		return 0;
	}
	if (p->created)
		p->created(v->d);
	lifecycle_log_created(v->name, n->creator_name, v->id, v->key,
			      img->info.span_hi - img->info.span_lo, v->base, p->methods(v->d));
	return handle_make(v->id, v->gen);
}

uint64_t lifecycle_create(const struct lifecycle_platform *p, const void *ctx, const char *what,
			  uint64_t creator, const char *creator_name, void **out, char *err,
			  size_t errlen)
{
	if (p->ready && !p->ready(err, errlen))
		return 0;
	struct lifecycle_image img = {0};
	if (p->image_find(ctx, what, &img, err, errlen) < 0)
		return 0;
	struct lifecycle_dom v = {0};
	uint64_t h = 0;
	if (lifecycle_image_check(&img, err, errlen) == 0) {
		lifecycle_image_name(img.file, v.name, sizeof v.name);
		const struct lifecycle_new n = {.name = v.name,
						.creator = creator,
						.creator_name = creator_name,
						.image = &img};
		v.d = p->domain_new(&n, &v, err, errlen);
		if (v.d)
			h = create_in_slot(p, &v, &n, err, errlen);
	}
	if (p->image_put)
		p->image_put(&img);
	if (h && out)
		*out = v.d;
	return h;
}
