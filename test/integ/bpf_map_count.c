/*
 * bpf_map_count.c — how many entries a process's eBPF maps hold (built as
 * rvt_bpf_map_count), for the tests that check a server's TUN lane tables
 * (uring/tun.h) follow its sessions and keep nothing of those gone.
 *
 *   rvt_bpf_map_count PID
 *       finds the eBPF maps among PID's open files (their /proc/PID/fdinfo
 *       lists a "map_id:"), opens each by id and walks its keys. Prints the
 *       entries of all of them together; exits 1 if PID holds no map, 2 on
 *       an error. Needs CAP_SYS_ADMIN (root), as opening a map by id does.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

/* map_id_of returns the map id in /proc/|pid|/fdinfo/|fd|, 0 if none. */
static unsigned map_id_of(const char *pid, const char *fd)
{
	char path[512], line[256];
	unsigned id = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pid, fd);
	f = fopen(path, "r");
	if (f == NULL) {
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "map_id: %u", &id) == 1) {
			break;
		}
	}
	fclose(f);
	return id;
}

/* count_keys walks the keys of map |id|; returns how many, or -1. */
static long count_keys(unsigned id)
{
	char key[64], next[64];
	union bpf_attr attr;
	long count = 0;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.map_id = id;
	fd = (int)syscall(SYS_bpf, BPF_MAP_GET_FD_BY_ID, &attr, sizeof(attr));
	if (fd < 0) {
		perror("BPF_MAP_GET_FD_BY_ID");
		return -1;
	}
	/* Keys are at most sizeof(key) bytes here (the lane tables' are 16
	 * and 20). */
	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)fd;
	attr.key = 0; /* NULL: the first key */
	attr.next_key = (uint64_t)(uintptr_t)next;
	while (syscall(SYS_bpf, BPF_MAP_GET_NEXT_KEY, &attr, sizeof(attr)) == 0) {
		count++;
		memcpy(key, next, sizeof(key));
		attr.key = (uint64_t)(uintptr_t)key;
	}
	if (errno != ENOENT) {
		perror("BPF_MAP_GET_NEXT_KEY");
		count = -1;
	}
	close(fd);
	return count;
}

int main(int argc, char **argv)
{
	unsigned ids[16], found = 0;
	long total = 0;
	char path[64];
	struct dirent *de;
	DIR *d;

	if (argc != 2) {
		fprintf(stderr, "usage: rvt_bpf_map_count PID\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%s/fdinfo", argv[1]);
	d = opendir(path);
	if (d == NULL) {
		perror(path);
		return 2;
	}
	while ((de = readdir(d)) != NULL) {
		unsigned id = de->d_name[0] != '.' ? map_id_of(argv[1], de->d_name) : 0;
		unsigned k = 0;

		while (k < found && ids[k] != id) {
			k++;
		}
		if (id != 0 && k == found && found < sizeof(ids) / sizeof(ids[0])) {
			ids[found++] = id;
		}
	}
	closedir(d);
	if (found == 0) {
		fprintf(stderr, "process %s holds no eBPF map\n", argv[1]);
		return 1;
	}
	for (unsigned k = 0; k < found; k++) {
		long n = count_keys(ids[k]);

		if (n < 0) {
			return 2;
		}
		total += n;
	}
	printf("%ld\n", total);
	return 0;
}
