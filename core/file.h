/*
 * file.h — opening a file that must be a regular one (the configuration,
 * certificates and keys), without blocking on one that is not.
 */
#ifndef RV_CORE_FILE_H
#define RV_CORE_FILE_H

/* rv_open_regular opens |path| read-only (O_CLOEXEC) without blocking at
 * the open (a FIFO with no writer would wait for one for ever: `-n`, or a
 * whole control thread at a reload) and checks that it is a regular file.
 * Returns the descriptor, -errno of the open, -EISDIR for a directory or
 * -EINVAL for anything else that is not a regular file (a FIFO, socket or
 * device). */
int rv_open_regular(const char *path);

#endif /* RV_CORE_FILE_H */
