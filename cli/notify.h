/*
 * notify.h — telling systemd how the service is doing (sd_notify(3)):
 * READY=1 with a STATUS line once the server listens or the client's loop
 * runs, RELOADING=1 / READY=1 around a reload, STOPPING=1 at shutdown, and
 * WATCHDOG=1 pings from the control loop's tick at half of WatchdogSec.
 *
 * Without NOTIFY_SOCKET (not started by systemd) every call does nothing.
 * libsystemd is linked into the ringvpn binary only; the control loop
 * reaches this through rv_ctlloop_params.notify (rv_notify_ctl_event).
 * All calls are made on the control thread.
 */
#ifndef RV_CLI_NOTIFY_H
#define RV_CLI_NOTIFY_H

#include <stdint.h>

#include "tls/ctlloop.h"

struct rv_notify {
	uint64_t watchdog_ns;		 /* ping interval (half of WatchdogSec); 0: no watchdog */
	uint64_t last_ping_ns;		 /* CLOCK_MONOTONIC of the last WATCHDOG=1 */
	void (*on_dataplane)(void *ctx); /* client: called on RV_CTL_EV_DATAPLANE_UP */
	void *ctx;
};

/* rv_notify_init reads the watchdog settings systemd passed (WATCHDOG_USEC,
 * WATCHDOG_PID) into |n|. */
void rv_notify_init(struct rv_notify *n);

/* rv_notify_ready sends READY=1 and STATUS=|status|. */
void rv_notify_ready(const char *status);

/* rv_notify_stopping sends STOPPING=1 and STATUS=|status|. */
void rv_notify_stopping(const char *status);

/* rv_notify_ctl_event is the rv_ctlloop_params.notify callback; |ctx| is a
 * struct rv_notify. */
void rv_notify_ctl_event(void *ctx, enum rv_ctl_event ev, const char *status);

#endif /* RV_CLI_NOTIFY_H */
