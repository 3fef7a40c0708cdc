/*
 * A domain's lifecycle states, as both platforms name them
 * (docs/isolation.md, "Lifecycle"): the VM's struct domain holds one, and
 * the portable rules (dev/grant.h) decide on them. Portable: no
 * kernel-only include.
 */
#ifndef DOMAIN_DOMAIN_STATE_H
#define DOMAIN_DOMAIN_STATE_H

/*
 * Every transition happens under the domain's lock (docs/isolation.md,
 * "Lifecycle"):
 *   creating -> running     its creator, once the image is mapped
 *   creating -> gone        its creator, when loading fails
 *   running -> failing      domain_fail: a fault, panic, watchdog, kill, or
 *                           the first step of a destroy
 *   failing -> destroying   domain_destroy: exactly one destroyer claims it;
 *                           any other gets -MAPLE_EBUSY
 *   destroying -> failing   the claimed destroy timed out waiting for calls
 *                           to leave: nothing was freed, destroy it again
 *   destroying -> gone      teardown done, out of the table; the struct
 *                           lives until its last reference is put
 */
enum domain_state {
	DOMAIN_CREATING = 0,
	DOMAIN_RUNNING,
	DOMAIN_FAILING,
	DOMAIN_DESTROYING,
	DOMAIN_GONE,
};

#endif
