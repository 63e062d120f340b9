/*
 * t_ip.h — address literals and a seeded generator for the table tests of
 * core/ modules keyed by addresses (ippool, admit, lease).
 *
 * Test-only code.
 */
#ifndef RV_TEST_LIB_T_IP_H
#define RV_TEST_LIB_T_IP_H

#include <stdint.h>

#include "core/ip.h"

/* t_ip parses an IPv4 or IPv6 literal; a bad literal is a bug in the test,
 * so it prints it and aborts. */
struct rv_ip_addr t_ip(const char *literal);

/* t_rng_next advances the xorshift64 state |*s| (seed it non-zero) and
 * returns it: a reproducible sequence for randomised tests. */
uint64_t t_rng_next(uint64_t *s);

#endif /* RV_TEST_LIB_T_IP_H */
