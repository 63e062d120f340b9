/*
 * t_ip.c — address literals and a seeded generator for tests (see t_ip.h).
 */
#include "test/lib/t_ip.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

struct rv_ip_addr t_ip(const char *literal)
{
	struct rv_ip_addr a = { 0 };

	if (inet_pton(AF_INET, literal, a.a) == 1) {
		a.family = AF_INET;
	} else if (inet_pton(AF_INET6, literal, a.a) == 1) {
		a.family = AF_INET6;
	} else {
		fprintf(stderr, "t_ip: bad address literal '%s'\n", literal);
		abort();
	}
	return a;
}

uint64_t t_rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}
