/* klog (core/log.h) for host tests of kernel code that logs: each line is
 * formatted by the kernel's own fmt_vsnprintf and kept, so a test can
 * assert the exact lines a call wrote, and that it wrote no other. */
#ifndef TEST_KLOG_CAPTURE_H
#define TEST_KLOG_CAPTURE_H

#define KLOG_CAPTURE_LINES 16
#define KLOG_CAPTURE_LEN   256

/* Forget every line kept so far. */
void klog_capture_reset(void);
/* Lines logged since the last reset (all of them, even past the ones kept). */
unsigned klog_capture_count(void);
/* Line i (0: the first since the reset), or "" past the ones kept. */
const char *klog_capture_line(unsigned i);

#endif
