/*
 * bdev_shadow: the shadow of the membdev driver, all of it generated from
 * domains/idl/bdev.idl (docs/idl.md, "Shadows"; docs/recovery.md). Clients
 * bind to it as to any BlockDevice. It creates membdev, forwards every call,
 * records init() and replays it into a new membdev after a crash, and
 * retries submit(), which the IDL marks @idempotent.
 */
#include <block/bdev_shadow/bdev_check.h>

long domain_main(long arg)
{
	(void)arg;
	return BlockDevice_shadow_start_checked("membdev", &bdev_checks);
}
