/*
 * fuzz_ctrlmsg.c — libFuzzer harness for the control-protocol decoder
 * (core/ctrlmsg.h). Every input is framed and decoded; whatever decodes must
 * re-encode to exactly the same bytes (the encoding is canonical), so the
 * decoder can accept nothing the encoder would not produce.
 *
 *   clang build: -DRV_FUZZ=ON -> build/<dir>/test/fuzz_ctrlmsg corpus/ctrlmsg
 *   normal build: replay_ctrlmsg test/fuzz/corpus/ctrlmsg
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctrlmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_ctrl_msg m;
	uint8_t out[RV_CTRL_MAX_FRAME];
	size_t flen = 0, n;

	/* A stream may hold several frames: walk them as the control loop does. */
	while (size > 0) {
		enum rv_ctrl_err err = rv_ctrl_frame_len(data, size, &flen);

		if (err != RV_CTRL_OK) {
			(void)rv_ctrl_decode(&m, data, size);
			return 0;
		}
		if (rv_ctrl_decode(&m, data, flen) == RV_CTRL_OK) {
			if (rv_ctrl_encode(out, sizeof(out), &n, &m) != 0 || n != flen ||
			    memcmp(out, data, n) != 0) {
				abort(); /* accepted a frame that is not canonical */
			}
		}
		data += flen;
		size -= flen;
	}
	return 0;
}
