/*
 * maple-hosted's half of the fault campaign (bench/fault_campaign.h): the
 * platform services the shared placement uses, over the hosted runtime. A
 * domain's instance is its gate handle; a flip is written by the runtime,
 * which holds every key (inject.c).
 */
#define _GNU_SOURCE
#include "gate.h"
#include "inject.h"

#include <bench/fault_campaign.h>
#include <domain/gate_layout.h>
#include <maple/abi.h>

#include <stdio.h>

/* The running domain with handle h, or NULL. */
static struct hosted_domain *running(uint64_t h)
{
	struct hosted_domain *d = h ? hgate_domain(h) : NULL;
	return d && hgate_state(d) == GATE_DOMAIN_RUNNING ? d : NULL;
}

bool faults_page_is(uint64_t va, int kind)
{
	return inject_page_is(va, kind);
}

/* The instance's image, its methods and its thread's stack, as fault_place
 * sees them; 0, or -1 if its mappings cannot be read. */
static int image_of(const struct hosted_domain *d, struct fault_image *img)
{
	char why[160];
	*img = (struct fault_image){.base = d->base,
				    .lo = d->base,
				    .hi = d->base + d->span,
				    .methods = d->methods,
				    .nmethods = d->nmethods};
	uint64_t top = d->stack ? inject_mapping_end(d->stack) : 0;
	if (top)
		img->stack_tops[img->nstacks++] = top;
	if (inject_snapshot(d, why, sizeof why) < 0) {
		fprintf(stderr, "maple-hosted: faults: %s\n", why);
		return -1;
	}
	return 0;
}

bool faults_flip(uint64_t h, int kind, const struct fault_params *p, uint64_t *off, unsigned *bit)
{
	struct hosted_domain *d = running(h);
	struct fault_image img;
	char why[160];
	if (!d || image_of(d, &img) < 0)
		return false;
	uint64_t va = fault_place(&img, kind, p, bit);
	if (!va)
		return false;
	if (inject_flip(d, va, *bit, why, sizeof why) < 0) {
		fprintf(stderr, "maple-hosted: faults: %s\n", why);
		return false;
	}
	*off = va - d->base;
	return true;
}
