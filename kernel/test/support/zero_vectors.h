/* What test_zero_vectors.c and support/zero_vectors.S share: the values
 * the test loads into the vector state before ZERO_VECTORS runs. */
#ifndef TEST_SUPPORT_ZERO_VECTORS_H
#define TEST_SUPPORT_ZERO_VECTORS_H

#define ZV_SECRET	 0x5ec2e75ec2e75ec2
#define ZV_MXCSR_SECRET	 0x7fbf /* round toward zero, every exception flag set */
#define ZV_FILL_X87	 0x01	/* ST0 and ST1 */
#define ZV_FILL_XMM	 0x02	/* %xmm0-15 */
#define ZV_FILL_YMM	 0x04	/* %ymm0-15 whole (with ZV_FILL_XMM) */
#define ZV_FILL_ZMM	 0x08	/* %zmm0-31 whole and %k0-7 (AVX-512F) */
#define ZV_FILL_MXCSR	 0x10
#define ZV_FILL_VZEROALL 0x20 /* first: SSE and AVX state back to their initial configuration */
#define ZV_FILL_TILECFG	 0x40 /* AMX's tile configuration (LDTILECFG: no permission needed) */

#ifndef __ASSEMBLY__
#include <stdint.h>
void zero_vectors_after(uint64_t level, void *area, uint64_t rfbm, uint64_t fill);
void zero_vectors_private_after(uint64_t level, void *area, uint64_t rfbm, uint64_t fill);
#endif

#endif
