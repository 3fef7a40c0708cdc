/*
 * SHA-256 (FIPS 180-4, section 6.2), portable: efi-loader checks the boot
 * manifest's hashes with it and host tests run it against the NIST vectors.
 */
#ifndef MAPLE_SHA256_H
#define MAPLE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32

/* The digest of the len bytes at data, which may sit at any alignment. */
void sha256(const void *data, size_t len, uint8_t digest[SHA256_DIGEST_SIZE]);

#endif
