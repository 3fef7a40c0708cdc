/*
 * igb_shadow: the generated Net shadow (net_shadow.c) driving igb
 * (drivers/net/igb): after igb crashes the kernel has stopped igb0 (Bus
 * Master off, CTRL.RST) and recalled its buffers; the shadow creates a new
 * igb, which resets and re-initialises the device.
 */
#define NET_SHADOW_DRIVER "igb"
#include "net_shadow.c"
