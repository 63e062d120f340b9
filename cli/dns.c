/*
 * dns.c — pushed DNS servers to systemd-resolved (see dns.h).
 */
#include "cli/dns.h"

#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "core/clock.h"
#include "core/ip.h"
#include "core/log.h"

enum { CALL_TIMEOUT_USEC = 2 * 1000 * 1000 };

static const char resolve_dest[] = "org.freedesktop.resolve1";
static const char resolve_path[] = "/org/freedesktop/resolve1";
static const char resolve_iface[] = "org.freedesktop.resolve1.Manager";

/* What the link should have: the latest request wins (each is the whole
 * state, so the ones it replaces need not be made). */
struct want {
	int ifindex;
	char ifname[IF_NAMESIZE];
	struct rv_ip_addr servers[RV_CLI_DNS_MAX];
	size_t num;
	char domain[RV_CLI_DNS_DOMAIN_MAX + 1];
	char desc[RV_CLI_DNS_DESC_MAX]; /* for the log */
};

struct rv_cli_dns {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started; /* the thread runs (made at the first request) */
	bool stop;
	bool busy;		  /* the thread is making calls */
	uint64_t wanted, applied; /* request generations */
	struct want want;
	pthread_t thread;
	/* A push may have reached resolved since the last taking back that
	 * did (the thread's own: no lock). Without one, a taking back has
	 * nothing to take (round-sixty-five tester 276: every push failed
	 * for want of a bus, and accept_dns = no warned "what was set cannot
	 * be taken back", trying again). */
	bool touched;
};

/* pump reads and handles |bus|'s messages until |done| says so or
 * |deadline_ns| passes. A message nobody waits for is dropped as soon as it
 * is read: anyone on the bus may send us signals, and sd_bus_call, which
 * queues every message until its reply comes, let a flood of them take
 * hundreds of megabytes. Returns 0, or -errno (-ETIMEDOUT). */
static int pump(sd_bus *bus, bool (*done)(sd_bus *bus, void *arg), void *arg, uint64_t deadline_ns)
{
	while (!done(bus, arg)) {
		uint64_t now = rv_now_ns();
		int r = sd_bus_process(bus, NULL);

		if (r < 0) {
			return r;
		}
		if (r > 0) {
			continue;
		}
		if (now >= deadline_ns) {
			return -ETIMEDOUT;
		}
		r = sd_bus_wait(bus, (deadline_ns - now) / 1000);
		if (r < 0) {
			return r;
		}
	}
	return 0;
}

static bool bus_ready(sd_bus *bus, void *arg)
{
	(void)arg;
	return sd_bus_is_ready(bus) > 0;
}

/* connect_bus connects to the system bus and waits for the bus's handshake
 * until |deadline_ns| (sd-bus alone would wait 90 s for a bus that accepts
 * and never answers). Returns 0 or -errno. */
static int connect_bus(sd_bus **out, uint64_t deadline_ns)
{
	sd_bus *bus = NULL;
	int r;

	*out = NULL;
	r = sd_bus_open_system(&bus);
	if (r >= 0) {
		r = pump(bus, bus_ready, NULL, deadline_ns);
	}
	if (r < 0) {
		sd_bus_close_unref(bus);
		return r;
	}
	*out = bus;
	return 0;
}

/* struct reply is what came back for one call. */
struct reply {
	bool done;
	int err; /* 0, or -errno of resolved's error */
	char msg[200];
	bool has_u; /* a reply of one uint32, |u| */
	uint32_t u;
};

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	const sd_bus_error *e = sd_bus_message_get_error(m);
	struct reply *rep = userdata;

	(void)ret_error;
	rep->done = true;
	if (e) {
		int errnum = sd_bus_error_get_errno(e);

		rep->err = errnum > 0 ? -errnum : -EIO;
		snprintf(rep->msg, sizeof(rep->msg), "%s", e->message ? e->message : e->name);
	} else if (sd_bus_message_has_signature(m, "u") > 0) {
		rep->has_u = sd_bus_message_read(m, "u", &rep->u) > 0;
	}
	return 1;
}

static bool replied(sd_bus *bus, void *arg)
{
	(void)bus;
	return ((struct reply *)arg)->done;
}

/* call_u sends |m| and waits at most CALL_TIMEOUT_USEC for its reply,
 * reporting a failure in |err|; a reply of one uint32 goes to |*u| (NULL:
 * none wanted; -EBADMSG when it was and none came). Takes |m|. */
static int call_u(sd_bus *bus, sd_bus_message *m, const char *what, uint32_t *u, char *err,
		  size_t err_len)
{
	struct reply rep = { .done = false };
	sd_bus_slot *slot = NULL;
	int r = sd_bus_call_async(bus, &slot, m, on_reply, &rep, CALL_TIMEOUT_USEC);

	sd_bus_message_unref(m);
	if (r >= 0) {
		r = pump(bus, replied, &rep, rv_now_ns() + (uint64_t)CALL_TIMEOUT_USEC * 1000);
	}
	/* No callback into this frame once it is gone. */
	sd_bus_slot_unref(slot);
	if (r >= 0) {
		r = rep.err;
	}
	if (r >= 0 && u) {
		r = rep.has_u ? 0 : -EBADMSG;
		*u = rep.u;
	}
	if (r < 0) {
		snprintf(err, err_len, "systemd-resolved %s: %s", what,
			 rep.msg[0] ? rep.msg : strerror(-r));
	}
	return r;
}

static int call(sd_bus *bus, sd_bus_message *m, const char *what, char *err, size_t err_len)
{
	return call_u(bus, m, what, NULL, err, err_len);
}

/* resolved_elsewhere: does resolved run in another network namespace than
 * this process (a client under `ip netns exec`, or in a container that
 * shares the host's bus)? An interface index names another link there:
 * the TUN's DNS went to whichever link had its number, and the revert at a
 * stop wiped that link's (round-sixty-four tester 262). Told by
 * /proc/PID/net/dev, whose inode is its namespace's and which any user may
 * look at (the namespace's own link needs the right to trace PID). False
 * when it cannot be told (the bus does not say, another PID namespace):
 * the push is made, as before. */
static bool resolved_elsewhere(sd_bus *bus, uint32_t *pid)
{
	struct stat own, its;
	sd_bus_message *m = NULL;
	char path[64], err[256];

	if (sd_bus_message_new_method_call(bus, &m, "org.freedesktop.DBus", "/org/freedesktop/DBus",
					   "org.freedesktop.DBus",
					   "GetConnectionUnixProcessID") < 0 ||
	    sd_bus_message_append(m, "s", resolve_dest) < 0) {
		sd_bus_message_unref(m);
		return false;
	}
	if (call_u(bus, m, "GetConnectionUnixProcessID", pid, err, sizeof(err)) < 0 || *pid == 0) {
		return false;
	}
	snprintf(path, sizeof(path), "/proc/%u/net/dev", (unsigned)*pid);
	return stat("/proc/self/net/dev", &own) == 0 && stat(path, &its) == 0 &&
	       (own.st_dev != its.st_dev || own.st_ino != its.st_ino);
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

/* How often a push that failed is made again (resolved restarting, the bus
 * busy), and after how long: 5, 15, 45 s. */
enum { RETRIES = 3, RETRY_FIRST_S = 5 };

/* apply makes |w| the link's, on a connection of its own, closed after:
 * none stays open between pushes for others on the bus to send messages
 * to. Logs the outcome: the first failure, and the last attempt's
 * (|attempt| counts from 0). Returns true when it was made. DNS thread. */
static bool apply(const struct want *w, unsigned attempt, bool *touched)
{
	char err[256] = "", now[IF_NAMESIZE];
	/* The TUN's name now: a renamed one keeps its index. */
	const char *ifname = if_indextoname((unsigned)w->ifindex, now) ? now : w->ifname;
	bool revert = w->num == 0 && !w->domain[0];
	sd_bus *bus = NULL;
	uint32_t pid = 0;
	int r;

	if (revert && !*touched) {
		rv_info_rl("DNS via %s: %s: nothing to take back: no push reached "
			   "systemd-resolved",
			   ifname, w->desc);
		return true;
	}
	r = connect_bus(&bus, rv_now_ns() + (uint64_t)CALL_TIMEOUT_USEC * 1000);
	if (r < 0) {
		snprintf(err, sizeof(err), "no system D-Bus: %s", strerror(-r));
	} else if (resolved_elsewhere(bus, &pid)) {
		sd_bus_close_unref(bus);
		/* Not tried again: where it runs stays. A taking back (the
		 * server's, or this end's at a stop) has nothing there to take
		 * back: said at info, not as a push (tester 264). */
		if (w->num == 0 && !w->domain[0]) {
			rv_info_rl("DNS via %s: nothing taken back: systemd-resolved (pid %u) "
				   "runs in another network namespace, where nothing was set",
				   ifname, (unsigned)pid);
		} else {
			rv_warnx_rl("server pushed DNS %s: not applied: systemd-resolved (pid %u) "
				    "runs in another network namespace than this client, "
				    "where link %d is not %s (/etc/resolv.conf is left alone)",
				    w->desc, (unsigned)pid, w->ifindex, ifname);
		}
		return true;
	} else {
		/* Sent: a call that failed or timed out may have been made. */
		*touched = *touched || !revert;
		r = set_link(bus, w->ifindex, w->servers, w->num, w->domain, err, sizeof(err));
	}
	sd_bus_close_unref(bus);
	if (r >= 0 && revert) {
		*touched = false;
	}
	if (r >= 0) {
		rv_info_rl("DNS via %s: %s", ifname, w->desc); /* a server may push at will */
		return true;
	}
	/* Within the log's limit, as the success is: a server pushing at
	 * will wrote one line a push, 95 a second (round-thirty-two tester
	 * 170). */
	/* A taking back (the server's withdrawal, accept_dns = no, a stop)
	 * is no push of the server's (it was said as one: tester 267). */
	if (attempt == 0 && w->num == 0 && !w->domain[0]) {
		rv_warnx_rl("DNS via %s: %s: what was set cannot be taken back: %s (trying again "
			    "in %u s)",
			    ifname, w->desc, err, RETRY_FIRST_S);
	} else if (attempt == 0) {
		rv_warnx_rl("server pushed DNS %s: not applied: %s (/etc/resolv.conf is left "
			    "alone; "
			    "trying again in %u s)",
			    w->desc, err, RETRY_FIRST_S);
	} else if (attempt == RETRIES && w->num == 0 && !w->domain[0]) {
		rv_warnx_rl("DNS via %s: %s: what was set cannot be taken back after %u attempts: "
			    "%s",
			    ifname, w->desc, RETRIES + 1, err);
	} else if (attempt == RETRIES) {
		rv_warnx_rl("server pushed DNS %s: not applied after %u attempts: %s", w->desc,
			    RETRIES + 1, err);
	}
	return false;
}

/* in_s: |s| seconds from now, for a timed wait on the monotonic clock the
 * condition variable runs on (rv_cli_dns_new). */
static struct timespec in_s(unsigned s)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += s;
	return t;
}

/* newer_within waits up to |s| seconds for a request newer than the one
 * being made, or the end. Called with d->mu held. */
static bool newer_within(struct rv_cli_dns *d, unsigned s)
{
	struct timespec until = in_s(s);

	while (!d->stop && d->applied == d->wanted &&
	       pthread_cond_timedwait(&d->cv, &d->mu, &until) != ETIMEDOUT) {
	}
	return d->stop || d->applied != d->wanted;
}

static void *dns_thread(void *arg)
{
	struct rv_cli_dns *d = arg;
	struct want w;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		while (!d->stop && d->applied == d->wanted) {
			pthread_cond_wait(&d->cv, &d->mu);
		}
		/* A request made before the stop (the revert of a persistent
		 * TUN's DNS at exit) is made, once: newer_within ends the
		 * retries at the stop. */
		if (d->applied == d->wanted) {
			break;
		}
		w = d->want;
		d->applied = d->wanted;
		d->busy = true;
		for (unsigned attempt = 0, wait_s = RETRY_FIRST_S;; attempt++, wait_s *= 3) {
			bool made;

			pthread_mutex_unlock(&d->mu);
			made = apply(&w, attempt, &d->touched);
			pthread_mutex_lock(&d->mu);
			if (made || attempt == RETRIES || newer_within(d, wait_s)) {
				break;
			}
		}
		d->busy = false;
		pthread_cond_broadcast(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

int rv_cli_dns_new(struct rv_cli_dns **out)
{
	struct rv_cli_dns *d = calloc(1, sizeof(*d));
	pthread_condattr_t ca;

	*out = NULL;
	if (!d) {
		return -ENOMEM;
	}
	pthread_mutex_init(&d->mu, NULL);
	/* Waits are timed on the monotonic clock: a step of the wall clock
	 * neither skips a retry nor holds one up for hours. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = d;
	return 0;
}

void rv_cli_dns_free(struct rv_cli_dns *d)
{
	struct timespec until;
	bool busy;

	if (!d) {
		return;
	}
	pthread_mutex_lock(&d->mu);
	d->stop = true;
	pthread_cond_broadcast(&d->cv);
	/* A call in flight ends within its timeout; exiting is not held up
	 * for it longer than a second, or for a request not yet made (a
	 * revert at exit: a connection and a call, two seconds each) longer
	 * than five. */
	until = in_s(d->applied != d->wanted ? 5 : 1);
	while (d->started && (d->busy || d->applied != d->wanted) &&
	       pthread_cond_timedwait(&d->cv, &d->mu, &until) != ETIMEDOUT) {
	}
	busy = d->started && (d->busy || d->applied != d->wanted);
	pthread_mutex_unlock(&d->mu);
	if (busy) {
		/* Left to the process's exit, with the state it still uses. */
		pthread_detach(d->thread);
		return;
	}
	if (d->started) {
		pthread_join(d->thread, NULL);
	}
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

int rv_cli_apply_dns(void *ctx, const struct rv_dns_want *req, char *err, size_t err_len)
{
	struct rv_cli_dns *d = ctx;
	struct want w = { .ifindex = (int)req->ifindex };
	int ret = 0;

	if (w.ifindex <= 0) {
		snprintf(err, err_len, "no interface %s", req->ifname);
		return -ENODEV;
	}
	if (req->num > RV_CLI_DNS_MAX || strlen(req->domain) > RV_CLI_DNS_DOMAIN_MAX) {
		snprintf(err, err_len, "more DNS servers or a longer domain than it takes");
		return -EINVAL;
	}
	snprintf(w.ifname, sizeof(w.ifname), "%s", req->ifname);
	memcpy(w.servers, req->servers, req->num * sizeof(w.servers[0]));
	w.num = req->num;
	snprintf(w.domain, sizeof(w.domain), "%s", req->domain);
	snprintf(w.desc, sizeof(w.desc), "%s", req->desc);
	pthread_mutex_lock(&d->mu);
	if (!d->started) {
		ret = -pthread_create(&d->thread, NULL, dns_thread, d);
		d->started = ret == 0;
	}
	if (ret == 0) {
		d->want = w;
		d->wanted++;
		pthread_cond_broadcast(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
	if (ret) {
		snprintf(err, err_len, "cannot start the DNS thread: %s%s", strerror(-ret),
			 ret == -EAGAIN ? " (the task limit: pids.max, TasksMax= in the unit, "
					  "RLIMIT_NPROC)"
					: "");
	}
	return ret;
}
