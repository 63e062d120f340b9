/*
 * tun.c — TUN queues (ioctl) and interface configuration (ioctl + rtnetlink).
 */
#include "uring/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "uring/compat.h"

int rv_tun_open(const char *name, bool vnet_hdr, char *out_name, int *out_fd)
{
	struct ifreq ifr;
	int fd, ret;

	if (name != NULL && strlen(name) >= IFNAMSIZ) {
		return -ENAMETOOLONG;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | (vnet_hdr ? IFF_VNET_HDR : 0);
	if (name != NULL) {
		memcpy(ifr.ifr_name, name, strlen(name));
	}
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (vnet_hdr) {
		int sz = 10; /* struct virtio_net_hdr, no num_buffers */
		if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
			ret = -errno;
			close(fd);
			return ret;
		}
	}
	memcpy(out_name, ifr.ifr_name, IFNAMSIZ);
	out_name[IFNAMSIZ - 1] = '\0';
	*out_fd = fd;
	return 0;
}

int rv_tun_set_offload(int fd, unsigned flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) < 0 ? -errno : 0;
}

static int ifreq_ioctl(const char *ifname, unsigned long req, struct ifreq *ifr)
{
	int s, ret = 0;

	if (strlen(ifname) >= IFNAMSIZ) {
		return -ENAMETOOLONG;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		return -errno;
	}
	memcpy(ifr->ifr_name, ifname, strlen(ifname) + 1);
	if (ioctl(s, req, ifr) < 0) {
		ret = -errno;
	}
	close(s);
	return ret;
}

int rv_tun_set_mtu(const char *ifname, unsigned mtu)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_mtu = (int)mtu;
	return ifreq_ioctl(ifname, SIOCSIFMTU, &ifr);
}

int rv_tun_set_txqueuelen(const char *ifname, unsigned qlen)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_qlen = (int)qlen;
	return ifreq_ioctl(ifname, SIOCSIFTXQLEN, &ifr);
}

int rv_tun_set_up(const char *ifname)
{
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	ret = ifreq_ioctl(ifname, SIOCGIFFLAGS, &ifr);
	if (ret < 0) {
		return ret;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ifreq_ioctl(ifname, SIOCSIFFLAGS, &ifr);
}

/* One rtnetlink request with an attribute area, sent and acknowledged. */
struct nl_req {
	struct nlmsghdr nh;
	union {
		struct ifaddrmsg ifa;
		struct rtmsg rt;
	};
	uint8_t attrs[128];
};

static void nl_put_attr(struct nl_req *req, uint16_t type, const void *data, size_t len)
{
	struct rtattr *rta =
		(struct rtattr *)(void *)((uint8_t *)req + NLMSG_ALIGN(req->nh.nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	req->nh.nlmsg_len = NLMSG_ALIGN(req->nh.nlmsg_len) + (uint32_t)RTA_ALIGN(rta->rta_len);
}

static int nl_transact(struct nl_req *req)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	union {
		struct nlmsghdr nh;
		uint8_t buf[1024];
	} resp;
	ssize_t n;
	int s, ret;

	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0) {
		return -errno;
	}
	req->nh.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	req->nh.nlmsg_seq = 1;
	if (sendto(s, req, req->nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		goto out;
	}
	n = recv(s, &resp, sizeof(resp), 0);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	if ((size_t)n < sizeof(struct nlmsghdr) + sizeof(struct nlmsgerr) ||
	    resp.nh.nlmsg_type != NLMSG_ERROR) {
		ret = -EPROTO;
		goto out;
	}
	{
		struct nlmsgerr err;
		memcpy(&err, NLMSG_DATA(&resp.nh), sizeof(err));
		ret = err.error;
	}
out:
	close(s);
	return ret;
}

static size_t addr_len(const struct rv_ip_addr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

/* nl_target resolves |ifname| and checks |a|/|prefix_len| for an address or
 * route request. Returns 0, -ENODEV or -EINVAL. */
static int nl_target(unsigned *out_idx, const char *ifname, const struct rv_ip_addr *a,
		     unsigned prefix_len)
{
	*out_idx = if_nametoindex(ifname);
	if (*out_idx == 0) {
		return -ENODEV;
	}
	if ((a->family != AF_INET && a->family != AF_INET6) || prefix_len > addr_len(a) * 8) {
		return -EINVAL;
	}
	return 0;
}

/* addr_req builds an RTM_NEWADDR / RTM_DELADDR request for |addr| on
 * |ifname|. */
static int addr_req(struct nl_req *req, uint16_t type, uint16_t flags, const char *ifname,
		    const struct rv_ip_addr *addr, unsigned prefix_len)
{
	unsigned idx;
	int ret;

	ret = nl_target(&idx, ifname, addr, prefix_len);
	if (ret) {
		return ret;
	}
	memset(req, 0, sizeof(*req));
	req->nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	req->nh.nlmsg_type = type;
	req->nh.nlmsg_flags = flags;
	req->ifa.ifa_family = addr->family;
	req->ifa.ifa_prefixlen = (uint8_t)prefix_len;
	req->ifa.ifa_index = idx;
	nl_put_attr(req, IFA_LOCAL, addr->a, addr_len(addr));
	nl_put_attr(req, IFA_ADDRESS, addr->a, addr_len(addr));
	return 0;
}

int rv_tun_add_addr(const char *ifname, const struct rv_ip_addr *addr, unsigned prefix_len)
{
	struct nl_req req;
	int ret;

	ret = addr_req(&req, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifname, addr, prefix_len);
	if (ret) {
		return ret;
	}
	if (addr->family == AF_INET6) {
		uint32_t flags = IFA_F_NODAD;
		nl_put_attr(&req, IFA_FLAGS, &flags, sizeof(flags));
	}
	ret = nl_transact(&req);
	return ret == -EEXIST ? 0 : ret;
}

int rv_tun_del_addr(const char *ifname, const struct rv_ip_addr *addr, unsigned prefix_len)
{
	struct nl_req req;
	int ret;

	ret = addr_req(&req, RTM_DELADDR, 0, ifname, addr, prefix_len);
	if (ret) {
		return ret;
	}
	ret = nl_transact(&req);
	return ret == -EADDRNOTAVAIL ? 0 : ret;
}

/* route_req builds an RTM_NEWROUTE / RTM_DELROUTE request for |dst| via
 * |ifname|. */
static int route_req(struct nl_req *req, uint16_t type, uint16_t flags, const char *ifname,
		     const struct rv_ip_addr *dst, unsigned prefix_len)
{
	unsigned idx;
	uint32_t oif;
	int ret;

	ret = nl_target(&idx, ifname, dst, prefix_len);
	if (ret) {
		return ret;
	}
	memset(req, 0, sizeof(*req));
	req->nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req->nh.nlmsg_type = type;
	req->nh.nlmsg_flags = flags;
	req->rt.rtm_family = dst->family;
	req->rt.rtm_dst_len = (uint8_t)prefix_len;
	req->rt.rtm_table = RT_TABLE_MAIN;
	req->rt.rtm_protocol = RTPROT_BOOT;
	req->rt.rtm_scope = RT_SCOPE_LINK;
	req->rt.rtm_type = RTN_UNICAST;
	nl_put_attr(req, RTA_DST, dst->a, addr_len(dst));
	oif = idx;
	nl_put_attr(req, RTA_OIF, &oif, sizeof(oif));
	return 0;
}

int rv_tun_add_route(const char *ifname, const struct rv_ip_addr *dst, unsigned prefix_len)
{
	struct nl_req req;
	int ret;

	ret = route_req(&req, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifname, dst, prefix_len);
	if (ret) {
		return ret;
	}
	ret = nl_transact(&req);
	return ret == -EEXIST ? 0 : ret;
}

int rv_tun_del_route(const char *ifname, const struct rv_ip_addr *dst, unsigned prefix_len)
{
	struct nl_req req;
	int ret;

	ret = route_req(&req, RTM_DELROUTE, 0, ifname, dst, prefix_len);
	if (ret) {
		return ret;
	}
	ret = nl_transact(&req);
	return ret == -ESRCH ? 0 : ret;
}
