/*
 * fuzz_config.c — libFuzzer harness for the config parser (core/config.h):
 * the input is parsed as a server and as a client file and validated. Any
 * error must come with a message that names the source.
 *
 *   clang build: -DRV_FUZZ=ON -> build/<dir>/test/fuzz_config corpus/config
 *   normal build: replay_config test/fuzz/corpus/config
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rv_config cfg;
	static const enum rv_config_role roles[] = { RV_CONFIG_SERVER, RV_CONFIG_CLIENT };
	char err[1024];

	for (size_t i = 0; i < 2; i++) {
		rv_config_defaults(&cfg, roles[i]);
		err[0] = '\0';
		if (rv_config_parse_buf(&cfg, "f.conf", (const char *)data, size, err,
					sizeof(err)) != 0) {
			if (strncmp(err, "f.conf:", 7) != 0) {
				abort(); /* every parse error names file:line */
			}
			continue;
		}
		if (rv_config_validate(&cfg, err, sizeof(err)) != 0 && err[0] == '\0') {
			abort(); /* every validation error says why */
		}
	}
	return 0;
}
