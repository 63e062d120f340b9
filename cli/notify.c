/*
 * notify.c — sd_notify(3) messages for Type=notify units (see notify.h).
 */
#include "cli/notify.h"

#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "core/log.h"

uint64_t rv_notify_watchdog_ns(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) {
		return 0;
	}
	rv_debug("systemd watchdog: pinging every %llu ms", (unsigned long long)(usec / 2000));
	return usec * 1000 / 2;
}

void rv_notify_event(void *ctx, enum rv_loop_event ev, const char *status)
{
	struct timespec ts;
	char msg[512];
	int ret;

	(void)ctx;
	if (!status) {
		status = "";
	}
	switch (ev) {
	case RV_LOOP_READY:
	case RV_LOOP_RELOADED:
		snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
		break;
	case RV_LOOP_STATUS:
		snprintf(msg, sizeof(msg), "STATUS=%s", status);
		break;
	case RV_LOOP_RELOADING:
		/* MONOTONIC_USEC lets systemd tell this reload from an older one. */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=%s",
			 (unsigned long long)ts.tv_sec * 1000000ull +
				 (unsigned long long)ts.tv_nsec / 1000,
			 status);
		break;
	case RV_LOOP_STOPPING:
		snprintf(msg, sizeof(msg), "STOPPING=1\nSTATUS=%s", status);
		break;
	case RV_LOOP_WATCHDOG:
		snprintf(msg, sizeof(msg), "WATCHDOG=1");
		break;
	default:
		return;
	}
	ret = sd_notify(0, msg);
	if (ret < 0) {
		rv_warn(ret, "sd_notify");
	}
}
