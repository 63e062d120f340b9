/*
 * dns.c — pushed DNS servers to systemd-resolved (see dns.h).
 */
#include "cli/dns.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <systemd/sd-bus.h>

#include "core/ip.h"

enum { CALL_TIMEOUT_USEC = 2 * 1000 * 1000 };

static const char resolve_dest[] = "org.freedesktop.resolve1";
static const char resolve_path[] = "/org/freedesktop/resolve1";
static const char resolve_iface[] = "org.freedesktop.resolve1.Manager";

/* call sends |m| and reports a failure in |err|. Takes |m|. */
static int call(sd_bus *bus, sd_bus_message *m, const char *what, char *err, size_t err_len)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int r = sd_bus_call(bus, m, CALL_TIMEOUT_USEC, &e, &reply);

	if (r < 0) {
		snprintf(err, err_len, "systemd-resolved %s: %s", what,
			 e.message ? e.message : strerror(-r));
	}
	sd_bus_error_free(&e);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	return r < 0 ? r : 0;
}

int rv_cli_apply_dns(void *ctx, const char *ifname, const struct rv_ip_addr *servers, size_t num,
		     const char *domain, char *err, size_t err_len)
{
	int ifindex = (int)if_nametoindex(ifname);
	sd_bus_message *m = NULL;
	sd_bus *bus = NULL;
	int r;

	(void)ctx;
	if (ifindex <= 0) {
		snprintf(err, err_len, "no interface %s", ifname);
		return -ENODEV;
	}
	r = sd_bus_open_system(&bus);
	if (r < 0) {
		snprintf(err, err_len, "no system D-Bus: %s", strerror(-r));
		return r;
	}
	if (num == 0 && !domain[0]) {
		/* The push withdrawn: the link's DNS settings go. */
		r = sd_bus_message_new_method_call(bus, &m, resolve_dest, resolve_path,
						   resolve_iface, "RevertLink");
		if (r >= 0) {
			r = sd_bus_message_append(m, "i", ifindex);
		}
		if (r < 0) {
			snprintf(err, err_len, "cannot build the D-Bus request: %s", strerror(-r));
			sd_bus_message_unref(m);
			goto out;
		}
		r = call(bus, m, "RevertLink", err, err_len);
		goto out;
	}
	r = sd_bus_message_new_method_call(bus, &m, resolve_dest, resolve_path, resolve_iface,
					   "SetLinkDNS");
	if (r >= 0) {
		r = sd_bus_message_append(m, "i", ifindex);
	}
	if (r >= 0) {
		r = sd_bus_message_open_container(m, 'a', "(iay)");
	}
	for (size_t i = 0; r >= 0 && i < num; i++) {
		bool v4 = servers[i].family == AF_INET;

		r = sd_bus_message_open_container(m, 'r', "iay");
		if (r >= 0) {
			r = sd_bus_message_append(m, "i", v4 ? AF_INET : AF_INET6);
		}
		if (r >= 0) {
			r = sd_bus_message_append_array(m, 'y', servers[i].a, v4 ? 4 : 16);
		}
		if (r >= 0) {
			r = sd_bus_message_close_container(m);
		}
	}
	if (r >= 0) {
		r = sd_bus_message_close_container(m);
	}
	if (r < 0) {
		snprintf(err, err_len, "cannot build the D-Bus request: %s", strerror(-r));
		sd_bus_message_unref(m);
		goto out;
	}
	r = call(bus, m, "SetLinkDNS", err, err_len);
	if (r < 0) {
		goto out;
	}
	m = NULL;
	r = sd_bus_message_new_method_call(bus, &m, resolve_dest, resolve_path, resolve_iface,
					   "SetLinkDomains");
	if (r >= 0) {
		/* false: a search domain, not a routing-only one. None: the
		 * link's old one goes (a reload took push_domain out). */
		r = domain[0] ? sd_bus_message_append(m, "ia(sb)", ifindex, 1, domain, 0)
			      : sd_bus_message_append(m, "ia(sb)", ifindex, 0);
	}
	if (r < 0) {
		snprintf(err, err_len, "cannot build the D-Bus request: %s", strerror(-r));
		sd_bus_message_unref(m);
		goto out;
	}
	r = call(bus, m, "SetLinkDomains", err, err_len);
out:
	sd_bus_flush_close_unref(bus);
	return r < 0 ? r : 0;
}
