/*
 * notify.c — sd_notify(3) messages for Type=notify units (see notify.h).
 */
#include "cli/notify.h"

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "core/log.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void send_state(const char *state)
{
	int ret = sd_notify(0, state);

	if (ret < 0) {
		rv_warn(ret, "sd_notify");
	}
}

void rv_notify_init(struct rv_notify *n)
{
	uint64_t usec = 0;

	n->watchdog_ns = 0;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		n->watchdog_ns = usec * 1000 / 2;
		rv_debug("systemd watchdog: pinging every %llu ms",
			 (unsigned long long)(n->watchdog_ns / 1000000));
	}
}

void rv_notify_ready(const char *status)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	send_state(msg);
}

void rv_notify_stopping(const char *status)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "STOPPING=1\nSTATUS=%s", status);
	send_state(msg);
}

void rv_notify_loop_event(void *ctx, enum rv_loop_event ev, const char *status)
{
	char msg[512];

	(void)ctx;
	switch (ev) {
	case RV_LOOP_READY:
		/* READY=1 was sent by the command once its sockets existed. */
		break;
	case RV_LOOP_STATUS:
		snprintf(msg, sizeof(msg), "STATUS=%s", status);
		send_state(msg);
		break;
	case RV_LOOP_WATCHDOG:
		/* Sent from a timer of the control loop, so a loop that hangs
		 * stops the pings and systemd restarts the service. */
		send_state("WATCHDOG=1");
		break;
	case RV_LOOP_RELOADING:
		/* MONOTONIC_USEC lets systemd tell this reload from an older one. */
		snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
			 (unsigned long long)(mono_ns() / 1000));
		send_state(msg);
		break;
	case RV_LOOP_RELOADED:
		snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status[0] ? status : "reloaded");
		send_state(msg);
		break;
	case RV_LOOP_STOPPING:
		rv_notify_stopping("stopping: saying goodbye to every peer");
		break;
	}
}
