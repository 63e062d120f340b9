/*
 * fuzz_mgmt.c — libFuzzer harness for the management socket's request
 * parser (core/mgmt.h rv_mgmt_parse): whatever a caller of the status
 * socket sends. A refusal must say why; a request taken must be written
 * again by rv_mgmt_format (what `ringvpn status`, `kick`... send) as a line
 * that parses to the same request.
 *
 *   clang build: -DRV_FUZZ=ON -> build/<dir>/test/fuzz_mgmt corpus/mgmt
 *   normal build: replay_mgmt test/fuzz/corpus/mgmt
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mgmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_mgmt_req a, b;
	char err[256], line[RV_MGMT_MAX_REQ];

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	err[0] = '\0';
	if (rv_mgmt_parse(&a, (const char *)data, size, err, sizeof(err)) != 0) {
		if (err[0] == '\0') {
			abort(); /* every refusal says why */
		}
		return 0;
	}
	if (a.cmd >= RV_MGMT_NUM_CMDS || strnlen(a.name, sizeof(a.name)) > RV_MGMT_NAME_MAX ||
	    rv_mgmt_format(line, sizeof(line), &a) != 0 ||
	    rv_mgmt_parse(&b, line, strlen(line), err, sizeof(err)) != 0 || a.cmd != b.cmd ||
	    strcmp(a.name, b.name) != 0 ||
	    (a.cmd == RV_MGMT_STATUS && (a.format != b.format || a.end_mark != b.end_mark)) ||
	    (a.cmd == RV_MGMT_LOG_LEVEL && a.level != b.level)) {
		abort();
	}
	return 0;
}
