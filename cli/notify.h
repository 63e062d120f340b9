/*
 * notify.h — telling systemd how the service is doing (sd_notify(3)): the
 * control loop's events (tls/loop.h, enum rv_loop_event) become READY=1,
 * STATUS=, RELOADING=1 (then READY=1), STOPPING=1 and WATCHDOG=1 messages.
 *
 * Without NOTIFY_SOCKET (not started by systemd) nothing is sent. libsystemd
 * is linked into the ringvpn binary only; the loop reaches this through
 * rv_loop_params.notify. Called on the control thread.
 */
#ifndef RV_CLI_NOTIFY_H
#define RV_CLI_NOTIFY_H

#include <stdint.h>

#include "tls/loop.h"

/* rv_notify_watchdog_ns returns how often the loop must ping: half of the
 * WatchdogSec= systemd passed (WATCHDOG_USEC/WATCHDOG_PID), or 0 when the
 * watchdog is off. For rv_loop_params.watchdog_ns. */
uint64_t rv_notify_watchdog_ns(void);

/* rv_notify_event is the rv_loop_params.notify callback (|ctx| unused). */
void rv_notify_event(void *ctx, enum rv_loop_event ev, const char *status);

#endif /* RV_CLI_NOTIFY_H */
