/* Symbolized stack traces from the frame-pointer chain. */
#ifndef CORE_BACKTRACE_H
#define CORE_BACKTRACE_H

#include <stdint.h>

/* Print "  #N 0xADDR name+0xOFF" for rip, then each return address up the rbp chain. */
void backtrace_print(uint64_t rip, uint64_t rbp);

#endif
