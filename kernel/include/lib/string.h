/* Freestanding string and memory functions (kernel/lib/string.c). */
#ifndef MAPLE_STRING_H
#define MAPLE_STRING_H

#include <stddef.h>

#ifdef HOST_TEST
#include <string.h> /* host tests use libc's; strlcpy below is ours */
#else
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strstr(const char *haystack, const char *needle);
#endif

/* Copy at most size-1 bytes and always terminate; returns strlen(src). */
size_t maple_strlcpy(char *dst, const char *src, size_t size);
#define strlcpy maple_strlcpy

#endif
