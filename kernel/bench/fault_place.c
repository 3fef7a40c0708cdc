/*
 * Where the fault campaign's faults land (bench/fault_campaign.h), on both
 * platforms: the kinds' names, the seeded generator, and the pick of a byte
 * of the instance's code, method entries, data or live stack. The campaign
 * itself is fault_campaign.c.
 */
#include <bench/fault_campaign.h>

#define PAGE 4096UL

const char *const fault_kind_names[FAULT_KINDS] = {
	"pf", "gp", "ud", "de", "pk", "kill", "flip-code", "flip-entry", "flip-data", "flip-stack",
};

/* xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift
 * generators", 2016): small, and the same sequence from the same seed. */
static uint64_t rng;

void fault_seed(uint64_t seed)
{
	rng = seed;
}

static uint64_t next_random(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

/* A random byte of img of the flip's kind: its address, or 0 if it has none. */
static uint64_t pick_byte(const struct fault_image *img, int kind)
{
	if (kind == FAULT_FLIP_ENTRY) {
		/* The gate's table of the exported methods: SYS_EXPORT checked
		 * that each lies in the image. A byte past its end is not one. */
		if (!img->nmethods)
			return 0;
		uint64_t va = img->methods[next_random() % img->nmethods] +
			      next_random() % FAULT_ENTRY_HOT;
		return va < img->hi && faults_page_is(va, FAULT_FLIP_CODE) ? va : 0;
	}
	if (kind == FAULT_FLIP_STACK)
		return img->nstacks ? img->stack_tops[next_random() % img->nstacks] - 1 -
					      next_random() % FAULT_STACK_LIVE
				    : 0;
	uint64_t pages = 0;
	for (uint64_t va = img->lo; va < img->hi; va += PAGE)
		pages += faults_page_is(va, kind);
	if (!pages)
		return 0;
	uint64_t pick = next_random() % pages;
	for (uint64_t va = img->lo; va < img->hi; va += PAGE)
		if (faults_page_is(va, kind) && !pick--)
			return va + next_random() % PAGE;
	return 0;
}

uint64_t fault_place(const struct fault_image *img, int kind, const struct fault_params *p,
		     unsigned *bit)
{
	bool directed = kind == FAULT_FLIP_CODE && p->flip_at;
	uint64_t va = directed ? img->base + p->flip_at : pick_byte(img, kind);
	if (directed && (va >= img->hi || !faults_page_is(va, FAULT_FLIP_CODE)))
		return 0; /* not membdev's code: the fault is not made, and says so */
	if (va)
		*bit = directed ? (unsigned)p->flip_bit : (unsigned)(next_random() % 8);
	return va;
}
