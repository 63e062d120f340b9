/*
 * fake_resolved.c — a stand-in for systemd-resolved's D-Bus API, for the
 * integration tests only (built as rvt_fake_resolved, never installed):
 * the tests' hosts have no systemd-resolved, and the client's DNS handling
 * (cli/dns.c) must be seen to reach it.
 *
 *   rvt_fake_resolved BUS_ADDRESS LOG [ALLOW_USER]
 *       connects to the D-Bus at BUS_ADDRESS (a private bus the test runs
 *       with dbus-daemon; never the host's: the address is required and is
 *       used as given), takes the name org.freedesktop.resolve1, prints
 *       "ready" and serves org.freedesktop.resolve1.Manager's
 *       SetLinkDNS(i a(iay)), SetLinkDomains(i a(sb)) and RevertLink(i), with
 *       resolved's signatures. Each call is one line appended to LOG:
 *
 *         SetLinkDNS link=rvc(5) uid=0 servers=10.99.0.1,fd99::1
 *         SetLinkDomains link=rvc(5) uid=0 domains=corp.test,~routing.test
 *         RevertLink link=rvc(5) uid=0
 *         SetLinkDNS link=rvc(5) uid=65534 denied
 *
 *       (the link as this namespace names the index: run it in the
 *       client's; an index with no link is refused as resolved refuses it).
 *       After each call it did, a second line gives what the link now has,
 *       kept as resolved keeps it (SetLinkDNS and SetLinkDomains replace
 *       the link's list, an empty one clears it; RevertLink clears both):
 *
 *         state link=rvc(5) dns=10.99.0.1,fd99::1 domains=
 *
 *       A caller is authorized as resolved does it (sd_bus_query_sender_
 *       privilege with CAP_NET_ADMIN, then polkit): a message bus tells a
 *       service its callers' uid, never their capabilities, so only root
 *       passes that check; ALLOW_USER stands for a polkit rule granting
 *       that user (there is no polkit here, and resolved without one
 *       refuses everyone else). A refused call gets AccessDenied.
 *       Runs until killed.
 */
#include <errno.h>
#include <net/if.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/capability.h>

#include <systemd/sd-bus.h>

enum { MAX_LINKS = 64 };

/* What one link has, as the log shows it (comma-separated lists). */
struct link {
	int ifindex;
	char dns[512];
	char domains[512];
};

static FILE *log_file;
static uid_t allow_uid = (uid_t)-1;
static struct link links[MAX_LINKS];

/* link_of returns |ifindex|'s entry, a new one when it has none yet. */
static struct link *link_of(int ifindex)
{
	size_t i;

	for (i = 0; i < MAX_LINKS && links[i].ifindex; i++) {
		if (links[i].ifindex == ifindex) {
			return &links[i];
		}
	}
	if (i == MAX_LINKS) {
		fprintf(stderr, "more than %d links\n", MAX_LINKS);
		exit(1);
	}
	links[i].ifindex = ifindex;
	return &links[i];
}

/* say appends one line to the log, at once (the test reads it meanwhile). */
static void say(const char *line)
{
	fprintf(log_file, "%s\n", line);
	fflush(log_file);
}

/* say_state logs what |ifindex| has now. */
static void say_state(int ifindex)
{
	const struct link *k = link_of(ifindex);
	char name[IF_NAMESIZE] = "?";

	(void)if_indextoname((unsigned)ifindex, name);
	fprintf(log_file, "state link=%s(%d) dns=%s domains=%s\n", name, ifindex, k->dns,
		k->domains);
	fflush(log_file);
}

/* begin reads the link index, checks the link and the caller, and starts
 * the log line in |line|: |method|, the link, the caller and " |field|="
 * (none when |field| is NULL). Returns 0 with *|ifindex| set, or a
 * negative errno with |error| set (the reply). */
static int begin(sd_bus_message *m, const char *method, const char *field, int *ifindex, char *line,
		 size_t line_len, sd_bus_error *error)
{
	sd_bus_creds *creds = NULL;
	char name[IF_NAMESIZE] = "?";
	uid_t uid = (uid_t)-1;
	int r;

	r = sd_bus_message_read(m, "i", ifindex);
	if (r < 0) {
		return r;
	}
	if (sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds) >= 0) {
		(void)sd_bus_creds_get_euid(creds, &uid);
	}
	sd_bus_creds_unref(creds);
	if (*ifindex <= 0 || !if_indextoname((unsigned)*ifindex, name)) {
		snprintf(line, line_len, "%s link=?(%d) uid=%d no such link", method, *ifindex,
			 (int)uid);
		say(line);
		return sd_bus_error_setf(error, "org.freedesktop.resolve1.NoSuchLink",
					 "Link %d not known", *ifindex);
	}
	snprintf(line, line_len, "%s link=%s(%d) uid=%d", method, name, *ifindex, (int)uid);
	r = sd_bus_query_sender_privilege(m, CAP_NET_ADMIN);
	if (r <= 0 && !(allow_uid != (uid_t)-1 && uid == allow_uid)) {
		snprintf(line + strlen(line), line_len - strlen(line), " denied");
		say(line);
		return sd_bus_error_set_const(error, SD_BUS_ERROR_ACCESS_DENIED, "Access denied");
	}
	if (field) {
		snprintf(line + strlen(line), line_len - strlen(line), " %s=", field);
	}
	return 0;
}

/* done logs |line|, keeps what it says from |start| on as the link's
 * |list| (NULL: the link's two lists are cleared), logs what the link has
 * now and replies. */
static int done(sd_bus_message *m, const char *line, size_t start, int ifindex, char *list,
		size_t list_len)
{
	say(line);
	if (list) {
		snprintf(list, list_len, "%s", line + start);
	} else {
		link_of(ifindex)->dns[0] = '\0';
		link_of(ifindex)->domains[0] = '\0';
	}
	say_state(ifindex);
	return sd_bus_reply_method_return(m, NULL);
}

static int set_link_dns(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	char line[1024], a[INET6_ADDRSTRLEN];
	const char *sep = "";
	int ifindex, r;
	size_t start;

	(void)userdata;
	r = begin(m, "SetLinkDNS", "servers", &ifindex, line, sizeof(line), error);
	if (r < 0) {
		return r;
	}
	start = strlen(line);
	r = sd_bus_message_enter_container(m, 'a', "(iay)");
	while (r >= 0 && (r = sd_bus_message_enter_container(m, 'r', "iay")) > 0) {
		const void *addr;
		size_t addr_len;
		int family;

		r = sd_bus_message_read(m, "i", &family);
		if (r >= 0) {
			r = sd_bus_message_read_array(m, 'y', &addr, &addr_len);
		}
		if (r < 0) {
			return r;
		}
		if (!((family == AF_INET && addr_len == 4) ||
		      (family == AF_INET6 && addr_len == 16))) {
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
						 "Invalid address: family %d, %zu bytes", family,
						 addr_len);
		}
		inet_ntop(family, addr, a, sizeof(a));
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s%s", sep, a);
		sep = ",";
		r = sd_bus_message_exit_container(m);
	}
	if (r >= 0) {
		r = sd_bus_message_exit_container(m);
	}
	if (r < 0) {
		return r;
	}
	return done(m, line, start, ifindex, link_of(ifindex)->dns, sizeof(links[0].dns));
}

static int set_link_domains(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *sep = "", *domain;
	char line[1024];
	int ifindex, route_only, r;
	size_t start;

	(void)userdata;
	r = begin(m, "SetLinkDomains", "domains", &ifindex, line, sizeof(line), error);
	if (r < 0) {
		return r;
	}
	start = strlen(line);
	r = sd_bus_message_enter_container(m, 'a', "(sb)");
	while (r >= 0 && (r = sd_bus_message_read(m, "(sb)", &domain, &route_only)) > 0) {
		/* As resolvectl shows them: "~" marks a routing-only domain. */
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s%s%s", sep,
			 route_only ? "~" : "", domain);
		sep = ",";
	}
	if (r >= 0) {
		r = sd_bus_message_exit_container(m);
	}
	if (r < 0) {
		return r;
	}
	return done(m, line, start, ifindex, link_of(ifindex)->domains, sizeof(links[0].domains));
}

static int revert_link(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	char line[256];
	int ifindex, r;

	(void)userdata;
	r = begin(m, "RevertLink", NULL, &ifindex, line, sizeof(line), error);
	if (r < 0) {
		return r;
	}
	return done(m, line, 0, ifindex, NULL, 0);
}

static const sd_bus_vtable manager[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("SetLinkDNS", "ia(iay)", "", set_link_dns, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("SetLinkDomains", "ia(sb)", "", set_link_domains, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("RevertLink", "i", "", revert_link, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END,
};

int main(int argc, char **argv)
{
	sd_bus *bus = NULL;
	int r;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s BUS_ADDRESS LOG [ALLOW_USER]\n", argv[0]);
		return 2;
	}
	if (argc == 4) {
		struct passwd *pw = getpwnam(argv[3]);

		if (!pw) {
			fprintf(stderr, "no user %s\n", argv[3]);
			return 2;
		}
		allow_uid = pw->pw_uid;
	}
	log_file = fopen(argv[2], "a");
	if (!log_file) {
		perror(argv[2]);
		return 1;
	}
	/* The given bus only: sd_bus_open_system would fall back to the
	 * host's system bus. */
	r = sd_bus_new(&bus);
	if (r >= 0) {
		r = sd_bus_set_address(bus, argv[1]);
	}
	if (r >= 0) {
		r = sd_bus_set_bus_client(bus, 1);
	}
	if (r >= 0) {
		r = sd_bus_start(bus);
	}
	if (r >= 0) {
		r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/resolve1",
					     "org.freedesktop.resolve1.Manager", manager, NULL);
	}
	if (r >= 0) {
		r = sd_bus_request_name(bus, "org.freedesktop.resolve1", 0);
	}
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		r = sd_bus_process(bus, NULL);
		if (r > 0) {
			continue;
		}
		if (r >= 0) {
			r = sd_bus_wait(bus, UINT64_MAX);
		}
		if (r < 0) {
			fprintf(stderr, "bus: %s\n", strerror(-r));
			return 1;
		}
	}
}
