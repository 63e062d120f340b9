/*
 * mem.h — wiping and constant-time comparison of secrets.
 */
#ifndef RV_CRYPTO_MEM_H
#define RV_CRYPTO_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* rv_memzero wipes |len| bytes at |p| in a way the compiler cannot elide. */
void rv_memzero(void *p, size_t len);

/* rv_ct_equal compares |len| bytes in time independent of their contents. */
bool rv_ct_equal(const void *a, const void *b, size_t len);

#endif /* RV_CRYPTO_MEM_H */
