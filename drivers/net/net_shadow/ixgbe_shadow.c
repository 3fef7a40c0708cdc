/*
 * ixgbe_shadow: the generated Net shadow (net_shadow.c) driving ixgbe
 * (drivers/net/ixgbe): after ixgbe crashes the kernel has stopped ixgbe0
 * (Bus Master off, CTRL.RST) and recalled its buffers; the shadow creates a
 * new ixgbe, which resets and re-initialises the device.
 */
#define NET_SHADOW_DRIVER "ixgbe"
#include "net_shadow.c"
