// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * announce.c - whether this host should receive the VIPs' traffic, told
 * to the routing daemon (BIRD, FRR) through the kernel: one route per VIP
 * address (/32, /128, "dev lo") in [daemon] announce_table, of protocol
 * CIDLB_RTPROT. The routing daemon learns that table and announces what
 * it holds over BGP; cidlbd never speaks BGP.
 *
 * A VIP address is announced while the program is attached to at least
 * one interface, at least one active backend of weight > 0 is not down by
 * its health checks (or all of them are down, so the pools fail open, and
 * announce_fail_open = keep), and the operator has not drained the host.
 * Each sync reads the table back and makes it match (a route someone
 * removed comes back, a stale one goes), without removing first: a
 * restart with --keep leaves the routes in place and the next cidlbd
 * takes them over as they are. A table left, by a reload or across such
 * a restart (the state file keeps the table), is emptied; at the start
 * and when the table changes, the routes of our VIP addresses in any
 * other table go too (left by an older configuration). A plain stop
 * removes them; a dead host's routes die with it, and its BGP sessions
 * (hold timer, BFD) withdraw them on the routers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "ctl/xdp.h"
#include "daemon.h"
#include "ctl/log.h"

#define NL_BUF 32768

struct nl_route_req {
	struct nlmsghdr h;
	struct rtmsg r;
	char attrs[128];
};

/* An attribute at the end of @req (room checked). */
static void add_attr(struct nl_route_req *req, unsigned short type, const void *data, size_t len)
{
	char *base = (char *)req;
	size_t at = NLMSG_ALIGN(req->h.nlmsg_len);
	struct rtattr a = { .rta_type = type, .rta_len = (unsigned short)RTA_LENGTH(len) };

	if (at + RTA_SPACE(len) > sizeof(*req))
		return;
	memcpy(base + at, &a, sizeof(a));
	memcpy(base + at + RTA_LENGTH(0), data, len);
	req->h.nlmsg_len = (uint32_t)(at + RTA_SPACE(len));
}

static int nl_open(void)
{
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* dumps filtered by the kernel (table, protocol), not the whole
	 * FIB every second; an older kernel ignores the filter and
	 * routes_read() filters itself */
	setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	return fd;
}

/* Add (replace) or delete the route of @a in @table: 0 or -errno. */
static int route_change(int fd, bool add, const struct ann_vip *a, uint32_t table)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	bool v4 = a->family == CIDLB_FAMILY_V4;
	struct nl_route_req req = { 0 };
	char buf[1024];
	struct nlmsghdr *h;
	uint32_t oif = if_nametoindex("lo");
	ssize_t n;

	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.h.nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	req.r.rtm_family = v4 ? AF_INET : AF_INET6;
	req.r.rtm_dst_len = v4 ? 32 : 128;
	req.r.rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	req.r.rtm_protocol = CIDLB_RTPROT;
	req.r.rtm_scope = add ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
	req.r.rtm_type = add ? RTN_UNICAST : RTN_UNSPEC;
	add_attr(&req, RTA_DST, a->addr, v4 ? 4 : 16);
	add_attr(&req, RTA_TABLE, &table, sizeof(table));
	if (add && oif)
		add_attr(&req, RTA_OIF, &oif, sizeof(oif));
	if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	h = (struct nlmsghdr *)buf;
	if (!NLMSG_OK(h, (unsigned int)n) || h->nlmsg_type != NLMSG_ERROR)
		return -EBADMSG;
	return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
}

/* A route of ours read back: its address, table and device. */
struct kroute {
	struct ann_vip a;
	uint32_t table;
	uint32_t oif; /* 0: none given */
};

/* Our routes in @table, 0 = in every table (protocol CIDLB_RTPROT, host
 * routes) into @out (up to @max); their number or -errno. */
static int routes_read(int fd, uint32_t table, struct kroute *out, int max)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char *buf = malloc(NL_BUF);
	int n_out = 0, fi, err = 0;

	if (!buf)
		return -ENOMEM;
	for (fi = 0; fi < 2 && !err; fi++) {
		struct nl_route_req req = { 0 };
		bool done = false;

		req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
		req.h.nlmsg_type = RTM_GETROUTE;
		req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		req.r.rtm_family = (uint8_t)families[fi];
		req.r.rtm_protocol = CIDLB_RTPROT;
		req.r.rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
		if (table)
			add_attr(&req, RTA_TABLE, &table, sizeof(table));
		if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			err = -errno;
			break;
		}
		while (!done && !err) {
			ssize_t n = recv(fd, buf, NL_BUF, 0);
			struct nlmsghdr *h;

			if (n < 0) {
				err = -errno;
				break;
			}
			for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned int)n);
			     h = NLMSG_NEXT(h, n)) {
				struct rtmsg *r = NLMSG_DATA(h);
				uint32_t t, oif = 0;
				struct rtattr *a;
				int len;
				bool v4;
				const void *dst = NULL;

				/* a dump's error comes in NLMSG_DONE (or
				 * NLMSG_ERROR); -ENOENT: no such table yet,
				 * that is, no route in it */
				if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
					int e = 0;

					if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
						memcpy(&e, NLMSG_DATA(h), sizeof(e));
					if (h->nlmsg_type == NLMSG_ERROR && !e)
						e = -EIO;
					if (e && e != -ENOENT)
						err = e;
					done = true;
					break;
				}
				if (h->nlmsg_type != RTM_NEWROUTE ||
				    r->rtm_protocol != CIDLB_RTPROT)
					continue;
				v4 = r->rtm_family == AF_INET;
				if (r->rtm_dst_len != (v4 ? 32 : 128))
					continue;
				t = r->rtm_table;
				len = (int)RTM_PAYLOAD(h);
				for (a = RTM_RTA(r); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
					if (a->rta_type == RTA_TABLE)
						memcpy(&t, RTA_DATA(a), sizeof(t));
					else if (a->rta_type == RTA_DST)
						dst = RTA_DATA(a);
					else if (a->rta_type == RTA_OIF)
						memcpy(&oif, RTA_DATA(a), sizeof(oif));
				}
				if ((table && t != table) || !dst || n_out >= max)
					continue;
				memset(&out[n_out], 0, sizeof(out[n_out]));
				out[n_out].a.family = v4 ? CIDLB_FAMILY_V4 : CIDLB_FAMILY_V6;
				memcpy(out[n_out].a.addr, dst, v4 ? 4 : 16);
				out[n_out].table = t;
				out[n_out].oif = oif;
				n_out++;
			}
		}
	}
	free(buf);
	return err ? err : n_out;
}

static bool same_addr(const struct ann_vip *a, const struct ann_vip *b)
{
	return a->family == b->family &&
	       !memcmp(a->addr, b->addr, a->family == CIDLB_FAMILY_V4 ? 4 : 16);
}

static const char *ann_str(const struct ann_vip *a, char *buf, size_t len)
{
	return cidlb_addr_str(a->family, a->addr, buf, len);
}

/* A route of ours removed from a table that is not announce_table @now. */
static void log_removed(const struct ann_vip *a, uint32_t from, uint32_t now)
{
	char s[64];

	if (now)
		pr_info("announce: removed the route of %s from table %u: announce_table is %u",
			ann_str(a, s, sizeof(s)), from, now);
	else
		pr_info("announce: removed the route of %s from table %u: announce_table is 0 (off)",
			ann_str(a, s, sizeof(s)), from);
}

/* Remove every route of ours from @table, each one logged unless @quiet
 * (@now: the table they go to); how many were there, or -errno. */
static int flush_table(uint32_t table, bool quiet, uint32_t now)
{
	struct kroute have[CIDLB_ANNOUNCE_MAX];
	char s[64];
	int fd, n, i, gone = 0;

	fd = nl_open();
	if (fd < 0)
		return fd;
	n = routes_read(fd, table, have, CIDLB_ANNOUNCE_MAX);
	for (i = 0; i < n; i++) {
		int err = route_change(fd, false, &have[i].a, table);

		if (err && err != -ESRCH) {
			pr_warn("announce: cannot remove the route of %s from table %u: %s",
				ann_str(&have[i].a, s, sizeof(s)), table, strerror(-err));
			continue;
		}
		gone++;
		if (!quiet)
			log_removed(&have[i].a, table, now);
	}
	close(fd);
	return n < 0 ? n : gone;
}

/*
 * The routes of ours that this configuration would announce (protocol
 * CIDLB_RTPROT, a host route of one of d->ann's addresses, dev lo) in any
 * table but @keep, 0 = in every table, removed, each one logged: what an
 * older configuration left (the table the state file names is emptied
 * whole before; this also covers a state file lost meanwhile). Routes of
 * other protocols, other addresses and other devices stay. How many went,
 * or -errno (nothing read).
 */
static int sweep_other_tables(struct daemon *d, uint32_t keep)
{
	struct kroute *have;
	uint32_t lo = if_nametoindex("lo");
	int fd, n, i, j, err, gone = 0, round, before;
	char s[64];

	have = calloc(CIDLB_ANNOUNCE_MAX, sizeof(*have));
	if (!have)
		return -ENOMEM;
	fd = nl_open();
	if (fd < 0) {
		free(have);
		return fd;
	}
	/* a full read may have left some out: again while it was full and
	 * some went */
	for (round = 0, n = CIDLB_ANNOUNCE_MAX, before = -1;
	     round < 8 && n == CIDLB_ANNOUNCE_MAX && gone > before; round++) {
		before = gone;
		n = routes_read(fd, 0, have, CIDLB_ANNOUNCE_MAX);
		for (i = 0; i < n; i++) {
			if (have[i].table == keep || (lo && have[i].oif != lo))
				continue;
			for (j = 0; j < d->n_ann && !same_addr(&d->ann[j], &have[i].a); j++)
				;
			if (j == d->n_ann)
				continue;
			err = route_change(fd, false, &have[i].a, have[i].table);
			if (err && err != -ESRCH) {
				pr_warn("announce: cannot remove the route of %s from table %u: %s",
					ann_str(&have[i].a, s, sizeof(s)), have[i].table,
					strerror(-err));
				continue;
			}
			gone++;
			log_removed(&have[i].a, have[i].table, keep);
		}
	}
	close(fd);
	free(have);
	return n < 0 ? n : gone;
}

/* The program attached to at least one of the interfaces. */
static bool forwarding(struct daemon *d)
{
	int i;

	if (!d->lb)
		return false;
	for (i = 0; i < d->n_ifs; i++) {
		struct cidlb_xdp_info info;

		if (!cidlb_xdp_query(d->ifs[i].ifindex, CIDLB_PROG_MAIN, d->owner_map_id, &info) &&
		    info.ours)
			return true;
	}
	return false;
}

/*
 * The backends let the VIPs be announced: at least one takes new
 * connections (active, weight > 0) and is not down by its health checks.
 * When every such backend is down, each pool that has one fails open
 * (apply.c: all of its backends stay in its Maglev table, the program
 * forwards to them): with announce_fail_open = keep, the default, the
 * VIPs stay announced too, as the forwarding goes on; with withdraw they
 * go. Said in the log when this starts and ends.
 */
static bool healthy(struct daemon *d)
{
	bool any = false, open;
	int i;

	for (i = 0; i < d->conf->n_backends; i++) {
		const struct cidlb_conf_backend *b = &d->conf->backends[i];

		if (b->state != CIDLB_BE_ACTIVE || !b->weight)
			continue;
		if (health_of(d, b->name, i) != HEALTH_DOWN)
			break;
		any = true;
	}
	open = any && i == d->conf->n_backends && !d->conf->announce_withdraw_open;
	if (open != d->ann_fail_open) {
		if (open)
			pr_warn("announce: every backend is down by its health checks; the pools fail open and the VIPs stay announced (announce_fail_open = keep)");
		else if (i < d->conf->n_backends)
			pr_info("announce: a backend is up again; the pools no longer fail open");
		d->ann_fail_open = open;
	}
	return i < d->conf->n_backends || open;
}

/* d->ann: one entry per VIP address of d->conf, announced flags kept
 * for the addresses that stay. */
static int rebuild_list(struct daemon *d)
{
	struct ann_vip *n;
	int i, j, cnt = 0;

	n = calloc((size_t)d->conf->n_vips + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (i = 0; i < d->conf->n_vips && cnt < CIDLB_ANNOUNCE_MAX; i++) {
		const struct cidlb_vip_key *k = &d->conf->vips[i].key;
		struct ann_vip a = { .family = k->family };

		memcpy(a.addr, k->addr, sizeof(a.addr));
		if (a.family == CIDLB_FAMILY_V4)
			memset(a.addr + 4, 0, sizeof(a.addr) - 4);
		for (j = 0; j < cnt && !same_addr(&n[j], &a); j++)
			;
		if (j < cnt)
			continue;
		for (j = 0; j < d->n_ann; j++)
			if (same_addr(&d->ann[j], &a))
				a.announced = d->ann[j].announced;
		n[cnt++] = a;
	}
	free(d->ann);
	d->ann = n;
	d->n_ann = cnt;
	return 0;
}

void announce_sync(struct daemon *d)
{
	struct kroute have[CIDLB_ANNOUNCE_MAX];
	uint32_t table = d->conf ? d->conf->announce_table : 0;
	const char *why = NULL;
	bool want, present, failed = false, moved;
	int fd, n, i, j, err;
	char s[64];

	if (!d->conf)
		return;
	moved = d->ann_table != table;
	if (d->ann_table && moved) {
		n = flush_table(d->ann_table, false, table);
		pr_info("announce: table %u left (%d route%s removed)", d->ann_table, n > 0 ? n : 0,
			n == 1 ? "" : "s");
	}
	d->ann_table = table;
	if (d->st.announce_table != table) { /* for the next start */
		d->st.announce_table = table;
		save_state(d);
	}
	if (rebuild_list(d))
		return;
	/* at the start and when the table changes: our VIPs' routes left in
	 * other tables (a restart with --keep across a change) go */
	if (!d->ann_swept || moved) {
		n = sweep_other_tables(d, table);
		d->ann_swept = n >= 0;
		/* its own "said once": the sync's is reset every second */
		if (n < 0 && !d->ann_sweep_logged)
			pr_warn("announce: cannot read the routing tables to remove our routes outside table %u: %s",
				table, strerror(-n));
		d->ann_sweep_logged = n < 0;
	}
	if (!table) {
		d->ann_fail_open = false;
		for (i = 0; i < d->n_ann; i++)
			d->ann[i].announced = false;
		snprintf(d->ann_why, sizeof(d->ann_why), "announce_table is 0");
		return;
	}
	if (d->st.drained_since)
		why = "drained";
	else if (!forwarding(d))
		why = "the program is not attached";
	else if (!healthy(d))
		why = "no healthy backend";
	want = !why;
	if (!d->ann_evaluated || strcmp(d->ann_why, why ? why : "")) {
		if (why)
			pr_info("announce: withdrawing the VIPs from table %u: %s", table, why);
		else
			pr_info("announce: announcing %d VIP address%s in table %u", d->n_ann,
				d->n_ann == 1 ? "" : "es", table);
		snprintf(d->ann_why, sizeof(d->ann_why), "%s", why ? why : "");
		d->ann_evaluated = true;
	}
	fd = nl_open();
	if (fd < 0)
		return;
	n = routes_read(fd, table, have, CIDLB_ANNOUNCE_MAX);
	if (n < 0) {
		if (!d->ann_err_logged++)
			pr_warn("announce: cannot read routing table %u: %s", table, strerror(-n));
		close(fd);
		return;
	}
	/* stale routes first: VIPs removed, or all when withdrawn */
	for (j = 0; j < n; j++) {
		for (i = 0; i < d->n_ann && !same_addr(&d->ann[i], &have[j].a); i++)
			;
		if (want && i < d->n_ann)
			continue;
		err = route_change(fd, false, &have[j].a, table);
		if (err && err != -ESRCH) {
			failed = true;
			if (!d->ann_err_logged++)
				pr_warn("announce: cannot remove the route of %s from table %u: %s",
					ann_str(&have[j].a, s, sizeof(s)), table, strerror(-err));
		}
	}
	for (i = 0; i < d->n_ann; i++) {
		for (j = 0, present = false; j < n && !present; j++)
			present = same_addr(&d->ann[i], &have[j].a);
		if (want && !present) {
			err = route_change(fd, true, &d->ann[i], table);
			if (err) {
				failed = true;
				if (!d->ann_err_logged++)
					pr_warn("announce: cannot add the route of %s to table %u: %s",
						ann_str(&d->ann[i], s, sizeof(s)), table,
						strerror(-err));
				d->ann[i].announced = false;
				continue;
			}
		}
		if (d->ann[i].announced != want)
			pr_debug("announce: %s %s", ann_str(&d->ann[i], s, sizeof(s)),
				 want ? "announced" : "withdrawn");
		d->ann[i].announced = want;
	}
	if (!failed) /* logged once while it fails, again after a success */
		d->ann_err_logged = 0;
	close(fd);
}

void announce_withdraw_all(struct daemon *d)
{
	int n, i;

	if (!d->ann_table)
		return;
	n = flush_table(d->ann_table, true, 0);
	if (n > 0)
		pr_info("announce: %d VIP route%s withdrawn from table %u", n, n == 1 ? "" : "s",
			d->ann_table);
	for (i = 0; i < d->n_ann; i++)
		d->ann[i].announced = false;
}

void announce_free(struct daemon *d)
{
	free(d->ann);
	d->ann = NULL;
	d->n_ann = 0;
}

json_t *announce_json(struct daemon *d)
{
	json_t *o = json_object(), *a = json_array();
	char s[64];
	int i;

	for (i = 0; i < d->n_ann; i++)
		json_array_append_new(a, json_pack("{s:s,s:b}", "address",
						   ann_str(&d->ann[i], s, sizeof(s)), "announced",
						   d->ann[i].announced));
	json_object_set_new(o, "table", json_integer(d->ann_table));
	json_object_set_new(o, "protocol", json_integer(CIDLB_RTPROT));
	json_object_set_new(o, "withdrawn_because", json_string(d->ann_why));
	/* announced while every backend is down: the pools fail open */
	json_object_set_new(o, "fail_open",
			    json_boolean(d->ann_table && d->ann_fail_open && !d->ann_why[0]));
	json_object_set_new(o, "vips", a);
	return o;
}
