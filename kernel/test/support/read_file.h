/* Whole-file reads for host tests that load built images (fixtures, domains). */
#ifndef TEST_READ_FILE_H
#define TEST_READ_FILE_H

#include <stddef.h>
#include <stdint.h>

/* The file at path in a malloc'd buffer; fails the running test if it cannot. */
uint8_t *test_read_file(const char *path, size_t *size);

#endif
