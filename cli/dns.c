/*
 * dns.c — pushed DNS servers to systemd-resolved (see dns.h).
 */
#include "cli/dns.h"

#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <systemd/sd-bus.h>

#include "core/ip.h"

enum { CALL_TIMEOUT_USEC = 2 * 1000 * 1000 };

static const char resolve_dest[] = "org.freedesktop.resolve1";
static const char resolve_path[] = "/org/freedesktop/resolve1";
static const char resolve_iface[] = "org.freedesktop.resolve1.Manager";

struct rv_cli_dns {
	sd_bus *bus; /* NULL: not connected (none at start, or it broke) */
};

/* connect_bus connects to the system bus (calls wait for its handshake).
 * Returns 0 or -errno. */
static int connect_bus(sd_bus **out)
{
	sd_bus *bus = NULL;
	int r;

	*out = NULL;
	r = sd_bus_open_system(&bus);
	if (r >= 0) {
		r = sd_bus_set_method_call_timeout(bus, CALL_TIMEOUT_USEC);
	}
	if (r < 0) {
		sd_bus_close_unref(bus);
		return r;
	}
	*out = bus;
	return 0;
}

int rv_cli_dns_new(struct rv_cli_dns **out)
{
	/* Not connected yet: the first push connects, after the privilege
	 * drop (dns.h). */
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void rv_cli_dns_free(struct rv_cli_dns *d)
{
	if (!d) {
		return;
	}
	sd_bus_close_unref(d->bus);
	free(d);
}

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

/* new_call starts a Manager method call on |ifindex|. Returns 0 or -errno
 * with why in |err|. */
static int new_call(sd_bus *bus, sd_bus_message **m, const char *method, int ifindex, char *err,
		    size_t err_len)
{
	int r = sd_bus_message_new_method_call(bus, m, resolve_dest, resolve_path, resolve_iface,
					       method);

	if (r >= 0) {
		r = sd_bus_message_append(*m, "i", ifindex);
	}
	if (r < 0) {
		snprintf(err, err_len, "cannot build the D-Bus request: %s", strerror(-r));
		*m = sd_bus_message_unref(*m);
	}
	return r;
}

/* append_servers appends resolved's a(iay) list of |servers| to |m|. */
static int append_servers(sd_bus_message *m, const struct rv_ip_addr *servers, size_t num)
{
	int r = sd_bus_message_open_container(m, 'a', "(iay)");

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
	return r;
}

/* set_link makes the calls on |bus|: RevertLink when there is nothing to
 * set, else SetLinkDNS then SetLinkDomains. */
static int set_link(sd_bus *bus, int ifindex, const struct rv_ip_addr *servers, size_t num,
		    const char *domain, char *err, size_t err_len)
{
	sd_bus_message *m = NULL;
	int r;

	if (num == 0 && !domain[0]) {
		/* The push withdrawn: the link's DNS settings go. */
		r = new_call(bus, &m, "RevertLink", ifindex, err, err_len);
		return r < 0 ? r : call(bus, m, "RevertLink", err, err_len);
	}
	r = new_call(bus, &m, "SetLinkDNS", ifindex, err, err_len);
	if (r < 0) {
		return r;
	}
	r = append_servers(m, servers, num);
	if (r < 0) {
		snprintf(err, err_len, "cannot build the D-Bus request: %s", strerror(-r));
		sd_bus_message_unref(m);
		return r;
	}
	r = call(bus, m, "SetLinkDNS", err, err_len);
	if (r < 0) {
		return r;
	}
	r = new_call(bus, &m, "SetLinkDomains", ifindex, err, err_len);
	if (r < 0) {
		return r;
	}
	/* false: a search domain, not a routing-only one. None: the link's
	 * old one goes (a reload took push_domain out). */
	r = domain[0] ? sd_bus_message_append(m, "a(sb)", 1, domain, 0)
		      : sd_bus_message_append(m, "a(sb)", 0);
	if (r < 0) {
		snprintf(err, err_len, "cannot build the D-Bus request: %s", strerror(-r));
		sd_bus_message_unref(m);
		return r;
	}
	return call(bus, m, "SetLinkDomains", err, err_len);
}

/* broken: does |r| say the connection itself is gone (the bus daemon
 * restarted), rather than resolved answering? */
static bool broken(int r)
{
	return r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE || r == -ESHUTDOWN;
}

/* connected_set_link makes the calls, connecting first when there is no
 * connection. */
static int connected_set_link(struct rv_cli_dns *d, int ifindex, const struct rv_ip_addr *servers,
			      size_t num, const char *domain, char *err, size_t err_len)
{
	int r;

	if (!d->bus) {
		r = connect_bus(&d->bus);
		if (r < 0) {
			snprintf(err, err_len, "no system D-Bus: %s", strerror(-r));
			return r;
		}
	}
	return set_link(d->bus, ifindex, servers, num, domain, err, err_len);
}

int rv_cli_apply_dns(void *ctx, const char *ifname, const struct rv_ip_addr *servers, size_t num,
		     const char *domain, char *err, size_t err_len)
{
	struct rv_cli_dns *d = ctx;
	int ifindex = (int)if_nametoindex(ifname);
	int r;

	if (ifindex <= 0) {
		snprintf(err, err_len, "no interface %s", ifname);
		return -ENODEV;
	}
	r = connected_set_link(d, ifindex, servers, num, domain, err, err_len);
	if (broken(r) || (d->bus && sd_bus_is_open(d->bus) <= 0)) {
		/* The bus daemon restarted: once more on a new connection. */
		d->bus = sd_bus_close_unref(d->bus);
		if (r < 0) {
			r = connected_set_link(d, ifindex, servers, num, domain, err, err_len);
		}
	}
	/* Messages nobody asked for (the bus's NameAcquired) are dropped. */
	while (d->bus && sd_bus_process(d->bus, NULL) > 0) {
	}
	return r;
}
