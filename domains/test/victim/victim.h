/*
 * victim's interface, for the isolation tests: it keeps VICTIM_SECRET in
 * VICTIM_WORDS words of its data segment, of a heap buffer and of a buffer
 * on a long-lived thread's stack, tells where they are, and checks that
 * nobody changed them. Plain numbers, so kernel tests can include it too.
 */
#ifndef DOMAINS_VICTIM_H
#define DOMAINS_VICTIM_H

#define VICTIM_SECRET 0x5ec7e75ec7e7f00dULL
#define VICTIM_WORDS  64

#define VICTIM_HEAP_ADDR  0 /* long heap_addr(void): the heap buffer */
#define VICTIM_DATA_ADDR  1 /* long data_addr(void): the array in .data */
#define VICTIM_CHECK	  2 /* long check(void): 1 if all three are intact, else 0 */
#define VICTIM_STACK_ADDR 3 /* long stack_addr(void): the buffer on the keeper thread's stack */

#endif
