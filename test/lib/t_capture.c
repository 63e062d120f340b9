/*
 * t_capture.c — see t_capture.h.
 */
#include "test/lib/t_capture.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void t_capture_stderr(void (*fn)(void), char *out, size_t cap)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	fflush(stderr);
	if (tmp == NULL || saved < 0 || dup2(fileno(tmp), STDERR_FILENO) < 0) {
		perror("t_capture_stderr");
		abort();
	}
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, cap - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
}
