/*
 * bpf_map_count.c — how many entries an eBPF map holds (built as
 * rvt_bpf_map_count), for the tests that check a server's TUN lane table
 * (uring/tun.h) follows its sessions and keeps nothing of those gone.
 *
 *   rvt_bpf_map_count PID
 *       finds the eBPF map among PID's open files (its /proc/PID/fdinfo
 *       lists a "map_id:"), opens it by id and walks its keys. Prints the
 *       count; exits 1 if PID holds no map or not exactly one, 2 on an
 *       error. Needs CAP_SYS_ADMIN (root), as opening a map by id does.
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

int main(int argc, char **argv)
{
	char path[64], key[64], next[64];
	unsigned id = 0, found = 0, count = 0;
	union bpf_attr attr;
	struct dirent *de;
	DIR *d;
	int fd;

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
		unsigned i = de->d_name[0] != '.' ? map_id_of(argv[1], de->d_name) : 0;

		if (i != 0 && i != id) {
			id = i;
			found++;
		}
	}
	closedir(d);
	if (found != 1) {
		fprintf(stderr, "process %s holds %u eBPF maps, want 1\n", argv[1], found);
		return 1;
	}
	memset(&attr, 0, sizeof(attr));
	attr.map_id = id;
	fd = (int)syscall(SYS_bpf, BPF_MAP_GET_FD_BY_ID, &attr, sizeof(attr));
	if (fd < 0) {
		perror("BPF_MAP_GET_FD_BY_ID");
		return 2;
	}
	/* Keys are at most sizeof(key) bytes here (the lane table's are 16). */
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
		return 2;
	}
	close(fd);
	printf("%u\n", count);
	return 0;
}
