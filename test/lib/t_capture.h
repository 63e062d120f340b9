/*
 * t_capture.h — for tests that check log lines: run a function with stderr
 * going to a temporary file and keep what it wrote. The log writes a file
 * through stderr itself (core/log.c keeps a descriptor of its own only for
 * a pipe or a terminal), so a capture must begin before the process's first
 * log line: a test that captures does its logging inside |fn|.
 *
 * Test-only code.
 */
#ifndef RV_TEST_LIB_T_CAPTURE_H
#define RV_TEST_LIB_T_CAPTURE_H

#include <stddef.h>

/* t_capture_stderr runs |fn| and leaves what it wrote to stderr in |out|
 * (|cap| bytes, NUL-terminated, cut if longer). A failure to redirect is a
 * bug in the test's setting: it prints why and aborts. */
void t_capture_stderr(void (*fn)(void), char *out, size_t cap);

#endif /* RV_TEST_LIB_T_CAPTURE_H */
