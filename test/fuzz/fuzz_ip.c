/*
 * fuzz_ip.c — libFuzzer harness for the inner IPv4/IPv6 header parser (core/ip.c).
 *
 *   scripts/fuzz.sh                      (all harnesses, clang + libFuzzer)
 *   build/fuzz/test/fuzz_ip test/fuzz/corpus/ip
 *   ctest -L fuzz-replay                 (replays the corpus, any compiler)
 *
 * Also the ICMP "destination unreachable" built for an accepted packet
 * (core/icmp.c, which walks IPv6 extension headers).
 *
 * Properties checked on every input:
 *  - the verdict equals an independent reference of the rules in ip.h;
 *  - an accepted packet has hdr_len <= total_len <= size, the family its
 *    version says, and addresses equal to the bytes at their offsets;
 *  - trimming an accepted packet to total_len parses to the same result;
 *  - address formatting always yields a terminated string, even into small
 *    buffers, and an address equals itself;
 *  - an ICMP error (when one may be sent) is 28 or 48 bytes of headers
 *    quoting at most the packet and at most 576 or 1280 bytes in all, and
 *    goes to the packet's source; its checksum sums to zero (ASan sees any
 *    read past the packet).
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/icmp.h"
#include "core/ip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(cond)                       \
	do {                              \
		if (!(cond)) {            \
			__builtin_trap(); \
		}                         \
	} while (0)

static enum rv_ip_err reference(const uint8_t *d, size_t n)
{
	if (n == 0) {
		return RV_IP_TOO_SHORT;
	}
	unsigned ver = d[0] >> 4;
	if (ver == 4) {
		if (n < 20) {
			return RV_IP_TOO_SHORT;
		}
		size_t ihl = (size_t)(d[0] & 15) * 4;
		if (ihl < 20 || ihl > n) {
			return RV_IP_BAD_HDR_LEN;
		}
		size_t tot = (size_t)d[2] << 8 | d[3];
		if (tot > n || tot < ihl) {
			return RV_IP_BAD_TOTAL_LEN;
		}
		return RV_IP_OK;
	}
	if (ver == 6) {
		if (n < 40) {
			return RV_IP_TOO_SHORT;
		}
		size_t tot = ((size_t)d[4] << 8 | d[5]) + 40;
		if (tot > n || tot > 65535) {
			return RV_IP_BAD_TOTAL_LEN;
		}
		return RV_IP_OK;
	}
	return RV_IP_BAD_VERSION;
}

static void check_str(const struct rv_ip_addr *a)
{
	char big[64], small[8];
	check(rv_ip_addr_str(a, big, sizeof(big)) == big);
	check(memchr(big, '\0', sizeof(big)) != NULL);
	check(rv_ip_addr_str(a, small, sizeof(small)) == small);
	check(memchr(small, '\0', sizeof(small)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_ip_info info;
	enum rv_ip_err err = rv_ip_parse(&info, data, size);
	check(rv_ip_err_str(err) != NULL);
	check(err == reference(data, size));
	if (err != RV_IP_OK) {
		return 0;
	}

	check(info.hdr_len <= info.total_len && info.total_len <= size);
	check(info.src.family == info.dst.family);
	if (data[0] >> 4 == 4) {
		check(info.src.family == AF_INET);
		check(info.hdr_len == (data[0] & 15) * 4);
		check(info.proto == data[9]);
		check(memcmp(info.src.a, data + 12, 4) == 0);
		check(memcmp(info.dst.a, data + 16, 4) == 0);
	} else {
		check(info.src.family == AF_INET6);
		check(info.hdr_len == 40);
		check(info.proto == data[6]);
		check(memcmp(info.src.a, data + 8, 16) == 0);
		check(memcmp(info.dst.a, data + 24, 16) == 0);
	}
	check(rv_ip_addr_equal(&info.src, &info.src));
	check(rv_ip_addr_equal(&info.src, &info.dst) ==
	      (memcmp(info.src.a, info.dst.a, info.src.family == AF_INET ? 4 : 16) == 0));
	check_str(&info.src);
	check_str(&info.dst);

	/* The caller trims to total_len; the trimmed packet must parse the same
	 * (an exact-size copy, so ASan sees any read past the trim). */
	uint8_t *trim = malloc(info.total_len ? info.total_len : 1);
	check(trim != NULL);
	memcpy(trim, data, info.total_len);
	struct rv_ip_info again;
	check(rv_ip_parse(&again, trim, info.total_len) == RV_IP_OK);
	check(memcmp(&again, &info, sizeof(info)) == 0);

	/* The ICMP error, built from the exact-size copy. */
	uint8_t hdr[RV_ICMP_HDR_MAX];
	size_t quote = 0, h = rv_icmp_unreach(hdr, &info.dst, trim, info.total_len, &info, &quote);
	if (h != 0) {
		size_t max = info.src.family == AF_INET ? RV_ICMP4_MAX : RV_ICMP6_MAX;
		uint32_t sum = 0;

		check(h == (info.src.family == AF_INET ? 28u : 48u));
		check(quote <= info.total_len && h + quote <= max);
		check(memcmp(hdr + (h == 28 ? 16 : 24), info.src.a, h == 28 ? 4 : 16) == 0);
		if (h == 48) {
			/* pseudo-header: addresses, length, next header */
			for (size_t i = 8; i < 40; i += 2) {
				sum += (uint32_t)(hdr[i] << 8 | hdr[i + 1]);
			}
			sum += (uint32_t)(8 + quote) + 58;
		}
		for (size_t i = h - 8; i < h; i += 2) {
			sum += (uint32_t)(hdr[i] << 8 | hdr[i + 1]);
		}
		for (size_t i = 0; i < quote; i++) {
			sum += i % 2 ? trim[i] : (uint32_t)trim[i] << 8;
		}
		while (sum >> 16) {
			sum = (sum & 0xffff) + (sum >> 16);
		}
		check(sum == 0xffff);
	}
	free(trim);
	return 0;
}
