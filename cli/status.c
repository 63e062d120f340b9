/*
 * status.c — `ringvpn status [--socket PATH] [--rekey [NAME]]`: asks a
 * running server or client over its local status socket and prints the
 * answer (one `key=value` line per session and per worker).
 */
#include "cli/cmds.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/exit.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: ringvpn status [-s PATH] [--rekey [NAME]]\n\n"
		   "  -s, --socket PATH  status socket (default /run/ringvpn-server.sock, then\n"
		   "                     /run/ringvpn-client.sock)\n"
		   "  -r, --rekey [NAME] start a rekey of every session (or NAME's) now\n"
		   "  -h, --help         this help\n");
}

static int try_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int rv_cmd_status(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "rekey", optional_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *rekey_name = NULL;
	bool rekey = false;
	char req[128], buf[4096];
	ssize_t n;
	size_t off = 0, len;
	int c, fd;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:r::h", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'r':
			rekey = true;
			rekey_name = optarg;
			if (!rekey_name && optind < argc && argv[optind][0] != '-') {
				rekey_name = argv[optind++];
			}
			break;
		case 'h':
			usage(stdout);
			return RV_EXIT_OK;
		default:
			fprintf(stderr, "ringvpn status: bad option %s (see --help)\n",
				argv[optind - 1]);
			return RV_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ringvpn status: unexpected argument '%s'\n", argv[optind]);
		return RV_EXIT_USAGE;
	}
	if (path) {
		fd = try_connect(path);
	} else {
		path = "/run/ringvpn-server.sock";
		fd = try_connect(path);
		if (fd < 0) {
			path = "/run/ringvpn-client.sock";
			fd = try_connect(path);
		}
	}
	if (fd < 0) {
		fprintf(stderr,
			"ringvpn status: cannot connect to %s: %s (is the server or "
			"client running? give its status_socket with -s)\n",
			path, strerror(errno));
		return errno == EACCES || errno == EPERM ? RV_EXIT_PERM : RV_EXIT_NET;
	}
	if (rekey) {
		snprintf(req, sizeof(req), "rekey%s%.100s\n", rekey_name ? " " : "",
			 rekey_name ? rekey_name : "");
	} else {
		snprintf(req, sizeof(req), "status\n");
	}
	len = strlen(req);
	while (off < len) {
		n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n <= 0) {
			fprintf(stderr, "ringvpn status: send: %s\n", strerror(errno));
			close(fd);
			return RV_EXIT_NET;
		}
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	c = RV_EXIT_OK;
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		if (memmem(buf, (size_t)n, "error:", 6)) {
			c = RV_EXIT_FAILURE;
		}
	}
	close(fd);
	return c;
}
