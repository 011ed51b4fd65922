// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * neigh.c - the next hops of FIB-routed backends: resolved before the
 * backend is live, kept resolved, and copied into cidlb_neigh.
 *
 * The data path asks the kernel's FIB for a backend's next hop; where the
 * kernel has no usable neighbour entry, bpf_fib_lookup() answers NO_NEIGH
 * and XDP cannot make the kernel resolve it. Two causes, both handled here:
 *
 * - The entry does not exist yet (a new backend), or went stale and was
 *   collected, or failed. cidlbd does what a first packet from this host
 *   would: it sends one empty UDP datagram to the backend's discard port
 *   (9), which makes the kernel resolve the next hop (ARP or neighbour
 *   discovery). A backend about to become live is nudged and waited for
 *   (at most NEIGH_WAIT_MS) before any map points at it; every second,
 *   each live backend's entry that is not REACHABLE or PERMANENT is nudged
 *   again, so it never ages out.
 * - The entry exists but the kernel's lookup misses it: the neighbour hash
 *   table is one for every network namespace of the host, and while it
 *   grows (any namespace adding entries past its size) the lockless lookup
 *   finds nothing, even for permanent entries. So cidlbd keeps a copy of
 *   each live next hop's entry in cidlb_neigh, which packets read only
 *   where the kernel answered NO_NEIGH (bpf/encap.h). The copy also covers
 *   an entry that the kernel collected or is resolving again; it is
 *   removed when the kernel's entry FAILED (the next hop does not answer:
 *   its packets count as drop_no_neigh) or no live backend uses it.
 *
 * Next hops come from the kernel over rtnetlink: the route to the backend
 * (egress device, gateway) and the neighbour entry of that next hop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include "daemon.h"
#include "ctl/log.h"

#define DISCARD_PORT  9
#define NEIGH_WAIT_MS 2000 /* a new backend's next hop: at most this long */
#define NEIGH_POLL_MS 10
#define NL_BUF	      8192
/* entries bpf_fib_lookup() uses (the kernel's NUD_VALID, not in the UAPI) */
#define NUD_USABLE (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY)
/* entries the kernel keeps fresh by itself: nothing to nudge */
#define NUD_FRESH (NUD_REACHABLE | NUD_PERMANENT | NUD_NOARP)

static int nudge_one(const struct cidlb_conf_backend *b)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd, err = 0;

	if (b->family == CIDLB_FAMILY_V4) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(DISCARD_PORT);
		memcpy(&a->sin_addr, b->addr, 4);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(DISCARD_PORT);
		memcpy(&a->sin6_addr, b->addr, 16);
		len = sizeof(*a);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, "", 0, 0, (struct sockaddr *)&ss, len) < 0 && errno != EAGAIN)
		err = -errno;
	close(fd);
	return err;
}

static bool fib_routed(const struct cidlb_conf_backend *b)
{
	return !b->has_mac && !b->direct;
}

/* ---- rtnetlink: one request, one answer ------------------------------- */

static void nl_attr(struct nlmsghdr *h, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Send @req, read the answer into @buf: its message, or -errno (the
 * kernel's error, -ENOENT/-ESRCH when there is no such route/entry). */
static int nl_ask(struct nlmsghdr *req, char *buf, struct nlmsghdr **ans)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct nlmsghdr *h;
	int fd, n, err;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	n = (int)recv(fd, buf, NL_BUF, 0);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	h = (struct nlmsghdr *)buf;
	if (!NLMSG_OK(h, (unsigned int)n)) {
		err = -EBADMSG;
	} else if (h->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *e = NLMSG_DATA(h);

		err = e->error ? e->error : -ENOENT;
	} else {
		*ans = h;
		err = 0;
	}
out:
	close(fd);
	return err;
}

/* A GET request of @type: its family header @fam (@fam_len octets) and
 * one address attribute @attr (@addr_len octets); answered as nl_ask(). */
static int nl_get(unsigned short type, const void *fam, size_t fam_len, unsigned short attr,
		  const void *addr, size_t addr_len, char *buf, struct nlmsghdr **ans)
{
	struct {
		struct nlmsghdr h;
		char body[128]; /* family header, then the attribute */
	} req = { 0 };

	if (NLMSG_ALIGN(fam_len) + RTA_SPACE(addr_len) > sizeof(req.body))
		return -EINVAL;
	req.h.nlmsg_len = NLMSG_LENGTH(fam_len);
	req.h.nlmsg_type = type;
	req.h.nlmsg_flags = NLM_F_REQUEST;
	memcpy(NLMSG_DATA(&req.h), fam, fam_len);
	nl_attr(&req.h, attr, addr, addr_len);
	return nl_ask(&req.h, buf, ans);
}

/* The next hop the kernel routes @b through: egress device and address
 * (the gateway, else the backend itself), as bpf_fib_lookup() reports it. */
static int route_of(const struct cidlb_conf_backend *b, struct cidlb_neigh_key *k)
{
	bool v4 = b->family == CIDLB_FAMILY_V4;
	struct rtmsg rq = {
		.rtm_family = v4 ? AF_INET : AF_INET6,
		.rtm_dst_len = v4 ? 32 : 128,
	};
	char buf[NL_BUF];
	struct nlmsghdr *ans;
	struct rtattr *a;
	struct rtmsg *r;
	int len, err;

	err = nl_get(RTM_GETROUTE, &rq, sizeof(rq), RTA_DST, b->addr, v4 ? 4 : 16, buf, &ans);
	if (err)
		return err;
	memset(k, 0, sizeof(*k));
	k->family = b->family;
	memcpy(k->addr, b->addr, v4 ? 4 : 16);
	r = NLMSG_DATA(ans);
	len = (int)RTM_PAYLOAD(ans);
	for (a = RTM_RTA(r); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) == 4) {
			memcpy(&k->ifindex, RTA_DATA(a), 4);
		} else if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == (v4 ? 4u : 16u)) {
			memset(k->addr, 0, sizeof(k->addr));
			memcpy(k->addr, RTA_DATA(a), RTA_PAYLOAD(a));
		} else if (a->rta_type == RTA_VIA && RTA_PAYLOAD(a) == sizeof(struct rtvia) + 16) {
			const struct rtvia *via = RTA_DATA(a); /* IPv4 route, IPv6 gateway */

			k->family = CIDLB_FAMILY_V6;
			memcpy(k->addr, via->rtvia_addr, 16);
		}
	}
	return k->ifindex ? 0 : -ENETUNREACH;
}

/* The kernel's neighbour entry of next hop @k: its state, and the
 * next hop's MAC when it has one (*has_mac). */
static int neigh_of(const struct cidlb_neigh_key *k, uint16_t *state, uint8_t mac[6], bool *has_mac)
{
	bool v4 = k->family == CIDLB_FAMILY_V4;
	struct ndmsg nq = {
		.ndm_family = v4 ? AF_INET : AF_INET6,
		.ndm_ifindex = (int)k->ifindex,
	};
	char buf[NL_BUF];
	struct nlmsghdr *ans;
	struct rtattr *a;
	struct ndmsg *n;
	int len, err;

	*has_mac = false;
	*state = NUD_NONE;
	err = nl_get(RTM_GETNEIGH, &nq, sizeof(nq), NDA_DST, k->addr, v4 ? 4 : 16, buf, &ans);
	if (err)
		return err;
	n = NLMSG_DATA(ans);
	*state = n->ndm_state;
	len = (int)(ans->nlmsg_len - NLMSG_LENGTH(sizeof(*n)));
	for (a = (struct rtattr *)((char *)n + NLMSG_ALIGN(sizeof(*n))); RTA_OK(a, len);
	     a = RTA_NEXT(a, len))
		if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) {
			memcpy(mac, RTA_DATA(a), 6);
			*has_mac = true;
		}
	return 0;
}

static int dev_mac(uint32_t ifindex, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int fd, err = 0;

	if (!if_indextoname(ifindex, ifr.ifr_name))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

/*
 * One backend's next hop: copy a valid kernel entry into cidlb_neigh
 * (*k says which next hop, for the sweep of unused copies), nudge one
 * that the kernel does not keep fresh. 1: usable now, 0: not (yet),
 * -errno: no route.
 */
static int neigh_keep(struct daemon *d, const struct cidlb_conf_backend *b,
		      struct cidlb_neigh_key *k, bool nudge)
{
	struct cidlb_neigh n;
	uint16_t state;
	bool has_mac;
	int err;

	err = route_of(b, k);
	if (err)
		return err;
	neigh_of(k, &state, n.dmac, &has_mac); /* none: NUD_NONE */
	if (nudge && !(state & NUD_FRESH)) {
		err = nudge_one(b);
		if (err)
			pr_debug("backend %s: cannot send the neighbour probe: %s", b->name,
				 strerror(-err));
	}
	if (state & NUD_FAILED) {
		/* a real answer: the next hop does not reply. Packets count
		 * as drop_no_neigh, not sent to a MAC nobody answers for. */
		cidlb_lb_del_neigh(d->lb, k);
		return 0;
	}
	if (!(state & NUD_USABLE) || !has_mac || dev_mac(k->ifindex, n.smac))
		return 0;
	err = cidlb_lb_set_neigh(d->lb, k, &n);
	if (err && err != -ENOENT)
		pr_warn("backend %s: cannot copy its next hop into %s: %s", b->name,
			CIDLB_MAP_NEIGH, strerror(-err));
	return 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Before @bs (n FIB-routed or not) become live: nudge each next hop the
 * kernel has no valid entry for, wait until every one is valid (bounded)
 * and copied. A backend not resolved in time still goes live (its host
 * may come up later): its packets count as drop_no_neigh meanwhile. */
void neigh_resolve(struct daemon *d, const struct cidlb_conf_backend *const *bs, int n)
{
	uint64_t end = now_ms() + NEIGH_WAIT_MS;
	bool *done = calloc((size_t)n + 1, sizeof(*done));
	int i, left = 0;
	bool first = true;

	if (!done)
		return;
	for (;;) {
		left = 0;
		for (i = 0; i < n; i++) {
			struct cidlb_neigh_key k;

			if (done[i] || !fib_routed(bs[i]))
				continue;
			done[i] = neigh_keep(d, bs[i], &k, first) != 0; /* resolved, or no route */
			left += !done[i];
		}
		first = false;
		if (!left || now_ms() >= end)
			break;
		poll(NULL, 0, NEIGH_POLL_MS);
	}
	for (i = 0; i < n; i++)
		if (!done[i] && fib_routed(bs[i]))
			pr_warn("backend %s: its next hop is not resolved after %d ms (no ARP/ND answer); its packets are dropped (drop_no_neigh) until it is",
				bs[i]->name, NEIGH_WAIT_MS);
	free(done);
}

static bool key_in(const struct cidlb_neigh_key *k, const struct cidlb_neigh_key *used, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!memcmp(k, &used[i], sizeof(*k)))
			return true;
	return false;
}

/* Called every second under d->lock: every live FIB-routed backend's
 * next hop kept fresh and copied; copies nobody uses any more removed. */
void neigh_tick(struct daemon *d)
{
	int fd = cidlb_lb_map_fd(d->lb, CIDLB_M_NEIGH);
	struct cidlb_neigh_key *used, k, next;
	int i, n = 0;
	bool more;

	used = calloc((size_t)d->conf->n_backends + 1, sizeof(*used));
	if (!used)
		return; /* try again next second */
	for (i = 0; i < d->conf->n_backends; i++) {
		const struct cidlb_conf_backend *b = &d->conf->backends[i];

		if (fib_routed(b) && neigh_keep(d, b, &used[n], true) >= 0)
			n++;
	}
	/* copies of next hops no live backend routes through */
	for (more = fd >= 0 && !bpf_map_get_next_key(fd, NULL, &k); more; k = next) {
		more = !bpf_map_get_next_key(fd, &k, &next);
		if (!key_in(&k, used, n))
			cidlb_lb_del_neigh(d->lb, &k);
	}
	free(used);
}
