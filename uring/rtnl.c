/*
 * rtnl.c — rtnetlink requests and dumps (see rtnl.h).
 *
 * One request per socket: send it with NLM_F_ACK (or NLM_F_DUMP), then read
 * until the kernel's NLMSG_ERROR (the acknowledgement, error 0, or the
 * failure) or NLMSG_DONE. The kernel is the only sender on a NETLINK_ROUTE
 * socket we opened, but its replies are still read with length checks
 * (NLMSG_OK, RTA_OK, payload sizes) and copied out, never cast in place.
 */
#include "uring/rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

enum {
	/* The kernel sizes a dump chunk to the reader's buffer, up to 32 KiB
	 * (netlink_dump); a smaller buffer would truncate messages. */
	NL_BUF = 32768,
	NL_SEQ = 1,
};

/* One request: header, the family's fixed part, room for a few attributes. */
struct nl_req {
	struct nlmsghdr nh;
	union {
		struct ifaddrmsg ifa;
		struct rtmsg rt;
		struct ifinfomsg ifi;
		struct tcmsg tc;
	};
	uint8_t attrs[64];
};

static size_t family_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

static void nl_req_init(struct nl_req *req, uint16_t type, uint16_t flags, size_t fixed_len)
{
	memset(req, 0, sizeof(*req));
	req->nh.nlmsg_len = NLMSG_LENGTH(fixed_len);
	req->nh.nlmsg_type = type;
	req->nh.nlmsg_flags = NLM_F_REQUEST | flags;
	req->nh.nlmsg_seq = NL_SEQ;
}

/* nl_put_attr appends one attribute; -EMSGSIZE when |req| has no room. */
static int nl_put_attr(struct nl_req *req, uint16_t type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(req->nh.nlmsg_len);
	struct rtattr rta = { .rta_len = (unsigned short)RTA_LENGTH(len), .rta_type = type };

	if (off + RTA_SPACE(len) > sizeof(*req)) {
		return -EMSGSIZE;
	}
	memcpy((uint8_t *)req + off, &rta, sizeof(rta));
	if (len > 0) {
		memcpy((uint8_t *)req + off + RTA_LENGTH(0), data, len);
	}
	req->nh.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
	return 0;
}

/* nl_nest_begin opens a nested attribute; nl_nest_end closes it. Returns
 * the nest's offset, or -EMSGSIZE. */
static int nl_nest_begin(struct nl_req *req, uint16_t type)
{
	size_t off = NLMSG_ALIGN(req->nh.nlmsg_len);
	int ret = nl_put_attr(req, type | NLA_F_NESTED, NULL, 0);

	return ret ? ret : (int)off;
}

static void nl_nest_end(struct nl_req *req, int off)
{
	struct rtattr rta;

	memcpy(&rta, (uint8_t *)req + off, sizeof(rta));
	rta.rta_len = (unsigned short)(req->nh.nlmsg_len - (uint32_t)off);
	memcpy((uint8_t *)req + off, &rta, sizeof(rta));
}

/* A message handler: called for every reply that is not ERROR or DONE. */
typedef int (*nl_msg_fn)(void *ctx, const struct nlmsghdr *nh);

/* nl_walk reads replies to the request numbered NL_SEQ until the kernel
 * acknowledges, fails or ends the dump, passing every other message to |fn|.
 * Returns the kernel's error, |fn|'s first negative return, or 0. */
static int nl_walk(int s, nl_msg_fn fn, void *ctx)
{
	union {
		struct nlmsghdr nh;
		uint8_t b[NL_BUF];
	} buf;

	for (;;) {
		struct iovec iov = { .iov_base = buf.b, .iov_len = sizeof(buf) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		const struct nlmsghdr *nh;
		ssize_t n = recvmsg(s, &msg, 0);
		int len;

		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		if (msg.msg_flags & MSG_TRUNC) {
			return -EMSGSIZE;
		}
		len = (int)n;
		for (nh = &buf.nh; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			int ret;

			if (nh->nlmsg_seq != NL_SEQ) {
				continue;
			}
			if (nh->nlmsg_type == NLMSG_DONE) {
				return 0;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr err;

				if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(err))) {
					return -EPROTO;
				}
				memcpy(&err, NLMSG_DATA(nh), sizeof(err));
				return err.error;
			}
			ret = fn ? fn(ctx, nh) : 0;
			if (ret < 0) {
				return ret;
			}
		}
		if (len != 0) {
			return -EPROTO; /* a message ran past the datagram */
		}
	}
}

/* nl_request sends |req| on a fresh socket and walks the replies. */
static int nl_request(struct nl_req *req, nl_msg_fn fn, void *ctx)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int s, ret;

	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0) {
		return -errno;
	}
	if (sendto(s, req, req->nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
	} else {
		ret = nl_walk(s, fn, ctx);
	}
	close(s);
	return ret;
}

/* nl_payload checks that |nh| holds a |fixed_len| header (copied to |out|)
 * and returns its attributes and their length. */
static bool nl_payload(const struct nlmsghdr *nh, void *out, size_t fixed_len,
		       const struct rtattr **out_rta, int *out_len)
{
	if (nh->nlmsg_len < NLMSG_LENGTH(fixed_len)) {
		return false;
	}
	memcpy(out, NLMSG_DATA(nh), fixed_len);
	*out_rta = (const struct rtattr *)(const void *)((const uint8_t *)NLMSG_DATA(nh) +
							 NLMSG_ALIGN(fixed_len));
	*out_len = (int)(nh->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(fixed_len)));
	return *out_len >= 0;
}

/* attr_copy copies an attribute's payload when it is exactly |len| bytes. */
static bool attr_copy(void *out, const struct rtattr *rta, size_t len)
{
	if (RTA_PAYLOAD(rta) != len) {
		return false;
	}
	memcpy(out, RTA_DATA(rta), len);
	return true;
}

/* --- links ---------------------------------------------------------------- */

static void parse_tun_info(struct rv_rtnl_link *out, const struct rtattr *rta, int len)
{
	uint32_t queues = 0, disabled = 0;
	uint8_t u8;

	out->tun_info = true;
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		switch (rta->rta_type & NLA_TYPE_MASK) {
		case IFLA_TUN_TYPE:
			out->is_tap = attr_copy(&u8, rta, 1) && u8 == IFF_TAP;
			break;
		case IFLA_TUN_PERSIST:
			out->persist = attr_copy(&u8, rta, 1) && u8;
			break;
		case IFLA_TUN_MULTI_QUEUE:
			out->multi_queue = attr_copy(&u8, rta, 1) && u8;
			break;
		case IFLA_TUN_NUM_QUEUES:
			(void)attr_copy(&queues, rta, 4);
			break;
		case IFLA_TUN_NUM_DISABLED_QUEUES:
			(void)attr_copy(&disabled, rta, 4);
			break;
		case IFLA_TUN_OWNER: /* only when set */
			out->restricted = true;
			out->have_owner = attr_copy(&out->owner, rta, 4);
			break;
		case IFLA_TUN_GROUP:
			out->restricted = true;
			out->have_group = attr_copy(&out->group, rta, 4);
			break;
		default:
			break;
		}
	}
	out->num_queues = queues + disabled;
}

static int on_link(void *ctx, const struct nlmsghdr *nh)
{
	struct rv_rtnl_link *out = ctx;
	const struct rtattr *rta;
	struct ifinfomsg ifi;
	int len;

	if (nh->nlmsg_type != RTM_NEWLINK || !nl_payload(nh, &ifi, sizeof(ifi), &rta, &len)) {
		return 0;
	}
	out->ifindex = (unsigned)ifi.ifi_index;
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		const struct rtattr *info, *data = NULL;
		int info_len;

		if ((rta->rta_type & NLA_TYPE_MASK) == IFLA_STATS64) {
			struct rtnl_link_stats64 st;

			/* A newer kernel may append fields: take the ones we know. */
			if (RTA_PAYLOAD(rta) >= offsetof(struct rtnl_link_stats64, tx_dropped) +
							sizeof(st.tx_dropped)) {
				memset(&st, 0, sizeof(st));
				memcpy(&st, RTA_DATA(rta),
				       RTA_PAYLOAD(rta) < sizeof(st) ? RTA_PAYLOAD(rta)
								     : sizeof(st));
				out->tx_dropped = st.tx_dropped;
				out->have_stats = true;
			}
			continue;
		}
		if ((rta->rta_type & NLA_TYPE_MASK) != IFLA_LINKINFO) {
			continue;
		}
		info = RTA_DATA(rta);
		info_len = (int)RTA_PAYLOAD(rta);
		for (; RTA_OK(info, info_len); info = RTA_NEXT(info, info_len)) {
			switch (info->rta_type & NLA_TYPE_MASK) {
			case IFLA_INFO_KIND:
				/* "tun", NUL-terminated or not */
				out->is_tun =
					(RTA_PAYLOAD(info) == 3 || RTA_PAYLOAD(info) == 4) &&
					strncmp(RTA_DATA(info), "tun", RTA_PAYLOAD(info)) == 0;
				break;
			case IFLA_INFO_DATA:
				data = info;
				break;
			default:
				break;
			}
		}
		/* The data's meaning depends on the kind, whichever came first. */
		if (out->is_tun && data != NULL) {
			parse_tun_info(out, RTA_DATA(data), (int)RTA_PAYLOAD(data));
		}
	}
	return 0;
}

/* get_link asks for one link, by |ifname| if not NULL, else by |ifindex|. */
static int get_link(struct rv_rtnl_link *out, const char *ifname, unsigned ifindex)
{
	struct nl_req req;
	int ret;

	memset(out, 0, sizeof(*out));
	nl_req_init(&req, RTM_GETLINK, NLM_F_ACK, sizeof(struct ifinfomsg));
	req.ifi.ifi_family = AF_UNSPEC;
	if (ifname != NULL) {
		size_t n = strlen(ifname);

		if (n == 0 || n >= IFNAMSIZ) {
			return -EINVAL;
		}
		ret = nl_put_attr(&req, IFLA_IFNAME, ifname, n + 1);
		if (ret) {
			return ret;
		}
	} else {
		if (ifindex == 0 || ifindex > INT32_MAX) {
			return -EINVAL;
		}
		req.ifi.ifi_index = (int)ifindex;
	}
	ret = nl_request(&req, on_link, out);
	if (ret == 0 && out->ifindex == 0) {
		ret = -ENODEV;
	}
	return ret;
}

int rv_rtnl_get_link(struct rv_rtnl_link *out, const char *ifname)
{
	return get_link(out, ifname, 0);
}

int rv_rtnl_get_link_index(struct rv_rtnl_link *out, unsigned ifindex)
{
	return get_link(out, NULL, ifindex);
}

int rv_rtnl_set_ipv4_conf(unsigned ifindex, int id, uint32_t value)
{
	struct nl_req req;
	int spec, inet, conf, ret;

	nl_req_init(&req, RTM_SETLINK, NLM_F_ACK, sizeof(struct ifinfomsg));
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = (int)ifindex;
	/* IFLA_AF_SPEC { AF_INET { IFLA_INET_CONF { id: value } } } */
	spec = nl_nest_begin(&req, IFLA_AF_SPEC);
	inet = spec < 0 ? spec : nl_nest_begin(&req, AF_INET);
	conf = inet < 0 ? inet : nl_nest_begin(&req, IFLA_INET_CONF);
	ret = conf < 0 ? conf : nl_put_attr(&req, (uint16_t)id, &value, sizeof(value));
	if (ret) {
		return ret;
	}
	nl_nest_end(&req, conf);
	nl_nest_end(&req, inet);
	nl_nest_end(&req, spec);
	return nl_request(&req, NULL, NULL);
}

int rv_rtnl_set_gso_max_segs(unsigned ifindex, uint32_t segs)
{
	struct nl_req req;
	int ret;

	nl_req_init(&req, RTM_SETLINK, NLM_F_ACK, sizeof(struct ifinfomsg));
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = (int)ifindex;
	ret = nl_put_attr(&req, IFLA_GSO_MAX_SEGS, &segs, sizeof(segs));
	return ret ? ret : nl_request(&req, NULL, NULL);
}

/* --- addresses ------------------------------------------------------------ */

struct addr_walk {
	unsigned ifindex;
	rv_rtnl_addr_fn fn;
	void *ctx;
};

bool rv_rtnl_addr_msg(const struct nlmsghdr *nh, struct rv_rtnl_addr *out)
{
	struct rv_rtnl_addr a;
	const struct rtattr *rta;
	struct ifaddrmsg ifa;
	bool has_local = false, has_peer = false;
	size_t alen;
	int len;

	if ((nh->nlmsg_type != RTM_NEWADDR && nh->nlmsg_type != RTM_DELADDR) ||
	    !nl_payload(nh, &ifa, sizeof(ifa), &rta, &len) ||
	    (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6)) {
		return false;
	}
	memset(&a, 0, sizeof(a));
	alen = family_len(ifa.ifa_family);
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == IFA_LOCAL) {
			has_local = attr_copy(a.local.addr.a, rta, alen);
		} else if (rta->rta_type == IFA_ADDRESS) {
			has_peer = attr_copy(a.peer.a, rta, alen);
		}
	}
	if (!has_local && !has_peer) {
		return false;
	}
	if (!has_local) {
		memcpy(a.local.addr.a, a.peer.a, alen);
	} else if (!has_peer) {
		memcpy(a.peer.a, a.local.addr.a, alen);
	}
	a.local.addr.family = a.peer.family = ifa.ifa_family;
	a.local.len = ifa.ifa_prefixlen;
	a.scope = ifa.ifa_scope;
	a.ifindex = ifa.ifa_index;
	*out = a;
	return true;
}

static int on_addr(void *ctx, const struct nlmsghdr *nh)
{
	const struct addr_walk *w = ctx;
	struct rv_rtnl_addr a;

	if (nh->nlmsg_type != RTM_NEWADDR || !rv_rtnl_addr_msg(nh, &a) ||
	    (w->ifindex != 0 && a.ifindex != w->ifindex)) {
		return 0;
	}
	return w->fn(w->ctx, &a);
}

int rv_rtnl_list_addrs(unsigned ifindex, rv_rtnl_addr_fn fn, void *ctx)
{
	struct addr_walk w = { .ifindex = ifindex, .fn = fn, .ctx = ctx };
	struct nl_req req;

	nl_req_init(&req, RTM_GETADDR, NLM_F_DUMP, sizeof(struct ifaddrmsg));
	req.ifa.ifa_family = AF_UNSPEC;
	return nl_request(&req, on_addr, &w);
}

static bool prefix_ok(const struct rv_prefix *p)
{
	return (p->addr.family == AF_INET || p->addr.family == AF_INET6) &&
	       p->len <= family_len(p->addr.family) * 8;
}

int rv_rtnl_add_addr(unsigned ifindex, const struct rv_prefix *p)
{
	size_t alen = family_len(p->addr.family);
	struct nl_req req;
	int ret;

	if (!prefix_ok(p)) {
		return -EINVAL;
	}
	nl_req_init(&req, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
		    sizeof(struct ifaddrmsg));
	req.ifa.ifa_family = p->addr.family;
	req.ifa.ifa_prefixlen = p->len;
	req.ifa.ifa_index = ifindex;
	ret = nl_put_attr(&req, IFA_LOCAL, p->addr.a, alen);
	if (!ret) {
		ret = nl_put_attr(&req, IFA_ADDRESS, p->addr.a, alen);
	}
	if (!ret && p->addr.family == AF_INET6) {
		uint32_t flags = IFA_F_NODAD;
		ret = nl_put_attr(&req, IFA_FLAGS, &flags, sizeof(flags));
	}
	return ret ? ret : nl_request(&req, NULL, NULL);
}

int rv_rtnl_del_addr(unsigned ifindex, const struct rv_rtnl_addr *a)
{
	size_t alen = family_len(a->local.addr.family);
	struct nl_req req;
	int ret;

	if (!prefix_ok(&a->local)) {
		return -EINVAL;
	}
	nl_req_init(&req, RTM_DELADDR, NLM_F_ACK, sizeof(struct ifaddrmsg));
	req.ifa.ifa_family = a->local.addr.family;
	req.ifa.ifa_prefixlen = a->local.len;
	req.ifa.ifa_index = ifindex;
	ret = nl_put_attr(&req, IFA_LOCAL, a->local.addr.a, alen);
	if (!ret) {
		ret = nl_put_attr(&req, IFA_ADDRESS, a->peer.a, alen);
	}
	return ret ? ret : nl_request(&req, NULL, NULL);
}

/* --- routes --------------------------------------------------------------- */

struct route_walk {
	unsigned ifindex;
	uint8_t proto;
	bool all_but; /* every origin but the kernel's and |proto| */
	bool others;  /* every route not through |ifindex|, of any origin */
	bool links;   /* of those, only a link's own network (scope link) */
	rv_rtnl_route_fn fn;
	rv_rtnl_route_dev_fn dev_fn;
	void *ctx;
};

/* multipath_oif: the device of the first next hop of an RTA_MULTIPATH
 * attribute not through |skip| (0: any), else of the first (a route of
 * several ways names no RTA_OIF: taken for none, a multipath route of the
 * host's was no route at all, and ours took its network: round-thirteen
 * tester 61), or 0. A walk for the host's other routes skips the TUN: one
 * way through it first hid a way through a LAN (round-twenty-four tester
 * 108; the rtnetlink watch said it). */
static uint32_t multipath_oif(const struct rtattr *rta, uint32_t skip)
{
	const uint8_t *p = RTA_DATA(rta);
	size_t left = RTA_PAYLOAD(rta);
	uint32_t first = 0;

	while (left >= sizeof(struct rtnexthop)) {
		struct rtnexthop nh;
		size_t step;

		memcpy(&nh, p, sizeof(nh));
		if (nh.rtnh_len < sizeof(nh) || nh.rtnh_len > left) {
			break;
		}
		if (nh.rtnh_ifindex > 0 && (uint32_t)nh.rtnh_ifindex != skip) {
			return (uint32_t)nh.rtnh_ifindex;
		}
		if (nh.rtnh_ifindex > 0 && first == 0) {
			first = (uint32_t)nh.rtnh_ifindex;
		}
		step = RTNH_ALIGN((size_t)nh.rtnh_len);
		p += step;
		left = left > step ? left - step : 0;
	}
	return first;
}

/* route_dev: a route's device from what it said: its RTA_OIF, else its
 * first next hop's (|mp_oif|), else RV_RTNL_OIF_UNKNOWN through a nexthop
 * object (|nh_id|), else 0 (none). In any order of the attributes:
 * RTA_NH_ID comes first, and a group's next hops were named "?"
 * (round-thirteen tester 64). */
static uint32_t route_dev(uint32_t oif, uint32_t mp_oif, bool nh_id)
{
	return oif ? oif : mp_oif ? mp_oif : nh_id ? RV_RTNL_OIF_UNKNOWN : 0;
}

/* route_parse reads route message |nh| into |rt|, |dst| and its device
 * |*oif| (route_dev; of several ways the first not through |skip|): false
 * for one that is not a unicast IPv4 or IPv6 route of the main table, and
 * for the kernel's cached exceptions (a path MTU learnt for one address is
 * no route of the host's: it kept a pushed /32 out, and warned of "a part"
 * of a pushed network routed elsewhere: round-thirty-six tester 179). */
static bool route_parse(const struct nlmsghdr *nh, uint32_t skip, struct rtmsg *rt,
			struct rv_prefix *dst, uint32_t *oif)
{
	const struct rtattr *rta;
	uint32_t table, mp_oif = 0;
	bool nh_id = false;
	int len;

	*oif = 0;
	if (nh->nlmsg_type != RTM_NEWROUTE || !nl_payload(nh, rt, sizeof(*rt), &rta, &len) ||
	    (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6) ||
	    rt->rtm_type != RTN_UNICAST || (rt->rtm_flags & RTM_F_CLONED) ||
	    rt->rtm_dst_len > family_len(rt->rtm_family) * 8) {
		return false;
	}
	memset(dst, 0, sizeof(*dst));
	dst->addr.family = rt->rtm_family;
	dst->len = rt->rtm_dst_len;
	table = rt->rtm_table;
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		switch (rta->rta_type) {
		case RTA_TABLE:
			(void)attr_copy(&table, rta, 4);
			break;
		case RTA_OIF:
			(void)attr_copy(oif, rta, 4);
			break;
		case RTA_MULTIPATH:
			mp_oif = multipath_oif(rta, skip);
			break;
		case RTA_NH_ID:
			/* Through a nexthop object: with the kernel's
			 * compatibility mode off, its device is not named
			 * here at all. */
			nh_id = true;
			break;
		case RTA_DST:
			(void)attr_copy(dst->addr.a, rta, family_len(rt->rtm_family));
			break;
		default:
			break;
		}
	}
	*oif = route_dev(*oif, mp_oif, nh_id);
	return table == RT_TABLE_MAIN;
}

/* link_net: is route message |nh| (|rt|) a link's own network, the prefix
 * route made for an address of it? The kernel's (proto kernel), or an
 * address manager's: a DHCP client's IPv4 route of scope link with the
 * address as its source, an IPv6 on-link prefix from a router
 * advertisement (tester 188: only the kernel's were said). A default
 * route through a device, of scope link too, is none: every route was
 * said to lie inside it (round-thirty-seven tester 187). */
static bool link_net(const struct nlmsghdr *nh, const struct rtmsg *rt)
{
	const struct rtattr *rta;
	struct rtmsg m;
	bool gateway = false, prefsrc = false;
	int len;

	if (rt->rtm_dst_len == 0 || !nl_payload(nh, &m, sizeof(m), &rta, &len)) {
		return false;
	}
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		gateway = gateway || rta->rta_type == RTA_GATEWAY || rta->rta_type == RTA_VIA;
		prefsrc = prefsrc || rta->rta_type == RTA_PREFSRC;
	}
	if (rt->rtm_family == AF_INET) {
		return rt->rtm_scope == RT_SCOPE_LINK &&
		       (rt->rtm_protocol == RTPROT_KERNEL || prefsrc);
	}
	return !gateway && (rt->rtm_protocol == RTPROT_KERNEL || rt->rtm_protocol == RTPROT_RA);
}

static int on_route(void *ctx, const struct nlmsghdr *nh)
{
	const struct route_walk *w = ctx;
	struct rv_prefix dst;
	struct rtmsg rt;
	uint32_t oif;

	if (!route_parse(nh, w->others ? w->ifindex : 0, &rt, &dst, &oif) ||
	    (!w->others && !w->all_but && rt.rtm_protocol != w->proto) ||
	    (w->all_but && (rt.rtm_protocol == w->proto || rt.rtm_protocol == RTPROT_KERNEL)) ||
	    (w->links && !link_net(nh, &rt))) {
		return 0;
	}
	if (w->others) {
		return oif != 0 && oif != w->ifindex ? w->dev_fn(w->ctx, &dst, oif) : 0;
	}
	return oif == w->ifindex ? w->fn(w->ctx, &dst) : 0;
}

bool rv_rtnl_route_msg(const struct nlmsghdr *nh, unsigned skip, struct rv_prefix *dst,
		       unsigned *oif)
{
	struct rtmsg rt;
	uint32_t o;

	if (!route_parse(nh, skip, &rt, dst, &o)) {
		return false;
	}
	*oif = o;
	return true;
}

const char *rv_rtnl_dev_name(unsigned oif, char *dev, size_t len)
{
	char name[IF_NAMESIZE];

	snprintf(dev, len, "%s",
		 oif == RV_RTNL_OIF_UNKNOWN  ? "a nexthop object"
		 : if_indextoname(oif, name) ? name
					     : "?");
	return dev;
}

static int walk_routes(struct route_walk *w)
{
	static const uint8_t fams[] = { AF_INET, AF_INET6 };

	for (size_t i = 0; i < sizeof(fams); i++) {
		struct nl_req req;
		int ret;

		nl_req_init(&req, RTM_GETROUTE, NLM_F_DUMP, sizeof(struct rtmsg));
		req.rt.rtm_family = fams[i];
		ret = nl_request(&req, on_route, w);
		if (ret == -EAFNOSUPPORT && fams[i] == AF_INET6) {
			ret = 0; /* no IPv6 on this host: no IPv6 routes either */
		}
		if (ret) {
			return ret;
		}
	}
	return 0;
}

int rv_rtnl_list_routes(unsigned ifindex, uint8_t proto, rv_rtnl_route_fn fn, void *ctx)
{
	struct route_walk w = { .ifindex = ifindex, .proto = proto, .fn = fn, .ctx = ctx };

	return walk_routes(&w);
}

int rv_rtnl_list_routes_but(unsigned ifindex, uint8_t proto, rv_rtnl_route_fn fn, void *ctx)
{
	struct route_walk w = {
		.ifindex = ifindex, .proto = proto, .all_but = true, .fn = fn, .ctx = ctx
	};

	return walk_routes(&w);
}

int rv_rtnl_list_other_routes(unsigned ifindex, rv_rtnl_route_dev_fn fn, void *ctx)
{
	struct route_walk w = { .ifindex = ifindex, .others = true, .dev_fn = fn, .ctx = ctx };

	return walk_routes(&w);
}

int rv_rtnl_list_other_links(unsigned ifindex, rv_rtnl_route_dev_fn fn, void *ctx)
{
	struct route_walk w = {
		.ifindex = ifindex, .others = true, .links = true, .dev_fn = fn, .ctx = ctx
	};

	return walk_routes(&w);
}

struct route_got {
	unsigned oif, mp_oif, len, table, skip;
	uint8_t type;
	bool nh_id;
};

static int on_route_get(void *ctx, const struct nlmsghdr *nh)
{
	struct route_got *g = ctx;
	const struct rtattr *rta;
	struct rtmsg rt;
	uint32_t v;
	int len;

	if (nh->nlmsg_type != RTM_NEWROUTE || !nl_payload(nh, &rt, sizeof(rt), &rta, &len)) {
		return 0;
	}
	g->len = rt.rtm_dst_len;
	g->type = rt.rtm_type;
	g->table = rt.rtm_table;
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == RTA_OIF && attr_copy(&v, rta, 4)) {
			g->oif = v;
		} else if (rta->rta_type == RTA_TABLE && attr_copy(&v, rta, 4)) {
			g->table = v;
		} else if (rta->rta_type == RTA_MULTIPATH) {
			/* (one of several ways: it was taken for a refusal) */
			g->mp_oif = multipath_oif(rta, g->skip);
		} else if (rta->rta_type == RTA_NH_ID) {
			g->nh_id = true; /* (a nexthop object: likewise) */
		}
	}
	g->oif = route_dev(g->oif, g->mp_oif, g->nh_id);
	return 0;
}

/* route_get asks the kernel how it sends |a| for user |uid|: with
 * RTM_F_FIB_MATCH in |flags| the route that matched (its prefix), else the
 * resolved way (its device named even through a nexthop object). Asked
 * without a user, the kernel answers for the caller's, which after the
 * privilege drop is not the data plane's: its sockets, made before the
 * drop, are root's, and a `uidrange` rule sent the one and not the other
 * by another way (round-thirty-one tester 159). */
static int route_get(const struct rv_ip_addr *a, unsigned flags, const struct rv_rtnl_flow *f,
		     struct route_got *g)
{
	struct nl_req req;
	uint32_t uid = f ? f->uid : 0;
	int ret;

	if (a->family != AF_INET && a->family != AF_INET6) {
		return -EINVAL;
	}
	nl_req_init(&req, RTM_GETROUTE, NLM_F_ACK, sizeof(struct rtmsg));
	req.rt.rtm_family = a->family;
	req.rt.rtm_dst_len = (uint8_t)(family_len(a->family) * 8);
	req.rt.rtm_flags = flags;
	ret = nl_put_attr(&req, RTA_DST, a->a, family_len(a->family));
	if (!ret) {
		ret = nl_put_attr(&req, RTA_UID, &uid, sizeof(uid));
	}
	/* The packets' protocol, ports and source where known: a rule may
	 * choose by them (`ipproto udp`, `from ADDR`, `sport PORT`), and the
	 * kernel asks for UDP where none is given (round-thirty-one testers
	 * 161, 162). */
	if (!ret && f && f->proto) {
		ret = nl_put_attr(&req, RTA_IP_PROTO, &f->proto, sizeof(f->proto));
	}
	if (!ret && f && f->sport) {
		uint16_t be = htons(f->sport);

		ret = nl_put_attr(&req, RTA_SPORT, &be, sizeof(be));
	}
	if (!ret && f && f->dport) {
		uint16_t be = htons(f->dport);

		ret = nl_put_attr(&req, RTA_DPORT, &be, sizeof(be));
	}
	if (!ret && f && f->src.family == a->family) {
		ret = nl_put_attr(&req, RTA_SRC, f->src.a, family_len(a->family));
		req.rt.rtm_src_len = (uint8_t)(family_len(a->family) * 8);
	}
	return ret ? ret : nl_request(&req, on_route_get, g);
}

int rv_rtnl_route_out(const struct rv_ip_addr *a, unsigned *out_ifindex)
{
	struct route_got g = { 0 };
	int ret = route_get(a, 0, NULL, &g);

	*out_ifindex = g.oif;
	return ret;
}

int rv_rtnl_route_match_for(const struct rv_ip_addr *a, unsigned skip, const struct rv_rtnl_flow *f,
			    struct rv_rtnl_match *out)
{
	struct route_got g = { .skip = skip };
	/* The route that matched (its prefix), not the address's cache
	 * entry. The table the match came from is said only when asked for: the
	 * reply named main for a rule's other table (round-twenty-five
	 * tester 117's `iif lo` rule). */
	int ret = route_get(a, RTM_F_FIB_MATCH | RTM_F_LOOKUP_TABLE, f, &g);

	out->oif = g.oif;
	out->len = g.len;
	out->table = g.table;
	out->host = g.type == RTN_LOCAL || g.type == RTN_ANYCAST || g.type == RTN_BROADCAST;
	return ret;
}

int rv_rtnl_route_match(const struct rv_ip_addr *a, unsigned skip, struct rv_rtnl_match *out)
{
	return rv_rtnl_route_match_for(a, skip, NULL, out);
}

int rv_rtnl_route_oif(const struct rv_ip_addr *a, unsigned *out_ifindex, unsigned *out_len,
		      bool *out_host)
{
	struct rv_rtnl_match m;
	int ret = rv_rtnl_route_match(a, 0, &m);

	*out_ifindex = m.oif;
	*out_len = m.len;
	if (out_host != NULL) {
		*out_host = m.host;
	}
	return ret;
}

/* route_req sends one route request for |dst| via |ifindex|; |metric| and
 * |prefsrc| (4 bytes) are added when not NULL. */
static int route_req(uint16_t type, uint16_t flags, unsigned ifindex, const struct rv_prefix *dst,
		     uint8_t proto, const uint32_t *metric, const uint8_t *prefsrc)
{
	struct nl_req req;
	uint32_t oif = ifindex;
	int ret;

	if (!prefix_ok(dst)) {
		return -EINVAL;
	}
	nl_req_init(&req, type, NLM_F_ACK | flags, sizeof(struct rtmsg));
	req.rt.rtm_family = dst->addr.family;
	req.rt.rtm_dst_len = dst->len;
	req.rt.rtm_table = RT_TABLE_MAIN;
	req.rt.rtm_protocol = proto;
	/* Deleting with scope NOWHERE matches a route of any scope. */
	req.rt.rtm_scope = type == RTM_NEWROUTE ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
	req.rt.rtm_type = RTN_UNICAST;
	ret = nl_put_attr(&req, RTA_DST, dst->addr.a, family_len(dst->addr.family));
	if (!ret) {
		ret = nl_put_attr(&req, RTA_OIF, &oif, sizeof(oif));
	}
	if (!ret && metric) {
		ret = nl_put_attr(&req, RTA_PRIORITY, metric, sizeof(*metric));
	}
	if (!ret && prefsrc) {
		ret = nl_put_attr(&req, RTA_PREFSRC, prefsrc, 4);
	}
	return ret ? ret : nl_request(&req, NULL, NULL);
}

int rv_rtnl_add_route(unsigned ifindex, const struct rv_prefix *dst, uint8_t proto)
{
	return route_req(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifindex, dst, proto, NULL, NULL);
}

int rv_rtnl_add_prefix_route(unsigned ifindex, const struct rv_prefix *addr)
{
	struct rv_prefix net = *addr;
	uint32_t metric = addr->addr.family == AF_INET6 ? 256 : 0;

	rv_prefix_clear_host(&net);
	/* As the kernel makes it with the address: proto kernel, scope link,
	 * its metric (0, or 256 for IPv6), sourced from the address (IPv4). */
	return route_req(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifindex, &net, RTPROT_KERNEL,
			 &metric, addr->addr.family == AF_INET ? addr->addr.a : NULL);
}

int rv_rtnl_del_route(unsigned ifindex, const struct rv_prefix *dst, uint8_t proto)
{
	return route_req(RTM_DELROUTE, 0, ifindex, dst, proto, NULL, NULL);
}

int rv_rtnl_replace_qdisc(unsigned ifindex, uint32_t parent, uint32_t handle, const char *kind)
{
	struct nl_req req;
	int ret;

	nl_req_init(&req, RTM_NEWQDISC, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
		    sizeof(struct tcmsg));
	req.tc.tcm_family = AF_UNSPEC;
	req.tc.tcm_ifindex = (int)ifindex;
	req.tc.tcm_parent = parent;
	req.tc.tcm_handle = handle;
	ret = nl_put_attr(&req, TCA_KIND, kind, strlen(kind) + 1);
	return ret ? ret : nl_request(&req, NULL, NULL);
}
