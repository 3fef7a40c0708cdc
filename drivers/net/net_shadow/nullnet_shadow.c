/*
 * nullnet_shadow: the generated Net shadow (net_shadow.c) driving nullnet,
 * for measuring a shadow's cost without a device.
 */
#define NET_SHADOW_DRIVER "nullnet"
#include "net_shadow.c"
