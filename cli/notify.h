/*
 * notify.h — telling systemd how the service is doing (sd_notify(3)):
 * READY=1 with a STATUS line once the server listens or the client's loop
 * runs, RELOADING=1 / READY=1 around a reload, STOPPING=1 at shutdown, and
 * WATCHDOG=1 pings from the control loop's tick at half of WatchdogSec.
 *
 * Without NOTIFY_SOCKET (not started by systemd) every call does nothing.
 * A message the socket cannot take at once is dropped and said, never
 * waited for (its reader may never come).
 * libsystemd is linked into the ringvpn binary only; the control loop
 * reaches this through rv_loop_params.notify (rv_notify_loop_event).
 * All calls are made on the control thread.
 */
#ifndef RV_CLI_NOTIFY_H
#define RV_CLI_NOTIFY_H

#include <stdint.h>

#include "tls/loop.h"

struct rv_notify {
	uint64_t watchdog_ns; /* ping interval (half of WatchdogSec); 0: no watchdog */
};

/* rv_notify_init reads the watchdog settings systemd passed (WATCHDOG_USEC,
 * WATCHDOG_PID) into |n|. */
void rv_notify_init(struct rv_notify *n);

/* rv_notify_ready sends READY=1 and STATUS=|status|. */
void rv_notify_ready(const char *status);

struct rv_dataplane;

/* rv_notify_mark_on_stop names the locks that rv_notify_loop_event marks
 * stopping (rv_ns_lock_stopping) as the loop's stop begins: |tun_lock|
 * (-1: none) and |dp|'s port lock (NULL: none). */
void rv_notify_mark_on_stop(int tun_lock, struct rv_dataplane *dp);

/* rv_notify_stopping sends STOPPING=1 and STATUS=|status|. */
void rv_notify_stopping(const char *status);

/* rv_notify_loop_event is the rv_loop_params.notify callback; |ctx| is
 * unused (the loop itself paces WATCHDOG by rv_loop_params.watchdog_ns). */
void rv_notify_loop_event(void *ctx, enum rv_loop_event ev, const char *status);

#endif /* RV_CLI_NOTIFY_H */
