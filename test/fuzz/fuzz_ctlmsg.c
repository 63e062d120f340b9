/*
 * fuzz_ctlmsg.c — libFuzzer harness for the control-protocol decoder
 * (core/ctlmsg.h). Every input is framed and decoded; whatever decodes must
 * re-encode to exactly the same bytes (the encoding is canonical), so the
 * decoder can accept nothing the encoder would not produce.
 *
 *   clang build: -DRV_FUZZ=ON -> build/<dir>/test/fuzz_ctlmsg corpus/ctlmsg
 *   normal build: replay_ctlmsg test/fuzz/corpus/ctlmsg
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctlmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_ctl_msg m;
	uint8_t out[RV_CTL_MAX_FRAME];
	size_t flen = 0, n;

	/* A stream may hold several frames: walk them as the control loop does. */
	while (size > 0) {
		enum rv_ctl_err err = rv_ctl_frame_len(data, size, &flen);

		if (err != RV_CTL_OK) {
			(void)rv_ctl_decode(&m, data, size);
			return 0;
		}
		if (rv_ctl_decode(&m, data, flen) == RV_CTL_OK) {
			if (rv_ctl_encode(out, sizeof(out), &n, &m) != 0 || n != flen ||
			    memcmp(out, data, n) != 0) {
				abort(); /* accepted a frame that is not canonical */
			}
		}
		data += flen;
		size -= flen;
	}
	return 0;
}
